"""The rating aggregation: any sequence of approvals, edits and retractions, delivered any number of
times, in any order after the fact, equals a recomputation."""

from hypothesis import given, settings
from hypothesis import strategies as st

from gamevault.domain import ratings

OPS = st.lists(st.tuples(st.sampled_from(["approve", "retract"]), st.integers(0, 7), st.integers(1, 5)),
               max_size=60)


def run(events, repeat=1):
    shards: dict[str, dict] = {}
    for kind, rid, stars, version in events:
        key = ratings.shard_key("p", rid)
        record = shards.setdefault(key, ratings.empty("p", key))
        for _ in range(repeat):
            ratings.apply(record, kind, rid, stars, version)
    return shards


@settings(max_examples=500, deadline=None)
@given(OPS, st.integers(1, 3), st.lists(st.integers(0, 59), max_size=20))
def test_any_sequence_equals_a_recomputation(ops, repeat, stale):
    truth: dict[str, int] = {}
    versions: dict[str, int] = {}
    events = []
    for op, review, stars in ops:
        rid = f"r{review}"
        versions[rid] = versions.get(rid, 0) + 1
        kind = ratings.APPROVED if op == "approve" else ratings.RETRACTED
        events.append((kind, rid, stars, versions[rid]))
        if op == "approve":
            truth[rid] = stars  # an approval of an edit moves the review to its new stars
        else:
            truth.pop(rid, None)
    shards = run(events, repeat)
    for index in stale:  # old events arriving again after later ones
        if index < len(events):
            kind, rid, stars, version = events[index]
            ratings.apply(shards[ratings.shard_key("p", rid)], kind, rid, stars, version)
    got, want = ratings.total("p", shards.values()), ratings.recompute("p", truth.values())
    assert (got["count"], got["sum"], got["histogram"]) == (want["count"], want["sum"], want["histogram"])
    assert ratings.counted(shards.values()) == truth


def test_shards_spread_a_product_and_sum_back():
    events = [(ratings.APPROVED, f"r{n}", n % 5 + 1, 1) for n in range(1000)]
    shards = run(events)
    assert len(shards) == ratings.SHARDS
    assert ratings.total("p", shards.values())["count"] == 1000
    assert {ratings.product_of(k) for k in shards} == {"p"}


def test_public_view_rounds_the_average():
    shards = run([(ratings.APPROVED, r, s, 1) for r, s in (("a", 5), ("b", 4), ("c", 4))])
    assert ratings.public(ratings.total("p", shards.values()))["average"] == 4.33
    assert ratings.public(ratings.recompute("p", []))["average"] is None
