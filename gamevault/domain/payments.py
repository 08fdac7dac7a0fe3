"""SP: one payment per order and what may happen to it.

    starting --gateway accepted--> pending --captured--> captured --refund--> refunding --> refunded
    starting/pending --declined or void--> failed / voided

Effects (gateway calls) are returned, not performed: the agent runs them outside its loop with an
idempotency key derived from the payment, and feeds their results back as commands. A capture that
arrives after the order gave up on the payment (voided) is refunded at once: the buyer is never
charged for a cancelled order.
"""

from __future__ import annotations

from typing import Any

from gamevault.domain.decision import Decision, saga_reply
from gamevault.money import cents
from gamevault.streams.contracts.commands import PAYMENT_CAPTURED, PAYMENT_FAILED, PAYMENT_REFUNDED, PAYMENT_STARTED
from gamevault.streams.contracts.payments import (
    PaymentCaptured,
    PaymentFailed,
    PaymentRefunded,
    PaymentStarted,
    PaymentVoided,
)

STARTING, PENDING, CAPTURED, FAILED = "starting", "pending", "captured", "failed"
VOIDING, VOIDED, REFUNDING, REFUNDED = "voiding", "voided", "refunding", "refunded"
SEEN_LIMIT = 64




def payment_id(order_id: str) -> str:
    from gamevault.streams.envelope import deterministic_id

    return deterministic_id("payment", order_id)


def _base(p: dict[str, Any], at: str) -> dict[str, Any]:
    return {"order_id": p["order_id"], "payment_id": p["payment_id"], "provider": p["provider"],
            "amount": p["amount"], "at": at}


def _bump(p: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**p, **changes, "version": p["version"] + 1}


def answers(p: dict[str, Any], started: bool = True) -> Decision:
    """The saga's answers for where the payment is (`started`: its start too). A step's state is stored
    before its answer is sent (agents/runtime.apply), so a command that finds its step done (a replay
    after a crash, a duplicate notification, a retried start) answers again: the saga ignores what it
    already knows."""
    ids = {"payment_id": p["payment_id"], "provider_reference": p["reference"]}
    if p["status"] == FAILED:
        return Decision(commands=[saga_reply(PAYMENT_FAILED, p, {"reason": p.get("reason") or "declined"})])
    replies = [saga_reply(PAYMENT_STARTED, p, ids)] if started and p["status"] in (PENDING, CAPTURED) else []
    if p["status"] == CAPTURED:
        replies.append(saga_reply(PAYMENT_CAPTURED, p, ids))
    return Decision(commands=replies)


def start(existing: dict[str, Any] | None, cmd: dict[str, Any], at: str) -> Decision:
    if existing is not None:
        if existing["status"] == STARTING:  # not answered yet (or lost in a crash): call again, same key
            return Decision(calls=[("start", existing)])
        return answers(existing)
    request = dict(cmd["request"])
    state = {
        "order_id": cmd["order_id"], "payment_id": payment_id(cmd["order_id"]), "provider": request["provider"],
        "amount": cmd["amount"], "buyer_id": cmd["buyer_id"], "request": request, "status": STARTING,
        "reference": None, "seen": [], "captures": 0, "refunds": 0, "reason": None,
        "created_at": at, "updated_at": at, "version": 1,
    }
    return Decision(state=state, calls=[("start", state)])


def started(p: dict[str, Any], result: dict[str, Any], at: str) -> Decision:
    """The gateway answered the start call."""
    if p["status"] != STARTING:
        return answers(p)
    if not result["ok"]:
        state = _bump(p, status=FAILED, reason=result["reason"], request=None, updated_at=at)
        failed = {**_base(p, at), "reason": result["reason"]}
        return Decision(state=state, events=[(PaymentFailed.event_type, failed)],
                       commands=[saga_reply(PAYMENT_FAILED, p, {"reason": result["reason"]})])
    state = _bump(p, status=PENDING, reference=result["reference"], request=None, updated_at=at)
    ref = result["reference"]
    return Decision(state=state,
                   events=[(PaymentStarted.event_type, {**_base(p, at), "provider_reference": ref})],
                    commands=[saga_reply(PAYMENT_STARTED, p, {"payment_id": p["payment_id"],
                                                              "provider_reference": ref})])


def mismatch(p: dict[str, Any], note: dict[str, Any]) -> str | None:
    """Why a webhook is not about this payment (None: it is). A signature proves who sent a body, not that
    the body is about this payment: its provider, gateway reference, amount and currency must be ours."""
    if note.get("provider") != p["provider"]:
        return f"a {note.get('provider')} notification for a {p['provider']} payment"
    reference = note.get("reference")
    if p.get("reference") and reference and reference != p["reference"]:
        return f"gateway reference {reference!r} is not this payment's"
    amount, currency = note.get("amount"), note.get("currency")
    if amount is None or currency is None:
        return "the notification names no amount and currency"
    try:
        same = cents(str(amount)) == cents(p["amount"]["amount"]) and currency == p["amount"]["currency"]
    except ValueError:
        same = False
    if not same:
        return f"amount {amount} {currency} is not this payment's {p['amount']['amount']} {p['amount']['currency']}"
    return None


def webhook(p: dict[str, Any] | None, note: dict[str, Any], at: str) -> Decision:
    """A gateway's signed notification, checked against the stored payment before it may move it. PayPal's
    signature covers only a CRC32 of the body (forgeable), so a PayPal notification is a hint: the order
    is looked up with PayPal ("confirm") and its answer decides (PayPal's own advice)."""
    if p is None:
        return Decision()
    why = mismatch(p, note)
    if why is not None:
        return Decision(error=("mismatch", f"notification {note.get('event_id')} refused: {why}"))
    if p["provider"] != "paypal" or note["outcome"] == "pending":
        return notified(p, note, at)
    seen_key = note.get("transmission_id") or note.get("event_id")
    if seen_key and seen_key in p["seen"]:
        return Decision()  # this transmission was used already
    seen = ([*p["seen"], seen_key] if seen_key else p["seen"])[-SEEN_LIMIT:]
    reference = p["reference"] or note.get("reference")
    return Decision(state=_bump(p, seen=seen), calls=[("confirm", {**p, "reference": reference})])


def confirmed(p: dict[str, Any], answer: str, at: str) -> Decision:
    """PayPal's order lookup after a notification: approved -> capture; captured / failed -> settled."""
    if answer in ("approved", "captured", "failed"):
        return notified(p, {"outcome": answer, "reason": "declined" if answer == "failed" else None}, at)
    return Decision()


def notified(p: dict[str, Any] | None, note: dict[str, Any], at: str) -> Decision:
    """A gateway outcome SP trusts: a wallet's checked webhook, or a capture, lookup or reconciliation answer."""
    if p is None:
        return Decision()
    event_id = note.get("event_id")
    if event_id and event_id in p["seen"]:
        return answers(p, started=False)  # a duplicate delivery (or this one replayed)
    seen = ([*p["seen"], event_id] if event_id else p["seen"])[-SEEN_LIMIT:]
    outcome = note["outcome"]  # approved (PayPal: capture now) | captured | failed | pending
    reference = note.get("reference") or p["reference"]
    status = p["status"]
    if outcome == "approved":
        if status in (PENDING, STARTING):
            capture = {**p, "reference": reference}
            return Decision(state=_bump(p, seen=seen, reference=reference), calls=[("capture", capture)])
        return Decision(state=_bump(p, seen=seen))
    if outcome == "captured":
        if status in (STARTING, PENDING):
            state = _bump(p, seen=seen, status=CAPTURED, reference=reference, captures=p["captures"] + 1,
                          request=None, updated_at=at)
            return Decision(state=state, events=[(PaymentCaptured.event_type,
                                                 {**_base(p, at), "provider_reference": reference})],
                           commands=[saga_reply(PAYMENT_CAPTURED, p,
                                     {"payment_id": p["payment_id"], "provider_reference": reference})])
        if status in (VOIDING, VOIDED, FAILED):  # money taken for an order that gave up: give it back
            state = _bump(p, seen=seen, status=REFUNDING, reference=reference, captures=p["captures"] + 1,
                          updated_at=at, reason=f"captured after {status}")
            return Decision(state=state, events=[(PaymentCaptured.event_type,
                                                 {**_base(p, at), "provider_reference": reference})],
                           calls=[("refund", state)])
        again = answers(p, started=False)  # already captured (or refunding/refunded): nothing new
        again.state = _bump(p, seen=seen)
        return again
    if outcome == "failed":
        if status in (STARTING, PENDING):
            reason = note.get("reason") or "declined"
            state = _bump(p, seen=seen, status=FAILED, reason=reason, request=None, updated_at=at)
            failed = {**_base(p, at), "reason": reason}
            return Decision(state=state, events=[(PaymentFailed.event_type, failed)],
                           commands=[saga_reply(PAYMENT_FAILED, p, {"reason": reason})])
        return Decision(state=_bump(p, seen=seen))  # never backwards: a failure after a capture changes nothing
    return Decision(state=_bump(p, seen=seen) if event_id else None)  # pending: nothing to do


def reconciled(p: dict[str, Any], answer: str, at: str) -> Decision:
    """The one status query after the confirmation deadline."""
    if answer in ("captured", "failed"):
        return notified(p, {"outcome": answer, "reason": "declined (reconciliation)"}, at)
    return Decision()  # still unknown: the order will cancel and void


def refund(p: dict[str, Any] | None) -> Decision:
    """Compensation for a cancelled, paid order. Refunds are keyed: asking twice refunds once."""
    if p is None:
        return Decision(commands=[saga_reply(PAYMENT_REFUNDED, p, {"amount": "0.00"})])
    if p["status"] == CAPTURED:
        state = _bump(p, status=REFUNDING)
        return Decision(state=state, calls=[("refund", state)])
    if p["status"] == REFUNDING:
        return Decision(calls=[("refund", p)])
    if p["status"] == REFUNDED:
        return Decision(commands=[saga_reply(PAYMENT_REFUNDED, p, {"amount": p["amount"]["amount"]})])
    return Decision(commands=[saga_reply(PAYMENT_REFUNDED, p, {"amount": "0.00"})])  # nothing was captured


def refunded(p: dict[str, Any], result: dict[str, Any], at: str) -> Decision:
    if p["status"] != REFUNDING:
        return Decision()
    if not result["ok"]:
        return Decision(calls=[("refund", p)]) if result.get("retry") else Decision()
    state = _bump(p, status=REFUNDED, refunds=p["refunds"] + 1, updated_at=at)
    return Decision(state=state,
                   events=[(PaymentRefunded.event_type,
                            {**_base(p, at), "provider_reference": p["reference"]})],
                   commands=[saga_reply(PAYMENT_REFUNDED, p, {"amount": p["amount"]["amount"]})])


def void(p: dict[str, Any] | None, reason: str, at: str) -> Decision:
    """The order gave up waiting: void the payment with the gateway (refund it, if it was captured)."""
    if p is None:
        return Decision()
    if p["status"] in (STARTING, PENDING):  # the buyer's payment fields are not needed to void
        state = _bump(p, status=VOIDING, reason=reason, updated_at=at, request=None)
        return Decision(state=state, calls=[("void", state)])
    if p["status"] == CAPTURED:
        state = _bump(p, status=REFUNDING, reason=reason, updated_at=at)
        return Decision(state=state, calls=[("refund", state)])
    return Decision()


def voided(p: dict[str, Any], at: str) -> Decision:
    if p["status"] != VOIDING:
        return Decision()
    state = _bump(p, status=VOIDED, updated_at=at)
    voided = {**_base(p, at), "reason": p.get("reason") or "void"}
    return Decision(state=state, events=[(PaymentVoided.event_type, voided)])
