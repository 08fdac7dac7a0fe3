"""Many table writes (and events) at once: one Kafka record batch per partition instead of a send per record.

A Faust table write sends its changelog record through Faust's producer buffer: a FutureMessage, an
asyncio future in aiokafka, a task hop, per record; on CPython 3.11 each future creation also costs a
getpid() system call (`asyncio.get_running_loop` checks the pid). For the rating agent, which writes a
vote per review event, that path was a third of the worker's CPU (py-spy). `BulkWriter` writes the
values into the tables' stores directly and hands the changelog records to aiokafka's batch API
(`create_batch` / `send_batch`), in the order written: records of one partition keep their order,
which the rating agent's crash recovery relies on (aggregates before votes).

A command agent handling a fetched batch (agents/command_batches.py) writes its tables through one too:
`writing(writer, partition)` makes `JsonTable`'s writes go to it, and `flush(state_first=True)` has the
state on the broker before anything it caused is sent (a Faust table write gives no such order: its
buffer drains on its own time, after sends made later).

Faust flushes the same aiokafka producer before it commits offsets, so a batch sent here is on the
broker before the events that caused it are committed, exactly as with Faust's own changelog sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

import orjson

from gamevault.jsonbytes import kept
from gamevault.streams.topics import partition_of

log = logging.getLogger(__name__)
Records = dict[tuple[str, int], list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]]
# the writer a table write goes to, and the partition of the record that caused it (None: Faust's way)
WRITING: ContextVar[tuple[BulkWriter, int] | None] = ContextVar("gamevault_bulk_writing", default=None)


class Changelogged(Protocol):
    """A table as the writer sees it (tables/definitions.py `JsonTable`): its store, its changelog's name."""

    @property
    def held(self) -> MutableMapping[str, bytes]: ...

    @property
    def changelog(self) -> str: ...


@contextmanager
def writing(writer: BulkWriter, partition: int) -> Iterator[None]:
    """Table writes made meanwhile (in this task) go to `writer`, into `partition`'s changelog."""
    token = WRITING.set((writer, partition))
    try:
        yield
    finally:
        WRITING.reset(token)


class BulkWriter:
    """Collects writes, then `flush()` sends them: one record batch (or a few, when large) per partition."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._state: Records = defaultdict(list)  # changelog records
        self._records: Records = defaultdict(list)  # everything else

    def set(self, table: Changelogged, key: str, value: Any, partition: int) -> None:
        """`table[key] = value`, its changelog record into `partition` (the partition of the event that
        caused it, as Faust does), sent at the next `flush()`."""
        raw = kept(value)
        table.held[key] = raw  # the store only: Faust's per-record changelog send is what we avoid
        self._state[(table.changelog, partition)].append((orjson.dumps(key), raw, []))

    def delete(self, table: Changelogged, key: str, partition: int) -> None:
        """`del table[key]`: out of the store, a tombstone into the changelog."""
        table.held.pop(key, None)
        self._state[(table.changelog, partition)].append((orjson.dumps(key), None, []))

    def send(self, topic: str, partitions: int, key: bytes, value: bytes) -> None:
        """A record keyed as Kafka's default partitioner would place it."""
        self.send_to(topic, partition_of(key, partitions), key, value)

    def send_to(self, topic: str, partition: int, key: bytes | None, value: bytes | None,
                headers: list[tuple[str, bytes]] | None = None) -> None:
        self._records[(topic, partition)].append((key, value, headers or []))

    async def flush(self, state_first: bool = False) -> int:
        """Hand everything collected to the producer, not waiting for the broker (Faust's flush before its
        commit does), except with `state_first`: then the changelog records are on the broker before the
        rest is sent. -> the number of records."""
        state, self._state = self._state, defaultdict(list)
        records, self._records = self._records, defaultdict(list)
        if state_first and state and records:
            await asyncio.gather(*await self._send(state))
            await self._send(records)
        else:  # the state first all the same, as a Faust agent sends it
            await self._send({**state, **records})
        return sum(len(items) for items in state.values()) + sum(len(items) for items in records.values())

    async def _send(self, records: Records) -> list[asyncio.Future]:
        producer = self.app.producer._ensure_producer()  # the aiokafka producer Faust flushes before commits
        deliveries = []
        for (topic, partition), items in records.items():
            batch = producer.create_batch()
            for key, value, headers in items:
                if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:  # full
                    deliveries.append(self._watch(await producer.send_batch(batch, topic, partition=partition), topic))
                    batch = producer.create_batch()
                    batch.append(timestamp=None, key=key, value=value, headers=headers)
            deliveries.append(self._watch(await producer.send_batch(batch, topic, partition=partition), topic))
        return deliveries

    @staticmethod
    def _watch(delivery: asyncio.Future, topic: str) -> asyncio.Future:
        def done(fut: Any) -> None:
            if not fut.cancelled() and fut.exception() is not None:
                log.error("bulk write to %s failed: %r", topic, fut.exception())
        delivery.add_done_callback(done)
        return delivery
