"""Patches to faust-streaming 0.15.3's consumer (pinned with aiokafka in pyproject.toml), each idempotent.

1. `shorten_fetch_wait`: Faust hard-codes its fetch wait to 1500 ms, which a busy saga pays per hop.

2. `drain_safely`: no record skipped around a rebalance. At-least-once needs a consumer that never
   skips a record; Faust's skips some around nearly every rebalance (3-11 gaps per run of
   tests/integration/test_effectively_once.py, once an accepted order that never existed):
   - its drain loop goes on with a batch fetched before recovery's seek: a stale record moves the read
     offset past what the seek rewound to, and those records are dropped as already read ("DROPPED
     MESSAGE ROFF");
   - recovery resumes the stream partitions before that seek and clears the stream buffers after it:
     records read from the new positions meanwhile are cleared, never processed;
   - a partition without a commit is not moved back at all, so what was read and cleared stays unread.
   Faust counts what it skipped as a gap, acknowledged, then committed. Here each seek is marked per
   partition where aiokafka moves it (in the consumer's thread) and each batch is tagged with the seeks
   before it: the loop skips a batch's records of a partition moved since, and a partition without a
   commit goes back to its beginning. A gap that still shows up on the platform's topics (none has
   transaction markers) is fetched again once instead of acknowledged (`gamevault_consumer_gaps_total`).
   The rest of the loop is Faust's. tests/unit/agents/test_faust_patches.py shows Faust's loop losing
   records and this one not. (Resuming the stream partitions only after the buffers are cleared was
   tried too: it left partitions that received nothing afterwards unread, so it is not here.) The marks
   and the gap check are in agents/fetch_marks.py.

3. Whole fetched batches for the topics routed in agents/batch_routes.py: taken out of each fetch where
   aiokafka returns it, handed over after that fetch's other records.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

from gamevault.agents.batch_routes import divert, hand_over
from gamevault.agents.fetch_marks import Fetched, fetched_again, mark_seek, tag_fetch

FETCH_MAX_WAIT_MS = 50


def shorten_fetch_wait(wait_ms: int = FETCH_MAX_WAIT_MS) -> None:
    """Faust hard-codes its consumer's fetch_max_wait_ms to 1500 (no setting).

    aiokafka keeps one fetch in flight per broker and leaves partitions that still hold buffered
    records out of it; a record arriving on such a partition then waits for the in-flight long poll
    to expire. Measured under load: 0.6-1.7 s per saga hop with 1500 ms, tens of ms with 50 ms.
    An idle worker pays for it with ~20 small fetches a second.
    """
    from faust.transport.drivers import aiokafka as driver

    original = driver.AIOKafkaConsumerThread._create_worker_consumer
    if getattr(original, "gamevault_patched", False):
        return

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = wait_ms  # read by consumer.start() when it builds its Fetcher
        return consumer

    create.gamevault_patched = True  # type: ignore[attr-defined]
    driver.AIOKafkaConsumerThread._create_worker_consumer = create


async def deliver(consumer: Any, callback: Any, message: Any) -> None:
    """Faust's hand-off of one record: raced against the flow being suspended (a rebalance). A module
    attribute, so a benchmark can put another in its place (bench/faust_delivery.py)."""
    await consumer.wait_first(callback(message), consumer.suspend_flow.wait())


def drain_safely() -> None:
    """Install the drain loop above and its seek marks (idempotent)."""
    from faust.transport.consumer import CONSUMER_FETCHING, Consumer, ThreadDelegateConsumer, ensure_TP
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    if getattr(Consumer._drain_messages, "gamevault_patched", False):
        return
    original_fetch_records = AIOKafkaConsumerThread._fetch_records
    original_getmany = ThreadDelegateConsumer._getmany

    async def fetch_records(self: Any, consumer: Any, active_partitions: Any, timeout: Any = None,
                            max_records: Any = None) -> Fetched:  # in the consumer's thread
        records = await original_fetch_records(self, consumer, active_partitions, timeout=timeout,
                                               max_records=max_records)
        return tag_fetch(self.consumer, records)

    async def seek_and_mark(self: Any, consumer: Any) -> dict:  # in the consumer's thread
        """aiokafka's seek_to_committed, marking each partition as it moves. A partition without a commit
        goes back to its beginning (aiokafka would leave it where it is: a record read and then cleared
        from the buffers by recovery would never be read again)."""
        committed, uncommitted = {}, []
        for tp in consumer.assignment():
            offset = committed[tp] = await consumer.committed(tp)
            if offset is not None and offset > 0:
                mark_seek(self.consumer, ensure_TP(tp))
                consumer.seek(tp, offset)
            else:
                uncommitted.append(tp)
        if uncommitted:  # one offset reset for all of them (it starts before the first await)
            for tp in uncommitted:
                mark_seek(self.consumer, ensure_TP(tp))
            await consumer.seek_to_beginning(*uncommitted)
        return committed

    async def seek_to_committed(self: Any) -> Any:
        return await self.call_thread(seek_and_mark, self, self._ensure_consumer())

    async def getmany(self: Any, active_partitions: Any, timeout: float) -> Any:
        records = await original_getmany(self, active_partitions, timeout)
        self.gamevault_fetched_at = getattr(records, "seeks", getattr(self, "gamevault_seeks", 0))
        routes = self.app.__dict__.get("gamevault_batch_routes")
        if routes and records:
            divert(self, records, routes)
        return records

    async def drain_messages(self: Any, fetcher: Any) -> None:  # Faust 0.15.3's loop, the change marked
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        set_flag, unset_flag = self.diag.set_flag, self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        yield_every, num_since_yield = 100, 0
        self.__dict__.setdefault("gamevault_fetched_at", 0)  # the change: set per batch by _getmany
        self.__dict__.setdefault("gamevault_diverted", None)  # and the routed topics' records of that batch
        moved = self.__dict__.setdefault("gamevault_moved", {})  # tp -> the seek that moved it
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                ait = cast(AsyncIterator, getmany(timeout=1.0))
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        if moved.get(tp, 0) > self.gamevault_fetched_at:
                            continue  # the change: fetched before a seek moved its partition; fetched again
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await asyncio.sleep(0)
                            num_since_yield = 0
                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if (gap > 1 and r_offset and acks_enabled_for(message.topic)  # the change:
                                    and await fetched_again(self, tp, r_offset, offset)):  # Faust acks the gap
                                continue
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            await deliver(self, callback, message)
                            if moved.get(tp, 0) <= self.gamevault_fetched_at:  # the change: else a seek came
                                set_read_offset(tp, offset)
                        else:
                            self.log.dev("DROPPED MESSAGE ROFF %r: k=%r v=%r", offset, message.key, message.value)
                    if self.gamevault_diverted is not None:  # the change: the routed topics' records
                        await hand_over(self, moved)
                    unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)

    drain_messages.gamevault_patched = True  # type: ignore[attr-defined]
    drain_messages.faust_original = Consumer._drain_messages  # type: ignore[attr-defined]  # for the tests
    ThreadDelegateConsumer._getmany = getmany
    AIOKafkaConsumerThread._fetch_records = fetch_records
    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed
    Consumer._drain_messages = drain_messages
