"""Operators' views of the sagas: orders by state and age (the stuck ones), and cancelling them."""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response

from gamevault.api.deps import Admin, Services
from gamevault.api.documents import order_doc
from gamevault.api.models import OrderPublic, OrderStatus, Page
from gamevault.api.problems import Problem
from gamevault.api.routers.orders import JSON, load_order, request_cancel
from gamevault.tables.cursors import BadCursor
from gamevault.tables.indexes import END

router = APIRouter(prefix="/admin", tags=["operations"])
ALL = "*"  # the orders index lists every order under this owner too


@router.get("/orders", response_model=Page[OrderPublic],
            summary="Orders by state and age, oldest first: `older_than_s` finds the stuck sagas (admins)")
async def orders(
    admin: Admin, services: Services,
    status: Annotated[OrderStatus | None, Query()] = None,
    older_than_s: Annotated[float | None, Query(ge=0, le=10 * 365 * 86400)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    placed_before = time.time() - older_than_s if older_than_s is not None else None

    def old_enough(order_id: str) -> Any:
        order = services.views.orders.get(order_id)
        if order is not None and placed_before is not None and order["created_at"] > placed_before:
            return END  # oldest first: every later entry is younger still
        return order

    try:
        page, next_cursor = services.views.orders_by_status.page(status or ALL, limit, cursor, old_enough)
    except BadCursor as exc:
        raise Problem(400, str(exc), slug="bad-cursor") from None
    return Response(orjson.dumps({"items": [order_doc(o) for o in page], "next_cursor": next_cursor}),
                    media_type=JSON)


@router.post("/orders/{order_id}/cancel", status_code=202, response_model=OrderPublic,
             summary="Cancel any order until its shipment exists, with compensation (admins)",
             responses={404: {"description": "no such order"}, 409: {"description": "cancelled or shipped"}})
async def cancel(order_id: str, admin: Admin, services: Services) -> Response:
    return await request_cancel(services, await load_order(services, order_id, admin), "admin_cancelled")
