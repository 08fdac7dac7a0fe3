"""Every read model a worker keeps: the table replicas and the secondary indexes built on them."""

from __future__ import annotations

from collections import defaultdict

from gamevault.streams import topics as t
from gamevault.tables.replica import TableReplica
from gamevault.tables.search import CatalogIndex


class KeyIndex:
    """A secondary index: owner id -> set of keys, maintained from a replica's changes."""

    def __init__(self, replica: TableReplica, field: str) -> None:
        self.field = field
        self.by_owner: dict[str, set[str]] = defaultdict(set)
        replica.subscribe(self._on_change)

    def _on_change(self, key: str, old: dict | None, new: dict | None) -> None:
        if old is not None and (new is None or old.get(self.field) != new.get(self.field)):
            self.by_owner[old.get(self.field, "")].discard(key)
        if new is not None:
            self.by_owner[new.get(self.field, "")].add(key)

    def keys(self, owner: str) -> set[str]:
        return self.by_owner.get(owner, set())


class RatingTotals:
    """Each product's rating: the sum of its vote shards, kept up to date from shard changes."""

    def __init__(self, shards: TableReplica) -> None:
        from gamevault.domain.ratings import empty_hist, product_of

        self._empty_hist, self._product_of = empty_hist, product_of
        self.totals: dict[str, dict] = {}
        self._listeners: list = []
        shards.subscribe(self._on_shard)

    def subscribe(self, listener) -> None:
        self._listeners.append(listener)

    def get(self, product_id: str) -> dict | None:
        return self.totals.get(product_id)

    def _on_shard(self, key: str, old: dict | None, new: dict | None) -> None:
        pid = self._product_of(key)
        before = self.totals.get(pid)
        current = dict(before) if before else {"product_id": pid, "count": 0, "sum": 0, "histogram": self._empty_hist()}
        current["histogram"] = dict(current["histogram"])
        for record, sign in ((old, -1), (new, 1)):
            if record:
                current["count"] += sign * record["count"]
                current["sum"] += sign * record["sum"]
                for stars, n in record["histogram"].items():
                    current["histogram"][stars] += sign * n
        self.totals[pid] = current
        for listener in self._listeners:
            listener(pid, before, current)


class ReadModels:
    def __init__(self) -> None:
        self.users = TableReplica(t.USERS_TABLE)  # key: email
        self.products = TableReplica(t.PRODUCTS_TABLE)
        self.ratings = TableReplica(t.RATINGS_TABLE, drop=("votes",))  # vote shards, without the votes
        self.rating_totals = RatingTotals(self.ratings)
        self.carts = TableReplica(t.CARTS_TABLE)
        self.orders = TableReplica(t.ORDERS_TABLE)
        self.reviews = TableReplica(t.REVIEWS_TABLE)
        self.users_by_id: dict[str, str] = {}
        self.users.subscribe(self._index_user)
        self.orders_by_buyer = KeyIndex(self.orders, "buyer_id")
        self.reviews_by_product = KeyIndex(self.reviews, "product_id")
        self.catalog = CatalogIndex(self.products, self.rating_totals)

    def _index_user(self, key: str, old: dict | None, new: dict | None) -> None:
        if old is not None:
            self.users_by_id.pop(old["user_id"], None)
        if new is not None:
            self.users_by_id[new["user_id"]] = key

    def all(self) -> list[TableReplica]:
        return [self.users, self.products, self.ratings, self.carts, self.orders, self.reviews]

    def user_by_id(self, user_id: str) -> dict | None:
        email = self.users_by_id.get(user_id)
        return self.users.get(email) if email else None
