"""CR agent: reviews per product (the aggregate), from REST and from partner channels alike.

REST and the operator's path get the same checks: the buyer exists (GU is asked), bought the product in
a completed order (CCP's orders are asked), and has not reviewed it yet; then the automatic rules. A
partner channel's review is the channel's own (domain/ingress.py: the platform chose its id and author),
so it skips the buyer checks but not the rules. A record that fails goes to the dead-letter topic.
"""

from __future__ import annotations

from typing import Any

from gamevault.agents.command_batches import command_agent
from gamevault.agents.runtime import Context, apply, reject
from gamevault.agents.services import AgentServices
from gamevault.domain import comments, reviews
from gamevault.domain.identity import UsersUnavailable
from gamevault.domain.reviews import author_key, helpful_vote_key
from gamevault.streams.contracts.commands import (
    COMMENT,
    EDIT_REVIEW,
    MODERATE_COMMENT,
    MODERATE_REVIEW,
    RETRACT_REVIEW,
    SUBMIT_REVIEW,
    VOTE,
)
from gamevault.streams.envelope import iso
from gamevault.streams.topics import REVIEWS_COMMANDS

SOURCE = "/gamevault/reviews"


def install(services: AgentServices) -> None:
    table, authors = services.tables.reviews, services.tables.review_authors
    rules = reviews.Rules(services.settings.review_banned_terms, services.settings.auto_approve_reviews)
    dispatcher = services.dispatcher("reviews", REVIEWS_COMMANDS, SOURCE)

    async def eligible(data: dict[str, Any], ctx: Context) -> bool:
        try:
            buyer = await services.users.get(data["buyer_id"])
        except UsersUnavailable as exc:
            raise RuntimeError(f"GU unavailable: {exc}") from exc
        if buyer is None or buyer.role != "buyer":
            await reject(ctx, "forbidden", f"{data['buyer_id']} is not a registered buyer")
            return False
        if not await services.purchases.completed(data["buyer_id"], data["product_id"]):
            await reject(ctx, "forbidden", "only a buyer with a completed order of this product may review it")
            return False
        return True

    @dispatcher.on(SUBMIT_REVIEW)
    async def submit(data: dict[str, Any], ctx: Context) -> None:
        key = author_key(data["product_id"], data["buyer_id"])
        existing_id = authors.get(key)
        existing = table.get(existing_id) if existing_id else None
        from_channel = (data.get("sender") or {}).get("kind") == "reviews"  # set by ingress, never by a partner
        if existing_id is None and not from_channel and not await eligible(data, ctx):
            return
        decision = reviews.submit(existing_id, existing, data, rules, ctx.event.id, iso(ctx.event.time))
        if decision.state is not None:
            authors[key] = data["review_id"]
        await apply(ctx, table, data["review_id"], decision)

    @dispatcher.on(MODERATE_REVIEW)
    async def moderate(data: dict[str, Any], ctx: Context) -> None:
        decision = reviews.moderate(table.get(data["review_id"]), data["decision"], data.get("reason") or "",
                                    data["moderator"], ctx.event.id, iso(ctx.event.time))
        await apply(ctx, table, data["review_id"], decision)

    @dispatcher.on(EDIT_REVIEW)
    async def edit(data: dict[str, Any], ctx: Context) -> None:
        decision = reviews.edit(table.get(data["review_id"]), data, rules, ctx.event.id, iso(ctx.event.time))
        await apply(ctx, table, data["review_id"], decision)

    @dispatcher.on(RETRACT_REVIEW)
    async def retract(data: dict[str, Any], ctx: Context) -> None:
        decision = reviews.retract(table.get(data["review_id"]), data["buyer_id"], ctx.event.id, iso(ctx.event.time))
        await apply(ctx, table, data["review_id"], decision)

    comment_table, votes = services.tables.comments, services.tables.votes

    @dispatcher.on(COMMENT)
    async def comment(data: dict[str, Any], ctx: Context) -> None:
        cid = data["comment_id"]
        decision = comments.submit(comment_table.get(cid), table.get(data["review_id"]), data, rules, ctx.event.id,
                                   iso(ctx.event.time))
        await apply(ctx, comment_table, cid, decision)

    @dispatcher.on(MODERATE_COMMENT)
    async def moderate_comment(data: dict[str, Any], ctx: Context) -> None:
        cid = data["comment_id"]
        decision = comments.moderate(comment_table.get(cid), data["decision"], data.get("reason") or "",
                                     data["moderator"], ctx.event.id, iso(ctx.event.time))
        await apply(ctx, comment_table, cid, decision)

    @dispatcher.on(VOTE)
    async def vote(data: dict[str, Any], ctx: Context) -> None:
        rid, key = data["review_id"], helpful_vote_key(data["review_id"], data["voter_id"])
        decision, counts = comments.vote(votes.get(key), votes.get(rid), table.get(rid), data, ctx.event.id,
                                         iso(ctx.event.time))
        if counts is not None:
            votes[rid] = counts  # first: it carries this command's mark (see domain/comments.vote)
        await apply(ctx, votes, key, decision)

    command_agent(services.app, dispatcher)
