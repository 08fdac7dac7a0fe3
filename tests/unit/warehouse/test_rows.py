"""Records -> the lake's tables: the vectorized (DuckDB) path agrees with the per-record one, row for row."""

from datetime import UTC, datetime

import orjson
import pyarrow as pa

from gamevault.warehouse.rows import Decoded, Record, RowBuffer, decode
from tests.support.events import generate

KEY = b"k" * 32


def _per_record(buffer: RowBuffer) -> Decoded:
    out = Decoded()
    buffer._python_path(out, buffer.records, datetime.now(UTC))
    return out


def _rows(tables: dict[tuple[str, str], pa.Table]) -> dict[tuple[str, str], list[dict]]:
    return {key: sorted(t.drop_columns(["ingested_at"]).to_pylist(), key=lambda r: r["kafka_offset"])
            for key, t in tables.items()}


def test_every_generated_event_decodes_as_the_per_record_path_does():
    events = generate(60, seed=3)
    buffers = {}  # one per topic-partition, all decoded in one pass as a flush does
    for offset, (topic, key, event) in enumerate(events):
        partition = key[-1] % 3
        buffer = buffers.setdefault((topic, partition), RowBuffer(KEY, topic, partition))
        buffer.add(Record(offset, orjson.dumps(event)))
    for buffer, fast in zip(buffers.values(), decode(list(buffers.values())), strict=True):
        slow = _per_record(buffer)
        assert not fast.rejected and not slow.rejected
        assert _rows(fast.tables) == _rows(slow.tables)
        assert sum(t.num_rows for t in fast.tables.values()) == buffer.count


def _event(n: int, **over) -> dict:
    event = {"specversion": "1.0", "id": f"e{n}", "source": "/t", "type": "gamevault.catalog.product.updated",
             "time": "2026-11-28T10:00:00Z", "subject": f"p{n}", "data": {"product_id": f"p{n}", "title": "T"}}
    return {**event, **over}


def test_bad_records_are_rejected_with_a_reason_and_good_ones_kept():
    bad = {
        1: b"\xff\xfe not utf-8", 2: b"not json", 3: b"[1, 2]", 4: orjson.dumps(_event(4, data="x")),
        5: orjson.dumps({k: v for k, v in _event(5).items() if k != "type"}),
        6: orjson.dumps(_event(6, time="yesterday")), 7: None,
    }
    good = {0: _event(0), 8: _event(8, time="2026-11-27T23:30:00-05:00"),  # the UTC date is the 28th
            9: _event(9, type="gamevault.catalog.product.renamed"),  # a type no contract knows yet
            10: _event(10, data={"user_id": "u", "email": "Ana@Example.test"}, type="gamevault.users.user.registered")}
    buffer = RowBuffer(KEY, "gamevault.catalog.events", 0)
    for offset in range(11):
        buffer.add(Record(offset, bad[offset] if offset in bad else orjson.dumps(good[offset])))

    decoded = buffer.decode()

    assert sorted(r.offset for r, _ in decoded.rejected) == sorted(bad)
    assert all(reason.startswith("not a CloudEvent the lake can store") for _, reason in decoded.rejected)
    stored = {row["kafka_offset"]: (key, row) for key, t in decoded.tables.items() for row in t.to_pylist()}
    assert sorted(stored) == sorted(good)
    assert stored[8][0] == ("gamevault.catalog.product.updated", "2026-11-28")
    assert stored[9][0][0] == "gamevault.catalog.product.renamed"
    personal = stored[10][1]
    assert "Ana@Example.test" not in personal["data"] and len(personal["email_hash"]) == 64
