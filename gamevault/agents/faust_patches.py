"""Patches to faust-streaming's consumer (pinned with aiokafka in pyproject.toml), each idempotent.

1. `shorten_fetch_wait`: Faust hard-codes its fetch wait to 1500 ms, which a busy saga pays per hop.
2. `drain_safely`: no record from before a seek. During a rebalance's recovery Faust resumes the flow,
   delivers records, then seeks the stream partitions back to their committed offsets. Its drain loop
   (`Consumer._drain_messages`) goes on with the batch it fetched before the seek: a stale record moves
   the read offset past the records the seek rewound to, those are dropped as already read ("DROPPED
   MESSAGE ROFF"), and the gap they leave is counted as acknowledged, then committed: lost for good.
   Seen in tests/integration/test_effectively_once.py (drops after each rebalance; once, an accepted
   order that never existed), and the mechanism is in tests/unit/agents/test_faust_patches.py.
   Here every seek is noted per partition where aiokafka moves it (in the consumer's thread), every
   batch with the seeks made before aiokafka returned it, and the loop skips a batch's records of a
   partition moved since, and keeps the read offset from a record delivered across a seek: they are
   fetched again from the commit. A gap that still shows up on the platform's topics (records that
   never reached the loop: none of them has transaction markers) is fetched again once, not counted as
   acknowledged. The rest of the loop, and `perform_seek`, are Faust 0.15.3's.
3. `resume_streams_after_clearing`: when recovery completes, Faust resumes the stream partitions, seeks
   them to their commits and then resumes the flow, which clears every stream buffer. Records fetched
   from the new positions while the seek's read-offset update is on its way are delivered, cleared,
   and then counted as a gap: lost (seen in the kill test, several partitions per rebalance). Here the
   stream partitions stay paused until the buffers are cleared.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

from gamevault.metrics import CONSUMER_GAPS

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


class Fetched(dict):
    """A batch as aiokafka returned it, with the number of seeks made before it was returned."""

    seeks = 0


def tag_fetch(consumer: Any, records: dict) -> Fetched:
    """Run where aiokafka returns the batch (the consumer's thread), in the same step."""
    fetched = Fetched(records)
    fetched.seeks = getattr(consumer, "gamevault_seeks", 0)
    return fetched


def mark_seek(consumer: Any, tp: Any) -> None:
    """A partition is moving. Run where aiokafka moves it, in the same step: batches returned before now
    are stale for it from here on."""
    consumer.gamevault_seeks = getattr(consumer, "gamevault_seeks", 0) + 1
    consumer.__dict__.setdefault("gamevault_moved", {})[tp] = consumer.gamevault_seeks


async def rewind(consumer: Any, tp: Any, offset: int) -> None:
    """Fetch `tp` again from `offset`: aiokafka moves in its own thread, marked there like any seek (the
    rest of the batch in hand is stale for it); the read offset stays on the record before `offset`."""

    async def seek() -> None:
        mark_seek(consumer, tp)
        consumer._thread._ensure_consumer().seek(tp, offset)

    await consumer._thread.call_thread(seek)


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
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                moved = self.__dict__.setdefault("gamevault_moved", {})  # the change: tp -> the seek that moved it
                healed = self.__dict__.setdefault("gamevault_healed", {})  # tp -> the offset last fetched again
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
                            if gap > 1 and r_offset and acks_enabled_for(message.topic):
                                # the platform's topics have no transaction markers and are read before
                                # compaction: a gap means records skipped on the way (a race in Faust's
                                # rebalance handling), which Faust would count as acknowledged. They are
                                # fetched again instead, once; a gap that persists is Faust's.
                                if healed.get(tp) != r_offset + 1:
                                    healed[tp] = r_offset + 1
                                    CONSUMER_GAPS.labels(tp.topic, "fetched again").inc()
                                    self.log.warning("gap in %s: offsets %s-%s skipped, fetched again", tp,
                                                     r_offset + 1, offset - 1)
                                    await rewind(self, tp, r_offset + 1)
                                    continue
                                CONSUMER_GAPS.labels(tp.topic, "acknowledged").inc()
                                self.log.warning("gap in %s: offsets %s-%s never delivered, counted as "
                                                 "acknowledged", tp, r_offset + 1, offset - 1)
                                await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            await deliver(self, callback, message)
                            if moved.get(tp, 0) <= self.gamevault_fetched_at:  # the change: else a seek came
                                set_read_offset(tp, offset)
                        else:
                            self.log.dev("DROPPED MESSAGE ROFF %r: k=%r v=%r", offset, message.key, message.value)
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


def resume_streams_after_clearing() -> None:
    """Faust 0.15.3's `Recovery.on_recovery_completed`, with the stream partitions resumed after the flow
    (and the buffer clearing that comes with it) instead of before the seek."""
    from faust.tables.recovery import Recovery

    if getattr(Recovery.on_recovery_completed, "gamevault_patched", False):
        return

    async def on_recovery_completed(self: Any, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [asyncio.ensure_future(table.on_recovery_completed(self.actives_for_table[table],
                                                                       self.standbys_for_table[table]))
                     for table in self.tables.values()]
        if callbacks:
            await asyncio.wait(callbacks)
        assignment = consumer.assignment()
        if self.app.consumer_generation_id != generation_id:
            self.log.warning(f"Recovery rebalancing again app id {self.app.consumer_generation_id} "
                             f"param {generation_id}")
            return
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=self.app.conf.broker_request_timeout)
        self.completed.set()
        self.app.flow_control.resume()  # clears the stream buffers
        consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})  # the change
        consumer.resume_flow()
        await self.app._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not self.app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        self.app.on_rebalance_end()
        self.log.info("Worker ready")

    on_recovery_completed.gamevault_patched = True  # type: ignore[attr-defined]
    Recovery.on_recovery_completed = on_recovery_completed
