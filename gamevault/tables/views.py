"""Every read model a worker keeps: the table replicas and the secondary indexes built on them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import MutableMapping

from gamevault.streams import topics as t
from gamevault.tables.replica import TableReplica
from gamevault.tables.search import CatalogIndex
from gamevault.tables.spill import Spill

SEP = "\x00"  # owner SEP key: ids never hold a NUL


class KeyIndex:
    """A secondary index: owner id -> set of keys, maintained from a replica's changes.

    With a spill, each (owner, key) pair is a key of its own on disk and an owner's keys are a range
    scan; without one, a dict of sets."""

    def __init__(self, replica: TableReplica, field: str, spill: Spill | None = None) -> None:
        self.field = field
        self.pairs = spill.map(f"index/{replica.spec.name}/{field}") if spill is not None else None
        self.by_owner: dict[str, set[str]] = defaultdict(set) if spill is None else {}  # no spill only
        replica.subscribe(self._on_change)

    def _on_change(self, key: str, old: dict | None, new: dict | None) -> None:
        if old is not None and (new is None or old.get(self.field) != new.get(self.field)):
            self._discard(old.get(self.field, ""), key)
        if new is not None:
            self._add(new.get(self.field, ""), key)

    def _add(self, owner: str, key: str) -> None:
        if self.pairs is None:
            self.by_owner[owner].add(key)
        else:
            self.pairs[owner + SEP + key] = b""

    def _discard(self, owner: str, key: str) -> None:
        if self.pairs is None:
            self.by_owner[owner].discard(key)
        else:
            self.pairs.pop(owner + SEP + key, None)

    def keys(self, owner: str) -> set[str]:
        if self.pairs is None:
            return self.by_owner.get(owner, set())
        cut = len(owner) + 1
        return {pair[cut:] for pair in self.pairs.keys_with_prefix(owner + SEP)}


class ReadModels:
    """`spill`: keep what grows with the business (users, carts, orders, reviews, their indexes) on
    local disk (see spill.py); without it, everything is in the heap."""

    def __init__(self, spill: Spill | None = None) -> None:
        self.users = TableReplica(t.USERS_TABLE, compact=True, spill=spill)  # key: email
        self.products = TableReplica(t.PRODUCTS_TABLE)
        self.ratings = TableReplica(t.RATING_TOTALS_TABLE)  # per product; the votes stay with their agent
        self.carts = TableReplica(t.CARTS_TABLE, compact=True, spill=spill)
        self.orders = TableReplica(t.ORDERS_TABLE, compact=True, spill=spill)
        self.reviews = TableReplica(t.REVIEWS_TABLE, spill=spill)
        self.partners = TableReplica(t.PARTNERS_TABLE)  # who may write which ingress topic (agents/ingress.py)
        self.users_by_id: MutableMapping[str, str] = (
            {} if spill is None else spill.map("index/users-by-id", dumps=str.encode, loads=bytes.decode))
        self.users.subscribe(self._index_user)
        self.orders_by_buyer = KeyIndex(self.orders, "buyer_id", spill)
        self.reviews_by_product = KeyIndex(self.reviews, "product_id", spill)
        self.catalog = CatalogIndex(self.products, self.ratings)

    def _index_user(self, key: str, old: dict | None, new: dict | None) -> None:
        if old is not None:
            self.users_by_id.pop(old["user_id"], None)
        if new is not None:
            self.users_by_id[new["user_id"]] = key

    def all(self) -> list[TableReplica]:
        return [self.users, self.products, self.ratings, self.carts, self.orders, self.reviews, self.partners]

    def user_by_id(self, user_id: str) -> dict | None:
        email = self.users_by_id.get(user_id)
        return self.users.get(email) if email else None
