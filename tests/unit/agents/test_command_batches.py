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


def record(offset: int, value: bytes, headers: list[tuple[str, bytes]] | None = None,
           key: bytes = b"o-1") -> SimpleNamespace:
    return SimpleNamespace(topic=ORDERS_COMMANDS.name, partition=5, offset=offset, key=key, value=value,
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
    fetched = {("orders", 5): [record(10, commands[0].to_json(), reply_to), record(11, b"not json", key=b"o-2"),
                               record(12, commands[1].to_json())]}
    first_flush: list = []

    async def hand_over() -> None:  # as the consumer does: the handlers of a fetch, then their shared finish
        await route.handler(fetched)
        first_flush.extend(app.kafka.sent)  # o-1 came again: what the first decision caused left before it
        await route.finish()

    asyncio.run(hand_over())

    def by_topic(batches: list) -> dict[str, tuple[int, list]]:
        found: dict[str, tuple[int, list]] = {}
        for topic, partition, records in batches:  # small batches here: several per partition
            found.setdefault(topic, (partition, []))[1].extend(records)
        return found

    assert first_flush[0] == ("orders-changelog", 5, [(b'"o-1"', b'{"n":1}')])  # the state first
    early = by_topic(first_flush[1:])
    assert len(early[RESERVE_STOCK.topic.name][1]) == 1
    assert len(early[DEADLETTER.name][1]) == 1  # the undecodable record between them, parked with its reason
    partition, replies = early[REPLIES.name]
    assert partition == 7 % REPLIES.partitions and orjson.loads(replies[0][1])["data"] == {"n": 1}
    late = app.kafka.sent[len(first_flush):]
    assert late[0] == ("orders-changelog", 5, [(b'"o-1"', b'{"n":2}')])  # the second state, first again
    rest = by_topic(late[1:])
    assert rest[RESERVE_STOCK.topic.name][0] == partition_of(b"p-9", RESERVE_STOCK.topic.partitions)
    assert len(rest[RESERVE_STOCK.topic.name][1]) == 1  # the second command's own
    assert REPLIES.name not in rest and DEADLETTER.name not in rest  # the second command had nobody waiting


def test_one_aggregate_twice_in_a_fetch_is_flushed_between_so_each_state_names_its_own_cause():
    """The domain knows a replayed record by its cause being the aggregate's last: each flush may hold one
    decision per key, else a crash after the state loses the first one's outputs for good."""
    app = FakeApp()
    orders = JsonTable(FakeFaustTable("orders"))
    dispatcher = Dispatcher("orders", ORDERS_COMMANDS, Producer(app), "/test")

    @dispatcher.on(PLACE_ORDER)
    async def place(data: dict, ctx) -> None:
        orders[data["order_id"]] = {"last_cause": ctx.event.id}
        await ctx.ok()

    command_batches.command_agent(app, dispatcher)
    route = app.__dict__["gamevault_batch_routes"][ORDERS_COMMANDS.name]

    def command(n: int, order: str) -> SimpleNamespace:
        event = new_event(PLACE_ORDER.type, "/test", {"order_id": order}, subject=order, event_id=f"e-{n}")
        return record(n, event.to_json(), key=order.encode())

    fetched = {("orders", 5): [command(1, "o-1"), command(2, "o-2"), command(3, "o-1"), command(4, "o-3")]}

    async def hand_over() -> None:
        await route.handler(fetched)
        await route.finish()

    asyncio.run(hand_over())
    states = [records for topic, _, records in app.kafka.sent if topic == "orders-changelog"]
    assert states == [[(b'"o-1"', b'{"last_cause":"e-1"}'), (b'"o-2"', b'{"last_cause":"e-2"}')],
                      [(b'"o-1"', b'{"last_cause":"e-3"}'), (b'"o-3"', b'{"last_cause":"e-4"}')]]
