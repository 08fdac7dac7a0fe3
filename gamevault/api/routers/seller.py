"""A seller's own business: the orders that hold its products (its lines only) and a sales summary.

From the read model (the orders replica and its per-seller index), not the lake: live, and the same
numbers on every worker. A seller sees the order's status and shipping city, never the buyer's email
or street, nor other sellers' lines.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from gamevault.api.deps import Seller, Services
from gamevault.api.documents import timestamp_iso
from gamevault.api.models import Money, OrderStatus, Page
from gamevault.api.problems import Problem
from gamevault.api.routers.orders import JSON
from gamevault.money import cents, from_cents
from gamevault.tables.cursors import BadCursor

router = APIRouter(prefix="/seller", tags=["catalog"])


class SellerOrder(BaseModel):
    id: str
    status: OrderStatus
    lines: list[dict[str, Any]] = Field(description="only this seller's lines")
    shipping_city: str | None
    created_at: str
    updated_at: str


class SalesSummary(BaseModel):
    seller_id: str
    orders_completed: int
    units_sold: int
    revenue: list[Money] = Field(description="one amount per currency: never added across currencies")
    products: int
    rating: dict[str, Any] = Field(description="{average, count} over the seller's products' approved reviews")


def seller_view(order: dict[str, Any], seller_id: str) -> dict[str, Any]:
    return {"id": order["order_id"], "status": order["status"],
            "lines": [{k: i[k] for k in ("product_id", "title", "quantity", "unit_price")}
                      for i in order["items"] if i["seller_id"] == seller_id],
            "shipping_city": (order.get("shipping_address") or {}).get("city"),
            "created_at": timestamp_iso(order["created_at"]), "updated_at": timestamp_iso(order["updated_at"])}


@router.get("/orders", response_model=Page[SellerOrder], summary="Orders holding the caller's products, newest first")
async def orders(seller: Seller, services: Services, status: Annotated[OrderStatus | None, Query()] = None,
                 limit: Annotated[int, Query(ge=1, le=100)] = 20,
                 cursor: Annotated[str | None, Query(max_length=400)] = None) -> Response:
    def matching(order_id: str) -> dict[str, Any] | None:
        order = services.views.orders.get(order_id)
        return order if order is not None and (status is None or order["status"] == status) else None

    try:
        page, next_cursor = services.views.orders_by_seller.page(seller.user_id, limit, cursor, matching)
    except BadCursor as exc:
        raise Problem(400, str(exc), slug="bad-cursor") from None
    items = [seller_view(o, seller.user_id) for o in page]
    return Response(orjson.dumps({"items": items, "next_cursor": next_cursor}), media_type=JSON)


@router.get("/summary", response_model=SalesSummary, summary="Units sold, revenue per currency, the caller's rating")
async def summary(seller: Seller, services: Services) -> SalesSummary:
    views, me = services.views, seller.user_id
    completed, units, revenue = 0, 0, {}
    for order_id in views.orders_by_seller.keys(me):
        order = views.orders.get(order_id)
        if order is None or order["status"] != OrderStatus.COMPLETED:
            continue
        completed += 1
        for line in order["items"]:
            if line["seller_id"] == me:
                units += line["quantity"]
                currency = line["unit_price"]["currency"]
                revenue[currency] = revenue.get(currency, 0) + cents(line["unit_price"]["amount"]) * line["quantity"]
    mine = [p["product_id"] for p in views.products.values() if p["seller_id"] == me]
    ratings = [r for pid in mine if (r := views.ratings.get(pid)) and r.get("count")]
    count, total = sum(r["count"] for r in ratings), sum(r["sum"] for r in ratings)
    return SalesSummary(seller_id=me, orders_completed=completed, units_sold=units,
                        revenue=[Money(amount=from_cents(c), currency=cur) for cur, c in sorted(revenue.items())],
                        products=len(mine), rating={"average": round(total / count, 2) if count else None,
                                                    "count": count})
