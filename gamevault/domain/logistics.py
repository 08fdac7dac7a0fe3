"""LE: one shipment per paid order, created with the carrier; delivered or failed."""

from __future__ import annotations

from typing import Any

from gamevault.domain.decision import Decision, saga_reply
from gamevault.streams.contracts.commands import SHIPMENT_CREATED, SHIPMENT_DELIVERED, SHIPMENT_FAILED
from gamevault.streams.contracts.logistics import ShipmentCreated, ShipmentDelivered, ShipmentFailed
from gamevault.streams.envelope import deterministic_id

CREATING, CREATED, DELIVERED, FAILED = "creating", "created", "delivered", "failed"
CARRIER = "andes-express"




def _base(s: dict[str, Any], at: str) -> dict[str, Any]:
    return {"order_id": s["order_id"], "shipment_id": s["shipment_id"], "carrier": CARRIER, "at": at}


def answers(s: dict[str, Any]) -> Decision:
    """The saga's answers for where the shipment is. A step's state is stored before its answer is sent
    (agents/runtime.apply), so a command that finds its step done (a replay after a crash, a duplicate
    notice, a retried creation) answers again: the saga ignores what it already knows."""
    if s["status"] == CREATING:
        return Decision()
    if s["status"] == FAILED:
        return Decision(commands=[saga_reply(SHIPMENT_FAILED, s, {"reason": s.get("reason") or "carrier refused"})])
    replies = [saga_reply(SHIPMENT_CREATED, s, {"shipment_id": s["shipment_id"], "carrier": CARRIER,
                                                "tracking_number": s["tracking_number"]})]
    if s["status"] == DELIVERED:
        replies.append(saga_reply(SHIPMENT_DELIVERED, s, {"shipment_id": s["shipment_id"]}))
    return Decision(commands=replies)


def create(existing: dict[str, Any] | None, cmd: dict[str, Any], at: str) -> Decision:
    if existing is not None:
        if existing["status"] == CREATING:
            return Decision(calls=[("create", existing)])
        return answers(existing)
    state = {"order_id": cmd["order_id"], "shipment_id": deterministic_id("shipment", cmd["order_id"]),
             "address": cmd["address"], "items": cmd["items"], "status": CREATING, "tracking_number": None,
             "carrier_id": None, "reason": None, "seen": [], "created_at": at, "updated_at": at, "version": 1}
    return Decision(state=state, calls=[("create", state)])


def created(s: dict[str, Any], result: dict[str, Any], at: str) -> Decision:
    if s["status"] != CREATING:
        return answers(s)
    if not result.get("ok"):
        if result.get("transient"):
            return Decision()  # the carrier is away: the saga's deadline asks again (same key)
        return _failed(s, result.get("reason") or "carrier refused", at)
    state = {**s, "status": CREATED, "tracking_number": result["tracking_number"], "carrier_id": result["carrier_id"],
             "address": None, "early": None, "updated_at": at, "version": s["version"] + 1}
    city = (s.get("address") or {}).get("city", "")
    country = (s.get("address") or {}).get("country", "PE")
    outcome = Decision(state=state,
                      events=[(ShipmentCreated.event_type, {**_base(s, at), "tracking_number":
                                                                         result["tracking_number"], "city": city,
                                                                         "country": country})],
                      commands=[saga_reply(SHIPMENT_CREATED, s, {"shipment_id": s["shipment_id"], "carrier": CARRIER,
                                                     "tracking_number": result["tracking_number"]})])
    if s.get("early"):  # the carrier's notice overtook its own creation answer: apply it now
        then = carrier_event(state, {**s["early"], "event_id": None}, at)
        outcome.state = then.state or state
        outcome.events += then.events
        outcome.commands += then.commands
    return outcome


def _failed(s: dict[str, Any], reason: str, at: str, **extra: Any) -> Decision:
    state = {**s, **extra, "status": FAILED, "reason": reason, "address": None, "updated_at": at,
             "version": s["version"] + 1}
    return Decision(state=state, events=[(ShipmentFailed.event_type, {**_base(s, at), "reason": reason})],
                   commands=[saga_reply(SHIPMENT_FAILED, s, {"reason": reason})])


def carrier_event(s: dict[str, Any] | None, event: dict[str, Any], at: str) -> Decision:
    """A delivery notice (callback) or the answer of a tracking query; duplicates change nothing."""
    if s is None:
        return Decision()
    event_id = event.get("event_id")
    if event_id and event_id in s["seen"]:
        return answers(s) if s["status"] in (DELIVERED, FAILED) else Decision()
    seen = ([*s["seen"], event_id] if event_id else s["seen"])[-32:]
    status = event.get("status")
    if s["status"] == CREATING and status in (DELIVERED, FAILED):  # overtook the creation answer: keep it
        return Decision(state={**s, "seen": seen, "early": {"status": status, "reason": event.get("reason")},
                              "version": s["version"] + 1})
    if s["status"] == CREATED and status == DELIVERED:
        state = {**s, "status": DELIVERED, "seen": seen, "updated_at": at, "version": s["version"] + 1}
        return Decision(state=state, events=[(ShipmentDelivered.event_type, _base(s, at))],
                       commands=[saga_reply(SHIPMENT_DELIVERED, s, {"shipment_id": s["shipment_id"]})])
    if s["status"] == CREATED and status == FAILED:
        return _failed(s, event.get("reason") or "lost in transit", at, seen=seen)
    again = answers(s) if s["status"] in (DELIVERED, FAILED) and status == s["status"] else Decision()
    again.state = {**s, "seen": seen, "version": s["version"] + 1} if event_id else None
    return again  # nothing new (a tracking answer after the notice: the saga is answered again)
