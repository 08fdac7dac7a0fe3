"""CCP: how the order saga answers each participant's reply and its own deadline (pure).

`STEPS` maps every saga reply declared in streams/contracts/commands.py to the function that decides
it; the orders agent registers exactly these, and a unit test checks that none is missing. A reply
that does not fit the order's status (a duplicate, a late one, one out of order) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gamevault.domain.decision import Command, Decision
from gamevault.domain.orders import (
    CANCELLED,
    COMPLETED,
    FINAL,
    PAID,
    PAYMENT_PENDING,
    PENDING,
    SHIPPING,
    STOCK_RESERVED,
    Timeouts,
    cancel_and_release,
    cancel_unconfirmed,
    commit_all,
    compensate_money,
    create_shipment,
    refund,
    replayed,
    start_payment,
    status_event,
    transition,
)
from gamevault.streams.contracts.commands import (
    DEADLINE,
    PAYMENT_CAPTURED,
    PAYMENT_FAILED,
    PAYMENT_REFUNDED,
    PAYMENT_STARTED,
    RECONCILE_PAYMENT,
    RELEASE_STOCK,
    SHIPMENT_CREATED,
    SHIPMENT_DELIVERED,
    SHIPMENT_FAILED,
    STOCK_REJECTED,
    TRACK_SHIPMENT,
)
from gamevault.streams.contracts.commands import (
    STOCK_RESERVED as STOCK_RESERVED_REPLY,
)
from gamevault.streams.registry import CommandType

Order = dict[str, Any]
Step = Callable[[Order, dict[str, Any], str, float, Timeouts], Decision]  # (order, msg, cause, now, timeouts)


def _entered(state: Order, previous: str, *commands: Command) -> Decision:
    """The order entered a new status: store it, announce it, send what the status needs."""
    return Decision(state=state, events=[status_event(state, state["timeline"][-1], previous)],
                    commands=list(commands))


def stock_reserved(order: Order, msg: dict[str, Any], cause: str, now: float, t: Timeouts) -> Decision:
    pid, status = msg["product_id"], order["status"]
    if status != PENDING:  # late: the order moved on (e.g. cancelled); hand the stock back
        if status == CANCELLED and order["reservations"].get(pid) != "rejected":
            release = {"order_id": order["order_id"], "product_id": pid}
            return Decision(commands=[Command(RELEASE_STOCK, pid, release)])
        return Decision()
    if order["reservations"].get(pid) != "requested":
        return Decision()
    reservations = {**order["reservations"], pid: "reserved"}
    state = {**order, "reservations": reservations, "version": order["version"] + 1, "updated_at": now}
    if not all(s == "reserved" for s in reservations.values()):
        return Decision(state=state)
    state = transition(state, STOCK_RESERVED, now, cause)
    state["deadline"] = now + t.step_s
    return _entered(state, PENDING, start_payment(state))


def stock_rejected(order: Order, msg: dict[str, Any], cause: str, now: float, t: Timeouts) -> Decision:
    pid = msg["product_id"]
    if order["status"] != PENDING or order["reservations"].get(pid) != "requested":
        return Decision()
    state = {**order, "reservations": {**order["reservations"], pid: "rejected"}}
    return cancel_and_release(state, f"stock_unavailable: {msg.get('title') or pid}", cause, now)


def payment_started(order: Order, msg: dict[str, Any], cause: str, now: float, t: Timeouts) -> Decision:
    if order["status"] != STOCK_RESERVED:
        return Decision()
    state = {**order, "payment": {**order["payment"], "payment_id": msg["payment_id"], "status": "pending",
                                  "reference": msg.get("provider_reference")},
             "payment_request": None}
    state = transition(state, PAYMENT_PENDING, now, cause)
    state["deadline"] = now + t.payment_s
    state["retries"] = 0
    return _entered(state, STOCK_RESERVED)


def payment_captured(order: Order, msg: dict[str, Any], cause: str, now: float, t: Timeouts) -> Decision:
    status = order["status"]
    if status not in (STOCK_RESERVED, PAYMENT_PENDING):
        return Decision()  # captured after cancellation: SP refunds it on its own (it knows it voided)
    payment = order["payment"]
    state = {**order, "payment": {**payment, "status": "captured",
                                  "payment_id": msg.get("payment_id") or payment["payment_id"],
                                  "reference": msg.get("provider_reference") or payment["reference"]},
             "payment_request": None}
    state = transition(state, PAID, now, cause)
    state["deadline"] = now + t.step_s
    state["retries"] = 0
    return _entered(state, status, create_shipment(state))


def payment_failed(order: Order, msg: dict[str, Any], cause: str, now: float, t: Timeouts) -> Decision:
    if order["status"] not in (STOCK_RESERVED, PAYMENT_PENDING):
        return Decision()
    state = {**order, "payment": {**order["payment"], "status": "failed"}, "payment_request": None}
    return cancel_and_release(state, f"payment_failed: {msg.get('reason', 'declined')}", cause, now)


def payment_refunded(order: Order, msg: dict[str, Any], cause: str, now: float, t: Timeouts) -> Decision:
    comp = order.get("compensation")
    if comp is None or order["status"] in FINAL:
        return Decision()
    state = {**order, "payment": {**order["payment"], "status": "refunded"}}
    return cancel_and_release(state, comp["reason"], cause, now)


def shipment_created(order: Order, msg: dict[str, Any], cause: str, now: float, t: Timeouts) -> Decision:
    if order["status"] != PAID or order.get("compensation"):
        return Decision()
    state = {**order, "shipment": {"shipment_id": msg["shipment_id"], "status": "in_transit",
                                   "tracking_number": msg.get("tracking_number"), "carrier": msg.get("carrier")}}
    state = transition(state, SHIPPING, now, cause)
    state["deadline"] = now + t.delivery_s
    return _entered(state, PAID)


def shipment_delivered(order: Order, msg: dict[str, Any], cause: str, now: float, t: Timeouts) -> Decision:
    if order["status"] != SHIPPING:
        return Decision()
    state = {**order, "shipment": {**order["shipment"], "status": "delivered"}}
    state = transition(state, COMPLETED, now, cause)
    state["deadline"] = None
    return _entered(state, SHIPPING, *commit_all(state))


def shipment_failed(order: Order, msg: dict[str, Any], cause: str, now: float, t: Timeouts) -> Decision:
    if order["status"] not in (PAID, SHIPPING) or order.get("compensation"):
        return Decision()
    state = {**order, "shipment": {**order["shipment"], "status": "failed"}}
    return compensate_money(state, f"shipment_failed: {msg.get('reason', 'carrier refused')}", cause, now, t)


def deadline(order: Order, msg: dict[str, Any], cause: str, now: float, t: Timeouts) -> Decision:
    """A step ran out of time: retry it once where that is safe, ask once where we can, else cancel."""
    status = order["status"]
    if status in FINAL or order.get("deadline") is None or now < order["deadline"] or \
            msg.get("deadline") != order["deadline"]:
        return Decision()  # stale: the order moved on, or the deadline was extended since
    retry = {**order, "retries": order["retries"] + 1, "version": order["version"] + 1, "updated_at": now,
             "retried_by": cause,
             "deadline": now + (t.delivery_s if status == SHIPPING and not order.get("compensation") else t.step_s)}
    first_retry = order["retries"] < 1
    if order.get("compensation") or status == SHIPPING:  # ask again: the refund, the carrier's tracking
        return Decision(state=retry, commands=retried(retry))
    if status == PENDING:
        return cancel_and_release(order, "stock_timeout", cause, now)
    if first_retry and status in (STOCK_RESERVED, PAYMENT_PENDING, PAID):  # once more, where that is safe
        return Decision(state=retry, commands=retried(retry))
    if status == STOCK_RESERVED:
        return cancel_unconfirmed(order, "payment_start_timeout", cause, now)
    if status == PAYMENT_PENDING:
        return cancel_unconfirmed(order, "payment_not_confirmed", cause, now)
    if status == PAID:
        return compensate_money(order, "shipment_not_created", cause, now, t)
    return Decision()


def retried(order: Order) -> list[Command]:
    """What a deadline's retry sends, from the order it left (`retried_by`): a replay sends it again.
    A refund not yet confirmed (refunds are keyed: once); a payment start (idempotent); the gateway
    asked once for a payment with no webhook in time (reconciliation); a shipment (idempotent);
    the carrier asked for a delivery notice."""
    oid = order["order_id"]
    if order.get("compensation"):
        return [refund(order, order["compensation"]["reason"])]
    return {STOCK_RESERVED: lambda: [start_payment(order)],
            PAYMENT_PENDING: lambda: [Command(RECONCILE_PAYMENT, oid, {"order_id": oid})],
            PAID: lambda: [create_shipment(order)],
            SHIPPING: lambda: [Command(TRACK_SHIPMENT, oid, {"order_id": oid})]}.get(order["status"], list)()


STEPS: dict[CommandType, Step] = {
    STOCK_RESERVED_REPLY: stock_reserved, STOCK_REJECTED: stock_rejected,
    PAYMENT_STARTED: payment_started, PAYMENT_CAPTURED: payment_captured, PAYMENT_FAILED: payment_failed,
    PAYMENT_REFUNDED: payment_refunded,
    SHIPMENT_CREATED: shipment_created, SHIPMENT_DELIVERED: shipment_delivered, SHIPMENT_FAILED: shipment_failed,
    DEADLINE: deadline,
}


def apply(order: Order | None, reply: CommandType, msg: dict[str, Any], cause: str, now: float,
          t: Timeouts) -> Decision:
    """One reply or deadline for an order: a replay re-emits what it caused, anything else is decided."""
    if order is None:
        return Decision(error=("not_found", f"no order {msg.get('order_id')}"))
    if (again := replayed(order, cause)) is not None:
        return again
    if order.get("retried_by") == cause:  # a deadline's retry, replayed
        return Decision(commands=retried(order))
    return STEPS[reply](order, msg, cause, now, t)
