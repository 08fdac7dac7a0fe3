"""Every read model a worker keeps: the table replicas and the secondary indexes built on them."""

from __future__ import annotations

from collections.abc import MutableMapping

from gamevault.streams import topics as t
from gamevault.tables.indexes import OrderedIndex, iso_newest_first, newest_first, oldest_first
from gamevault.tables.replica import TableReplica
from gamevault.tables.search import CatalogIndex
from gamevault.tables.spill import Spill


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
        self.comments = TableReplica(t.COMMENTS_TABLE, spill=spill)
        self.votes = TableReplica(t.VOTES_TABLE, compact=True, spill=spill)  # votes and each review's counts
        self.partners = TableReplica(t.PARTNERS_TABLE)  # who may write which ingress topic (agents/ingress.py)
        self.users_by_id: MutableMapping[str, str] = (
            {} if spill is None else spill.map("index/users-by-id", dumps=str.encode, loads=bytes.decode))
        self.users.subscribe(self._index_user)
        # the listings, each a range scan: a buyer's orders and a product's approved reviews newest first,
        # the moderation queue oldest first
        self.orders_by_buyer = OrderedIndex(self.orders, "orders-by-buyer", lambda o: o["buyer_id"],
                                            lambda o: newest_first(o["created_at"]), spill)
        self.orders_by_seller = OrderedIndex(self.orders, "orders-by-seller",
                                             lambda o: {i["seller_id"] for i in o["items"]},
                                             lambda o: newest_first(o["created_at"]), spill)
        self.orders_by_status = OrderedIndex(self.orders, "orders-by-status", lambda o: (o["status"], "*"),
                                             lambda o: oldest_first(o["created_at"]), spill)  # "*": any
        self.approved_reviews = OrderedIndex(
            self.reviews, "approved-reviews", lambda r: r["product_id"] if r.get("published") else None,
            lambda r: iso_newest_first(r["published"]["at"]), spill)
        self.pending_reviews = OrderedIndex(self.reviews, "pending-reviews",
                                            lambda r: "queue" if r["status"] == "pending" else None,
                                            lambda r: r["updated_at"], spill)
        self.approved_comments = OrderedIndex(
            self.comments, "approved-comments", lambda c: c["review_id"] if c["status"] == "approved" else None,
            lambda c: c["created_at"], spill)  # oldest first
        self.pending_comments = OrderedIndex(self.comments, "pending-comments",
                                             lambda c: "queue" if c["status"] == "pending" else None,
                                             lambda c: c["created_at"], spill)
        self.catalog = CatalogIndex(self.products, self.ratings)

    def _index_user(self, key: str, old: dict | None, new: dict | None) -> None:
        if old is not None:
            self.users_by_id.pop(old["user_id"], None)
        if new is not None:
            self.users_by_id[new["user_id"]] = key

    def all(self) -> list[TableReplica]:
        return [self.users, self.products, self.ratings, self.carts, self.orders, self.reviews, self.comments,
                self.votes, self.partners]

    def user_by_id(self, user_id: str) -> dict | None:
        email = self.users_by_id.get(user_id)
        return self.users.get(email) if email else None
