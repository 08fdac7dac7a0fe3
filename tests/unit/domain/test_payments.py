from gamevault.domain import payments as p
from gamevault.domain.decision import Decision
from gamevault.streams.contracts.commands import SAGA_REPLIES

AT = "2026-11-28T00:00:00Z"


def replies(decision: Decision) -> list[tuple[str, dict]]:
    """The saga replies a decision sends, as (kind, data without the order id); only saga replies."""
    assert all(c.type in SAGA_REPLIES and c.key == c.data["order_id"] for c in decision.commands)
    return [(c.type.type.rsplit(".", 1)[1], {k: v for k, v in c.data.items() if k != "order_id"})
            for c in decision.commands]


def started():
    out = p.start(None, {"order_id": "o1", "buyer_id": "b", "amount": {"amount": "10.00", "currency": "PEN"},
                         "request": {"provider": "yape", "phone": "999999999", "approval_code": "123456"}}, AT)
    assert out.calls == [("start", out.state)]
    return p.started(out.state, {"ok": True, "reference": "ref-1"}, AT).state


def test_start_is_idempotent_and_drops_the_request_once_started():
    payment = started()
    assert payment["status"] == p.PENDING and payment["request"] is None
    again = p.start(payment, {"order_id": "o1"}, AT)
    assert again.state is None and replies(again) == [("payment_started", {"payment_id": payment["payment_id"],
                                                                          "provider_reference": "ref-1"})]


def test_duplicate_notifications_count_once():
    payment = started()
    first = p.notified(payment, {"event_id": "e1", "outcome": "captured"}, AT)
    assert first.state["captures"] == 1 and replies(first)[0][0] == "payment_captured"
    dup = p.notified(first.state, {"event_id": "e1", "outcome": "captured"}, AT)
    assert dup.state is None and not dup.events  # counted once, announced once
    assert replies(dup) == replies(first)  # the saga answered again: a replay after a crash sends it


def test_every_step_replayed_on_its_stored_state_answers_the_saga_again():
    """The state is stored before the saga's answer is sent; a replay that found its step done and
    answered nothing left the order waiting (a capture was then voided and refunded)."""
    for first_step in (lambda pay: p.started(pay, {"ok": True, "reference": "ref"}, AT),
                       lambda pay: p.started(pay, {"ok": False, "reason": "declined"}, AT)):
        starting = p.start(None, {"order_id": "o1", "buyer_id": "b", "amount": {"amount": "1.00", "currency": "PEN"},
                                  "request": {"provider": "yape"}}, AT).state
        first = first_step(starting)
        assert replies(first_step(first.state)) == replies(first)
    captured = p.notified(started(), {"event_id": "e1", "outcome": "captured"}, AT)
    asked = p.reconciled(captured.state, "captured", AT)  # the one status query, after the answer was lost
    assert "payment_captured" in [name for name, _ in replies(asked)]


def test_a_failure_after_a_capture_never_moves_it_back():
    captured = p.notified(started(), {"event_id": "e1", "outcome": "captured"}, AT).state
    late = p.notified(captured, {"event_id": "e2", "outcome": "failed"}, AT)
    assert late.state["status"] == p.CAPTURED and not replies(late)


def test_capture_after_void_is_refunded_at_once():
    voiding = p.void(started(), "payment_not_confirmed", AT)
    assert voiding.calls[0][0] == "void"
    voided = p.voided(voiding.state, AT).state
    late = p.notified(voided, {"event_id": "e9", "outcome": "captured"}, AT)
    assert late.state["status"] == p.REFUNDING and late.calls[0][0] == "refund"
    done = p.refunded(late.state, {"ok": True}, AT)
    assert done.state["refunds"] == 1 and done.state["status"] == p.REFUNDED


def test_refund_once():
    captured = p.notified(started(), {"event_id": "e1", "outcome": "captured"}, AT).state
    asked = p.refund(captured)
    refunded = p.refunded(asked.state, {"ok": True}, AT).state
    again = p.refund(refunded)
    assert again.state is None and again.calls == [] and replies(again)[0][0] == "payment_refunded"
    assert refunded["refunds"] == 1


def test_refund_of_an_uncaptured_payment_refunds_nothing():
    assert replies(p.refund(started())) == [("payment_refunded", {"amount": "0.00"})]


def test_a_delivery_notice_that_overtakes_the_creation_answer_is_kept_and_applied():
    from gamevault.domain import logistics as lg

    creating = lg.create(None, {"order_id": "o1", "address": {"city": "Lima"}, "items": []}, AT).state
    early = lg.carrier_event(creating, {"event_id": "e1", "status": "delivered"}, AT)
    assert early.state["status"] == lg.CREATING and not replies(early)
    done = lg.created(early.state, {"ok": True, "tracking_number": "T", "carrier_id": "c"}, AT)
    assert done.state["status"] == lg.DELIVERED
    assert [kind for kind, _ in replies(done)] == ["shipment_created", "shipment_delivered"]


def test_a_payment_voided_before_the_gateway_answered_forgets_the_approval_code():
    starting = p.start(None, {"order_id": "o2", "buyer_id": "b", "amount": {"amount": "10.00", "currency": "PEN"},
                              "request": {"provider": "yape", "phone": "999999999", "approval_code": "123456"}},
                       AT).state
    voiding = p.void(starting, "never confirmed", AT).state
    assert voiding["status"] == p.VOIDING and voiding["request"] is None
    assert "123456" not in str(p.voided(voiding, AT).state)


def note(**kw):
    return {"provider": "yape", "event_id": "e9", "outcome": "captured", "reference": "ref-1", "amount": "10.00",
            "currency": "PEN", **kw}


def test_a_webhook_settles_only_the_payment_it_belongs_to():
    payment = started()
    for forged, why in ((note(provider="plin"), "plin notification for a yape payment"),
                        (note(reference="ref-other"), "gateway reference"),
                        (note(amount="0.01"), "amount 0.01 PEN"),
                        (note(currency="USD"), "amount 10.00 USD"),
                        (note(amount=None), "names no amount")):
        out = p.webhook(payment, forged, AT)
        assert out.error is not None and why in out.error[1] and out.state is None and not replies(out), forged
    ok = p.webhook(payment, note(amount="10.0"), AT)
    assert ok.error is None and ok.state["status"] == p.CAPTURED


def test_a_paypal_notification_is_confirmed_with_the_gateway_before_it_counts():
    out = p.start(None, {"order_id": "o3", "buyer_id": "b", "amount": {"amount": "10.00", "currency": "USD"},
                         "request": {"provider": "paypal", "payer_email": "a@b.c"}}, AT)
    payment = p.started(out.state, {"ok": True, "reference": "PP-1"}, AT).state
    hint = p.webhook(payment, note(provider="paypal", reference="PP-1", currency="USD", transmission_id="t1"), AT)
    assert hint.state["status"] == p.PENDING and [(c, x["reference"]) for c, x in hint.calls] == [("confirm", "PP-1")]
    assert not replies(hint) and not hint.events  # nothing is captured on the notification's word
    replay = p.webhook(hint.state, note(provider="paypal", reference="PP-1", currency="USD", transmission_id="t1"),
                       AT)
    assert replay.state is None and not replay.calls  # one signed transmission is used once
    assert p.confirmed(hint.state, "pending", AT).state is None
    captured = p.confirmed(hint.state, "captured", AT)
    assert captured.state["status"] == p.CAPTURED and replies(captured)[0][0] == "payment_captured"
    approved = p.confirmed(hint.state, "approved", AT)
    assert approved.calls[0][0] == "capture"
