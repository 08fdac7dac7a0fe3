"""Request/reply over Kafka: how a REST write reaches the one agent that owns its key.

A write must be decided where the aggregate's table partition lives (one email, one product, one
order: one agent, one at a time), which may be another worker. The API sends the command keyed by
the aggregate id, with `reply-to` (a partition of the replies topic this worker alone reads) and a
`correlation-id`; the owner's agent decides, updates its table, publishes events and answers there.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import mode
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from faust.exceptions import NotReady

from gamevault.kafka_access import KafkaAccess
from gamevault.metrics import COMMAND_LATENCY
from gamevault.streams.envelope import CloudEvent
from gamevault.streams.topics import REPLIES, TopicSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    ok: bool
    data: dict[str, Any]
    code: str = ""
    detail: str = ""

    def to_json(self) -> bytes:
        return orjson.dumps({"ok": self.ok, "data": self.data, "code": self.code, "detail": self.detail})

    @classmethod
    def from_json(cls, raw: bytes) -> Reply:
        doc = orjson.loads(raw)
        return cls(doc["ok"], doc.get("data") or {}, doc.get("code", ""), doc.get("detail", ""))

    @classmethod
    def error(cls, code: str, detail: str, **data: Any) -> Reply:
        return cls(False, data, code, detail)


class CommandTimeout(Exception):
    """No reply in time: the command may still be applied later (writes are idempotent by id)."""


class Unavailable(Exception):
    """Kafka did not take the command (broker down or unreachable)."""


class CommandBus(mode.Service):
    def __init__(self, app: Any, access: KafkaAccess, worker_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.access = access
        self.worker_id = worker_id
        self.partition = zlib.crc32(worker_id.encode()) % REPLIES.partitions
        self._pending: dict[str, asyncio.Future] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self.ready = asyncio.Event()

    async def on_start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **self.access.aiokafka(), group_id=None, enable_auto_commit=False,
            fetch_max_wait_ms=500, client_id=f"gamevault-replies-{self.worker_id}",
        )
        await self._consumer.start()
        tp = TopicPartition(REPLIES.name, self.partition)
        self._consumer.assign([tp])
        await self._consumer.seek_to_end(tp)
        await self._consumer.position(tp)  # resolve now: no reply may slip past before the first request
        self.ready.set()
        self.add_future(self._run())

    async def on_stop(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()
        if self._consumer is not None:
            await self._consumer.stop()

    async def _run(self) -> None:
        while not self.should_stop:
            try:
                batches = await self._consumer.getmany(timeout_ms=500)
            except KafkaError as exc:
                log.warning("replies fetch failed: %s", exc)
                await asyncio.sleep(0.5)
                continue
            for records in batches.values():
                for rec in records:
                    fut = self._pending.pop(rec.key.decode() if rec.key else "", None)
                    if fut is not None and not fut.done():
                        fut.set_result(Reply.from_json(rec.value))

    async def request(
        self, spec: TopicSpec, key: str, command: CloudEvent, timeout: float = 15.0,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Reply:
        correlation = uuid.uuid4().hex
        fut = asyncio.get_running_loop().create_future()
        self._pending[correlation] = fut
        all_headers = [
            ("reply-to", str(self.partition).encode()),
            ("correlation-id", correlation.encode()),
            *(headers or []),
        ]
        started = time.perf_counter()
        try:
            await self.send(spec, key, command, all_headers, timeout=timeout)
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise CommandTimeout(f"no answer from {spec.name} within {timeout:.0f}s") from None
        finally:
            self._pending.pop(correlation, None)
            COMMAND_LATENCY.labels(spec.name).observe(time.perf_counter() - started)

    async def send(
        self, spec: TopicSpec, key: str, command: CloudEvent,
        headers: list[tuple[str, bytes]] | None = None, timeout: float = 15.0,
    ) -> Any:
        """Send and wait for the broker's ack (acks=all): only then is the command durable."""
        try:
            fut = await self.app.producer.send(
                spec.name, key.encode(), command.to_json(), None, None, headers or [],
            )
            return await asyncio.wait_for(fut, timeout)
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable(f"Kafka did not accept the command: {exc!r}") from exc
        except NotReady as exc:  # the worker is stopping: another worker can take the retry
            raise Unavailable(f"this worker's producer is not running: {exc}") from exc
