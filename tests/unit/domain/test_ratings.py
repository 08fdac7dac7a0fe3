"""The rating aggregation: any sequence of approvals, edits and retractions, delivered any number of
times, stale copies after later ones, and a crash that keeps any prefix of a batch's writes followed
by a replay from any earlier commit, equals a recomputation."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from gamevault.domain import ratings

OPS = st.lists(st.tuples(st.sampled_from(["approve", "retract"]), st.integers(0, 7), st.integers(1, 5),
                         st.sampled_from(["p", "q"])), max_size=60)


def write_order(aggregates: dict, votes: dict) -> list[tuple[str, object]]:
    """What the agent sends to the changelog partition: the aggregates, then the votes."""
    return [*aggregates.items(), *votes.items()]


def run(events, cuts, crash=None):
    """Fold `events` (offset = index) in batches split at `cuts`; `crash=(batch, kept, resume)` keeps
    only `kept` writes of that batch, then replays from the start of batch `resume`."""
    state: dict = {}
    bounds = sorted({0, *(c % (len(events) + 1) for c in cuts), len(events)})
    batches = [range(a, b) for a, b in itertools.pairwise(bounds)]
    i = 0
    crashed = False
    while i < len(batches):
        batch = [(*events[o], o) for o in batches[i]]
        writes = write_order(*ratings.fold(batch, state.get))
        if crash and not crashed and i == crash[0] % len(batches):
            crashed = True
            state.update(writes[:crash[1] % (len(writes) + 1)])
            i = min(crash[2] % len(batches), i)  # Faust committed up to some earlier batch
            continue
        state.update(writes)
        i += 1
    return state


def truth_of(events):
    latest: dict[tuple[str, str], tuple[int, int | None]] = {}
    for pid, rid, kind, stars, version in events:
        if version > latest.get((pid, rid), (0, None))[0]:
            latest[(pid, rid)] = (version, stars if kind == ratings.APPROVED else None)
    return {key: v[1] for key, v in latest.items() if v[1] is not None}


@settings(max_examples=500, deadline=None)
@given(OPS, st.lists(st.integers(0, 59), max_size=20), st.lists(st.integers(0, 200), max_size=6),
       st.none() | st.tuples(st.integers(0, 10), st.integers(0, 20), st.integers(0, 10)))
def test_any_sequence_with_duplicates_and_a_crash_equals_a_recomputation(ops, repeats, cuts, crash):
    versions: dict[str, int] = {}
    events = []
    for op, review, stars, pid in ops:
        rid = f"r{review}"
        versions[rid] = versions.get(rid, 0) + 1
        kind = ratings.APPROVED if op == "approve" else ratings.RETRACTED
        events.append((pid, rid, kind, stars if op == "approve" else None, versions[rid]))
    for index in repeats:  # a redelivery or a stale copy, arriving after later events
        if index < len(events):
            events.append(events[index])
    if not events:
        return
    state = run(events, cuts, crash)
    truth = truth_of(events)
    for pid in ("p", "q"):
        want = ratings.recompute(pid, [s for (p, _), s in truth.items() if p == pid])
        got = state.get(pid) or ratings.empty(pid)
        assert (got["count"], got["sum"], got["histogram"]) == (want["count"], want["sum"], want["histogram"])
    votes = {k: v for k, v in state.items() if ratings.is_vote(k)}
    assert ratings.counted(votes) == {rid: s for (_, rid), s in truth.items()}


def test_writing_votes_before_aggregates_would_count_twice():
    """Why the order matters: a crash that kept a batch's vote but not its aggregate."""
    events = [("p", "r1", ratings.APPROVED, 5, 1, 0)]
    aggregates, votes = ratings.fold(events, {}.get)
    survived = dict(votes)  # votes first, crash before the aggregate
    replay_aggregates, _ = ratings.fold(events, survived.get)
    assert replay_aggregates["p"]["count"] == 0  # the review is lost: hence aggregates first
    survived = dict(aggregates)  # aggregates first, crash before the vote
    replay_aggregates, replay_votes = ratings.fold(events, survived.get)
    assert replay_aggregates["p"]["count"] == 1 and replay_votes == votes


def test_an_edit_moves_the_review_and_a_retraction_removes_it():
    events = [("p", "a", ratings.APPROVED, 5, 1, 0), ("p", "b", ratings.APPROVED, 4, 1, 1),
              ("p", "a", ratings.APPROVED, 2, 2, 2), ("p", "b", ratings.RETRACTED, None, 2, 3)]
    aggregates, votes = ratings.fold(events, {}.get)
    assert (aggregates["p"]["count"], aggregates["p"]["sum"]) == (1, 2)
    assert aggregates["p"]["histogram"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0}
    assert votes == {"p|a": [2, 2], "p|b": [None, 2]}


def test_public_view_rounds_the_average():
    assert ratings.public(ratings.recompute("p", [5, 4, 4]))["average"] == 4.33
    assert ratings.public(ratings.recompute("p", []))["average"] is None
