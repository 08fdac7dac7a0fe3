"""ADR's ingestion loop: every public events topic -> the Parquet lake, exactly once.

A consumer group of its own (isolated from the transactional workers). Rows are buffered per
topic-partition and flushed after N rows or T seconds, whichever first, and when the partition goes
idle, so quiet traffic is never left unwritten. A flush (decode, write, fsync, commit) runs in the
background while the consumer keeps fetching; up to two at once (one decoding while the other writes),
committing to the manifest strictly in order, so its progress only moves forward. See `lake.py` for
why a crash at any point loses and duplicates nothing. A record that cannot be stored goes to the
dead-letter topic with the reason.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from gamevault.config import Settings
from gamevault.streams.topics import DEADLETTER, PUBLIC_EVENT_TOPICS
from gamevault.streams.validation import Reason, deadletter_headers
from gamevault.warehouse.lake import Lake
from gamevault.warehouse.rows import RowBuffer, decode

log = logging.getLogger(__name__)
GROUP = "gamevault-warehouse"
FLUSHES_IN_FLIGHT = 2


@dataclass
class Pending:
    first: int
    last: int
    since: float
    buffer: RowBuffer
    touched: float = field(default_factory=time.monotonic)


def tp_name(tp: TopicPartition) -> str:
    return f"{tp.topic}+{tp.partition}"


class Sink:
    def __init__(self, settings: Settings, flush_rows: int = 50_000, flush_seconds: float = 5.0,
                 idle_seconds: float = 1.0) -> None:
        self.settings = settings
        self.lake = Lake(settings.lake).ensure()
        self.flush_rows, self.flush_seconds, self.idle_seconds = flush_rows, flush_seconds, idle_seconds
        self.key = settings.secret("pseudonym-key").encode()
        self.pending: dict[TopicPartition, Pending] = {}
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.stopping = asyncio.Event()
        self.written = 0
        # aiokafka runs the rebalance listener while this loop awaits: the lock keeps the two apart, and
        # the generation tells the loop its fetched batch straddled an assignment (then it is dropped and
        # every partition re-sought to the lake's progress, so nothing is lost or doubled)
        self.lock = asyncio.Lock()
        self.generation = 0
        self.flushing: deque[asyncio.Task] = deque()  # flushes in flight, oldest first

    # ---- rebalance: resume after the lake's progress, flush what we held ---------------------------
    class _Listener(ConsumerRebalanceListener):
        def __init__(self, sink: Sink) -> None:
            self.sink = sink

        async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
            async with self.sink.lock:
                await self.sink.flush(*revoked)

        async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
            async with self.sink.lock:
                await self.sink.settle()  # the lake's progress must include the flushes in flight
                self.sink.generation += 1
                for tp in assigned:
                    await self.sink.resume(tp, recover=True)

    async def resume(self, tp: TopicPartition, recover: bool = False) -> None:
        """Position `tp` right after the last offset the lake holds."""
        name = tp_name(tp)
        last = await asyncio.to_thread(self.lake.recover, name) if recover else self.lake.snapshot().progress.get(
            name, -1)
        if last >= 0:
            self.consumer.seek(tp, last + 1)
        else:
            await self.consumer.seek_to_beginning(tp)

    async def run(self) -> None:
        gc_task = asyncio.create_task(_collect_garbage_periodically())
        self.consumer = AIOKafkaConsumer(
            **self.settings.kafka.aiokafka(), group_id=GROUP, enable_auto_commit=False,
            auto_offset_reset="earliest", max_partition_fetch_bytes=8 * 1024 * 1024,
            # the lake is seconds fresh (a flush every 5 s at most): fuller fetches, not one per event. With
            # 1 byte / 200 ms it fetched on every event, across all its partitions: 4.5 -> 1.5 ms of its CPU
            # per order on `gamevault up` at 40 orders/s (bench/up.py), and broker requests with it
            fetch_max_wait_ms=500, fetch_min_bytes=1024 * 1024,
            client_id="gamevault-warehouse-sink",
        )
        self.producer = AIOKafkaProducer(**self.settings.kafka.aiokafka(), acks="all")
        await self.producer.start()
        await self.consumer.start()
        self.consumer.subscribe([t.name for t in PUBLIC_EVENT_TOPICS], listener=self._Listener(self))
        try:
            while not self.stopping.is_set():
                generation = self.generation
                try:
                    batches = await self.consumer.getmany(timeout_ms=200, max_records=20_000)
                except KafkaError as exc:
                    log.warning("sink fetch failed: %s", exc)
                    await asyncio.sleep(1)
                    continue
                async with self.lock:
                    if generation != self.generation:  # an assignment happened meanwhile: start over clean
                        await self.settle()
                        for tp in self.consumer.assignment():
                            await self.resume(tp)
                        continue
                    for tp, records in batches.items():
                        await self._take(tp, records)
                    await self._flush_due()
            async with self.lock:
                await self.flush(*self.pending)
        finally:
            gc_task.cancel()
            await self.settle()
            await self.consumer.stop()
            await self.producer.stop()

    async def _take(self, tp: TopicPartition, records: list[Any]) -> None:
        pending = self.pending.get(tp)
        for rec in records:
            if pending is None:
                pending = self.pending[tp] = Pending(rec.offset, rec.offset, time.monotonic(),
                                                     RowBuffer(self.key, tp.topic, tp.partition))
            pending.buffer.add(rec)
            pending.last = rec.offset
            pending.touched = time.monotonic()
            if pending.buffer.count >= self.flush_rows:
                await self._flush_in_background(tp)
                pending = None

    async def _dead_letter(self, tp: TopicPartition, rejected: list[tuple[Any, str]]) -> None:
        sent = [await self.producer.send(
            DEADLETTER.name, rec.value, key=rec.key,
            headers=deadletter_headers(Reason.UNDECODABLE, reason, tp.topic, tp.partition, rec.offset, "warehouse",
                                       list(rec.headers or []))) for rec, reason in rejected]
        await asyncio.gather(*sent)

    async def _flush_due(self) -> None:
        now = time.monotonic()
        due = [tp for tp, p in self.pending.items()
               if now - p.since >= self.flush_seconds or now - p.touched >= self.idle_seconds]
        if due:
            await self._flush_in_background(*due)

    async def settle(self, keep: int = 0) -> None:
        """Wait until at most `keep` flushes are in flight (re-raising a failure: the sink stops, a restart
        recovers from the manifest)."""
        while len(self.flushing) > keep:
            await self.flushing.popleft()

    async def _flush_in_background(self, *tps: TopicPartition) -> None:
        await self.settle(keep=FLUSHES_IN_FLIGHT - 1)  # the back-pressure that bounds memory
        batches = [(tp, p) for tp in tps if (p := self.pending.pop(tp, None)) is not None]
        if batches:
            previous = self.flushing[-1] if self.flushing else None
            self.flushing.append(asyncio.create_task(self._write(batches, after=previous)))

    async def flush(self, *tps: TopicPartition) -> None:
        """Write the buffered rows of `tps` now (after the flush in flight)."""
        await self.settle()
        batches = [(tp, p) for tp in tps if (p := self.pending.pop(tp, None)) is not None]
        if batches:
            await self._write(batches)

    async def _write(self, batches: list[tuple[TopicPartition, Pending]], after: asyncio.Task | None = None) -> None:
        """Decode and write the batches' files (in threads), then, once the flush `after` has committed, one
        manifest commit for all (if `after` failed, this one fails too: nothing commits out of order)."""
        jobs = []
        decoded_all = await asyncio.to_thread(decode, [p.buffer for _, p in batches])
        for (tp, pending), decoded in zip(batches, decoded_all, strict=True):
            # dead letters first: once the manifest commits these offsets, nothing would re-send them
            await self._dead_letter(tp, decoded.rejected)
            for (etype, date), table in decoded.tables.items():
                rel = (f"events/type={etype}/date={date}/{tp_name(tp)}+{pending.first:020d}+"
                       f"{pending.last:020d}.parquet")
                jobs.append((rel, table))
        sizes = await asyncio.gather(*(asyncio.to_thread(self.lake.write_file, rel, table, sync_dir=False)
                                       for rel, table in jobs))
        await asyncio.to_thread(self.lake.sync_dirs, {rel.rsplit("/", 1)[0] for rel, _ in jobs})
        files = {rel: {"rows": table.num_rows, "bytes": size} for (rel, table), size in zip(jobs, sizes, strict=True)}
        if after is not None:
            await after
        await asyncio.to_thread(self.lake.commit, {tp_name(tp): p.last for tp, p in batches}, files)
        self.written += sum(p.buffer.count for _, p in batches)
        try:  # for lag monitoring only: the lake's manifest holds the progress
            await self.consumer.commit({tp: p.last + 1 for tp, p in batches})
        except KafkaError as exc:
            log.info("offset commit skipped (%s); the lake's manifest holds the progress", exc)


async def _collect_garbage_periodically(every_s: float = 30.0) -> None:
    """The sink holds up to a flush's worth of records (~100k objects) that all survive young collections:
    with automatic GC each promotion wave re-scans them all (measured: 66k events/s with it, 117k without).
    Records are freed by reference counting; a full collection now and then catches the rare cycle."""
    gc.disable()
    try:
        while True:
            await asyncio.sleep(every_s)
            gc.collect()
    finally:
        gc.enable()


async def _compact_periodically(lake_root: Path, every_s: float) -> None:
    """Compaction and the rollups' refresh beside the sink (in a thread: pyarrow and DuckDB release the GIL),
    so small files and the events the rollups do not cover yet never pile up for long."""
    from gamevault.warehouse.compact import compact

    while True:
        await asyncio.sleep(every_s)
        try:
            done = await asyncio.to_thread(compact, lake_root)
            log.info("compaction: %d merged file(s); rollups refreshed", len(done))
        except Exception:  # the lake stays correct without it: try again next time
            log.exception("compaction failed")


def run(settings: Settings, flush_rows: int, flush_seconds: float, idle_seconds: float,
        compact_seconds: float = 600.0) -> None:
    import uvloop

    async def main() -> None:
        sink = Sink(settings, flush_rows, flush_seconds, idle_seconds)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, sink.stopping.set)
        compaction = (asyncio.ensure_future(_compact_periodically(settings.lake, compact_seconds))
                      if compact_seconds > 0 else None)
        try:
            await sink.run()
        finally:
            if compaction is not None:
                compaction.cancel()

    uvloop.run(main())
