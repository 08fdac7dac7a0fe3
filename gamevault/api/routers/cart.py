"""CCP: the buyer's cart (a table keyed by buyer, changed through the orders agent)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from gamevault.api.commands import execute
from gamevault.api.deps import Buyer, Services
from gamevault.api.documents import cart_doc
from gamevault.api.models import CartItemPut, CartPublic
from gamevault.api.problems import Problem
from gamevault.api.routers.products import load_product
from gamevault.domain.catalog import listed
from gamevault.streams.contracts.commands import REMOVE_CART_ITEM, SET_CART_ITEM

router = APIRouter(prefix="/cart", tags=["cart and orders"])


@router.get("", response_model=CartPublic, summary="The caller's cart")
async def get_cart(buyer: Buyer, services: Services) -> dict[str, Any]:
    return cart_doc(services.views, buyer.user_id, services.views.carts.get(buyer.user_id))


@router.put("/items/{product_id}", response_model=CartPublic, summary="Put a product in the cart (or set its quantity)",
            responses={404: {"description": "no such product"}})
async def put_item(product_id: str, body: CartItemPut, buyer: Buyer, services: Services) -> dict[str, Any]:
    if not listed(await load_product(services, product_id)):
        raise Problem(422, f"product {product_id} is delisted by its seller", slug="delisted")
    cart = await execute(services, SET_CART_ITEM, buyer.user_id,
                         {"buyer_id": buyer.user_id, "product_id": product_id, "quantity": body.quantity})
    services.views.carts.apply(buyer.user_id, cart)
    return cart_doc(services.views, buyer.user_id, cart)


@router.delete("/items/{product_id}", status_code=204, summary="Take a product out of the cart",
               responses={404: {"description": "not in the cart"}})
async def delete_item(product_id: str, buyer: Buyer, services: Services) -> Response:
    cart = await execute(services, REMOVE_CART_ITEM, buyer.user_id,
                         {"buyer_id": buyer.user_id, "product_id": product_id})
    services.views.carts.apply(buyer.user_id, cart)
    return Response(status_code=204)
