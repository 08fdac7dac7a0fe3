"""CR routes: verified buyers review products; admins moderate; authors edit or retract."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Response

from gamevault.api.commands import execute
from gamevault.api.deps import Admin, Buyer, CurrentUser, Services
from gamevault.api.documents import review_doc
from gamevault.api.models import ModerationDecision, Page, ReviewAccepted, ReviewCreate, ReviewPublic, ReviewUpdate
from gamevault.api.problems import Problem
from gamevault.api.routers.products import load_product
from gamevault.api.services import ApiServices
from gamevault.domain.reviews import author_key
from gamevault.streams.contracts.commands import EDIT_REVIEW, MODERATE_REVIEW, RETRACT_REVIEW, SUBMIT_REVIEW
from gamevault.tables.cursors import BadCursor

products_router = APIRouter(prefix="/products", tags=["reviews"])
router = APIRouter(prefix="/reviews", tags=["reviews"])
JSON = "application/json"


def accepted(review: dict[str, Any], status: int = 202) -> Response:
    body = {"id": review["review_id"], "status": review["status"], "reason": review.get("reason")}
    return Response(orjson.dumps(body), status_code=status, media_type=JSON,
                    headers={"Location": f"/api/v1/reviews/{review['review_id']}"})


async def load_review(services: ApiServices, review_id: str) -> dict[str, Any]:
    review = await services.replicas.fresh(lambda: services.views.reviews.get(review_id))
    if review is None:
        raise Problem(404, f"no review {review_id}")
    return review


@products_router.post("/{product_id}/reviews", status_code=202, response_model=ReviewAccepted,
                      summary="Review a product you received (once); it is moderated before it shows",
                      responses={403: {"description": "no completed order of this product"},
                                 409: {"description": "already reviewed"}, 404: {"description": "no such product"}})
async def submit_review(product_id: str, body: ReviewCreate, buyer: Buyer, services: Services) -> Response:
    await load_product(services, product_id)
    if not await services.purchases.completed(buyer.user_id, product_id):
        raise Problem(403, "only a buyer with a completed order of this product may review it")
    review_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "gamevault:review:" + author_key(product_id, buyer.user_id)))
    if services.views.reviews.get(review_id) is not None:  # fast path; the agent decides races
        raise Problem(409, "you already reviewed this product (one review per buyer and product)", slug="conflict")
    review = await execute(services, SUBMIT_REVIEW, product_id, {
        "review_id": review_id, "product_id": product_id, "buyer_id": buyer.user_id, "rating": body.rating,
        "title": body.title, "body": body.body, "channel": "web",
    })
    services.views.reviews.apply(review_id, review)
    return accepted(review)


@products_router.get("/{product_id}/reviews", response_model=Page[ReviewPublic],
                     summary="Approved reviews of a product, newest first")
async def list_reviews(product_id: str, services: Services,
                       sort: Annotated[Literal["newest", "helpful"], Query(
                           description="helpful: most helpful votes first, among the newest 1,000")] = "newest",
                       limit: Annotated[int, Query(ge=1, le=100)] = 20,
                       cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    await load_product(services, product_id)
    views = services.views
    if sort == "helpful":
        page, next_cursor = _most_helpful(views, product_id, limit, cursor)
    else:
        try:
            page, next_cursor = views.approved_reviews.page(product_id, limit, cursor, views.reviews.get)
        except BadCursor as exc:
            raise Problem(400, str(exc), slug="bad-cursor") from None
    items = [{**review_doc(r, views.user_by_id(r["buyer_id"])), **_helpful(views, r["review_id"])} for r in page]
    return Response(orjson.dumps({"items": items, "next_cursor": next_cursor}), media_type=JSON)


HELPFUL_WINDOW = 1000  # the newest approved reviews that sort=helpful ranks (a bounded sort, not the whole thread)


def _helpful(views: Any, review_id: str) -> dict[str, int]:
    counts = views.votes.get(review_id) or {}
    return {"helpful_count": counts.get("helpful", 0), "unhelpful_count": counts.get("unhelpful", 0)}


def _most_helpful(views: Any, product_id: str, limit: int, cursor: str | None) -> tuple[list, str | None]:
    try:
        start = int(cursor) if cursor else 0
    except ValueError:
        raise Problem(400, "the cursor is not one this API issued", slug="bad-cursor") from None
    if not 0 <= start < HELPFUL_WINDOW:
        raise Problem(400, "the cursor is not one this API issued", slug="bad-cursor")
    window, _ = views.approved_reviews.page(product_id, HELPFUL_WINDOW, None, views.reviews.get)
    ranked = sorted(enumerate(window), key=lambda nr: (-_helpful(views, nr[1]["review_id"])["helpful_count"], nr[0]))
    page = [r for _, r in ranked[start:start + limit]]
    return page, (str(start + limit) if start + limit < len(ranked) else None)


@router.get("/pending", response_model=Page[ReviewPublic], summary="The moderation queue (admins)")
async def pending(admin: Admin, services: Services,
                  limit: Annotated[int, Query(ge=1, le=100)] = 50,
                  cursor: Annotated[str | None, Query(max_length=400)] = None) -> Response:
    try:
        queue, next_cursor = services.views.pending_reviews.page("queue", limit, cursor, services.views.reviews.get)
    except BadCursor as exc:
        raise Problem(400, str(exc), slug="bad-cursor") from None
    return Response(orjson.dumps({"items": [review_doc(r) for r in queue], "next_cursor": next_cursor}),
                    media_type=JSON)


@router.post("/{review_id}/moderation", response_model=ReviewPublic, summary="Approve or reject a review (admins)",
             responses={404: {"description": "no such review"}, 409: {"description": "not pending"}})
async def moderate(review_id: str, body: ModerationDecision, admin: Admin, services: Services) -> Response:
    review = await load_review(services, review_id)
    state = await execute(services, MODERATE_REVIEW, review["product_id"], {
        "review_id": review_id, "product_id": review["product_id"], "decision": body.decision,
        "reason": body.reason, "moderator": admin.user_id,
    })
    services.views.reviews.apply(review_id, state)
    return Response(orjson.dumps(review_doc(state)), media_type=JSON)


@router.patch("/{review_id}", status_code=202, response_model=ReviewAccepted,
              summary="Edit your review (it is moderated again; the approved version shows meanwhile)")
async def edit(review_id: str, body: ReviewUpdate, user: CurrentUser, services: Services) -> Response:
    review = await load_review(services, review_id)
    if review["buyer_id"] != user.user_id:
        raise Problem(404, f"no review {review_id}")  # another buyer's review is not revealed
    state = await execute(services, EDIT_REVIEW, review["product_id"], {
        "review_id": review_id, "product_id": review["product_id"], "buyer_id": user.user_id,
        **body.model_dump(exclude_none=True)})
    services.views.reviews.apply(review_id, state)
    return accepted(state)


@router.delete("/{review_id}", status_code=204, summary="Retract your review")
async def retract(review_id: str, user: CurrentUser, services: Services) -> Response:
    review = await load_review(services, review_id)
    if review["buyer_id"] != user.user_id:
        raise Problem(404, f"no review {review_id}")
    state = await execute(services, RETRACT_REVIEW, review["product_id"],
                          {"review_id": review_id, "product_id": review["product_id"], "buyer_id": user.user_id})
    services.views.reviews.apply(review_id, state)
    return Response(status_code=204)
