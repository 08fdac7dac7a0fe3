"""Whole fetched batches for a routed topic (agents/batch_routes.py), on the stand-in for
Faust's consumer of test_faust_patches: one hand-over per fetch, acknowledged and read as Faust's loop does
record by record, and nothing acknowledged that a seek or a rebalance sends to be fetched again."""

from __future__ import annotations

import asyncio

import pytest
from faust.types import TP

from gamevault.agents import batch_routes, faust_patches
from tests.unit.agents.test_faust_patches import ORDERS, FakeConsumer

REVIEWS, REVIEWS_1 = TP("reviews", 0), TP("reviews", 1)


@pytest.fixture(autouse=True)
def patched() -> None:
    faust_patches.drain_safely()


def routed(batches: list[list[tuple[TP, int]]], committed: dict[TP, int | None] | None = None,
           on_batch=None) -> tuple[FakeConsumer, list[dict[TP, list[int]]]]:
    consumer = FakeConsumer(batches, committed=committed or {})
    handed: list[dict[TP, list[int]]] = []

    async def handler(fetched: dict) -> None:
        handed.append({tp: [r.offset for r in records] for tp, records in fetched.items()})
        if on_batch is not None:
            await on_batch(consumer, len(handed))

    consumer.app.gamevault_batch_routes = {}
    batch_routes.route_batches(consumer.app, "reviews", handler)
    return consumer, handed


def test_a_routed_topic_is_handed_over_a_fetch_at_a_time_then_acknowledged_and_read():
    consumer, handed = routed([[(REVIEWS, 0), (ORDERS, 5), (REVIEWS, 1), (REVIEWS_1, 7), (ORDERS, 6)],
                               [(REVIEWS, 2)]])
    asyncio.run(consumer.drain())
    assert handed == [{REVIEWS: [0, 1], REVIEWS_1: [7]}, {REVIEWS: [2]}]  # one hand-over per fetch
    assert consumer.delivered == [(ORDERS, 5), (ORDERS, 6)]  # the other topics, record by record
    assert consumer._acked[REVIEWS] == [0, 1, 2] and consumer._acked[REVIEWS_1] == [7]
    assert consumer._n_acked == 4
    assert consumer._read_offset[REVIEWS] == 2 and consumer._read_offset[REVIEWS_1] == 7


def test_a_seek_while_a_batch_is_handled_leaves_it_unacknowledged_and_fetched_again():
    acked_before_second: list[int] = []

    async def seek_during_first(consumer: FakeConsumer, n: int) -> None:
        if n == 1:
            await consumer.perform_seek()  # a rebalance's recovery: back to the commit, 10
        else:
            acked_before_second.extend(consumer._acked[REVIEWS])

    consumer, handed = routed([[(REVIEWS, 10), (REVIEWS, 11)], [(REVIEWS, 10), (REVIEWS, 11), (REVIEWS, 12)]],
                              committed={REVIEWS: 10}, on_batch=seek_during_first)
    asyncio.run(consumer.drain())
    assert handed == [{REVIEWS: [10, 11]}, {REVIEWS: [10, 11, 12]}]  # handled again: handlers are idempotent
    assert acked_before_second == []  # the first hand-over acknowledged nothing: its partition moved meanwhile
    assert consumer._acked[REVIEWS] == [10, 11, 12]
    assert consumer._read_offset[REVIEWS] == 12


def test_a_batch_fetched_before_a_rebalance_is_not_handed_over():
    async def rebalance(tp: TP, offset: int) -> None:  # while the fetch's other records are delivered
        consumer.app.consumer_generation_id = 2

    consumer, handed = routed([[(REVIEWS, 3), (ORDERS, 1)]])
    consumer.on_deliver = rebalance
    asyncio.run(consumer.drain())
    assert handed == [] and consumer._acked[REVIEWS] == []  # recovery seeks it back to its commit

    consumer, handed = routed([[(REVIEWS, 3)]])
    consumer.flow_active = False  # a rebalance under way
    asyncio.run(consumer.drain())
    assert handed == [] and consumer._acked[REVIEWS] == []


def test_a_gap_before_a_routed_batch_is_fetched_again_and_records_read_already_are_dropped():
    consumer, handed = routed([[(REVIEWS, 4), (REVIEWS, 5)], [(REVIEWS, 8), (REVIEWS, 9)],
                               [(REVIEWS, 5), (REVIEWS, 6), (REVIEWS, 7), (REVIEWS, 8)]])
    asyncio.run(consumer.drain())
    assert consumer.rewound == [(REVIEWS, 5)] and consumer.gaps == []  # 6 and 7 skipped: fetched again
    assert handed == [{REVIEWS: [4, 5]}, {REVIEWS: [5, 6, 7, 8]}]
    assert consumer._acked[REVIEWS] == [4, 5, 6, 7, 8]  # 5 once: the ack of a record is idempotent


def test_a_batch_whose_handler_raises_is_fetched_again_not_acknowledged():
    async def fail_first(consumer: FakeConsumer, n: int) -> None:
        if n == 1:
            raise ConnectionError("the broker went away mid-flush")

    consumer, handed = routed([[(REVIEWS, 0), (REVIEWS, 1)], [(REVIEWS, 0), (REVIEWS, 1)]], on_batch=fail_first)
    asyncio.run(consumer.drain())
    assert consumer.rewound == [(REVIEWS, 0)]
    assert handed == [{REVIEWS: [0, 1]}, {REVIEWS: [0, 1]}] and consumer._acked[REVIEWS] == [0, 1]


def test_topics_that_share_a_finish_have_it_once_per_fetch_and_a_failed_finish_fetches_them_again():
    consumer = FakeConsumer([[(REVIEWS, 0), (ORDERS, 3)], [(REVIEWS, 0), (ORDERS, 3)]], committed={})
    calls: list[str] = []

    async def finish() -> None:
        calls.append("finish")
        if calls.count("finish") == 1:
            raise ConnectionError("the broker went away mid-flush")

    def handler(name: str):
        async def handle(fetched: dict) -> None:
            calls.append(name)
        return handle

    consumer.app.gamevault_batch_routes = {}
    batch_routes.route_batches(consumer.app, "reviews", handler("reviews"), finish=finish)
    batch_routes.route_batches(consumer.app, "orders", handler("orders"), finish=finish)
    asyncio.run(consumer.drain())
    assert calls == ["reviews", "orders", "finish", "reviews", "orders", "finish"]
    assert sorted(consumer.rewound) == [(ORDERS, 3), (REVIEWS, 0)]  # the failed finish: both fetched again
    assert consumer._acked[REVIEWS] == [0] and consumer._acked[ORDERS] == [3]  # acknowledged once, after
