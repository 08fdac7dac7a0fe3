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


class ReadModels:
    def __init__(self) -> None:
        self.users = TableReplica(t.USERS_TABLE, compact=True)  # key: email
        self.products = TableReplica(t.PRODUCTS_TABLE)
        self.ratings = TableReplica(t.RATING_TOTALS_TABLE)  # per product; the votes stay with their agent
        self.carts = TableReplica(t.CARTS_TABLE, compact=True)
        self.orders = TableReplica(t.ORDERS_TABLE, compact=True)
        self.reviews = TableReplica(t.REVIEWS_TABLE)
        self.users_by_id: dict[str, str] = {}
        self.users.subscribe(self._index_user)
        self.orders_by_buyer = KeyIndex(self.orders, "buyer_id")
        self.reviews_by_product = KeyIndex(self.reviews, "product_id")
        self.catalog = CatalogIndex(self.products, self.ratings)

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
