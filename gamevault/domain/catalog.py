"""CP decisions: product listings and their available stock.

Every state records the command that produced it (`last_cause`) and what changed, so a command
replayed after a crash re-emits the same events (same ids) instead of nothing or something new.
"""

from __future__ import annotations

from typing import Any

from gamevault.domain.decision import Decision

CREATED = "gamevault.catalog.product.created"
UPDATED = "gamevault.catalog.product.updated"
STOCK_CHANGED = "gamevault.catalog.stock.changed"

LISTING_FIELDS = ("title", "description", "platform", "genres", "price")
PUBLIC_FIELDS = ("product_id", "seller_id", *LISTING_FIELDS, "stock", "created_at", "updated_at", "version")


def public(state: dict[str, Any]) -> dict[str, Any]:
    return {k: state[k] for k in PUBLIC_FIELDS}


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
        **{f: cmd[f] for f in LISTING_FIELDS}, "stock": cmd.get("stock") or 0,
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
    return _apply_changes(existing, allowed, cause, at)


def upsert(existing: dict[str, Any] | None, cmd: dict[str, Any], cause: str, at: str) -> Decision:
    """A seller integration's full listing: create it, or replace the listing fields of its own product."""
    if (again := replayed(existing, cause)) is not None:
        return again
    if existing is None:
        return create(None, {**cmd, "stock": cmd.get("stock") or 0}, cause, at)
    if existing["seller_id"] != cmd["seller_id"]:
        return Decision.refuse("forbidden", f"product {cmd['product_id']} belongs to another seller")
    changes = {f: cmd[f] for f in LISTING_FIELDS}
    if cmd.get("stock") is not None:
        changes["stock"] = cmd["stock"]
    return _apply_changes(existing, changes, cause, at)


def set_stock(existing: dict[str, Any] | None, cmd: dict[str, Any], cause: str, at: str) -> Decision:
    if (again := replayed(existing, cause)) is not None:
        return again
    if existing is None:
        return Decision.refuse("not_found", f"product {cmd['product_id']} does not exist")
    if existing["seller_id"] != cmd["seller_id"]:
        return Decision.refuse("forbidden", f"product {cmd['product_id']} belongs to another seller")
    return _apply_changes(existing, {"stock": cmd["stock"]}, cause, at)


# ---- inventory: stock reservations for orders ----------------------------------------------
# A reservation lives in its own table keyed "product|order", in the product's partition, so it is
# decided by the same agent as the product's stock. Its state survives its end (released, sold,
# rejected): a duplicate or late command for it is recognised and answered the same way.
RESERVED, REJECTED, RELEASED, SOLD = "reserved", "rejected", "released", "sold"


def reservation_key(product_id: str, order_id: str) -> str:
    return f"{product_id}|{order_id}"


def reserve(product: dict[str, Any] | None, reservation: dict[str, Any] | None, cmd: dict[str, Any],
            cause: str, at: str) -> tuple[Decision, dict[str, Any] | None, str]:
    """-> (decision on the product, new reservation or None, answer: reserved | rejected)."""
    if reservation is not None:  # a duplicate or a late repeat: the same answer as the first time
        return Decision(), None, RESERVED if reservation["state"] in (RESERVED, SOLD) else REJECTED
    qty = cmd["quantity"]
    if product is not None and product.get("last_cause") == cause:  # replay; the reservation write was lost
        return replayed(product, cause), {"state": RESERVED, "quantity": qty, "at": at}, RESERVED
    if product is None or product["stock"] < qty:
        available = 0 if product is None else product["stock"]
        return Decision(), {"state": REJECTED, "quantity": qty, "available": available, "at": at}, REJECTED
    decision = _apply_changes(product, {"stock": product["stock"] - qty}, cause, at, "reserved", cmd["order_id"])
    return decision, {"state": RESERVED, "quantity": qty, "at": at}, RESERVED


def release(product: dict[str, Any] | None, reservation: dict[str, Any] | None, cmd: dict[str, Any],
            cause: str, at: str) -> tuple[Decision, dict[str, Any] | None]:
    """Give held stock back. Releasing an unknown reservation records it, so a late reserve is refused."""
    if product is not None and product.get("last_cause") == cause:  # replay; the reservation write was lost
        return replayed(product, cause), {**(reservation or {"quantity": 0}), "state": RELEASED, "at": at}
    if reservation is None:
        return Decision(), {"state": RELEASED, "quantity": 0, "at": at}
    if reservation["state"] != RESERVED:
        return Decision(), None
    qty = reservation["quantity"]
    decision = Decision()
    if product is not None:
        decision = _apply_changes(product, {"stock": product["stock"] + qty}, cause, at, "released", cmd["order_id"])
    return decision, {**reservation, "state": RELEASED, "at": at}


def commit(reservation: dict[str, Any] | None, at: str) -> dict[str, Any] | None:
    """The sale is final: the held stock is sold (it never returns to the shelf)."""
    if reservation is None or reservation["state"] != RESERVED:
        return None
    return {**reservation, "state": SOLD, "at": at}
