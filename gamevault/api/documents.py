"""Turning read-model records into response documents (plain dicts, serialized once with orjson).

The product document is cached per product and invalidated by the replicas' change listeners, so
the hottest read (`GET /products/{id}`) is a dict lookup and a bytes copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gamevault.domain import ratings
from gamevault.jsonbytes import kept
from gamevault.money import cents, from_cents
from gamevault.streams.envelope import iso
from gamevault.tables.readmodels import ReadModels


def rating_doc(record: dict[str, Any] | None) -> dict[str, Any]:
    """A product's rating as shown (CP's public form of the aggregate, every star level present)."""
    shown = ratings.public({**ratings.empty(""), **(record or {})})
    return {"average": shown["average"], "count": shown["count"],
            "histogram": {**ratings.empty_hist(), **shown["histogram"]}}


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


def comment_doc(c: dict[str, Any]) -> dict[str, Any]:
    return {"id": c["comment_id"], "review_id": c["review_id"], "author_id": c["author_id"], "body": c["body"],
            "status": c["status"], "reason": c.get("reason"), "created_at": c["created_at"],
            "updated_at": c["updated_at"]}


def timestamp_iso(ts: float) -> str:
    return iso(datetime.fromtimestamp(ts, UTC))


def order_doc(order: dict[str, Any]) -> dict[str, Any]:
    """The public view of an order: never the payment fields the buyer typed (approval codes...)."""
    return {
        "id": order["order_id"], "buyer_id": order["buyer_id"], "status": order["status"],
        "cancel_reason": order.get("cancel_reason"), "items": order["items"], "total": order["total"],
        "payment": {k: order["payment"].get(k) for k in ("provider", "status", "payment_id", "reference")},
        "shipment": order["shipment"], "shipping_address": order["shipping_address"],
        "created_at": timestamp_iso(order["created_at"]), "updated_at": timestamp_iso(order["updated_at"]),
    }


def cart_doc(views: ReadModels, buyer_id: str, cart: dict[str, Any] | None) -> dict[str, Any]:
    """The cart with a total per currency: amounts in two currencies are never added up."""
    lines, totals = [], {}
    for pid, qty in ((cart or {}).get("items") or {}).items():
        product = views.products.get(pid)
        price = product["price"] if product else None
        if price:
            totals[price["currency"]] = totals.get(price["currency"], 0) + cents(price["amount"]) * qty
        lines.append({"product_id": pid, "quantity": qty, "title": product["title"] if product else None,
                      "unit_price": price, "available": bool(product and product["stock"] >= qty)})
    money = [{"amount": from_cents(c), "currency": cur} for cur, c in sorted(totals.items())]
    total = money[0] if len(money) == 1 else ({"amount": "0.00", "currency": "PEN"} if not money else None)
    return {"buyer_id": buyer_id, "items": lines, "total": total, "totals": money}


class ProductDocuments:
    """Serialized product documents, cached until the product or its rating changes."""

    def __init__(self, views: ReadModels) -> None:
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
