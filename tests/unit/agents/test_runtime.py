"""The agents' runtime without a broker: dispatch, dead letters, and the order `apply` persists a decision in.

The producer here only records what would be sent (this is the runtime's own logic; the integration
and system suites run it against the real broker)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from gamevault.agents.runtime import Context, Dispatcher, apply
from gamevault.domain.decision import Command, Decision
from gamevault.streams.contracts.commands import PLACE_ORDER, RESERVE_STOCK
from gamevault.streams.envelope import new_event
from gamevault.streams.registry import CommandType
from gamevault.streams.topics import CATALOG_COMMANDS, DEADLETTER, ORDERS_COMMANDS, REPLIES


class RecordingProducer:
    """Stands in for Faust's producer: keeps (topic, key, value, headers) in send order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]] = []

    async def send(self, topic: str, key: bytes | None, value: bytes | None,
                   headers: list[tuple[str, bytes]] | None = None, partition: int | None = None) -> Any:
        self.sent.append((topic, key, value, headers or []))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def deadletter(self, key, value, reason, detail, source_topic, partition, offset, stage, headers=None):
        return await self.send(DEADLETTER.name, key, value, [("dlq.reason", reason.value.encode()),
                                                              ("dlq.detail", detail.encode())])

    def topics(self) -> list[str]:
        return [t for t, *_ in self.sent]


@dataclass
class Message:
    key: bytes | None
    value: bytes | None
    topic: str = ORDERS_COMMANDS.name
    partition: int = 0
    offset: int = 7
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Event:
    message: Message


def record(type_: str, data: dict[str, Any], headers: list[tuple[str, bytes]] | None = None) -> Event:
    value = new_event(type_, "/test", data, subject="o1").to_json()
    return Event(Message(b"o1", value, headers=headers or []))


def run(coro):
    return asyncio.run(coro)


def test_a_handler_must_be_on_its_commands_topic_and_registered_once():
    dispatcher = Dispatcher("orders", ORDERS_COMMANDS, RecordingProducer(), "/test")
    with pytest.raises(ValueError, match="travels on"):
        dispatcher.on(RESERVE_STOCK)
    dispatcher.on(PLACE_ORDER)(lambda data, ctx: None)
    with pytest.raises(ValueError, match="twice"):
        dispatcher.on(PLACE_ORDER)(lambda data, ctx: None)


@pytest.mark.parametrize(("event", "reason"), [
    (Event(Message(b"o1", b"{not json")), "not_cloudevent"),
    (record("gamevault.orders.nothing_like_it", {}), "unknown_type"),
])
def test_bad_records_go_to_the_dead_letter_topic_with_their_reason(event, reason):
    producer = RecordingProducer()
    dispatcher = Dispatcher("orders", ORDERS_COMMANDS, producer, "/test")
    run(dispatcher.handle(event))
    assert producer.topics() == [DEADLETTER.name]
    assert dict(producer.sent[0][3])["dlq.reason"] == reason.encode()
    assert producer.sent[0][2] == event.message.value  # the record itself is kept, byte for byte


def test_a_crashing_handler_dead_letters_the_record_and_answers_the_caller():
    producer = RecordingProducer()
    dispatcher = Dispatcher("orders", ORDERS_COMMANDS, producer, "/test")

    @dispatcher.on(PLACE_ORDER)
    async def place(data: dict[str, Any], ctx: Context) -> None:
        raise RuntimeError("a bug")

    handled = []

    @dispatcher.on(CommandType("gamevault.orders.ok", ORDERS_COMMANDS, "test only: never declared"))
    async def fine(data: dict[str, Any], ctx: Context) -> None:
        handled.append(data)

    asking = [("reply-to", b"3"), ("correlation-id", b"c1")]
    run(dispatcher.handle(record(PLACE_ORDER.type, {"order_id": "o1"}, asking)))
    assert producer.topics() == [DEADLETTER.name, REPLIES.name]
    answer = orjson.loads(producer.sent[1][2])
    assert answer["ok"] is False and answer["code"] == "internal"
    run(dispatcher.handle(record("gamevault.orders.ok", {"n": 1})))  # the stream goes on
    assert handled == [{"n": 1}]


def context(producer: RecordingProducer, headers: list[tuple[str, bytes]] | None = None) -> Context:
    cloud = new_event(PLACE_ORDER.type, "/test", {"order_id": "o1"}, subject="o1")
    return Context(producer, cloud, "o1", ORDERS_COMMANDS.name, 0, 7, headers or [], "/gamevault/orders")


def test_apply_stores_the_state_before_sending_what_it_caused_then_answers():
    producer, calls = RecordingProducer(), []

    class Table(dict):
        def __setitem__(self, key, value):
            producer.sent.append(("table", key.encode(), orjson.dumps(value), []))
            super().__setitem__(key, value)

    table = Table()
    decision = Decision(
        state={"order_id": "o1", "status": "pending"},
        events=[("gamevault.orders.order.placed", {"order_id": "o1"})],
        commands=[Command(RESERVE_STOCK, "p1", {"order_id": "o1", "product_id": "p1", "quantity": 1})],
        calls=[("start", {"order_id": "o1"})], reply={"id": "o1"},
    )
    ctx = context(producer, [("reply-to", b"1"), ("correlation-id", b"c9")])
    run(apply(ctx, table, "o1", decision, lambda what, aggregate: calls.append(what)))
    assert producer.topics() == ["table", "gamevault.orders.events", CATALOG_COMMANDS.name, REPLIES.name]
    assert calls == ["start"] and table["o1"]["status"] == "pending"
    assert orjson.loads(producer.sent[-1][2]) == {"ok": True, "data": {"id": "o1"}, "code": "", "detail": ""}


def test_a_refusal_answers_a_waiting_caller_or_else_is_dead_lettered():
    waiting = RecordingProducer()
    run(apply(context(waiting, [("reply-to", b"1"), ("correlation-id", b"c9")]), {}, "o1",
              Decision.refuse("conflict", "taken")))
    assert waiting.topics() == [REPLIES.name] and orjson.loads(waiting.sent[0][2])["code"] == "conflict"
    nobody = RecordingProducer()
    run(apply(context(nobody), {}, "o1", Decision.refuse("unauthorized", "not yours")))
    assert nobody.topics() == [DEADLETTER.name]
    assert dict(nobody.sent[0][3])["dlq.reason"] == b"unauthorized"


def test_outside_calls_need_a_runner():
    with pytest.raises(AssertionError, match="call runner"):
        run(apply(context(RecordingProducer()), {}, "o1", Decision(calls=[("start", {})])))
