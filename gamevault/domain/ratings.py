"""CP's rating stream table: per product the stars each review counts for, and the aggregate.

An approval *sets* a review's stars (moving it from its old stars to the new ones) and a retraction
removes it. Each review also remembers the ids of the events already applied to it (a retraction leaves
a tombstone), so an event delivered again, at any time (redelivery after a crash, a stale duplicate
after a later retraction, a partner's duplicate), changes nothing. `recompute` is the from-scratch
reference the property test compares against.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

APPROVED = "gamevault.reviews.review.approved"
RETRACTED = "gamevault.reviews.review.retracted"


def empty(product_id: str) -> dict[str, Any]:
    """A product's record: the aggregate and the votes behind it, together (one write updates both)."""
    return {"product_id": product_id, "count": 0, "sum": 0, "histogram": {str(i): 0 for i in range(1, 6)},
            "votes": {}, "version": 0}


def copy(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "histogram": dict(record["histogram"]), "votes": dict(record.get("votes") or {})}


SEEN_PER_REVIEW = 16  # a review has a handful of events (approval, edits, retraction)


def apply(aggregate: dict[str, Any], votes: dict[str, Any], kind: str, review_id: str, stars: int | None,
          event_id: str) -> bool:
    """Apply one review event in place; -> whether the aggregate changed."""
    vote = votes.get(review_id) or {"stars": None, "seen": []}
    if event_id in vote["seen"]:
        return False  # this very event was applied already
    old = vote["stars"]
    new = stars if kind == APPROVED else None
    votes[review_id] = {"stars": new, "seen": [*vote["seen"], event_id][-SEEN_PER_REVIEW:]}
    if old == new:
        return False
    hist = aggregate["histogram"]
    if old is not None:
        aggregate["count"] -= 1
        aggregate["sum"] -= old
        hist[str(old)] -= 1
    if new is not None:
        aggregate["count"] += 1
        aggregate["sum"] += new
        hist[str(new)] += 1
    return True


def counted(votes: dict[str, Any]) -> dict[str, int]:
    """review id -> the stars it counts for (tombstones excluded)."""
    return {rid: v["stars"] for rid, v in votes.items() if v["stars"] is not None}


def recompute(product_id: str, votes: Iterable[int]) -> dict[str, Any]:
    aggregate = empty(product_id)
    for stars in votes:
        aggregate["count"] += 1
        aggregate["sum"] += stars
        aggregate["histogram"][str(stars)] += 1
    return aggregate


def public(aggregate: dict[str, Any]) -> dict[str, Any]:
    count = aggregate["count"]
    return {"product_id": aggregate["product_id"], "count": count, "sum": aggregate["sum"],
            "average": round(aggregate["sum"] / count, 2) if count else None, "histogram": aggregate["histogram"]}
