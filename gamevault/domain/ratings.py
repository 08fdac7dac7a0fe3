"""CP's rating stream table: the stars each review counts for, and the aggregate per product.

A product's votes are split over SHARDS records ("product#nn", all in the product's partition); each
shard holds its votes *and* its partial aggregate, so one write keeps them consistent, and no record
grows with a product's popularity. A product's rating is the sum of its shards.

An approval sets a review's stars (moving it from its old stars to the new ones), a retraction removes
it (a tombstone stays). Every event carries the review's version: an event not newer than the one
applied (a redelivery after a crash, a stale duplicate, a partner's repeat) changes nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

APPROVED = "gamevault.reviews.review.approved"
RETRACTED = "gamevault.reviews.review.retracted"
SHARDS = 32


def shard_key(product_id: str, review_id: str) -> str:
    return f"{product_id}#{zlib.crc32(review_id.encode()) % SHARDS:02d}"


def product_of(shard: str) -> str:
    return shard.rsplit("#", 1)[0]


def empty_hist() -> dict[str, int]:
    return {str(i): 0 for i in range(1, 6)}


def empty(product_id: str, shard: str | None = None) -> dict[str, Any]:
    return {"product_id": product_id, "shard": shard, "count": 0, "sum": 0, "histogram": empty_hist(),
            "votes": {}, "version": 0}


def copy(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "histogram": dict(record["histogram"]), "votes": dict(record["votes"])}


def apply(record: dict[str, Any], kind: str, review_id: str, stars: int | None, review_version: int) -> bool:
    """Apply one review event to its shard in place; -> whether the aggregate changed."""
    old_stars, old_version = record["votes"].get(review_id, (None, 0))
    if review_version <= old_version:
        return False
    new_stars = stars if kind == APPROVED else None
    record["votes"][review_id] = (new_stars, review_version)
    if old_stars == new_stars:
        return False
    hist = record["histogram"]
    if old_stars is not None:
        record["count"] -= 1
        record["sum"] -= old_stars
        hist[str(old_stars)] -= 1
    if new_stars is not None:
        record["count"] += 1
        record["sum"] += new_stars
        hist[str(new_stars)] += 1
    return True


def add(aggregate: dict[str, Any], shard: dict[str, Any] | None, sign: int) -> None:
    """Add (sign 1) or take out (sign -1) a shard's sums."""
    if shard:
        aggregate["count"] += sign * shard["count"]
        aggregate["sum"] += sign * shard["sum"]
        for stars, n in shard["histogram"].items():
            aggregate["histogram"][stars] += sign * n


def total(product_id: str, shards: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    out = {"product_id": product_id, "count": 0, "sum": 0, "histogram": empty_hist()}
    for shard in shards:
        if shard:
            out["count"] += shard["count"]
            out["sum"] += shard["sum"]
            for stars, n in shard["histogram"].items():
                out["histogram"][stars] += n
    return out


def counted(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """review id -> the stars it counts for (tombstones excluded)."""
    return {rid: vote[0] for r in records for rid, vote in r["votes"].items() if vote[0] is not None}


def recompute(product_id: str, stars: Iterable[int]) -> dict[str, Any]:
    out = {"product_id": product_id, "count": 0, "sum": 0, "histogram": empty_hist()}
    for s in stars:
        out["count"] += 1
        out["sum"] += s
        out["histogram"][str(s)] += 1
    return out


def public(aggregate: dict[str, Any]) -> dict[str, Any]:
    count = aggregate["count"]
    return {"product_id": aggregate["product_id"], "count": count, "sum": aggregate["sum"],
            "average": round(aggregate["sum"] / count, 2) if count else None, "histogram": aggregate["histogram"]}
