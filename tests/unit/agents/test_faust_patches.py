"""The patched drain loop (agents/faust_patches.py), driven on a stand-in for Faust's consumer: a seek ends
the batch in hand for the partitions it moved; Faust's own loop, on the same stand-in, loses records."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace

import pytest
from faust.transport.consumer import Consumer
from faust.types import TP
from mode.services import WaitResults

from gamevault.agents import batch_routes, faust_patches, fetch_marks

ORDERS, CARTS = TP("orders", 0), TP("carts", 0)


async def no_wait(tp: TP, offset: int) -> None:
    return None


class Stopped:
    def __init__(self) -> None:
        self.set = False

    def is_set(self) -> bool:
        return self.set


class FakeConsumer:
    """What the drain loop reads of Faust's consumer; `batches` are handed out one per getmany."""

    consumer_stopped_errors = (RuntimeError,)

    def __init__(self, batches: list[list[tuple[TP, int]]], committed: dict[TP, int | None]) -> None:
        self.batches, self.committed = batches, committed
        self.delivered: list[tuple[TP, int]] = []
        self.on_deliver = no_wait
        self.before_fetch = lambda: no_wait(ORDERS, 0)
        self.raced = 0
        self._stopped, self.fetcher = Stopped(), SimpleNamespace(_stopped=Stopped())
        self._read_offset: defaultdict[TP, int | None] = defaultdict(lambda: None)
        self._committed_offset: defaultdict[TP, int | None] = defaultdict(lambda: None)
        self.diag = SimpleNamespace(set_flag=lambda flag: None, unset_flag=lambda flag: None)
        self._commit_every, self._n_acked, self.should_stop = None, 0, False
        self._acked: defaultdict[TP, list[int]] = defaultdict(list)
        self._acked_index: defaultdict[TP, set[int]] = defaultdict(set)
        self._waiting_for_ack, self.flow_active = None, True
        self.app = SimpleNamespace(topics=SimpleNamespace(acks_enabled_for=lambda topic: True),
                                   consumer_generation_id=1,
                                   monitor=SimpleNamespace(track_tp_end_offset=lambda tp, end: None))
        self.suspend_flow = asyncio.Event()
        self.log = SimpleNamespace(warning=lambda *a: None, exception=lambda *a: None, info=lambda *a: None,
                                   dev=lambda *a: None)
        self.gaps: list[tuple[TP, int, int]] = []
        self.rewound: list[tuple[TP, int]] = []
        aiokafka = SimpleNamespace(seek=lambda tp, offset: self.rewound.append((tp, offset)))
        self._thread = SimpleNamespace(_ensure_consumer=lambda: aiokafka, call_thread=lambda fn: fn())

    async def getmany(self, timeout: float):
        await self.before_fetch()
        if not self.batches:
            self.fetcher._stopped.set = True
            return
        self.gamevault_fetched_at = fetch_marks.tag_fetch(self, {}).seeks  # as the patched _getmany
        fetched = [(tp, SimpleNamespace(offset=offset, topic=tp.topic, partition=tp.partition, key=None, value=None))
                   for tp, offset in self.batches.pop(0)]
        records = defaultdict(list)
        for tp, record in fetched:
            records[tp].append(record)
        routes = self.app.__dict__.get("gamevault_batch_routes")
        if routes:  # as the patched _getmany: routed topics leave the batch here
            batch_routes.divert(self, records, routes)
        for tp, record in fetched:  # the rest in the order fetched
            if tp in records:
                yield tp, record

    async def callback(self, message) -> None:
        tp = TP(message.topic, 0)
        self.delivered.append((tp, message.offset))
        await self.on_deliver(tp, message.offset)

    async def sleep(self, s: float) -> None:
        await asyncio.sleep(s)

    async def seek_to_committed(self) -> dict[TP, int | None]:
        for tp, offset in self.committed.items():  # as the patched seek_to_committed, in the consumer's thread
            if offset:  # (a partition without a commit goes back to its beginning: here, nothing to fetch again)
                fetch_marks.mark_seek(self, tp)
        return dict(self.committed)

    def highwater(self, tp: TP) -> int:
        return 0

    async def commit(self) -> None:
        return None

    async def _add_gap(self, tp: TP, start: int, end: int) -> None:
        self.gaps.append((tp, start, end))

    async def wait_first(self, *coros, timeout=None) -> WaitResults:
        self.raced += 1
        futures = [asyncio.ensure_future(c) for c in coros]
        done, pending = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
        for f in pending:
            f.cancel()
        return WaitResults([], [f.result() for f in done], False)

    async def drain(self) -> None:
        await Consumer._drain_messages(self, self.fetcher)

    async def perform_seek(self) -> None:
        await Consumer.perform_seek(self)


@pytest.fixture(autouse=True)
def patched() -> None:
    faust_patches.drain_safely()


def test_a_seek_ends_the_batch_for_the_partitions_it_moved_and_keeps_the_read_offset():
    async def scenario() -> FakeConsumer:
        # batch 1 was fetched before the seek: orders 5..9 and carts 0..2; the seek (during orders 6) moves
        # orders back to its commit, 5, and leaves carts (nothing committed) where it is
        consumer = FakeConsumer([[(ORDERS, 5), (ORDERS, 6), (CARTS, 0), (ORDERS, 7), (CARTS, 1), (ORDERS, 8)],
                                 [(ORDERS, 5), (ORDERS, 6), (ORDERS, 7), (ORDERS, 8)]],
                                committed={ORDERS: 5, CARTS: None})

        async def seek_during_6(tp: TP, offset: int) -> None:
            if (tp, offset) == (ORDERS, 6) and not getattr(consumer, "sought", False):
                consumer.sought = True
                await consumer.perform_seek()

        consumer.on_deliver = seek_during_6
        await consumer.drain()
        return consumer

    consumer = asyncio.run(scenario())
    first, second = consumer.delivered[:4], consumer.delivered[4:]
    assert first == [(ORDERS, 5), (ORDERS, 6), (CARTS, 0), (CARTS, 1)]  # stale orders 7, 8 not delivered
    assert second == [(ORDERS, 5), (ORDERS, 6), (ORDERS, 7), (ORDERS, 8)]  # fetched again from the commit
    assert consumer.gaps == []  # nothing counted as acknowledged that was never delivered
    assert consumer._read_offset[ORDERS] == 8 and consumer._read_offset[CARTS] == 1


def test_a_batch_fetched_after_a_seek_is_delivered_whole():
    """A seek while the loop waits to fetch (a rebalance) leaves the batch fetched after it alone."""

    async def scenario() -> FakeConsumer:
        consumer = FakeConsumer([[(ORDERS, 5), (ORDERS, 6)]], committed={ORDERS: 5})

        async def seek_first() -> None:
            if not getattr(consumer, "sought", False):
                consumer.sought = True
                await consumer.perform_seek()

        consumer.before_fetch = seek_first
        await consumer.drain()
        return consumer

    consumer = asyncio.run(scenario())
    assert consumer.delivered == [(ORDERS, 5), (ORDERS, 6)] and consumer._read_offset[ORDERS] == 6


def test_a_gap_is_fetched_again_once_and_only_a_persistent_one_is_acknowledged():
    # 7 and 8 never reached the loop: it seeks back to 6 (the read offset: after a seek it is the next
    # record, so it is read again too) and the rest of that batch is stale
    consumer = FakeConsumer([[(ORDERS, 5), (ORDERS, 6), (ORDERS, 9), (ORDERS, 10)],
                             [(ORDERS, 6), (ORDERS, 7), (ORDERS, 8), (ORDERS, 9), (ORDERS, 10)]], committed={})
    asyncio.run(consumer.drain())
    assert consumer.rewound == [(ORDERS, 6)] and consumer.gaps == []
    assert consumer.delivered == [(ORDERS, 5), (ORDERS, 6), (ORDERS, 6), (ORDERS, 7), (ORDERS, 8), (ORDERS, 9),
                                  (ORDERS, 10)]

    # a gap still there after the second read (records truly absent) is Faust's: acknowledged, once
    consumer = FakeConsumer([[(ORDERS, 5), (ORDERS, 6), (ORDERS, 9)], [(ORDERS, 6), (ORDERS, 9)]], committed={})
    asyncio.run(consumer.drain())
    assert consumer.rewound == [(ORDERS, 6)] and consumer.gaps == [(ORDERS, 7, 9)]
    assert consumer.delivered == [(ORDERS, 5), (ORDERS, 6), (ORDERS, 6), (ORDERS, 9)]


def test_faust_s_loop_as_it_was_loses_what_the_seek_rewound_to():
    """The same scenario without change 1 (the loop Faust ships): the stale batch goes on, the rewound
    records are dropped as read and their gap is acknowledged. This is the loss the patch closes."""

    async def scenario() -> FakeConsumer:
        consumer = FakeConsumer([[(ORDERS, 5), (ORDERS, 6), (ORDERS, 9)], [(ORDERS, 5), (ORDERS, 6), (ORDERS, 7)]],
                                committed={ORDERS: 5})

        async def seek_during_6(tp: TP, offset: int) -> None:
            if (tp, offset) == (ORDERS, 6) and not getattr(consumer, "sought", False):
                consumer.sought = True
                consumer._read_offset[ORDERS] = 5  # Faust's perform_seek, which marks nothing as moved

        consumer.on_deliver = seek_during_6
        await Consumer._drain_messages.faust_original(consumer, consumer.fetcher)
        return consumer

    consumer = asyncio.run(scenario())
    assert consumer.delivered == [(ORDERS, 5), (ORDERS, 6), (ORDERS, 9)]  # 7 and 8: dropped as already read
    assert consumer.gaps == [(ORDERS, 7, 9)]  # and counted as acknowledged: committed, never processed


def test_every_delivery_is_raced_against_a_suspended_flow_in_order():
    async def scenario() -> tuple[FakeConsumer, list[int]]:
        consumer = FakeConsumer([[(ORDERS, 1), (ORDERS, 2), (ORDERS, 3)]], committed={})
        gate = asyncio.Event()
        finished: list[int] = []

        async def wait_on_2(tp: TP, offset: int) -> None:
            if offset == 2:
                asyncio.get_running_loop().call_later(0.01, gate.set)
                await gate.wait()  # a full buffer: the rest of the delivery runs in a task
            finished.append(offset)

        consumer.on_deliver = wait_on_2
        await consumer.drain()
        return consumer, finished

    consumer, finished = asyncio.run(scenario())
    assert finished == [1, 2, 3] and consumer.raced == 3
    assert consumer._read_offset[ORDERS] == 3


def test_a_suspended_flow_wins_the_race_and_cancels_the_waiting_delivery():
    async def scenario() -> list[str]:
        consumer = FakeConsumer([[(ORDERS, 1)]], committed={})
        seen: list[str] = []

        async def stuck(tp: TP, offset: int) -> None:
            asyncio.get_running_loop().call_later(0.01, consumer.suspend_flow.set)
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

        consumer.on_deliver = stuck
        await asyncio.wait_for(consumer.drain(), 5)
        await asyncio.sleep(0)
        return seen

    assert asyncio.run(scenario()) == ["cancelled"]
