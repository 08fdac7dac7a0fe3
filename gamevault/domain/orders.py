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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from gamevault.money import MAX_CENTS, cents, from_cents
from gamevault.streams.envelope import iso

PENDING, STOCK_RESERVED, PAYMENT_PENDING, PAID = "pending", "stock_reserved", "payment_pending", "paid"
SHIPPING, COMPLETED, CANCELLED = "shipping", "completed", "cancelled"
STATUSES = (PENDING, STOCK_RESERVED, PAYMENT_PENDING, PAID, SHIPPING, COMPLETED, CANCELLED)
FINAL = (COMPLETED, CANCELLED)
ORDER_RANK = {s: n for n, s in enumerate(STATUSES)}

EVENT_OF = {
    STOCK_RESERVED: "gamevault.orders.order.stock_reserved", PAYMENT_PENDING: "gamevault.orders.order.payment_pending",
    PAID: "gamevault.orders.order.paid", SHIPPING: "gamevault.orders.order.shipping",
    COMPLETED: "gamevault.orders.order.completed", CANCELLED: "gamevault.orders.order.cancelled",
}
PLACED = "gamevault.orders.order.placed"


@dataclass(frozen=True)
class Effect:
    """A command for another module (or a deadline for ourselves), sent after the state is stored."""

    target: str  # "catalog" | "payments" | "logistics"
    type: str
    key: str
    data: dict[str, Any]


@dataclass
class Step:
    state: dict[str, Any] | None = None  # None: nothing changed
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    error: tuple[str, str] | None = None


@dataclass(frozen=True)
class Timeouts:
    step_s: float = 30.0  # reservations, payment start, shipment creation
    payment_s: float = 60.0  # waiting for the gateway's confirmation (then reconcile once)
    delivery_s: float = 3600.0  # waiting for the carrier's delivery notice (then ask the carrier)


# ---- commands to the other modules ---------------------------------------------------------
RESERVE, RELEASE, COMMIT = "gamevault.catalog.stock.reserve", "gamevault.catalog.stock.release", \
    "gamevault.catalog.stock.commit"
START_PAYMENT, RECONCILE = "gamevault.payments.start", "gamevault.payments.reconcile"
REFUND, VOID = "gamevault.payments.refund", "gamevault.payments.void"
CREATE_SHIPMENT, TRACK_SHIPMENT = "gamevault.logistics.create", "gamevault.logistics.track"


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


def _transition(order: dict[str, Any], status: str, at: float, cause: str, **extra: Any) -> dict[str, Any]:
    entry = {"status": status, "at": at, "cause": cause, **{k: v for k, v in extra.items() if v is not None}}
    return {**order, "status": status, "updated_at": at, "timeline": [*order["timeline"], entry],
            "version": order["version"] + 1}


def _event(order: dict[str, Any], entry: dict[str, Any], previous: str) -> tuple[str, dict[str, Any]]:
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
    return [_event(order, entry, previous)]


def placed_event(order: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": order["order_id"], "buyer_id": order["buyer_id"], "items": order["items"],
            "total": order["total"], "provider": order["payment"]["provider"],
            "placed_at": iso(datetime.fromtimestamp(order["created_at"], UTC))}


# ---- placing ---------------------------------------------------------------------------------
def place(existing: dict[str, Any] | None, cmd: dict[str, Any], cause: str, now: float, t: Timeouts) -> Step:
    """Accept an order (idempotent by id: the same Idempotency-Key gives the same order)."""
    if existing is not None:
        if existing["fingerprint"] != cmd["fingerprint"]:
            return Step(error=("conflict", "this Idempotency-Key was used for a different order"))
        if existing["timeline"][0]["cause"] == cause:  # a replay of the placement itself
            return Step(events=events_of_entry(existing, 0), effects=_reserve_all(existing))
        return Step()  # the same request again: the same order, nothing new
    try:
        total = order_total(cmd["items"])
    except InvalidOrder as exc:
        return Step(error=("invalid", str(exc)))
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
    effects = _reserve_all(order)
    if order["from_cart"]:
        effects.append(Effect("orders", "gamevault.orders.cart.remove_ordered", order["buyer_id"],
                              {"buyer_id": order["buyer_id"], "order_id": order["order_id"],
                               "items": {i["product_id"]: i["quantity"] for i in order["items"]}}))
    return Step(state=order, events=[(PLACED, placed_event(order))], effects=effects)


def _reserve_all(order: dict[str, Any]) -> list[Effect]:
    return [Effect("catalog", RESERVE, i["product_id"],
                   {"order_id": order["order_id"], "product_id": i["product_id"], "quantity": i["quantity"]})
            for i in order["items"]]


# ---- replies ---------------------------------------------------------------------------------
def _replayed(order: dict[str, Any], cause: str) -> Step | None:
    """A message already applied: re-emit what its transition emitted, change nothing."""
    for index, entry in enumerate(order["timeline"]):
        if entry["cause"] == cause:
            return Step(events=events_of_entry(order, index), effects=_effects_of_entry(order, index))
    return None


def _effects_of_entry(order: dict[str, Any], index: int) -> list[Effect]:
    entry = order["timeline"][index]
    status = entry["status"]
    if status == STOCK_RESERVED:
        return [_start_payment(order)]
    if status == PAID:
        return [_create_shipment(order)]
    if status == COMPLETED:
        return _commit_all(order)
    if status == CANCELLED:
        return _release_all(order)
    return []


def _start_payment(order: dict[str, Any]) -> Effect:
    return Effect("payments", START_PAYMENT, order["order_id"], {
        "order_id": order["order_id"], "buyer_id": order["buyer_id"], "amount": order["total"],
        "request": order.get("payment_request") or {"provider": order["payment"]["provider"]},
        "attempt": order["retries"] + 1,
    })


def _create_shipment(order: dict[str, Any]) -> Effect:
    return Effect("logistics", CREATE_SHIPMENT, order["order_id"], {
        "order_id": order["order_id"], "address": order["shipping_address"],
        "items": [{"product_id": i["product_id"], "quantity": i["quantity"]} for i in order["items"]],
    })


def _release_all(order: dict[str, Any]) -> list[Effect]:
    return [Effect("catalog", RELEASE, pid, {"order_id": order["order_id"], "product_id": pid})
            for pid, state in order["reservations"].items() if state in ("requested", "reserved")]


def _commit_all(order: dict[str, Any]) -> list[Effect]:
    return [Effect("catalog", COMMIT, pid, {"order_id": order["order_id"], "product_id": pid})
            for pid in order["reservations"]]


def _cancel(order: dict[str, Any], reason: str, cause: str, now: float) -> Step:
    """Cancel and compensate: release what stock is held (a late reservation is released on arrival)."""
    state = _transition(order, CANCELLED, now, cause, reason=reason)
    state.update(cancel_reason=reason, deadline=None, payment_request=None)
    effects = _release_all(state)
    state["reservations"] = {pid: ("released" if s in ("requested", "reserved") else s)
                             for pid, s in state["reservations"].items()}
    return Step(state=state, events=[_event(state, state["timeline"][-1], order["status"])], effects=effects)


def _compensate_money(order: dict[str, Any], reason: str, cause: str, now: float, t: Timeouts) -> Step:
    """A captured payment must be refunded before the order is cancelled (then stock is released)."""
    state = {**order, "compensation": {"reason": reason, "step": "refund", "cause": cause},
             "deadline": now + t.step_s, "version": order["version"] + 1, "updated_at": now}
    return Step(state=state, effects=[Effect("payments", REFUND, order["order_id"],
                                             {"order_id": order["order_id"], "reason": reason})])


def apply(order: dict[str, Any] | None, kind: str, msg: dict[str, Any], cause: str, now: float,
          t: Timeouts) -> Step:
    """One reply or deadline for an order."""
    if order is None:
        return Step(error=("not_found", f"no order {msg.get('order_id')}"))
    if (again := _replayed(order, cause)) is not None:
        return again
    status = order["status"]
    if kind == "stock_reserved":
        pid = msg["product_id"]
        if status != PENDING:  # late: the order moved on (e.g. cancelled); hand the stock back
            if status == CANCELLED and order["reservations"].get(pid) != "rejected":
                release = {"order_id": order["order_id"], "product_id": pid}
                return Step(effects=[Effect("catalog", RELEASE, pid, release)])
            return Step()
        if order["reservations"].get(pid) != "requested":
            return Step()
        reservations = {**order["reservations"], pid: "reserved"}
        state = {**order, "reservations": reservations, "version": order["version"] + 1, "updated_at": now}
        if all(s == "reserved" for s in reservations.values()):
            state = _transition(state, STOCK_RESERVED, now, cause)
            state["deadline"] = now + t.step_s
            return Step(state=state, events=[_event(state, state["timeline"][-1], PENDING)],
                        effects=[_start_payment(state)])
        return Step(state=state)
    if kind == "stock_rejected":
        pid = msg["product_id"]
        if status != PENDING or order["reservations"].get(pid) != "requested":
            return Step()
        state = {**order, "reservations": {**order["reservations"], pid: "rejected"}}
        return _cancel(state, f"stock_unavailable: {msg.get('title') or pid}", cause, now)
    if kind == "payment_started":
        if status != STOCK_RESERVED:
            return Step()
        state = {**order, "payment": {**order["payment"], "payment_id": msg["payment_id"], "status": "pending",
                                      "reference": msg.get("provider_reference")},
                 "payment_request": None}
        state = _transition(state, PAYMENT_PENDING, now, cause)
        state["deadline"] = now + t.payment_s
        state["retries"] = 0
        return Step(state=state, events=[_event(state, state["timeline"][-1], STOCK_RESERVED)])
    if kind == "payment_captured":
        if status in (STOCK_RESERVED, PAYMENT_PENDING):
            state = {**order, "payment": {**order["payment"], "status": "captured",
                                          "payment_id": msg.get("payment_id") or order["payment"]["payment_id"],
                                          "reference": msg.get("provider_reference") or order["payment"]["reference"]},
                     "payment_request": None}
            state = _transition(state, PAID, now, cause)
            state["deadline"] = now + t.step_s
            state["retries"] = 0
            return Step(state=state, events=[_event(state, state["timeline"][-1], status)],
                        effects=[_create_shipment(state)])
        return Step()  # captured after cancellation: SP refunds it on its own (it knows it voided)
    if kind == "payment_failed":
        if status in (STOCK_RESERVED, PAYMENT_PENDING):
            state = {**order, "payment": {**order["payment"], "status": "failed"}, "payment_request": None}
            return _cancel(state, f"payment_failed: {msg.get('reason', 'declined')}", cause, now)
        return Step()
    if kind == "payment_refunded":
        comp = order.get("compensation")
        if comp is None or status in FINAL:
            return Step()
        state = {**order, "payment": {**order["payment"], "status": "refunded"}}
        return _cancel(state, comp["reason"], cause, now)
    if kind == "shipment_created":
        if status != PAID or order.get("compensation"):
            return Step()
        state = {**order, "shipment": {"shipment_id": msg["shipment_id"], "status": "in_transit",
                                       "tracking_number": msg.get("tracking_number"), "carrier": msg.get("carrier")}}
        state = _transition(state, SHIPPING, now, cause)
        state["deadline"] = now + t.delivery_s
        return Step(state=state, events=[_event(state, state["timeline"][-1], PAID)])
    if kind == "shipment_delivered":
        if status != SHIPPING:
            return Step()
        state = {**order, "shipment": {**order["shipment"], "status": "delivered"}}
        state = _transition(state, COMPLETED, now, cause)
        state["deadline"] = None
        return Step(state=state, events=[_event(state, state["timeline"][-1], SHIPPING)],
                    effects=_commit_all(state))
    if kind == "shipment_failed":
        if status not in (PAID, SHIPPING) or order.get("compensation"):
            return Step()
        state = {**order, "shipment": {**order["shipment"], "status": "failed"}}
        return _compensate_money(state, f"shipment_failed: {msg.get('reason', 'carrier refused')}", cause, now, t)
    if kind == "deadline":
        return _deadline(order, msg, cause, now, t)
    return Step(error=("invalid", f"unknown saga message {kind}"))


def cancel(order: dict[str, Any] | None, reason: str, cause: str, now: float, t: Timeouts) -> Step:
    """A buyer's (or an admin's) cancel, allowed until the shipment exists; the saga compensates in
    reverse: release what is held, void a payment that may still confirm (SP refunds a capture that
    arrives after the void), refund a captured one before the order ends cancelled."""
    if order is None:
        return Step(error=("not_found", "no such order"))
    if (again := _replayed(order, cause)) is not None or (order.get("compensation") or {}).get("cause") == cause:
        return again or Step()  # the same cancel again: the same outcome
    status = order["status"]
    if status == CANCELLED:
        return Step(error=("conflict", f"the order is already cancelled ({order.get('cancel_reason')})"))
    if status in (SHIPPING, COMPLETED) or order["shipment"]["shipment_id"]:
        return Step(error=("conflict", "the shipment exists: the order can no longer be cancelled"))
    if order.get("compensation"):
        return Step(error=("conflict", "the order is being cancelled already (its refund is under way)"))
    if status == PENDING:
        return _cancel(order, reason, cause, now)
    if status in (STOCK_RESERVED, PAYMENT_PENDING):
        return _cancel_unconfirmed(order, reason, cause, now)
    return _compensate_money(order, reason, cause, now, t)  # PAID: refund first, then cancel


def _deadline(order: dict[str, Any], msg: dict[str, Any], cause: str, now: float, t: Timeouts) -> Step:
    """A step ran out of time: retry it once where that is safe, ask once where we can, else cancel."""
    status = order["status"]
    if status in FINAL or order.get("deadline") is None or now < order["deadline"] or \
            msg.get("deadline") != order["deadline"]:
        return Step()  # stale: the order moved on, or the deadline was extended since
    bumped = {**order, "retries": order["retries"] + 1, "version": order["version"] + 1, "updated_at": now}
    if order.get("compensation"):  # the refund is not confirmed yet: ask again (refunds are keyed: once)
        bumped["deadline"] = now + t.step_s
        refund = {"order_id": order["order_id"], "reason": order["compensation"]["reason"]}
        return Step(state=bumped, effects=[Effect("payments", REFUND, order["order_id"], refund)])
    if status == PENDING:
        return _cancel(order, "stock_timeout", cause, now)
    if status == STOCK_RESERVED:
        if order["retries"] < 1:  # starting a payment is idempotent: one more try
            bumped["deadline"] = now + t.step_s
            return Step(state=bumped, effects=[_start_payment(bumped)])
        return _cancel_unconfirmed(order, "payment_start_timeout", cause, now)
    if status == PAYMENT_PENDING:
        if order["retries"] < 1:  # no webhook in time: ask the gateway once (reconciliation)
            bumped["deadline"] = now + t.step_s
            return Step(state=bumped, effects=[Effect("payments", RECONCILE, order["order_id"],
                                                      {"order_id": order["order_id"]})])
        return _cancel_unconfirmed(order, "payment_not_confirmed", cause, now)
    if status == PAID:
        if order["retries"] < 1:
            bumped["deadline"] = now + t.step_s
            return Step(state=bumped, effects=[_create_shipment(bumped)])
        return _compensate_money(order, "shipment_not_created", cause, now, t)
    if status == SHIPPING:  # no delivery notice yet: ask the carrier, keep waiting
        bumped["deadline"] = now + t.delivery_s
        return Step(state=bumped, effects=[Effect("logistics", TRACK_SHIPMENT, order["order_id"],
                                                  {"order_id": order["order_id"]})])
    return Step()


def _cancel_unconfirmed(order: dict[str, Any], reason: str, cause: str, now: float) -> Step:
    """Cancel an order whose payment never confirmed: void it with the gateway, release the stock."""
    step = _cancel({**order, "payment": {**order["payment"], "status": "voided"}}, reason, cause, now)
    step.effects.append(Effect("payments", VOID, order["order_id"], {"order_id": order["order_id"], "reason": reason}))
    return step
