"""LE: one shipment per paid order, created with the carrier; delivered or failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gamevault.streams.envelope import deterministic_id

CREATING, CREATED, DELIVERED, FAILED = "creating", "created", "delivered", "failed"
CARRIER = "andes-express"


@dataclass
class Outcome:
    state: dict[str, Any] | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    replies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _base(s: dict[str, Any], at: str) -> dict[str, Any]:
    return {"order_id": s["order_id"], "shipment_id": s["shipment_id"], "carrier": CARRIER, "at": at}


def create(existing: dict[str, Any] | None, cmd: dict[str, Any], at: str) -> Outcome:
    if existing is not None:
        if existing["status"] == CREATING:
            return Outcome(calls=[("create", existing)])
        if existing["status"] in (CREATED, DELIVERED):
            replies = [("shipment_created", {"shipment_id": existing["shipment_id"], "carrier": CARRIER,
                                             "tracking_number": existing["tracking_number"]})]
            if existing["status"] == DELIVERED:
                replies.append(("shipment_delivered", {"shipment_id": existing["shipment_id"]}))
            return Outcome(replies=replies)
        return Outcome(replies=[("shipment_failed", {"reason": existing.get("reason") or "carrier refused"})])
    state = {"order_id": cmd["order_id"], "shipment_id": deterministic_id("shipment", cmd["order_id"]),
             "address": cmd["address"], "items": cmd["items"], "status": CREATING, "tracking_number": None,
             "carrier_id": None, "reason": None, "seen": [], "created_at": at, "updated_at": at, "version": 1}
    return Outcome(state=state, calls=[("create", state)])


def created(s: dict[str, Any], result: dict[str, Any], at: str) -> Outcome:
    if s["status"] != CREATING:
        return Outcome()
    if not result.get("ok"):
        if result.get("transient"):
            return Outcome()  # the carrier is away: the saga's deadline asks again (same key)
        return _failed(s, result.get("reason") or "carrier refused", at)
    state = {**s, "status": CREATED, "tracking_number": result["tracking_number"], "carrier_id": result["carrier_id"],
             "address": None, "early": None, "updated_at": at, "version": s["version"] + 1}
    city = (s.get("address") or {}).get("city", "")
    country = (s.get("address") or {}).get("country", "PE")
    outcome = Outcome(state=state,
                      events=[("gamevault.logistics.shipment.created", {**_base(s, at), "tracking_number":
                                                                         result["tracking_number"], "city": city,
                                                                         "country": country})],
                      replies=[("shipment_created", {"shipment_id": s["shipment_id"], "carrier": CARRIER,
                                                     "tracking_number": result["tracking_number"]})])
    if s.get("early"):  # the carrier's notice overtook its own creation answer: apply it now
        then = carrier_event(state, {**s["early"], "event_id": None}, at)
        outcome.state = then.state or state
        outcome.events += then.events
        outcome.replies += then.replies
    return outcome


def _failed(s: dict[str, Any], reason: str, at: str, **extra: Any) -> Outcome:
    state = {**s, **extra, "status": FAILED, "reason": reason, "address": None, "updated_at": at,
             "version": s["version"] + 1}
    return Outcome(state=state, events=[("gamevault.logistics.shipment.failed", {**_base(s, at), "reason": reason})],
                   replies=[("shipment_failed", {"reason": reason})])


def carrier_event(s: dict[str, Any] | None, event: dict[str, Any], at: str) -> Outcome:
    """A delivery notice (callback) or the answer of a tracking query; duplicates change nothing."""
    if s is None:
        return Outcome()
    event_id = event.get("event_id")
    if event_id and event_id in s["seen"]:
        return Outcome()
    seen = ([*s["seen"], event_id] if event_id else s["seen"])[-32:]
    status = event.get("status")
    if s["status"] == CREATING and status in (DELIVERED, FAILED):  # overtook the creation answer: keep it
        return Outcome(state={**s, "seen": seen, "early": {"status": status, "reason": event.get("reason")},
                              "version": s["version"] + 1})
    if s["status"] == CREATED and status == DELIVERED:
        state = {**s, "status": DELIVERED, "seen": seen, "updated_at": at, "version": s["version"] + 1}
        return Outcome(state=state, events=[("gamevault.logistics.shipment.delivered", _base(s, at))],
                       replies=[("shipment_delivered", {"shipment_id": s["shipment_id"]})])
    if s["status"] == CREATED and status == FAILED:
        return _failed(s, event.get("reason") or "lost in transit", at, seen=seen)
    return Outcome(state={**s, "seen": seen, "version": s["version"] + 1} if event_id else None)
