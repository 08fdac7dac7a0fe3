"""A command agent handed a fetch (agents/command_batches.py): decided in order, its table writes into the
command's changelog partition and on the broker first, its outputs after, placed as Kafka would place them."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson

from gamevault.agents import command_batches
from gamevault.agents.runtime import Dispatcher, Producer
from gamevault.streams.contracts.commands import PLACE_ORDER, RESERVE_STOCK
from gamevault.streams.envelope import new_event
from gamevault.streams.topics import DEADLETTER, ORDERS_COMMANDS, REPLIES, partition_of
from gamevault.tables.definitions import JsonTable
from tests.unit.tables.test_bulk import FakeFaustTable, FakeProducer


class FakeApp:
    """What command_agent uses of a Faust app: agents, topics, the producer, the routes."""

    def __init__(self) -> None:
        self.kafka = FakeProducer()
        self.producer = SimpleNamespace(_ensure_producer=lambda: self.kafka)
        self.agents: list[str] = []

    def topic(self, name: str, **kwargs: object) -> str:
        return name

    def agent(self, topic: str, name: str):
        self.agents.append(name)
        return lambda fn: fn


def record(offset: int, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> SimpleNamespace:
    return SimpleNamespace(topic=ORDERS_COMMANDS.name, partition=5, offset=offset, key=b"o-1", value=value,
                           headers=headers or [])


def test_a_fetch_is_decided_in_order_its_state_sent_first_and_its_outputs_placed_as_kafka_would():
    app = FakeApp()
    orders = JsonTable(FakeFaustTable("orders"))
    dispatcher = Dispatcher("orders", ORDERS_COMMANDS, Producer(app), "/test")

    @dispatcher.on(PLACE_ORDER)
    async def place(data: dict, ctx) -> None:
        seen = orders.get("o-1") or {"n": 0}  # the second command sees the first one's write
        orders["o-1"] = {"n": seen["n"] + 1}
        await ctx.command(RESERVE_STOCK, "p-9", {"order_id": "o-1"}, cause=ctx.event.id)
        await ctx.ok(n=seen["n"] + 1)

    command_batches.command_agent(app, dispatcher)
    assert app.agents == ["orders"]  # the topic stays the agent's (the subscription, Faust's stream path)
    route = app.__dict__["gamevault_batch_routes"][ORDERS_COMMANDS.name]
    reply_to = [("reply-to", b"7"), ("correlation-id", b"c-1")]
    commands = [new_event(PLACE_ORDER.type, "/test", {"order_id": "o-1"}, subject="o-1", event_id=f"e-{n}")
                for n in range(2)]
    fetched = {("orders", 5): [record(10, commands[0].to_json(), reply_to), record(11, b"not json"),
                               record(12, commands[1].to_json())]}
    async def hand_over() -> None:  # as the consumer does: the handlers of a fetch, then their shared finish
        await route.handler(fetched)
        assert app.kafka.sent == []  # nothing leaves before the finish
        await route.finish()

    asyncio.run(hand_over())

    sent = [(topic, partition, records) for topic, partition, records in app.kafka.sent]
    assert sent[0] == ("orders-changelog", 5, [(b'"o-1"', b'{"n":1}'), (b'"o-1"', b'{"n":2}')])  # first, in order
    by_topic: dict[str, tuple[int, list]] = {}
    for topic, partition, records in sent[1:]:  # small batches here: several per partition
        by_topic.setdefault(topic, (partition, []))[1].extend(records)
    assert by_topic[RESERVE_STOCK.topic.name][0] == partition_of(b"p-9", RESERVE_STOCK.topic.partitions)
    assert len(by_topic[RESERVE_STOCK.topic.name][1]) == 2  # one per command (the same id: deterministic)
    partition, replies = by_topic[REPLIES.name]
    assert partition == 7 % REPLIES.partitions and orjson.loads(replies[0][1])["data"] == {"n": 1}
    assert len(replies) == 1  # the second command had nobody waiting
    assert len(by_topic[DEADLETTER.name][1]) == 1  # the undecodable record, parked with its reason
