"""Turning read-model records into response documents (plain dicts, serialized once with orjson).

The product document is cached per product and invalidated by the replicas' change listeners, so
the hottest read (`GET /products/{id}`) is a dict lookup and a bytes copy.
"""

from __future__ import annotations

from typing import Any

from gamevault.jsonbytes import kept

EMPTY_HISTOGRAM = {str(i): 0 for i in range(1, 6)}


def rating_doc(record: dict[str, Any] | None) -> dict[str, Any]:
    if not record or not record.get("count"):
        return {"average": None, "count": 0, "histogram": dict(EMPTY_HISTOGRAM)}
    return {
        "average": round(record["sum"] / record["count"], 2),
        "count": record["count"],
        "histogram": {str(i): record["histogram"].get(str(i), 0) for i in range(1, 6)},
    }


def product_doc(state: dict[str, Any], rating: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": state["product_id"], "seller_id": state["seller_id"], "title": state["title"],
        "description": state["description"], "platform": state["platform"], "genres": state["genres"],
        "price": state["price"], "stock": state["stock"], "listed": state.get("listed", True),
        "rating": rating_doc(rating),
        "created_at": state["created_at"], "updated_at": state["updated_at"], "version": state["version"],
    }


def user_public_doc(record: dict[str, Any]) -> dict[str, Any]:
    return {"id": record["user_id"], "display_name": record["display_name"], "role": record["role"],
            "registered_at": record["registered_at"]}


def review_doc(review: dict[str, Any], author: dict[str, Any] | None = None) -> dict[str, Any]:
    shown = review.get("published") or review
    return {
        "id": review["review_id"], "product_id": review["product_id"], "author_id": review["buyer_id"],
        "author": user_public_doc(author) if author else None,
        "rating": shown["rating"], "title": shown["title"], "body": shown["body"],
        "status": review["status"], "channel": review.get("channel", "web"),
        "created_at": review["created_at"], "updated_at": review["updated_at"],
    }


class ProductDocuments:
    """Serialized product documents, cached until the product or its rating changes."""

    def __init__(self, views: Any) -> None:
        self.views = views
        self._cache: dict[str, bytes] = {}
        views.products.subscribe(self._invalidate)
        views.ratings.subscribe(self._invalidate)

    def _invalidate(self, key: str, old: Any, new: Any) -> None:
        self._cache.pop(key, None)

    def doc(self, pid: str) -> dict[str, Any] | None:
        state = self.views.products.get(pid)
        return product_doc(state, self.views.ratings.get(pid)) if state else None

    def json(self, pid: str) -> bytes | None:
        cached = self._cache.get(pid)
        if cached is None:
            doc = self.doc(pid)
            if doc is None:
                return None
            cached = self._cache[pid] = kept(doc)
        return cached
