"""CR's community around reviews: comments (moderated like reviews) and helpful votes.

Comments go under approved reviews; any signed-in user may write one, admins moderate them, and the
approved ones list oldest first. A vote is one per user and review and can be changed; the counts
order `GET /products/{id}/reviews?sort=helpful`. Neither moves a product's rating.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response

from gamevault.api.commands import execute
from gamevault.api.deps import Admin, CurrentUser, Services
from gamevault.api.documents import comment_doc
from gamevault.api.models import (
    CommentCreate,
    CommentPublic,
    ModerationDecision,
    Page,
    ReviewAccepted,
    VoteCast,
    VoteCounted,
)
from gamevault.api.problems import Problem
from gamevault.api.routers.reviews import JSON, load_review
from gamevault.api.services import ApiServices
from gamevault.streams.contracts.commands import COMMENT, MODERATE_COMMENT, VOTE
from gamevault.tables.cursors import BadCursor

router = APIRouter(tags=["reviews"])


async def load_comment(services: ApiServices, comment_id: str) -> dict[str, Any]:
    comment = await services.replicas.fresh(lambda: services.views.comments.get(comment_id))
    if comment is None:
        raise Problem(404, f"no comment {comment_id}")
    return comment


def paged(index: Any, owner: str, limit: int, cursor: str | None, get: Any) -> tuple[list, str | None]:
    try:
        return index.page(owner, limit, cursor, get)
    except BadCursor as exc:
        raise Problem(400, str(exc), slug="bad-cursor") from None


@router.post("/reviews/{review_id}/comments", status_code=202, response_model=ReviewAccepted,
             summary="Comment on an approved review; it is moderated before it shows",
             responses={404: {"description": "no such (approved) review"}})
async def comment(review_id: str, body: CommentCreate, user: CurrentUser, services: Services) -> Response:
    review = await load_review(services, review_id)
    if not review.get("published"):
        raise Problem(404, f"no review {review_id}")  # pending or rejected reviews are not shown: not revealed
    state = await execute(services, COMMENT, review["product_id"], {
        "comment_id": str(uuid.uuid4()), "review_id": review_id, "author_id": user.user_id, "body": body.body})
    services.views.comments.apply(state["comment_id"], state)
    return Response(orjson.dumps({"id": state["comment_id"], "status": state["status"], "reason": state["reason"]}),
                    status_code=202, media_type=JSON, headers={"Location": f"/api/v1/comments/{state['comment_id']}"})


@router.get("/reviews/{review_id}/comments", response_model=Page[CommentPublic],
            summary="A review's approved comments, oldest first")
async def comments(review_id: str, services: Services, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                   cursor: Annotated[str | None, Query(max_length=400)] = None) -> Response:
    await load_review(services, review_id)
    page, next_cursor = paged(services.views.approved_comments, review_id, limit, cursor, services.views.comments.get)
    return Response(orjson.dumps({"items": [comment_doc(c) for c in page], "next_cursor": next_cursor}),
                    media_type=JSON)


@router.get("/comments/pending", response_model=Page[CommentPublic], summary="The comments' moderation queue (admins)")
async def pending(admin: Admin, services: Services, limit: Annotated[int, Query(ge=1, le=100)] = 50,
                  cursor: Annotated[str | None, Query(max_length=400)] = None) -> Response:
    page, next_cursor = paged(services.views.pending_comments, "queue", limit, cursor, services.views.comments.get)
    return Response(orjson.dumps({"items": [comment_doc(c) for c in page], "next_cursor": next_cursor}),
                    media_type=JSON)


@router.post("/comments/{comment_id}/moderation", response_model=CommentPublic,
             summary="Approve or reject a comment (admins)",
             responses={404: {"description": "no such comment"}, 409: {"description": "not pending"}})
async def moderate(comment_id: str, body: ModerationDecision, admin: Admin, services: Services) -> Response:
    current = await load_comment(services, comment_id)
    state = await execute(services, MODERATE_COMMENT, current["product_id"], {
        "comment_id": comment_id, "decision": body.decision, "reason": body.reason, "moderator": admin.user_id})
    services.views.comments.apply(comment_id, state)
    return Response(orjson.dumps(comment_doc(state)), media_type=JSON)


@router.post("/reviews/{review_id}/votes", response_model=VoteCounted,
             summary="Say whether a review helped you (one vote per user and review; send again to change it)",
             responses={404: {"description": "no such (approved) review"},
                        403: {"description": "authors do not vote on their own reviews"}})
async def vote(review_id: str, body: VoteCast, user: CurrentUser, services: Services) -> VoteCounted:
    review = await load_review(services, review_id)
    if not review.get("published"):
        raise Problem(404, f"no review {review_id}")
    reply = await execute(services, VOTE, review["product_id"], {
        "review_id": review_id, "voter_id": user.user_id, "helpful": body.helpful})
    services.views.votes.apply(review_id, {"review_id": review_id, "helpful": reply["helpful_count"],
                                           "unhelpful": reply["unhelpful_count"], "version": reply["counts_version"]})
    return VoteCounted(review_id=review_id, helpful=reply["helpful"], helpful_count=reply["helpful_count"],
                       unhelpful_count=reply["unhelpful_count"])
