"""BulkWriter: the store written at once, the changelog records sent per partition in the order written."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch

from gamevault.streams.topics import partition_of
from gamevault.tables.bulk import BulkWriter
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
