"""The rating aggregation: any sequence of approvals, edits and retractions equals a recomputation."""

from hypothesis import given, settings
from hypothesis import strategies as st

from gamevault.domain import ratings

OPS = st.lists(st.tuples(st.sampled_from(["approve", "retract"]), st.integers(0, 7), st.integers(1, 5)),
               max_size=60)


@settings(max_examples=500, deadline=None)
@given(OPS, st.integers(1, 3), st.lists(st.integers(0, 59), max_size=20))
def test_any_sequence_equals_a_recomputation(ops, repeat, stale):
    """Approvals (first or of an edit), retractions, each delivered 1-3 times, plus stale duplicates of
    earlier events delivered again at the end: the aggregate equals a from-scratch recomputation."""
    aggregate, votes = ratings.empty("p"), {}
    truth: dict[str, int] = {}
    events = []
    for n, (op, review, stars) in enumerate(ops):
        kind = ratings.APPROVED if op == "approve" else ratings.RETRACTED
        events.append((kind, f"r{review}", stars, f"e{n}"))
        for _ in range(repeat):  # every event delivered 1-3 times
            ratings.apply(aggregate, votes, kind, f"r{review}", stars, f"e{n}")
        if op == "approve":
            truth[f"r{review}"] = stars  # an approval of an edit moves the review to its new stars
        else:
            truth.pop(f"r{review}", None)
    for index in stale:  # an old event arriving again after later ones (a partner's late duplicate)
        if index < len(events):
            ratings.apply(aggregate, votes, *events[index])
    expected = ratings.recompute("p", truth.values())
    assert (aggregate["count"], aggregate["sum"], aggregate["histogram"]) == \
        (expected["count"], expected["sum"], expected["histogram"])
    assert ratings.counted(votes) == truth


def test_public_view_rounds_the_average():
    aggregate, votes = ratings.empty("p"), {}
    for review, stars in (("a", 5), ("b", 4), ("c", 4)):
        ratings.apply(aggregate, votes, ratings.APPROVED, review, stars, f"e-{review}")
    assert ratings.public(aggregate)["average"] == 4.33
    assert ratings.public(ratings.empty("p"))["average"] is None
