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
   tried too: it left partitions that received nothing afterwards unread, so it is not here.)

3. `route_batches`: whole fetched batches for an agent that folds them. Faust hands every record to its
   agents one at a time (a Message, the conductor, a channel queue, the stream's iterator, an ack):
   ~65 us a record here (bench/ratings.py, the bare agent), a ceiling of ~15k records/s for anything
   written as a Faust stream. A topic routed here is taken out of each batch where aiokafka returns it
   and handed to its handler a fetch at a time, after the other topics' records of that fetch; its
   records are then acknowledged and read as Faust's loop does one by one (the same seek marks, the
   same gap check). Faust keeps everything else: the group, the assignment (the topic is still an
   agent's, so its tables stay co-partitioned with it), recovery, and the commits (acknowledged offsets
   only, after the producer is flushed).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
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


async def fetched_again(consumer: Any, tp: Any, r_offset: int, offset: int) -> bool:
    """Records between the read offset and `offset` never reached the loop. The platform's topics have no
    transaction markers and are read before compaction: such a gap means records skipped on the way (a
    race in Faust's rebalance handling), which Faust would count as acknowledged. They are fetched again
    instead, once (-> True: the rest of the batch in hand is stale for `tp`); a gap that persists is
    Faust's (-> False, counted as acknowledged)."""
    healed = consumer.__dict__.setdefault("gamevault_healed", {})  # tp -> the offset last fetched again
    if healed.get(tp) != r_offset:
        healed[tp] = r_offset  # from r_offset itself: after a seek it is the next record, not the last
        CONSUMER_GAPS.labels(tp.topic, "fetched again").inc()
        consumer.log.warning("gap in %s: offsets %s-%s skipped, fetched again", tp, r_offset + 1, offset - 1)
        await rewind(consumer, tp, r_offset)
        return True
    CONSUMER_GAPS.labels(tp.topic, "acknowledged").inc()
    consumer.log.warning("gap in %s: offsets %s-%s never delivered, counted as acknowledged", tp, r_offset + 1,
                         offset - 1)
    await consumer._add_gap(tp, r_offset + 1, offset)
    return False


BatchHandler = Callable[[dict[Any, list[Any]]], Awaitable[None]]  # {tp: aiokafka ConsumerRecords}


@dataclass(frozen=True)
class Route:
    handler: BatchHandler
    finish: Callable[[], Awaitable[Any]] | None  # once per fetch, after every handler that shares it


def route_batches(app: Any, topic: str, handler: BatchHandler,
                  finish: Callable[[], Awaitable[Any]] | None = None) -> None:
    """Hand `topic`'s records to `handler` a fetched batch at a time, not one by one to the agent subscribed
    to it (which keeps the topic in the group). Topics that share a `finish` (a flush of what their
    handlers wrote) have it awaited once per fetch, after all of their handlers. What a handler was handed
    is acknowledged once it and its finish have returned, as a Faust agent's event is when the agent moves
    on; when either raises, it is fetched again."""
    app.__dict__.setdefault("gamevault_batch_routes", {})[topic] = Route(handler, finish)


@dataclass
class Diverted:
    """A fetch's records of the routed topics, with what the fetch saw: the seeks before it, the group's
    generation."""

    seeks: int
    generation: int
    records: dict[Any, list[Any]]


def divert(consumer: Any, records: dict, routes: dict[str, Route]) -> None:
    """Take the routed topics' records out of a fetch (the rest goes Faust's way, record by record)."""
    taken = {tp: records.pop(tp) for tp in [tp for tp in records if tp.topic in routes]}
    if taken:
        consumer.gamevault_diverted = Diverted(consumer.gamevault_fetched_at, consumer.app.consumer_generation_id,
                                               taken)


def acknowledge(consumer: Any, tp: Any, records: list[Any]) -> None:
    """Faust's `Consumer.ack` for a partition's records at once."""
    from faust.types.tuples import ack_lock
    from mode.utils.futures import notify

    with ack_lock:
        committed = consumer._committed_offset[tp]
        index, acked = consumer._acked_index[tp], consumer._acked[tp]
        fresh = [r.offset for r in records if (committed is None or r.offset >= committed) and r.offset not in index]
        index.update(fresh)
        acked.extend(fresh)
        consumer._n_acked += len(fresh)
    notify(consumer._waiting_for_ack)


async def fetch_again(consumer: Any, fetched: dict[Any, list[Any]]) -> None:
    for tp, records in fetched.items():
        await rewind(consumer, tp, records[0].offset)


async def hand_over(consumer: Any, moved: dict) -> None:
    """The records diverted from the last fetch to their handlers, then read and acknowledged."""
    batch, consumer.gamevault_diverted = consumer.gamevault_diverted, None
    if batch.generation != consumer.app.consumer_generation_id or not consumer.flow_active:
        return  # a rebalance since the fetch: recovery seeks what stays assigned back to its commit
    read_offset, routes = consumer._read_offset, consumer.app.gamevault_batch_routes
    by_topic: dict[str, dict[Any, list[Any]]] = defaultdict(dict)
    for tp, records in batch.records.items():
        if moved.get(tp, 0) > batch.seeks:
            continue  # fetched before a seek moved its partition: fetched again
        r_offset = read_offset[tp]
        if r_offset is not None and records[0].offset < r_offset:
            records = [r for r in records if r.offset >= r_offset]  # read already (Faust drops them too)
            if not records:
                continue
        first = records[0].offset
        if (first - (r_offset or 0) > 1 and r_offset and consumer.app.topics.acks_enabled_for(tp.topic)
                and await fetched_again(consumer, tp, r_offset, first)):
            continue
        by_topic[tp.topic][tp] = records
    handled: dict[str, dict[Any, list[Any]]] = {}
    finishes: dict[Callable[[], Awaitable[Any]], list[str]] = {}
    for topic, fetched in by_topic.items():
        route = routes[topic]
        try:
            await route.handler(fetched)
        except Exception:  # nothing lost (handlers are idempotent): the batch is fetched again
            consumer.log.exception("batch handler for %s raised: its records are fetched again", topic)
            await fetch_again(consumer, fetched)
            continue
        handled[topic] = fetched
        if route.finish is not None:
            finishes.setdefault(route.finish, []).append(topic)
    for finish, topics in finishes.items():
        try:
            await finish()
        except Exception:
            consumer.log.exception("finishing the batches of %s raised: their records are fetched again", topics)
            for topic in topics:
                await fetch_again(consumer, handled.pop(topic))
    for fetched in handled.values():
        for tp, records in fetched.items():
            if moved.get(tp, 0) > batch.seeks:
                continue  # moved while handled: fetched again (handlers are idempotent)
            consumer.app.monitor.track_tp_end_offset(tp, consumer.highwater(tp))
            read_offset[tp] = records[-1].offset
            acknowledge(consumer, tp, records)
    if consumer._commit_every is not None and consumer._n_acked >= consumer._commit_every:
        consumer._n_acked = 0
        await consumer.commit()


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
