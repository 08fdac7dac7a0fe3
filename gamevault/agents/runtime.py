"""What every command agent shares: decoding, dispatch, dead letters, and sending the effects.

A handler is `async def handle(data: dict, ctx: Context) -> None`; it reads its Faust tables, asks the
domain for a `Decision` and hands it to `apply` (the one place that persists one). The runtime never
lets one bad record stop an agent: undecodable or unknown records, and handler crashes, go to the
dead-letter topic with the reason, and the stream goes on.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from faust.types import EventT

from gamevault import tracing
from gamevault.agents.bus import Reply
from gamevault.domain.decision import Decision
from gamevault.metrics import DEADLETTERS, EVENTS_PROCESSED
from gamevault.streams.envelope import CloudEvent, deterministic_id, new_event
from gamevault.streams.registry import CommandType, lookup
from gamevault.streams.topics import DEADLETTER, REPLIES, TopicSpec
from gamevault.streams.validation import Reason, deadletter_headers

log = logging.getLogger(__name__)


class _Throttled:
    """One log line per key per `every_s`, with how many were held back: a flood of bad records must not
    turn into a flood of log lines (writing them cost the worker more than dead-lettering the records)."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self.last: dict[tuple[str, str], float] = {}
        self.held: dict[tuple[str, str], int] = {}

    def warning(self, key: tuple[str, str], msg: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.last.get(key, -self.every_s) < self.every_s:
            self.held[key] = self.held.get(key, 0) + 1
            return
        self.last[key] = now
        held = self.held.pop(key, 0)
        log.warning(msg + (f" (and {held} more like it since the last line)" if held else ""), *args)


class Producer:
    """Thin wrapper over Faust's producer: sends are buffered; Faust flushes before committing."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._dead_log = _Throttled()

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None, partition: int | None = None,
    ) -> Awaitable[Any]:
        return await self.app.producer.send(topic, key, value, partition, None, headers or [])

    async def deadletter(
        self, key: bytes | None, value: bytes | None, reason: Reason, detail: str,
        source_topic: str, partition: int, offset: int, stage: str,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Awaitable[Any]:
        DEADLETTERS.labels(reason.value, source_topic).inc()
        self._dead_log.warning((reason.value, source_topic), "dead letter %s@%s/%s: %s: %s",
                               source_topic, partition, offset, reason.value, detail)
        return await self.send(
            DEADLETTER.name, key, value,
            deadletter_headers(reason, detail, source_topic, partition, offset, stage, headers),
        )


@dataclass
class Context:
    """The record being handled, and the ways a handler answers and causes things."""

    producer: Producer
    event: CloudEvent
    key: str
    topic: str
    partition: int
    offset: int
    headers: list[tuple[str, bytes]]
    source: str
    pending: list[Awaitable[Any]] = field(default_factory=list)
    made: int = 0  # events made so far while handling this record: each one's position

    @property
    def traceparent(self) -> str:
        return tracing.child_of(tracing.header(self.headers, "traceparent"))

    def _out_headers(self) -> list[tuple[str, bytes]]:
        return [("traceparent", self.traceparent.encode())]

    def make_event(self, type_: str, data: dict[str, Any], *, cause: str, time=None) -> CloudEvent:
        """A public event whose id is derived from its cause and its position among the events this record
        causes: a replay re-emits the same ids, and distinct events of one decision never share one
        (three items taken out of one cart are three events, with one type, subject and cause)."""
        et = lookup(type_)
        if et is None:
            raise KeyError(f"unregistered event type {type_}")
        subject = str(data.get("review_id") or et.key_of(data))
        self.made += 1
        return new_event(
            type_, self.source, data, subject=subject,
            event_id=deterministic_id(type_, subject, cause, str(self.made)), time=time or self.event.time,
        )

    async def publish(self, event: CloudEvent) -> None:
        et = lookup(event.type)
        assert et is not None, event.type
        key = et.key_of(event.data).encode()
        self.pending.append(await self.producer.send(et.topic.name, key, event.to_json(), self._out_headers()))

    async def command(self, type_: CommandType, key: str, data: dict[str, Any], *, cause: str) -> None:
        cmd = new_event(type_.type, self.source, data, subject=key, event_id=deterministic_id(type_.type, key, cause))
        self.pending.append(
            await self.producer.send(type_.topic.name, key.encode(), cmd.to_json(), self._out_headers())
        )

    async def reply(self, reply: Reply) -> None:
        """Answer the REST request that sent this command, if one is waiting."""
        reply_to = tracing.header(self.headers, "reply-to")
        correlation = tracing.header(self.headers, "correlation-id")
        if reply_to is None or correlation is None:
            return
        await self.producer.send(
            REPLIES.name, correlation.encode(), reply.to_json(), partition=int(reply_to) % REPLIES.partitions
        )

    async def ok(self, **data: Any) -> None:
        await self.reply(Reply(True, data))

    async def fail(self, code: str, detail: str, **data: Any) -> None:
        await self.reply(Reply.error(code, detail, **data))


Handler = Callable[[dict[str, Any], Context], Awaitable[None]]


class Dispatcher:
    """Routes the records of one topic to handlers by CloudEvent type."""

    def __init__(self, name: str, spec: TopicSpec, producer: Producer, source: str) -> None:
        self.name = name
        self.spec = spec
        self.producer = producer
        self.source = source
        self.handlers: dict[str, Handler] = {}

    def on(self, type_: CommandType) -> Callable[[Handler], Handler]:
        if type_.topic.name != self.spec.name:
            raise ValueError(f"{type_} travels on {type_.topic.name}, not on {self.name}'s {self.spec.name}")

        def register(fn: Handler) -> Handler:
            if type_.type in self.handlers:
                raise ValueError(f"{self.name} handles {type_} twice")
            self.handlers[type_.type] = fn
            return fn

        return register

    async def handle(self, event: EventT) -> None:
        await self.handle_record(event.message, self.producer)

    async def handle_record(self, msg: Any, producer: Producer) -> None:
        """One record (a Faust message or aiokafka's), its outputs through `producer`."""
        headers = list(msg.headers or [])
        raw_key, raw_value = msg.key, msg.value
        try:
            doc = orjson.loads(raw_value)
            cloud = CloudEvent.model_validate(doc)
        except Exception as exc:
            await producer.deadletter(raw_key, raw_value, Reason.NOT_CLOUDEVENT, str(exc)[:500],
                                      msg.topic, msg.partition, msg.offset, self.name, headers)
            return
        handler = self.handlers.get(cloud.type)
        if handler is None:
            await producer.deadletter(raw_key, raw_value, Reason.UNKNOWN_TYPE,
                                      f"{self.name} has no handler for {cloud.type}",
                                      msg.topic, msg.partition, msg.offset, self.name, headers)
            return
        ctx = Context(producer, cloud, raw_key.decode() if raw_key else "", msg.topic, msg.partition,
                      msg.offset, headers, self.source)
        try:
            await handler(cloud.data, ctx)
        except Exception as exc:  # a bug or a poison record: park it, answer, go on
            log.error("%s: handler for %s failed:\n%s", self.name, cloud.type, traceback.format_exc())
            await producer.deadletter(raw_key, raw_value, Reason.REJECTED,
                                      f"handler error: {exc!r}"[:500],
                                      msg.topic, msg.partition, msg.offset, self.name, headers)
            await ctx.fail("internal", "the command could not be processed")
        EVENTS_PROCESSED.labels(self.name, cloud.type).inc()


async def reject(ctx: Context, code: str, detail: str) -> None:
    """Refuse a command: answer the REST caller waiting for it, or else dead-letter it with the reason
    (at its ingress coordinates when an outside producer sent it)."""
    if tracing.header(ctx.headers, "reply-to") is not None:
        await ctx.fail(code, detail)
        return
    topic, partition, offset = ctx.topic, ctx.partition, ctx.offset
    origin = tracing.header(ctx.headers, "ingress-offset")
    if origin is not None:
        topic, partition_s, offset_s = origin.rsplit("/", 2)
        partition, offset = int(partition_s), int(offset_s)
    reason = Reason.UNAUTHORIZED if code == "unauthorized" else Reason.REJECTED
    kept = [(k, v) for k, v in ctx.headers if k == "traceparent"]  # routing headers are ours, not the record's
    await ctx.producer.deadletter(ctx.key.encode(), ctx.event.to_json(), reason, f"{code}: {detail}",
                                  topic, partition, offset, "agent", kept)


Call = Callable[[str, dict[str, Any]], None]  # starts an outside call (agents/effects.py) for an aggregate


async def apply(ctx: Context, table: Any, key: str, decision: Decision, call: Call | None = None) -> None:
    """Persist a decision: the table first, then its events and commands, the outside calls, the answer.

    The state is stored before anything it caused is sent, so a crash in between replays the record and
    the domain, seeing its own cause in the state, re-emits the same outputs (same ids)."""
    if decision.state is not None:
        table[key] = decision.state
    for type_, data in decision.events:
        await ctx.publish(ctx.make_event(type_, data, cause=ctx.event.id))
    for command in decision.commands:
        await ctx.command(command.type, command.key, command.data, cause=ctx.event.id)
    if decision.calls:
        assert call is not None, "a decision with outside calls needs the agent's call runner"
        for what, aggregate in decision.calls:
            call(what, aggregate)
    if decision.error is not None:
        await reject(ctx, *decision.error)
    else:
        await ctx.reply(Reply(True, decision.reply or {}))


def stream_agent(dispatcher: Dispatcher) -> Callable[[Any], Awaitable[None]]:
    async def agent(stream: Any) -> None:
        async for event in stream.events():
            await dispatcher.handle(event)

    agent.__name__ = agent.__qualname__ = f"{dispatcher.name}_agent"
    return agent
