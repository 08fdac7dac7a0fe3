"""CCP: the buyer's cart (a table keyed by buyer, changed through the orders agent)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from gamevault.api.commands import execute
from gamevault.api.deps import Buyer, Services
from gamevault.api.models import CartItemPut, CartPublic
from gamevault.api.problems import Problem
from gamevault.api.routers.products import load_product
from gamevault.domain.catalog import listed
from gamevault.money import cents, from_cents
from gamevault.streams.contracts.commands import REMOVE_CART_ITEM, SET_CART_ITEM

router = APIRouter(prefix="/cart", tags=["cart and orders"])


def cart_doc(services: Any, buyer_id: str, cart: dict[str, Any] | None) -> dict[str, Any]:
    """The cart with a total per currency: amounts in two currencies are never added up."""
    lines, totals = [], {}
    for pid, qty in ((cart or {}).get("items") or {}).items():
        product = services.views.products.get(pid)
        price = product["price"] if product else None
        if price:
            totals[price["currency"]] = totals.get(price["currency"], 0) + cents(price["amount"]) * qty
        lines.append({"product_id": pid, "quantity": qty, "title": product["title"] if product else None,
                      "unit_price": price, "available": bool(product and product["stock"] >= qty)})
    money = [{"amount": from_cents(c), "currency": cur} for cur, c in sorted(totals.items())]
    total = money[0] if len(money) == 1 else ({"amount": "0.00", "currency": "PEN"} if not money else None)
    return {"buyer_id": buyer_id, "items": lines, "total": total, "totals": money}


@router.get("", response_model=CartPublic, summary="The caller's cart")
async def get_cart(buyer: Buyer, services: Services) -> dict[str, Any]:
    return cart_doc(services, buyer.user_id, services.views.carts.get(buyer.user_id))


@router.put("/items/{product_id}", response_model=CartPublic, summary="Put a product in the cart (or set its quantity)",
            responses={404: {"description": "no such product"}})
async def put_item(product_id: str, body: CartItemPut, buyer: Buyer, services: Services) -> dict[str, Any]:
    if not listed(await load_product(services, product_id)):
        raise Problem(422, f"product {product_id} is delisted by its seller", slug="delisted")
    cart = await execute(services, SET_CART_ITEM, buyer.user_id,
                         {"buyer_id": buyer.user_id, "product_id": product_id, "quantity": body.quantity})
    services.views.carts.apply(buyer.user_id, cart)
    return cart_doc(services, buyer.user_id, cart)


@router.delete("/items/{product_id}", status_code=204, summary="Take a product out of the cart",
               responses={404: {"description": "not in the cart"}})
async def delete_item(product_id: str, buyer: Buyer, services: Services) -> Response:
    cart = await execute(services, REMOVE_CART_ITEM, buyer.user_id,
                         {"buyer_id": buyer.user_id, "product_id": product_id})
    services.views.carts.apply(buyer.user_id, cart)
    return Response(status_code=204)
