"""The Faust tables (write side): partitioned, changelogged to the catalogue's compacted topics.

Values are plain JSON objects (held as their JSON bytes: `JsonTable`); each carries a `version` that only
grows, which keeps the read replicas monotonic (see `replica.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

import orjson

from gamevault.jsonbytes import kept
from gamevault.streams import topics as t
from gamevault.tables.bulk import WRITING


class JsonTable:
    """A Faust table whose values are held as their JSON bytes, which are also the changelog records.

    A dict per value cost 4-5x the memory of its JSON (an order: 8.4 KB as dicts, 1.7 KB as JSON), and
    the write side keeps every order, payment and shipment. Reads decode (orjson, microseconds); a write
    encodes once, and Faust sends those bytes to the changelog as they are (no second serialization).
    Within `tables.bulk.writing(...)` writes go to that batch instead of through Faust's table."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self._held: MutableMapping[str, bytes] | None = None

    @property
    def held(self) -> MutableMapping[str, bytes]:
        """The store's own mapping (the spill, or a dict): reads take one lookup there, where a Faust
        table's `get` takes two (`in`, then `[]`) and calls its sensors. Writes go through the table
        (they are changelogged). An empty value is a key being deleted during recovery: absent."""
        if self._held is None:
            store = getattr(self.table, "data", self.table)  # a Faust table's store; a dict in unit tests
            self._held = getattr(store, "data", store)
        return self._held

    def get(self, key: str, default: Any = None) -> Any:
        raw = self.held.get(key)
        return orjson.loads(raw) if raw else default

    def __getitem__(self, key: str) -> Any:
        raw = self.held.get(key)
        if not raw:
            raise KeyError(key)
        return orjson.loads(raw)

    @cached_property
    def changelog(self) -> str:
        return self.table.changelog_topic.get_topic_name()

    def __setitem__(self, key: str, value: Any) -> None:
        batch = WRITING.get()
        if batch is None:
            self.table[key] = kept(value)
        else:
            writer, partition = batch
            writer.set(self, key, value, partition)

    def __delitem__(self, key: str) -> None:
        batch = WRITING.get()
        if batch is None:
            del self.table[key]
        else:
            writer, partition = batch
            writer.delete(self, key, partition)

    def __contains__(self, key: str) -> bool:
        return bool(self.held.get(key))

    def __len__(self) -> int:
        return len(self.held)

    def __iter__(self) -> Iterator[str]:
        return iter(self.held)

    def keys(self) -> Iterator[str]:
        return iter(self.held)

    def items(self, where: Callable[[str], bool] | None = None) -> Iterator[tuple[str, Any]]:
        """The decoded values, of the keys `where` accepts only: one scan of the store (Faust's
        `items()` looks each key up again), and the other values stay bytes."""
        return ((key, orjson.loads(raw)) for key, raw in self.held.items()
                if raw and (where is None or where(key)))


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
    comments: Any = None
    votes: Any = None


CHANGELOGS: dict[str, t.TopicSpec] = {
    "users": t.USERS_TABLE, "products": t.PRODUCTS_TABLE, "reservations": t.RESERVATIONS_TABLE,
    "ratings": t.RATINGS_TABLE, "rating_totals": t.RATING_TOTALS_TABLE, "carts": t.CARTS_TABLE,
    "orders": t.ORDERS_TABLE, "payments": t.PAYMENTS_TABLE, "shipments": t.SHIPMENTS_TABLE,
    "reviews": t.REVIEWS_TABLE, "review_authors": t.REVIEW_AUTHORS_TABLE, "comments": t.COMMENTS_TABLE,
    "votes": t.VOTES_TABLE,
}


def define_tables(app: Any, names: set[str] | None = None) -> Tables:
    def table(name: str) -> Any:
        spec = CHANGELOGS[name]
        # The serializers must be the table's own (json for str keys): recovery decodes changelog
        # records with the topic's serializers, and a mismatch leaves recovered keys as bytes that
        # no str lookup ever finds (seen: every product "missing" on the new owner after a rebalance).
        changelog = app.topic(
            spec.name, partitions=spec.partitions, compacting=True, deleting=False,
            key_type=str, key_serializer="json", value_serializer="raw",
        )
        return JsonTable(app.Table(
            name, default=None, partitions=spec.partitions, key_type=str, value_type=bytes,  # "raw"
            changelog_topic=changelog,
        ))

    return Tables(**{f.name: table(f.name) for f in fields(Tables) if names is None or f.name in names})
