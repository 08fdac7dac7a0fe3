"""Every event of one decision has an id of its own, and a replay of the record re-emits the same ids."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from gamevault.agents.runtime import Context
from gamevault.streams.contracts import load_all
from gamevault.streams.envelope import new_event

TYPES = sorted(load_all())


def handling(cause_id: str) -> Context:
    """The context of one record being handled (make_event touches no producer)."""
    record = new_event("gamevault.orders.place", "/test", {}, subject="o1", event_id=cause_id,
                       time=datetime(2026, 12, 1, tzinfo=UTC))
    return Context(None, record, "o1", "gamevault.internal.orders.commands", 0, 0, [], "/gamevault/test")


events = st.lists(st.tuples(st.sampled_from(TYPES), st.sampled_from(["k1", "k2"])), min_size=1, max_size=12)


@given(events, st.uuids())
def test_ids_are_distinct_within_a_decision_and_stable_across_replays(decision, cause):
    def ids() -> list[str]:
        ctx = handling(str(cause))
        out = []
        for type_, key in decision:
            et = load_all()[type_]
            out.append(ctx.make_event(type_, {et.key_field: key}, cause=ctx.event.id).id)
        return out

    first = ids()
    assert len(set(first)) == len(first)  # e.g. three item_removed of one cart: three ids
    assert ids() == first  # the record redelivered after a crash: the same events, the same ids


def test_the_same_event_of_two_records_has_two_ids():
    a, b = handling("c1"), handling("c2")
    removed = {"buyer_id": "b1", "product_id": "p1"}
    assert a.make_event("gamevault.orders.cart.item_removed", removed, cause="c1").id != \
        b.make_event("gamevault.orders.cart.item_removed", removed, cause="c2").id
