"""BulkWriter: the store written at once, the changelog records sent per partition in the order written."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch

from gamevault.streams.topics import partition_of
from gamevault.tables.bulk import BulkWriter, writing
from gamevault.tables.definitions import JsonTable


class FakeProducer:
    """aiokafka's batch API as far as BulkWriter uses it, with small real record batches."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, list[tuple[bytes, bytes]]]] = []

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(300, 0)

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> asyncio.Future:
        batch.close()
        records = [(r.key, r.value) for r in DefaultRecordBatch(bytearray(batch._build()))]
        self.sent.append((topic, partition, records))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class FakeFaustTable(dict):
    """A Faust table as BulkWriter sees it: its store (`data`) and its changelog topic."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.data = self  # reads and the store are one here
        self.changelog_topic = SimpleNamespace(get_topic_name=lambda: f"{name}-changelog")


def test_values_reach_the_store_now_and_the_changelog_in_order_per_partition() -> None:
    producer = FakeProducer()
    writer = BulkWriter(SimpleNamespace(producer=SimpleNamespace(_ensure_producer=lambda: producer)))
    ratings, totals = JsonTable(FakeFaustTable("ratings")), JsonTable(FakeFaustTable("totals"))
    writes = [(ratings, f"p{i % 2}", {"n": i, "pad": "x" * 60}, i % 2) for i in range(12)]
    writes.append((totals, "p0", {"avg": 4.5}, 0))
    for table, key, value, partition in writes:
        writer.set(table, key, value, partition)
    writer.send("events", 6, b"p1", b"changed")
    assert ratings.get("p0") == {"n": 10, "pad": "x" * 60} and totals.get("p0") == {"avg": 4.5}  # before any flush

    assert asyncio.run(writer.flush()) == 14
    by_tp: dict[tuple[str, int], list] = {}
    for topic, partition, records in producer.sent:
        by_tp.setdefault((topic, partition), []).extend(records)
    assert len(producer.sent) > len(by_tp)  # batches of 300 bytes: full ones were split, and still ordered
    for p in (0, 1):
        assert by_tp[("ratings-changelog", p)] == [(orjson.dumps(f"p{p}"), orjson.dumps({"n": i, "pad": "x" * 60}))
                                                   for i in range(p, 12, 2)]
    assert by_tp[("totals-changelog", 0)] == [(b'"p0"', b'{"avg":4.5}')]
    assert by_tp[("events", partition_of(b"p1", 6))] == [(b"p1", b"changed")]
    assert asyncio.run(writer.flush()) == 0  # nothing sent twice


def test_keys_land_where_kafkas_default_partitioner_puts_them() -> None:
    from aiokafka.partitioner import DefaultPartitioner
    partitioner = DefaultPartitioner()
    for key in (b"p1", b"bp-42", "jeu-\u00e9".encode()):
        assert partition_of(key, 6) == partitioner(key, list(range(6)), list(range(6)))


class SlowBroker(FakeProducer):
    """Deliveries complete only when the test says: what is sent before the state is on the broker shows."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[asyncio.Future] = []

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> asyncio.Future:
        await super().send_batch(batch, topic, partition=partition)
        delivery = asyncio.get_running_loop().create_future()
        self.pending.append(delivery)
        return delivery


def test_with_state_first_nothing_it_caused_is_sent_before_the_state_is_on_the_broker() -> None:
    async def scenario() -> tuple[list[list[str]], int, tuple]:
        producer = SlowBroker()
        writer = BulkWriter(SimpleNamespace(producer=SimpleNamespace(_ensure_producer=lambda: producer)))
        orders = JsonTable(FakeFaustTable("orders"))
        with writing(writer, 3):  # what a command agent's handler does: a plain table write
            orders["o-1"] = {"status": "placed"}
            del orders["o-0"]
        writer.send_to("orders.events", 1, b"o-1", b"placed", [("traceparent", b"00-ab")])
        flush = asyncio.ensure_future(writer.flush(state_first=True))
        await asyncio.sleep(0.01)
        seen = [[topic for topic, _, _ in producer.sent]]  # only the changelog, its delivery not yet confirmed
        producer.pending[0].set_result(None)
        sent = await flush
        seen.append([topic for topic, _, _ in producer.sent])
        return seen, sent, producer.sent[0]

    seen, sent, changelog = asyncio.run(scenario())
    assert seen == [["orders-changelog"], ["orders-changelog", "orders.events"]] and sent == 3
    assert changelog == ("orders-changelog", 3, [(b'"o-1"', b'{"status":"placed"}'), (b'"o-0"', None)])


def test_outside_writing_a_table_write_is_faust_s_own() -> None:
    faust_table = FakeFaustTable("users")
    users = JsonTable(faust_table)
    users["u-1"] = {"name": "Ana"}  # through the Faust table (here a dict): no writer involved
    assert faust_table["u-1"] == b'{"name":"Ana"}'
