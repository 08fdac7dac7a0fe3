"""CCP: a buyer's cart (pure). One cart per buyer, decided by the owner of the buyer's partition.

A cart remembers the last orders placed from it, so taking an order's lines out twice (a replay, a
retried placement) takes them out once.
"""

from __future__ import annotations

from typing import Any

from gamevault.domain.decision import Decision
from gamevault.domain.orders import MAX_ORDER_LINES
from gamevault.streams.contracts.orders import CartItemRemoved, CartItemSet

Cart = dict[str, Any]
REMEMBERED_ORDERS = 20


def empty(buyer_id: str) -> Cart:
    return {"buyer_id": buyer_id, "items": {}, "ordered": [], "version": 0}


def _saved(cart: Cart, events: list[tuple[str, dict[str, Any]]]) -> Decision:
    state = {**cart, "version": cart["version"] + 1}
    return Decision(state=state, events=events, reply=state)


def set_item(cart: Cart, cmd: dict[str, Any]) -> Decision:
    if cmd["product_id"] not in cart["items"] and len(cart["items"]) >= MAX_ORDER_LINES:
        return Decision.refuse("invalid", f"a cart holds at most {MAX_ORDER_LINES} products")
    items = {**cart["items"], cmd["product_id"]: cmd["quantity"]}
    return _saved({**cart, "items": items}, [(CartItemSet.event_type, cmd)])


def remove_item(cart: Cart, cmd: dict[str, Any]) -> Decision:
    if cmd["product_id"] not in cart["items"]:
        return Decision.refuse("not_found", f"product {cmd['product_id']} is not in the cart")
    items = {k: v for k, v in cart["items"].items() if k != cmd["product_id"]}
    return _saved({**cart, "items": items}, [(CartItemRemoved.event_type, {**cmd, "reason": "removed"})])


def remove_ordered(cart: Cart, cmd: dict[str, Any]) -> Decision:
    """Take an order's quantities out of the cart it was placed from (once per order)."""
    if cmd["order_id"] in cart["ordered"]:
        return Decision(reply=cart)
    items, events = dict(cart["items"]), []
    for pid, qty in cmd["items"].items():
        if pid not in items:
            continue
        left = items.pop(pid) - qty
        if left > 0:
            items[pid] = left
            events.append((CartItemSet.event_type, {"buyer_id": cart["buyer_id"], "product_id": pid, "quantity": left}))
        else:
            events.append((CartItemRemoved.event_type,
                           {"buyer_id": cart["buyer_id"], "product_id": pid, "reason": "ordered"}))
    ordered = [*cart["ordered"], cmd["order_id"]][-REMEMBERED_ORDERS:]
    return _saved({**cart, "items": items, "ordered": ordered}, events)
