"""The Faust tables (write side): partitioned, changelogged to the catalogue's compacted topics.

Values are plain JSON objects; each carries a `version` that only grows, which keeps the read
replicas monotonic (see `replica.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import orjson
from faust.serializers import codecs

from gamevault.streams import topics as t


class OrjsonCodec(codecs.Codec):
    """Table values as JSON through orjson: Faust's own json codec (stdlib json) took over half of a busy
    rating worker's CPU serializing shard records into the changelog. Same bytes format: plain JSON."""

    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return orjson.loads(s)


codecs.register("orjson", OrjsonCodec())


@dataclass
class Tables:
    """The tables of the agents this worker runs (the others stay None: never subscribed)."""

    users: Any = None
    products: Any = None
    reservations: Any = None
    ratings: Any = None
    rating_totals: Any = None
    carts: Any = None
    orders: Any = None
    payments: Any = None
    shipments: Any = None
    reviews: Any = None
    review_authors: Any = None


CHANGELOGS: dict[str, t.TopicSpec] = {
    "users": t.USERS_TABLE, "products": t.PRODUCTS_TABLE, "reservations": t.RESERVATIONS_TABLE,
    "ratings": t.RATINGS_TABLE, "rating_totals": t.RATING_TOTALS_TABLE, "carts": t.CARTS_TABLE,
    "orders": t.ORDERS_TABLE, "payments": t.PAYMENTS_TABLE, "shipments": t.SHIPMENTS_TABLE,
    "reviews": t.REVIEWS_TABLE, "review_authors": t.REVIEW_AUTHORS_TABLE,
}


def define_tables(app: Any, names: set[str] | None = None) -> Tables:
    def table(name: str) -> Any:
        spec = CHANGELOGS[name]
        # The serializers must be the table's own (json for str keys): recovery decodes changelog
        # records with the topic's serializers, and a mismatch leaves recovered keys as bytes that
        # no str lookup ever finds (seen: every product "missing" on the new owner after a rebalance).
        changelog = app.topic(
            spec.name, partitions=spec.partitions, compacting=True, deleting=False,
            key_type=str, key_serializer="json", value_serializer="orjson",
        )
        return app.Table(
            name, default=None, partitions=spec.partitions, key_type=str, changelog_topic=changelog,
        )

    return Tables(**{f.name: table(f.name) for f in fields(Tables) if names is None or f.name in names})
