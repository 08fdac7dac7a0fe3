"""CCP: placing an order (idempotent by Idempotency-Key), reading it, its timeline, the caller's orders,
cancelling it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Response

from gamevault.api.commands import execute
from gamevault.api.deps import Buyer, CurrentUser, Services
from gamevault.api.documents import order_doc, timestamp_iso
from gamevault.api.models import OrderCreate, OrderPublic, Page, TimelineEntry
from gamevault.api.problems import Problem
from gamevault.api.services import ApiServices
from gamevault.domain.catalog import listed
from gamevault.domain.identity import Identity
from gamevault.domain.orders import MAX_ORDER_LINES, fingerprint
from gamevault.streams.contracts.commands import CANCEL_ORDER, PLACE_ORDER
from gamevault.streams.envelope import deterministic_id
from gamevault.tables.cursors import BadCursor

router = APIRouter(prefix="/orders", tags=["cart and orders"])
JSON = "application/json"


async def load_order(services: ApiServices, order_id: str, user: Identity) -> dict[str, Any]:
    """The caller's order; another buyer's order is 404 (its existence is not revealed)."""
    order = await services.replicas.fresh(lambda: services.views.orders.get(order_id))
    if order is None or (order["buyer_id"] != user.user_id and user.role != "admin"):
        raise Problem(404, f"no order {order_id}")
    return order


@router.post("", status_code=202, response_model=OrderPublic,
             summary="Place an order (from `items`, or the cart); the saga runs asynchronously",
             responses={409: {"description": "Idempotency-Key reused for a different order"},
                        422: {"description": "invalid order, unknown product or empty cart"}})
async def place_order(
    body: OrderCreate, buyer: Buyer, services: Services, response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> Response:
    """With the same `Idempotency-Key` the same order comes back (also across workers and restarts)."""
    from_cart = body.items is None
    if from_cart:
        cart = services.views.carts.get(buyer.user_id) or {}
        requested = dict((cart.get("items") or {}).items())
        if not requested:
            raise Problem(422, "the cart is empty; add items or send `items`", slug="empty-cart")
    else:
        requested: dict[str, int] = {}
        for line in body.items:
            requested[line.product_id] = requested.get(line.product_id, 0) + line.quantity
    if len(requested) > MAX_ORDER_LINES:
        raise Problem(422, f"an order holds at most {MAX_ORDER_LINES} products; this one has {len(requested)}",
                      slug="too-many-lines")
    items = []
    for pid, qty in requested.items():
        product = await services.replicas.fresh(lambda pid=pid: services.views.products.get(pid))
        if product is None:
            raise Problem(422, f"product {pid} does not exist", slug="unknown-product")
        if not listed(product):
            raise Problem(422, f"product {pid} is delisted by its seller and cannot be ordered", slug="delisted")
        if qty > 100:
            raise Problem(422, f"at most 100 units of {pid}")
        items.append({"product_id": pid, "seller_id": product["seller_id"], "title": product["title"],
                      "quantity": qty, "unit_price": product["price"]})
    payment = body.payment.model_dump(mode="json")
    address = body.shipping_address.model_dump(mode="json", exclude_none=True)
    key = idempotency_key or uuid.uuid4().hex
    order_id = deterministic_id("order", buyer.user_id, key)
    data = {"order_id": order_id, "buyer_id": buyer.user_id, "items": items, "payment": payment,
            "shipping_address": address, "from_cart": from_cart,
            "fingerprint": fingerprint(items, payment, address)}
    state = await execute(services, PLACE_ORDER, order_id, data,
                          command_id=deterministic_id("place-order", order_id))
    services.views.orders.apply(order_id, state)
    return Response(orjson.dumps(order_doc(state)), status_code=202, media_type=JSON,
                    headers={"Location": f"/api/v1/orders/{order_id}"})


@router.get("", response_model=Page[OrderPublic], summary="The caller's orders, newest first")
async def my_orders(user: CurrentUser, services: Services,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20,
                    cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    try:
        page, next_cursor = services.views.orders_by_buyer.page(user.user_id, limit, cursor, services.views.orders.get)
    except BadCursor as exc:
        raise Problem(400, str(exc), slug="bad-cursor") from None
    return Response(orjson.dumps({"items": [order_doc(o) for o in page], "next_cursor": next_cursor}), media_type=JSON)


@router.get("/{order_id}", response_model=OrderPublic, summary="An order of the caller",
            responses={404: {"description": "no such order (or not the caller's)"}})
async def get_order(order_id: str, user: CurrentUser, services: Services) -> Response:
    return Response(orjson.dumps(order_doc(await load_order(services, order_id, user))), media_type=JSON)


@router.get("/{order_id}/timeline", response_model=list[TimelineEntry],
            summary="Every saga step of the order, in order, with timestamps",
            responses={404: {"description": "no such order (or not the caller's)"}})
async def timeline(order_id: str, user: CurrentUser, services: Services) -> Response:
    order = await load_order(services, order_id, user)
    entries = [{"status": e["status"], "at": timestamp_iso(e["at"]),
                **({"reason": e["reason"]} if e.get("reason") else {})}
               for e in order["timeline"]]
    return Response(orjson.dumps(entries), media_type=JSON)


async def request_cancel(services: ApiServices, order: dict[str, Any], reason: str) -> Response:
    """Ask CCP to cancel: it decides (409 once the shipment exists) and the saga compensates."""
    oid = order["order_id"]
    state = await execute(services, CANCEL_ORDER, oid, {"order_id": oid, "reason": reason})
    services.views.orders.apply(oid, state)
    return Response(orjson.dumps(order_doc(state)), status_code=202, media_type=JSON)


@router.post("/{order_id}/cancel", status_code=202, response_model=OrderPublic,
             summary="Cancel an order until its shipment exists; the saga releases, voids or refunds",
             responses={404: {"description": "no such order (or not the caller's)"},
                        409: {"description": "cancelled already, or the shipment exists"}})
async def cancel_order(order_id: str, user: CurrentUser, services: Services) -> Response:
    return await request_cancel(services, await load_order(services, order_id, user), "buyer_cancelled")
