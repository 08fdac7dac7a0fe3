"""CCP: the order saga as an explicit state machine (pure: state + message -> new state + effects).

    pending --all stock reserved--> stock_reserved --payment started--> payment_pending
    payment_pending --captured--> paid --shipment created--> shipping --delivered--> completed
    any non-final step --failure or deadline--> compensations --> cancelled(reason)

Every message carries a `cause` (the command id). A transition records its cause in the timeline;
a message whose cause is already recorded is a replay (re-emit the same outputs), and a message
that does not fit the current status (a duplicate reply, a late one, one out of order) changes
nothing: an order never moves twice or backwards.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from gamevault.domain.decision import Command, Decision
from gamevault.money import MAX_CENTS, cents, from_cents
from gamevault.streams.contracts import orders as contract
from gamevault.streams.contracts.commands import (
    COMMIT_STOCK,
    CREATE_SHIPMENT,
    REFUND_PAYMENT,
    RELEASE_STOCK,
    REMOVE_ORDERED,
    RESERVE_STOCK,
    START_PAYMENT,
    VOID_PAYMENT,
)
from gamevault.streams.contracts.orders import OrderStatus
from gamevault.streams.envelope import iso

PENDING, STOCK_RESERVED, PAYMENT_PENDING = OrderStatus.PENDING, OrderStatus.STOCK_RESERVED, OrderStatus.PAYMENT_PENDING
PAID, SHIPPING, COMPLETED, CANCELLED = OrderStatus.PAID, OrderStatus.SHIPPING, OrderStatus.COMPLETED, \
    OrderStatus.CANCELLED
FINAL = (COMPLETED, CANCELLED)
RELEASED = "released"  # a reservation the cancellation gave back (it was requested or reserved)
ORDER_RANK = {s: n for n, s in enumerate(OrderStatus)}

EVENT_OF = {  # the public event of entering each status
    STOCK_RESERVED: contract.OrderStockReserved.event_type, PAYMENT_PENDING: contract.OrderPaymentPending.event_type,
    PAID: contract.OrderPaid.event_type, SHIPPING: contract.OrderShipping.event_type,
    COMPLETED: contract.OrderCompleted.event_type, CANCELLED: contract.OrderCancelled.event_type,
}
PLACED = contract.OrderPlaced.event_type


@dataclass(frozen=True)
class Timeouts:
    step_s: float = 30.0  # reservations, payment start, shipment creation
    payment_s: float = 60.0  # waiting for the gateway's confirmation (then reconcile once)
    delivery_s: float = 3600.0  # waiting for the carrier's delivery notice (then ask the carrier)


MAX_ORDER_LINES = 50  # products in one order (and in a cart)


class InvalidOrder(ValueError):
    """An order that cannot be priced: lines in several currencies, or a total no Money can hold."""


def order_total(items: list[dict[str, Any]]) -> dict[str, str]:
    """The total of an order's lines, in their one currency, within what Money and the lake's
    DECIMAL(12,2) hold (adding PEN to USD and calling the sum PEN is the bug this refuses)."""
    currencies = sorted({i["unit_price"]["currency"] for i in items})
    if len(currencies) != 1:
        raise InvalidOrder(f"an order's lines must share one currency; these are in {', '.join(currencies)}")
    total = sum(cents(i["unit_price"]["amount"]) * i["quantity"] for i in items)
    if total > MAX_CENTS:
        raise InvalidOrder(f"the total {from_cents(total)} {currencies[0]} is above the largest an order may have "
                           f"({from_cents(MAX_CENTS)})")
    return {"amount": from_cents(total), "currency": currencies[0]}


def fingerprint(items: list[dict[str, Any]], payment: dict[str, Any], address: dict[str, Any]) -> str:
    """What makes two placements "the same request" for one Idempotency-Key."""
    doc = {"items": sorted((i["product_id"], i["quantity"]) for i in items), "payment": payment, "address": address}
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def transition(order: dict[str, Any], status: str, at: float, cause: str, **extra: Any) -> dict[str, Any]:
    entry = {"status": status, "at": at, "cause": cause, **{k: v for k, v in extra.items() if v is not None}}
    return {**order, "status": status, "updated_at": at, "timeline": [*order["timeline"], entry],
            "version": order["version"] + 1}


def status_event(order: dict[str, Any], entry: dict[str, Any], previous: str) -> tuple[str, dict[str, Any]]:
    data: dict[str, Any] = {"order_id": order["order_id"], "buyer_id": order["buyer_id"],
                            "previous_status": previous, "at": iso(datetime.fromtimestamp(entry["at"], UTC))}
    status = entry["status"]
    if status == PAYMENT_PENDING:
        data["payment_id"] = order["payment"]["payment_id"]
    elif status == PAID:
        data["amount"] = order["total"]
    elif status == SHIPPING:
        data["shipment_id"] = order["shipment"]["shipment_id"]
    elif status == CANCELLED:
        data["reason"] = entry.get("reason", "")
    return EVENT_OF[status], data


def events_of_entry(order: dict[str, Any], index: int) -> list[tuple[str, dict[str, Any]]]:
    """The public events of the timeline entry `index` (re-derivable: a replay re-emits them)."""
    entry = order["timeline"][index]
    if entry["status"] == PENDING:
        return [(PLACED, placed_event(order))]
    previous = order["timeline"][index - 1]["status"] if index else PENDING
    return [status_event(order, entry, previous)]


def placed_event(order: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": order["order_id"], "buyer_id": order["buyer_id"], "items": order["items"],
            "total": order["total"], "provider": order["payment"]["provider"],
            "placed_at": iso(datetime.fromtimestamp(order["created_at"], UTC))}


# ---- placing ---------------------------------------------------------------------------------
def place(existing: dict[str, Any] | None, cmd: dict[str, Any], cause: str, now: float, t: Timeouts) -> Decision:
    """Accept an order (idempotent by id: the same Idempotency-Key gives the same order)."""
    if existing is not None:
        if existing["fingerprint"] != cmd["fingerprint"]:
            return Decision(error=("conflict", "this Idempotency-Key was used for a different order"))
        if existing["timeline"][0]["cause"] == cause:  # a replay of the placement itself
            return Decision(events=events_of_entry(existing, 0), commands=reserve_all(existing))
        return Decision()  # the same request again: the same order, nothing new
    try:
        total = order_total(cmd["items"])
    except InvalidOrder as exc:
        return Decision(error=("invalid", str(exc)))
    order = {
        "order_id": cmd["order_id"], "buyer_id": cmd["buyer_id"], "items": cmd["items"],
        "total": total,
        "payment": {"provider": cmd["payment"]["provider"], "payment_id": None, "status": "not_started",
                    "reference": None},
        "payment_request": cmd["payment"],  # provider fields, dropped once the payment has started
        "shipping_address": cmd["shipping_address"],
        "shipment": {"shipment_id": None, "status": "not_created", "tracking_number": None, "carrier": None},
        "reservations": {i["product_id"]: "requested" for i in cmd["items"]},
        "from_cart": cmd.get("from_cart", False),
        "fingerprint": cmd["fingerprint"], "status": PENDING, "cancel_reason": None, "compensation": None,
        "created_at": now, "updated_at": now, "deadline": now + t.step_s, "retries": 0, "version": 1,
        "timeline": [{"status": PENDING, "at": now, "cause": cause}],
    }
    effects = reserve_all(order)
    if order["from_cart"]:
        effects.append(Command(REMOVE_ORDERED, order["buyer_id"],
                              {"buyer_id": order["buyer_id"], "order_id": order["order_id"],
                               "items": {i["product_id"]: i["quantity"] for i in order["items"]}}))
    return Decision(state=order, events=[(PLACED, placed_event(order))], commands=effects)


def reserve_all(order: dict[str, Any]) -> list[Command]:
    return [Command(RESERVE_STOCK, i["product_id"],
                    {"order_id": order["order_id"], "product_id": i["product_id"], "quantity": i["quantity"]})
            for i in order["items"]]


# ---- what each transition sends ---------------------------------------------------------------------------------
def replayed(order: dict[str, Any], cause: str) -> Decision | None:
    """A message already applied: re-emit what it emitted, change nothing. The state is stored before
    its commands are sent (agents/runtime.apply), so a crash in between leaves this the only way the
    commands ever leave: each must be derivable from the stored state."""
    for index, entry in enumerate(order["timeline"]):
        if entry["cause"] == cause:
            return Decision(events=events_of_entry(order, index), commands=_effects_of_entry(order, index))
    compensation = order.get("compensation") or {}
    if compensation.get("cause") == cause:  # a refund asked for before the cancellation
        return Decision(commands=[refund(order, compensation["reason"])])
    return None


def _effects_of_entry(order: dict[str, Any], index: int) -> list[Command]:
    entry = order["timeline"][index]
    status = entry["status"]
    if status == STOCK_RESERVED:
        return [start_payment(order)]
    if status == PAID:
        return [create_shipment(order)]
    if status == COMPLETED:
        return commit_all(order)
    if status == CANCELLED:  # what the cancellation released (and voided): `cancel_and_release` marks it
        released = [Command(RELEASE_STOCK, pid, {"order_id": order["order_id"], "product_id": pid})
                    for pid, state in order["reservations"].items() if state == RELEASED]
        return released + ([void(order, entry.get("reason", ""))] if order["payment"]["status"] == "voided" else [])
    return []


def start_payment(order: dict[str, Any]) -> Command:
    return Command(START_PAYMENT, order["order_id"], {
        "order_id": order["order_id"], "buyer_id": order["buyer_id"], "amount": order["total"],
        "request": order.get("payment_request") or {"provider": order["payment"]["provider"]},
        "attempt": order["retries"] + 1,
    })


def create_shipment(order: dict[str, Any]) -> Command:
    return Command(CREATE_SHIPMENT, order["order_id"], {
        "order_id": order["order_id"], "address": order["shipping_address"],
        "items": [{"product_id": i["product_id"], "quantity": i["quantity"]} for i in order["items"]],
    })


def release_all(order: dict[str, Any]) -> list[Command]:
    return [Command(RELEASE_STOCK, pid, {"order_id": order["order_id"], "product_id": pid})
            for pid, state in order["reservations"].items() if state in ("requested", "reserved")]


def commit_all(order: dict[str, Any]) -> list[Command]:
    return [Command(COMMIT_STOCK, pid, {"order_id": order["order_id"], "product_id": pid})
            for pid in order["reservations"]]


def cancel_and_release(order: dict[str, Any], reason: str, cause: str, now: float) -> Decision:
    """Cancel and compensate: release what stock is held (a late reservation is released on arrival)."""
    state = transition(order, CANCELLED, now, cause, reason=reason)
    state.update(cancel_reason=reason, deadline=None, payment_request=None)
    effects = release_all(state)
    state["reservations"] = {pid: (RELEASED if s in ("requested", "reserved") else s)
                             for pid, s in state["reservations"].items()}
    return Decision(state=state, events=[status_event(state, state["timeline"][-1], order["status"])],
                    commands=effects)


def compensate_money(order: dict[str, Any], reason: str, cause: str, now: float, t: Timeouts) -> Decision:
    """A captured payment must be refunded before the order is cancelled (then stock is released)."""
    state = {**order, "compensation": {"reason": reason, "step": "refund", "cause": cause},
             "deadline": now + t.step_s, "version": order["version"] + 1, "updated_at": now}
    return Decision(state=state, commands=[refund(order, reason)])


def refund(order: dict[str, Any], reason: str) -> Command:
    return Command(REFUND_PAYMENT, order["order_id"], {"order_id": order["order_id"], "reason": reason})


def cancel(order: dict[str, Any] | None, reason: str, cause: str, now: float, t: Timeouts) -> Decision:
    """A buyer's (or an admin's) cancel, allowed until the shipment exists; the saga compensates in
    reverse: release what is held, void a payment that may still confirm (SP refunds a capture that
    arrives after the void), refund a captured one before the order ends cancelled."""
    if order is None:
        return Decision(error=("not_found", "no such order"))
    if (again := replayed(order, cause)) is not None:
        return again  # the same cancel again: the same outcome
    status = order["status"]
    if status == CANCELLED:
        return Decision(error=("conflict", f"the order is already cancelled ({order.get('cancel_reason')})"))
    if status in (SHIPPING, COMPLETED) or order["shipment"]["shipment_id"]:
        return Decision(error=("conflict", "the shipment exists: the order can no longer be cancelled"))
    if order.get("compensation"):
        return Decision(error=("conflict", "the order is being cancelled already (its refund is under way)"))
    if status == PENDING:
        return cancel_and_release(order, reason, cause, now)
    if status in (STOCK_RESERVED, PAYMENT_PENDING):
        return cancel_unconfirmed(order, reason, cause, now)
    return compensate_money(order, reason, cause, now, t)  # PAID: refund first, then cancel


def cancel_unconfirmed(order: dict[str, Any], reason: str, cause: str, now: float) -> Decision:
    """Cancel an order whose payment never confirmed: void it with the gateway, release the stock."""
    step = cancel_and_release({**order, "payment": {**order["payment"], "status": "voided"}}, reason, cause, now)
    step.commands.append(void(order, reason))
    return step


def void(order: dict[str, Any], reason: str) -> Command:
    return Command(VOID_PAYMENT, order["order_id"], {"order_id": order["order_id"], "reason": reason})
