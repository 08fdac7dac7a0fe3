"""The read side: every worker's full copy of the tables it serves, tailed from their changelogs.

Faust partitions a table among the workers of a group, so the worker a client reaches may not own
the key it asks for (NOTES.md: a local read on the non-owner returned 0 instead of 5). Instead of
forwarding reads, every worker tails the table's compacted changelog topic, all partitions, with
its own group-less consumer, and keeps a full local copy. Reads are then local, fast and correct on
any worker, and keep working through rebalances. The replicas that grow with the business keep their
values in the process's spill (see spill.py), not in the heap.

Consistency: a worker applies the state a command returned before answering the request (read your
writes on the worker that took the write). A read that misses first catches up to the changelog's
high-water mark (`sync`), so a key written through another worker is never reported missing.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, TypeVar

import mode
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from gamevault.jsonbytes import kept
from gamevault.kafka_access import KafkaAccess
from gamevault.metrics import REPLICA_LAG
from gamevault.streams.topics import TopicSpec
from gamevault.tables.spill import Spill

T = TypeVar("T")

log = logging.getLogger(__name__)

Listener = Callable[[str, dict | None, dict | None], None]


def _decode_key(raw: bytes | None) -> str:
    """Faust writes `str` table keys JSON-encoded ("key" with quotes)."""
    if not raw:
        return ""
    if raw[:1] == b'"':
        return orjson.loads(raw)
    return raw.decode()


_VERSION = struct.Struct(">q")


def _pack_versioned(item: tuple[int, bytes]) -> bytes:
    return _VERSION.pack(item[0]) + item[1]


def _unpack_versioned(raw: bytes) -> tuple[int, bytes]:
    return _VERSION.unpack_from(raw)[0], raw[_VERSION.size:]


class TableReplica:
    """A dict of one table's current values; `version` fields keep it monotonic per key.

    `compact=True` keeps each value as its JSON bytes (decoded on read) instead of a dict: for tables
    that grow with the business (users, carts, orders) that is 4-5x less memory (an order: 1.7 KB of
    JSON, 8.4 KB as dicts); with a `spill` they are kept on local disk, not in the heap. Replicas read
    by scans (products, ratings) keep dicts."""

    def __init__(self, spec: TopicSpec, compact: bool = False, spill: Spill | None = None) -> None:
        self.spec = spec
        self.compact = compact or spill is not None
        self.data: MutableMapping[str, Any] = (  # key -> dict, or (version, JSON bytes) when compact
            spill.map(f"replica/{spec.name}", dumps=_pack_versioned, loads=_unpack_versioned)
            if spill is not None else {})
        self._listeners: list[Listener] = []

    def get(self, key: str) -> dict | None:
        value = self.data.get(key)
        if value is None or not self.compact:
            return value
        return orjson.loads(value[1])

    def __len__(self) -> int:
        return len(self.data)

    def values(self) -> Iterator[dict]:
        if not self.compact:
            return iter(self.data.values())
        return (orjson.loads(raw) for _, raw in self.data.values())

    def subscribe(self, listener: Listener) -> None:
        """`listener(key, old, new)` runs after every change (indexes stay in step with the data)."""
        self._listeners.append(listener)

    def apply(self, key: str, value: dict | None, raw: bytes | None = None) -> bool:
        """Apply a changelog record (`raw`: its bytes, when at hand) or a command's returned state;
        older versions are ignored."""
        stored = self.data.get(key)
        if value is None:
            if stored is None:
                return False
            del self.data[key]
        else:
            version = value.get("version", 0)
            if stored is not None and version < (stored[0] if self.compact else stored.get("version", 0)):
                return False
            self.data[key] = (version, raw if raw is not None else kept(value)) if self.compact else value
        if self._listeners:
            old = orjson.loads(stored[1]) if self.compact and stored is not None else stored
            for listener in self._listeners:
                listener(key, old, value)
        return True


class ReplicaService(mode.Service):
    """One consumer for all replicated changelogs; `ready` once caught up with the start's end offsets."""

    def __init__(self, access: KafkaAccess, replicas: list[TableReplica], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.access = access
        self.replicas = {r.spec.name: r for r in replicas}
        self.ready = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._probe: AIOKafkaConsumer | None = None
        self._positions: dict[TopicPartition, int] = {}
        self._waiters: list[tuple[dict[TopicPartition, int], asyncio.Future]] = []
        self._pending_round: asyncio.Future | None = None
        self._round_runner: asyncio.Future | None = None
        self.last_contact = 0.0

    async def on_start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **self.access.aiokafka(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            key_deserializer=None,
            value_deserializer=None,
            # short: a partition with unread buffered records is left out of the in-flight fetch, and
            # its new records wait for that fetch's long poll to end (see agents/app.py)
            fetch_max_wait_ms=25,
            # ...but not one fetch per changelog write: every fetch names all replicated partitions (48),
            # and under saga load the replica's fetch requests and their encoding were ~15% of a worker's
            # CPU. Waiting for 64 KB (or the 25 ms) gave 12% more orders/s and a third of the p99 at 50/s.
            fetch_min_bytes=64 * 1024,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            client_id="gamevault-replica",
        )
        await self._consumer.start()
        # End offsets are asked on a connection of their own: the broker answers a connection's requests
        # in order, so on the fetching consumer's connection they would wait behind its long poll (500 ms).
        self._probe = AIOKafkaConsumer(**self.access.aiokafka(), group_id=None,
                                       enable_auto_commit=False, client_id="gamevault-replica-probe")
        await self._probe.start()
        tps = [
            TopicPartition(spec.name, p) for spec in (r.spec for r in self.replicas.values())
            for p in range(spec.partitions)
        ]
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)
        self._start_targets = await self._end_offsets(tps)
        self.add_future(self._run())

    async def on_stop(self) -> None:
        for client in (self._consumer, self._probe):
            if client is not None:
                await client.stop()

    async def _end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        offsets = await self._probe.end_offsets(tps)
        self.last_contact = time.monotonic()
        return offsets

    def _caught_up(self, targets: dict[TopicPartition, int]) -> bool:
        return all(self._positions.get(tp, 0) >= off for tp, off in targets.items())

    async def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        if self._caught_up(self._start_targets):
            self.ready.set()
        while not self.should_stop:
            try:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            except KafkaError as exc:  # broker away: keep serving what we have, retry
                log.warning("replica fetch failed: %s", exc)
                await asyncio.sleep(0.5)
                continue
            self.last_contact = time.monotonic()
            for tp, records in batches.items():
                replica = self.replicas[tp.topic]
                for rec in records:
                    key = _decode_key(rec.key)
                    value = orjson.loads(rec.value) if rec.value is not None else None
                    try:
                        replica.apply(key, value, rec.value)
                    except Exception:  # a bad listener must not stop the read model
                        log.exception("replica %s: applying %s failed", tp.topic, key)
                if records:
                    self._positions[tp] = records[-1].offset + 1
            if not batches:
                # an empty fetch means we are at the end of every partition we hold
                for tp in consumer.assignment():
                    self._positions[tp] = max(self._positions.get(tp, 0), await consumer.position(tp))
            if not self.ready.is_set() and self._caught_up(self._start_targets):
                self.ready.set()
            self._wake_waiters()

    def _wake_waiters(self) -> None:
        remaining = []
        for targets, fut in self._waiters:
            if fut.done():
                continue
            if self._caught_up(targets):
                fut.set_result(None)
            else:
                remaining.append((targets, fut))
        self._waiters = remaining
        if self._start_targets:
            lag = sum(max(0, off - self._positions.get(tp, 0)) for tp, off in self._start_targets.items())
            REPLICA_LAG.set(lag)

    async def sync(self, topic: str | None = None, timeout: float = 5.0) -> bool:
        """Wait until every record written before this call is applied.

        Catch-ups are coalesced: one round (ListOffsets for every replicated partition, then wait to
        reach them) runs at a time, and a caller always joins a round that *starts after* it asked,
        which is what read-after-write across workers needs. A flood of misses (random ids) thus costs
        one broker round trip per round, not one per request. `topic` is accepted for readability;
        a round covers every replicated topic.
        """
        if self._pending_round is None:
            self._pending_round = asyncio.get_running_loop().create_future()
        joined = self._pending_round
        if self._round_runner is None or self._round_runner.done():
            self._round_runner = asyncio.ensure_future(self._run_rounds())
        try:
            return await asyncio.wait_for(asyncio.shield(joined), timeout)
        except TimeoutError:
            return False

    async def fresh(self, read: Callable[[], T | None], timeout: float = 3.0) -> T | None:
        """`read()`, else catch up with the changelogs and `read()` again, else absent (None).

        The one read-after-write lookup: a record written a moment ago through another worker is found."""
        value = read()
        if value is None and await self.sync(timeout=timeout):
            value = read()
        return value

    async def _run_rounds(self) -> None:
        while self._pending_round is not None:
            current, self._pending_round = self._pending_round, None  # later callers join the next round
            ok = False
            try:
                tps = list(self._consumer.assignment())
                targets = await asyncio.wait_for(self._end_offsets(tps), 5.0)
                if not self._caught_up(targets):
                    fut = asyncio.get_running_loop().create_future()
                    self._waiters.append((targets, fut))
                    await asyncio.wait_for(fut, 5.0)
                ok = True
            except (TimeoutError, KafkaError) as exc:
                log.warning("replica catch-up failed: %r", exc)
            if not current.done():
                current.set_result(ok)
