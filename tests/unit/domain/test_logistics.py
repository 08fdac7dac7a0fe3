"""LE's shipment: a step found done answers the saga again (its state is stored before the answer)."""

from gamevault.domain import logistics as lg

AT = "2026-11-28T00:00:00Z"


def creating():
    return lg.create(None, {"order_id": "o1", "address": {"city": "Lima"}, "items": []}, AT).state


def kinds(decision):
    return [c.type.type.rsplit(".", 1)[1] for c in decision.commands]


def test_every_step_replayed_on_its_stored_state_answers_the_saga_again():
    created = lg.created(creating(), {"ok": True, "tracking_number": "T1", "carrier_id": "c1"}, AT)
    assert kinds(lg.created(created.state, {"ok": True, "tracking_number": "T1", "carrier_id": "c1"}, AT)) == \
        kinds(created) == ["shipment_created"]
    delivered = lg.carrier_event(created.state, {"event_id": "n1", "status": "delivered"}, AT)
    replayed = lg.carrier_event(delivered.state, {"event_id": "n1", "status": "delivered"}, AT)
    assert replayed.state is None and not replayed.events and "shipment_delivered" in kinds(replayed)
    tracked = lg.carrier_event(delivered.state, {"status": "delivered"}, AT)  # the saga asked the carrier
    assert "shipment_delivered" in kinds(tracked)
    failed = lg.created(creating(), {"ok": False, "reason": "undeliverable"}, AT)
    assert kinds(lg.created(failed.state, {"ok": False, "reason": "undeliverable"}, AT)) == ["shipment_failed"]
