"""The order saga's state machine: every path, replays, and a property over disordered replies."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamevault.domain import orders as o
from gamevault.domain import saga
from gamevault.domain.orders import Timeouts
from gamevault.streams.contracts import commands as c
from gamevault.streams.registry import COMMANDS

T = Timeouts(step_s=10, payment_s=20, delivery_s=100)
ITEMS = [{"product_id": "p1", "seller_id": "s", "title": "A", "quantity": 2,
          "unit_price": {"amount": "10.00", "currency": "PEN"}},
         {"product_id": "p2", "seller_id": "s", "title": "B", "quantity": 1,
          "unit_price": {"amount": "5.50", "currency": "PEN"}}]


def placed(now=100.0):
    cmd = {"order_id": "o1", "buyer_id": "b1", "items": ITEMS, "payment": {"provider": "yape", "phone": "9",
           "approval_code": "123456"}, "shipping_address": {"city": "Lima"}, "fingerprint": "f"}
    step = o.place(None, cmd, "c-place", now, T)
    return step.state, step


def apply(order, kind, msg, cause, now, t):
    """A saga reply by its kind (`stock_reserved`...): the typed command it names must exist."""
    return saga.apply(order, COMMANDS[f"gamevault.orders.saga.{kind}"], msg, cause, now, t)


def run(order, messages, now=101.0):
    for n, (kind, msg) in enumerate(messages):
        step = apply(order, kind, {"order_id": "o1", **msg}, f"c-{kind}-{n}", now + n, T)
        order = step.state or order
    return order


HAPPY = [("stock_reserved", {"product_id": "p1"}), ("stock_reserved", {"product_id": "p2"}),
         ("payment_started", {"payment_id": "pay", "provider_reference": "ref"}),
         ("payment_captured", {"payment_id": "pay"}),
         ("shipment_created", {"shipment_id": "sh", "tracking_number": "T1", "carrier": "c"}),
         ("shipment_delivered", {"shipment_id": "sh"})]


def test_placement_reserves_every_item_and_totals():
    order, step = placed()
    assert order["status"] == o.PENDING and order["total"] == {"amount": "25.50", "currency": "PEN"}
    effects = [(e.type.topic.module, e.type, e.key) for e in step.commands]
    assert effects == [("catalog", c.RESERVE_STOCK, "p1"), ("catalog", c.RESERVE_STOCK, "p2")]
    assert [t for t, _ in step.events] == [o.PLACED]


def test_same_idempotency_key_different_body_is_a_conflict():
    order, _ = placed()
    again = o.place(order, {"order_id": "o1", "fingerprint": "other"}, "c2", 100, T)
    assert again.error[0] == "conflict"
    same = o.place(order, {"order_id": "o1", "fingerprint": "f"}, "c3", 100, T)
    assert same.error is None and same.state is None


def test_happy_path_to_completed_with_timeline():
    order, _ = placed()
    order = run(order, HAPPY)
    assert order["status"] == o.COMPLETED
    assert [e["status"] for e in order["timeline"]] == [o.PENDING, o.STOCK_RESERVED, o.PAYMENT_PENDING, o.PAID,
                                                      o.SHIPPING, o.COMPLETED]
    assert order["payment_request"] is None  # the approval code does not outlive the payment start


def test_each_step_emits_its_event_and_command():
    order, _ = placed()
    order = run(order, HAPPY[:1])
    step = apply(order, "stock_reserved", {"order_id": "o1", "product_id": "p2"}, "c-r2", 102, T)
    assert [t for t, _ in step.events] == ["gamevault.orders.order.stock_reserved"]
    assert [e.type for e in step.commands] == [c.START_PAYMENT]
    final = run(step.state, HAPPY[2:5])
    step = apply(final, "shipment_delivered", {"order_id": "o1"}, "c-del", 110, T)
    assert [e.type for e in step.commands] == [c.COMMIT_STOCK, c.COMMIT_STOCK]


def test_stock_unavailable_cancels_and_releases_what_was_held():
    order, _ = placed()
    order = run(order, HAPPY[:1])
    step = apply(order, "stock_rejected", {"order_id": "o1", "product_id": "p2", "title": "B"}, "c-rej", 102, T)
    assert step.state["status"] == o.CANCELLED and step.state["cancel_reason"].startswith("stock_unavailable")
    assert [(e.type, e.key) for e in step.commands] == [(c.RELEASE_STOCK, "p1")]


def test_a_late_reservation_after_cancellation_is_handed_back():
    order, _ = placed()
    order = run(order, [("stock_rejected", {"product_id": "p1"})])
    step = apply(order, "stock_reserved", {"order_id": "o1", "product_id": "p2"}, "c-late", 103, T)
    assert step.state is None and [(e.type, e.key) for e in step.commands] == [(c.RELEASE_STOCK, "p2")]


def test_payment_declined_cancels_and_releases():
    order = run(placed()[0], HAPPY[:3])
    step = apply(order, "payment_failed", {"order_id": "o1", "reason": "declined"}, "c-f", 110, T)
    assert step.state["status"] == o.CANCELLED and step.state["cancel_reason"] == "payment_failed: declined"
    assert sorted(e.key for e in step.commands if e.type == c.RELEASE_STOCK) == ["p1", "p2"]


def test_unconfirmed_payment_reconciles_once_then_cancels_and_voids():
    order = run(placed()[0], HAPPY[:3])
    deadline = order["deadline"]
    step = apply(order, "deadline", {"order_id": "o1", "deadline": deadline}, "c-d1", deadline + 1, T)
    assert [e.type for e in step.commands] == [c.RECONCILE_PAYMENT] and step.state["status"] == o.PAYMENT_PENDING
    again = step.state
    step = apply(again, "deadline", {"order_id": "o1", "deadline": again["deadline"]}, "c-d2",
                   again["deadline"] + 1, T)
    assert step.state["status"] == o.CANCELLED and step.state["cancel_reason"] == "payment_not_confirmed"
    assert {e.type for e in step.commands} == {c.RELEASE_STOCK, c.VOID_PAYMENT}


def test_a_stale_deadline_changes_nothing():
    order = run(placed()[0], HAPPY[:3])
    stale = {"order_id": "o1", "deadline": order["deadline"] - 5}
    step = apply(order, "deadline", stale, "c-d", order["deadline"] + 1, T)
    assert step.state is None and not step.commands


def test_shipment_failure_refunds_then_cancels_then_releases():
    order = run(placed()[0], HAPPY[:4])
    step = apply(order, "shipment_failed", {"order_id": "o1", "reason": "undeliverable"}, "c-sf", 120, T)
    assert step.state["status"] == o.PAID and [e.type for e in step.commands] == [c.REFUND_PAYMENT]
    step = apply(step.state, "payment_refunded", {"order_id": "o1"}, "c-ref", 121, T)
    assert step.state["status"] == o.CANCELLED and step.state["cancel_reason"].startswith("shipment_failed")
    assert sorted(e.key for e in step.commands if e.type == c.RELEASE_STOCK) == ["p1", "p2"]


def test_a_replayed_message_re_emits_the_same_outputs_and_changes_nothing():
    order, _ = placed()
    order = run(order, HAPPY[:1])
    first = apply(order, "stock_reserved", {"order_id": "o1", "product_id": "p2"}, "same-cause", 102, T)
    replay = apply(first.state, "stock_reserved", {"order_id": "o1", "product_id": "p2"}, "same-cause", 102, T)
    assert replay.state is None
    assert replay.events == first.events and replay.commands == first.commands


MESSAGES = [*HAPPY, ("payment_failed", {"reason": "x"}), ("stock_rejected", {"product_id": "p1"}),
            ("shipment_failed", {"reason": "y"}), ("payment_refunded", {})]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(range(len(MESSAGES))), min_size=1, max_size=25))
def test_disordered_and_duplicated_replies_never_move_twice_or_backwards(picks):
    order, _ = placed()
    ranks = [o.ORDER_RANK[order["status"]]]
    for n, index in enumerate(picks):
        kind, msg = MESSAGES[index]
        cause = f"c-{index}"  # the same message delivered again has the same id
        step = apply(order, kind, {"order_id": "o1", **msg}, cause, 101 + n, T)
        if step.state is not None:
            assert o.ORDER_RANK[step.state["status"]] >= o.ORDER_RANK[order["status"]]
            if order["status"] in o.FINAL:
                assert step.state["status"] == order["status"]  # a final order never moves
            order = step.state
        ranks.append(o.ORDER_RANK[order["status"]])
    statuses = [e["status"] for e in order["timeline"]]
    assert len(statuses) == len(set(statuses)), statuses  # no transition twice
    assert ranks == sorted(ranks) or o.CANCELLED in statuses


def test_an_order_is_in_one_currency_and_its_total_fits_money():
    usd = {**ITEMS[1], "unit_price": {"amount": "5.50", "currency": "USD"}}
    with pytest.raises(o.InvalidOrder, match="one currency"):
        o.order_total([ITEMS[0], usd])
    assert o.order_total([usd]) == {"amount": "5.50", "currency": "USD"}
    huge = {**ITEMS[0], "quantity": 100, "unit_price": {"amount": "9999999999.99", "currency": "PEN"}}
    with pytest.raises(o.InvalidOrder, match="largest"):
        o.order_total([huge])
    assert o.order_total([{**huge, "quantity": 1}])["amount"] == "9999999999.99"


STEP_KINDS = [*MESSAGES, ("deadline", {}), ("cancel", {})]


def decide(order, index, cause, now):
    """Message `index` of STEP_KINDS against the order (a deadline names the order's current one)."""
    kind, msg = STEP_KINDS[index]
    if kind == "cancel":
        return o.cancel(order, "buyer", cause, now, T)
    if kind == "deadline":
        msg = {"deadline": order["deadline"]}
        now = max(now, order["deadline"] or now)
    return apply(order, kind, {"order_id": "o1", **msg}, cause, now, T)


def outputs(step):
    return step.events, [(c.type, c.key, c.data) for c in step.commands]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(range(len(STEP_KINDS))), min_size=1, max_size=20))
def test_every_stored_step_replayed_on_its_state_re_emits_all_it_emitted(picks):
    """The runtime stores a step's state before sending what it caused; after a crash in between, the
    replay on that state is the only way those commands leave. A cancellation's releases were once
    lost that way (its state marks them released, and the replay listed only what was still held):
    stock held for good after a SIGKILL (tests/integration/test_effectively_once.py)."""
    order, _ = placed()
    now = 101.0
    for n, index in enumerate(picks):
        cause = f"c-{n}"
        step = decide(order, index, cause, now + n)
        if step.state is None:
            continue
        replay = decide(step.state, index, cause, now + n)
        assert replay.state is None, (STEP_KINDS[index][0], cause)
        assert outputs(replay) == outputs(step), STEP_KINDS[index][0]
        order = step.state


def test_a_replayed_cancellation_releases_and_voids_again():
    order = run(placed()[0], HAPPY[:3])  # both items reserved, the payment started
    step = o.cancel(order, "buyer", "c-cancel", 110, T)
    assert {(e.type, e.key) for e in step.commands} == {(c.RELEASE_STOCK, "p1"), (c.RELEASE_STOCK, "p2"),
                                                        (c.VOID_PAYMENT, "o1")}
    replay = o.cancel(step.state, "buyer", "c-cancel", 110, T)
    assert outputs(replay) == outputs(step)
