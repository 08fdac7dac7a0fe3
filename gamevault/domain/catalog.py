"""CP decisions: product listings and their available stock.

Every state records the command that produced it (`last_cause`) and what changed, so a command
replayed after a crash re-emits the same events (same ids) instead of nothing or something new.
"""

from __future__ import annotations

from typing import Any

from gamevault.domain.decision import Decision
from gamevault.streams.contracts.catalog import ProductCreated, ProductUpdated, StockChanged

CREATED = ProductCreated.event_type
UPDATED = ProductUpdated.event_type
STOCK_CHANGED = StockChanged.event_type

LISTING_FIELDS = ("title", "description", "platform", "genres", "price", "listed")
PUBLIC_FIELDS = ("product_id", "seller_id", *LISTING_FIELDS, "stock", "created_at", "updated_at", "version")
DEFAULTS = {"listed": True}  # fields added since the first products were stored


def public(state: dict[str, Any]) -> dict[str, Any]:
    return {k: state[k] if k in state else DEFAULTS[k] for k in PUBLIC_FIELDS}


def listed(state: dict[str, Any] | None) -> bool:
    """A delisted product leaves search and cannot be ordered; its page and past orders still read."""
    return state is not None and state.get("listed", True)


def _events_of(state: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The events the command that produced `state` emitted (derivable, so replays re-emit them)."""
    changed = state.get("last_changed", [])
    events: list[tuple[str, dict[str, Any]]] = []
    if state["version"] == 1 and state.get("last_kind") == "create":
        events.append((CREATED, public(state)))
    elif any(f in changed for f in LISTING_FIELDS):
        events.append((UPDATED, {**public(state), "changed": [f for f in changed if f != "stock"]}))
    if "stock" in changed and state.get("last_kind") != "create":
        events.append((STOCK_CHANGED, {
            "product_id": state["product_id"], "stock": state["stock"],
            "delta": state.get("last_stock_delta", 0), "reason": state.get("last_stock_reason", "set"),
            **({"order_id": state["last_order_id"]} if state.get("last_order_id") else {}),
        }))
    return events


def replayed(state: dict[str, Any] | None, cause: str) -> Decision | None:
    if state is not None and state.get("last_cause") == cause:
        return Decision(events=_events_of(state), reply=public(state))
    return None


def create(existing: dict[str, Any] | None, cmd: dict[str, Any], cause: str, at: str) -> Decision:
    if (again := replayed(existing, cause)) is not None:
        return again
    if existing is not None:
        return Decision.refuse("conflict", f"product {cmd['product_id']} already exists")
    state = {
        "product_id": cmd["product_id"], "seller_id": cmd["seller_id"],
        **{f: cmd.get(f, DEFAULTS.get(f)) for f in LISTING_FIELDS}, "stock": cmd.get("stock") or 0,
        "created_at": at, "updated_at": at, "version": 1,
        "last_cause": cause, "last_kind": "create", "last_changed": [*LISTING_FIELDS, "stock"],
    }
    return Decision(state=state, events=_events_of(state), reply=public(state))


def _apply_changes(existing: dict[str, Any], changes: dict[str, Any], cause: str, at: str,
                   stock_reason: str = "set", order_id: str | None = None) -> Decision:
    changed = [f for f, v in changes.items() if existing.get(f) != v]
    if not changed:
        return Decision(reply=public(existing))
    state = {
        **existing, **changes, "updated_at": at, "version": existing["version"] + 1,
        "last_cause": cause, "last_kind": "update", "last_changed": changed,
        "last_stock_delta": changes.get("stock", existing["stock"]) - existing["stock"],
        "last_stock_reason": stock_reason, "last_order_id": order_id,
    }
    return Decision(state=state, events=_events_of(state), reply=public(state))


def may_edit(product: dict[str, Any], actor_id: str, actor_role: str) -> bool:
    return actor_role == "admin" or product["seller_id"] == actor_id


def update(existing: dict[str, Any] | None, cmd: dict[str, Any], cause: str, at: str) -> Decision:
    if (again := replayed(existing, cause)) is not None:
        return again
    if existing is None:
        return Decision.refuse("not_found", f"product {cmd['product_id']} does not exist")
    if not may_edit(existing, cmd["actor_id"], cmd["actor_role"]):
        return Decision.refuse("forbidden", "only the seller who owns this product (or an admin) may change it")
    allowed = {k: v for k, v in cmd["changes"].items() if k in (*LISTING_FIELDS, "stock")}
    if "price" in allowed and "currency" not in allowed["price"]:  # a price keeps its currency unless told
        allowed["price"] = {**allowed["price"], "currency": existing["price"]["currency"]}
    return _apply_changes(existing, allowed, cause, at)


def upsert(existing: dict[str, Any] | None, cmd: dict[str, Any], cause: str, at: str) -> Decision:
    """A seller integration's full listing: create it, or replace the listing fields of its own product."""
    if (again := replayed(existing, cause)) is not None:
        return again
    if existing is None:
        return create(None, {**cmd, "stock": cmd.get("stock") or 0}, cause, at)
    if existing["seller_id"] != cmd["seller_id"]:
        return Decision.refuse("unauthorized", f"product {cmd['product_id']} belongs to another seller")
    changes = {f: cmd[f] for f in LISTING_FIELDS if f in cmd}
    if cmd.get("stock") is not None:
        changes["stock"] = cmd["stock"]
    return _apply_changes(existing, changes, cause, at)


def set_stock(existing: dict[str, Any] | None, cmd: dict[str, Any], cause: str, at: str) -> Decision:
    if (again := replayed(existing, cause)) is not None:
        return again
    if existing is None:
        return Decision.refuse("not_found", f"product {cmd['product_id']} does not exist")
    if existing["seller_id"] != cmd["seller_id"]:
        return Decision.refuse("unauthorized", f"product {cmd['product_id']} belongs to another seller")
    return _apply_changes(existing, {"stock": cmd["stock"]}, cause, at)


# ---- inventory: stock reservations for orders ----------------------------------------------
# A unit held for an order is recorded in the product itself (`held`: order id -> quantity), in the
# same record as the stock it was taken from: one write, so a crash can never keep one without the
# other. (Kept in two tables, a SIGKILL between the two changelog writes once left a reservation
# whose stock was never taken, and a replay trusted it: one unit too many on the shelf.)
# The reservations table, keyed "product|order" in the product's partition, remembers how a hold
# ended (rejected, released, sold), so a duplicate or late command is answered the same way. An
# ending is written before the product change that drops the hold: a crash between the two leaves
# the hold in place, and the replayed command finishes it.
RESERVED, REJECTED, RELEASED, SOLD = "reserved", "rejected", "released", "sold"


def reservation_key(product_id: str, order_id: str) -> str:
    return f"{product_id}|{order_id}"


def _held(product: dict[str, Any] | None) -> dict[str, int]:
    return (product or {}).get("held") or {}


def _holding(product: dict[str, Any] | None, reservation: dict[str, Any] | None, order_id: str) -> int | None:
    """The quantity held for the order, if any. A reservation record still "reserved" was written by
    the two-table design (before `held`), which took its stock with it."""
    if order_id in _held(product):
        return _held(product)[order_id]
    if reservation is not None and reservation["state"] == RESERVED:
        return reservation["quantity"]
    return None


def _without_hold(product: dict[str, Any], order_id: str) -> dict[str, int]:
    return {oid: qty for oid, qty in _held(product).items() if oid != order_id}


def reserve(product: dict[str, Any] | None, reservation: dict[str, Any] | None, cmd: dict[str, Any],
            cause: str, at: str) -> tuple[Decision, dict[str, Any] | None, str]:
    """-> (decision on the product, reservation record to write or None, answer: reserved | rejected)."""
    if (again := replayed(product, cause)) is not None:  # this very command took the stock already
        return again, None, RESERVED
    oid, qty = cmd["order_id"], cmd["quantity"]
    if _holding(product, reservation, oid) is not None:  # a duplicate
        return Decision(), None, RESERVED
    if reservation is not None:  # it ended: the same answer as the first time
        return Decision(), None, RESERVED if reservation["state"] == SOLD else REJECTED
    if product is None or product["stock"] < qty or not listed(product):
        available = 0 if product is None or not listed(product) else product["stock"]
        return Decision(), {"state": REJECTED, "quantity": qty, "available": available, "at": at}, REJECTED
    decision = _apply_changes(product, {"stock": product["stock"] - qty, "held": {**_held(product), oid: qty}},
                              cause, at, "reserved", oid)
    return decision, None, RESERVED


def release(product: dict[str, Any] | None, reservation: dict[str, Any] | None, cmd: dict[str, Any],
            cause: str, at: str) -> tuple[Decision, dict[str, Any] | None]:
    """Give held stock back. Releasing an unknown reservation records it, so a late reserve is refused.
    -> (decision on the product, reservation record to write first, or None)."""
    oid = cmd["order_id"]
    if (again := replayed(product, cause)) is not None:  # the stock went back already
        lost = reservation is None  # its record went in another changelog: write it again
        return again, {"state": RELEASED, "quantity": product.get("last_stock_delta", 0), "at": at} if lost else None
    qty = _holding(product, reservation, oid)
    if reservation is not None and reservation["state"] == SOLD:
        return Decision(), None  # a sale is final
    ended = {"state": RELEASED, "quantity": qty or 0, "at": at}
    if qty is None:
        return Decision(), ended if reservation is None else None
    decision = Decision()
    if product is not None:
        decision = _apply_changes(product, {"stock": product["stock"] + qty, "held": _without_hold(product, oid)},
                                  cause, at, "released", oid)
    return decision, ended if reservation is None or reservation["state"] != RELEASED else None


def commit(product: dict[str, Any] | None, reservation: dict[str, Any] | None, order_id: str,
           cause: str, at: str) -> tuple[Decision, dict[str, Any] | None]:
    """The sale is final: the held stock is sold (it never returns to the shelf).
    -> (decision on the product: the hold dropped; reservation record to write first, or None)."""
    qty = _holding(product, reservation, order_id)
    if qty is None and (reservation is None or reservation["state"] != SOLD):
        return Decision(), None  # nothing held (rejected, released): nothing to sell
    sold = None if reservation is not None and reservation["state"] == SOLD else \
        {"state": SOLD, "quantity": qty, "at": at}
    decision = Decision()
    if product is not None and order_id in _held(product):
        decision = _apply_changes(product, {"held": _without_hold(product, order_id)}, cause, at, "sold", order_id)
    return decision, sold
