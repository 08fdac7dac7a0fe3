"""CP's rating stream table: the stars each review counts for, and the aggregate per product.

One table holds two kinds of records, all in the product's partition:
- a vote per review, `"product|review" -> [stars or None, review version]` (a retraction leaves a
  tombstone vote with no stars), small and written once per review event;
- the product's aggregate, `"product" -> {count, sum, histogram, offset}`, where `offset` is the
  offset (in the product's partition of the review events) of the last event it counts.

An event not newer than its review's vote (a redelivery, a stale duplicate, a partner's repeat)
changes nothing. An event at or below the aggregate's `offset` is already counted: after a crash,
the replay may still have to write its vote, but must not count it twice. The agent writes a batch's
aggregates *before* its votes, into the same changelog partition, so whatever prefix of a batch
survived a crash, these two checks reconstruct the rest exactly (see agents/ratings.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gamevault.streams.contracts.reviews import ReviewApproved, ReviewRetracted

APPROVED = ReviewApproved.event_type
RETRACTED = ReviewRetracted.event_type
Vote = list  # [stars or None, review version]


def vote_key(product_id: str, review_id: str) -> str:
    return f"{product_id}|{review_id}"


def is_vote(key: str) -> bool:
    return "|" in key


def product_of(key: str) -> str:
    return key.split("|", 1)[0]


def empty_hist() -> dict[str, int]:
    return {str(i): 0 for i in range(1, 6)}


def empty(product_id: str) -> dict[str, Any]:
    return {"product_id": product_id, "count": 0, "sum": 0, "histogram": empty_hist(), "offset": -1}


def copy(aggregate: dict[str, Any]) -> dict[str, Any]:
    return {**aggregate, "histogram": dict(aggregate["histogram"])}


def vote(old: Vote | None, kind: str, stars: int | None, review_version: int) -> Vote | None:
    """The review's new vote, or None when the event is not newer than the vote it has."""
    if old is not None and review_version <= old[1]:
        return None
    return [stars if kind == APPROVED else None, review_version]


def move(aggregate: dict[str, Any], old_stars: int | None, new_stars: int | None) -> None:
    """Move one review from its old stars (None: not counted) to its new ones, in place."""
    hist = aggregate["histogram"]
    if old_stars is not None:
        aggregate["count"] -= 1
        aggregate["sum"] -= old_stars
        hist[str(old_stars)] -= 1
    if new_stars is not None:
        aggregate["count"] += 1
        aggregate["sum"] += new_stars
        hist[str(new_stars)] += 1


def apply(aggregate: dict[str, Any], old: Vote | None, kind: str, stars: int | None, review_version: int,
          offset: int) -> Vote | None:
    """Apply one review event (at `offset`) to its product's aggregate; -> the vote to write, if any."""
    new = vote(old, kind, stars, review_version)
    if offset > aggregate["offset"]:
        if new is not None:
            move(aggregate, old[0] if old else None, new[0])
        aggregate["offset"] = offset
    return new


def fold(events: Iterable[tuple[str, str, str, int | None, int, int]], get: Any
         ) -> tuple[dict[str, dict[str, Any]], dict[str, Vote]]:
    """One batch of review events `(product, review, kind, stars, version, offset)` against the
    table (`get(key)`): -> (the aggregates to write, the votes to write). Write the aggregates first."""
    aggregates: dict[str, dict[str, Any]] = {}
    votes: dict[str, Vote] = {}
    for product_id, review_id, kind, stars, review_version, offset in events:
        aggregate = aggregates.get(product_id)
        if aggregate is None:
            aggregate = aggregates[product_id] = copy(get(product_id) or empty(product_id))
        key = vote_key(product_id, review_id)
        new = apply(aggregate, votes[key] if key in votes else get(key), kind, stars, review_version, offset)
        if new is not None:
            votes[key] = new
    return aggregates, votes


def recompute(product_id: str, stars: Iterable[int]) -> dict[str, Any]:
    out = empty(product_id)
    for s in stars:
        move(out, None, s)
    return out


def counted(votes: dict[str, Vote]) -> dict[str, int]:
    """review id -> the stars it counts for (tombstones excluded), from `vote_key -> vote` records."""
    return {key.split("|", 1)[1]: v[0] for key, v in votes.items() if v[0] is not None}


def public(aggregate: dict[str, Any]) -> dict[str, Any]:
    count = aggregate["count"]
    return {"product_id": aggregate["product_id"], "count": count, "sum": aggregate["sum"],
            "average": round(aggregate["sum"] / count, 2) if count else None, "histogram": aggregate["histogram"]}
