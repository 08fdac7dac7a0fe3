"""From Kafka records to typed Arrow tables, one per (event type, event date).

The bulk of a batch is decoded by DuckDB: one JSON parse per record, the typed columns extracted
vectorized in C++ and off the GIL (the sink's consumer keeps fetching meanwhile). Decoding record by
record in Python cost ~9 µs an event (`docs/BENCHMARKS.md`). Two kinds of record take the per-record
Python path instead: those the lake cannot store (the path words the dead-letter reason), and those
carrying personal data, pseudonymized with a keyed HMAC that DuckDB cannot compute.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time as clock
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from gamevault.warehouse.schema import DECIMAL, DUCKDB_TYPES, ENVELOPE, PSEUDONYMIZED, TIMESTAMP, arrow_schema, columns


class Undecodable(ValueError):
    pass


class Record(NamedTuple):
    """The part of a Kafka record the buffer reads (aiokafka's `ConsumerRecord` has the same fields)."""

    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: tuple = ()


@dataclass
class Decoded:
    tables: dict[tuple[str, str], pa.Table] = field(default_factory=dict)
    rejected: list[tuple[Any, str]] = field(default_factory=list)  # (record, reason) for the dead-letter topic


def pseudonym(key: bytes, value: str) -> str:
    """A keyed hash (HMAC-SHA256): stable for joins and counts, not reversible without the key."""
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()


def event_date(ts: str) -> str:
    moment = datetime.fromisoformat(ts)  # validates; Python 3.11 reads the trailing "Z"
    if moment.tzinfo is None:  # no offset: UTC, as DuckDB reads it on the other path
        return moment.date().isoformat()
    return moment.astimezone(UTC).date().isoformat()


def parse(value: bytes | None) -> tuple[dict, str, str, dict, str]:
    """-> (event, type, time, data, UTC date), or Undecodable saying why the lake cannot store it."""
    try:
        doc = orjson.loads(value)
        etype, event_time, data = doc["type"], doc["time"], doc["data"]
        if not isinstance(data, dict) or not isinstance(etype, str) or not isinstance(event_time, str):
            raise TypeError("type, time and data must be a string, a string and an object")
        return doc, etype, event_time, data, event_date(event_time)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise Undecodable(f"not a CloudEvent the lake can store: {exc!r}"[:300]) from None


# ---- the DuckDB path -------------------------------------------------------------------------------
# a record whose data may hold personal data (a key named like one, anywhere) takes the Python path
_PERSONAL = " OR ".join(f"contains(data, '\"{f}\"')" for f in PSEUDONYMIZED)
# one JSON parse per record (TRY: a record that is not JSON yields NULL and is left out); a JSON value is a
# string or an object exactly when its text starts with a quote or a brace
_PARSE = f"""
    WITH fields AS (
        SELECT b, o, TRY(json_extract(v, ['$.type', '$.time', '$.id', '$.source', '$.subject', '$.data'])) AS j
        FROM batch)
    SELECT b, o, j[1] ->> '$' AS type, TRY_CAST(j[2] ->> '$' AS TIMESTAMPTZ) AS event_time,
           j[3] ->> '$' AS id, j[4] ->> '$' AS source, j[5] ->> '$' AS subject, data, ({_PERSONAL}) AS personal
    FROM (SELECT *, j[6] AS data FROM fields)
    WHERE starts_with(j[1], '"') AND starts_with(j[2], '"') AND starts_with(data, '{{')
"""
_db: duckdb.DuckDBPyConnection | None = None
_db_lock = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A connection of its own (the sink decodes in worker threads) to one in-memory DuckDB, in UTC."""
    global _db
    with _db_lock:
        if _db is None:
            _db = duckdb.connect(":memory:", config={"threads": 2})
            _db.execute("SET TimeZone = 'UTC'")  # dates of event times are UTC dates
        return _db.cursor()


@cache
def _typed_select(etype: str) -> str:
    """The data columns of `etype`, each extracted from one parse of `data` (a list of paths)."""
    scalar_paths: list[str] = []
    json_paths: list[str] = []
    exprs = []
    for column, dtype, fill, source in columns(etype):
        path = f'$."{source}"' + {"amount": ".amount", "currency": ".currency"}.get(fill, "")
        if fill == "json":
            json_paths.append(path)
            exprs.append(f"nullif(jv[{len(json_paths)}]::VARCHAR, 'null') AS {column}")
            continue
        scalar_paths.append(path)
        value = f"sv[{len(scalar_paths)}]"
        sql_type = DUCKDB_TYPES[dtype]
        cast = value if sql_type == "VARCHAR" else f"TRY_CAST({value} AS {sql_type})"
        exprs.append(f"{cast} AS {column}")
    lists = []
    if scalar_paths:
        lists.append("json_extract_string(data, [" + ", ".join(f"'{p}'" for p in scalar_paths) + "]) AS sv")
    if json_paths:
        lists.append("json_extract(data, [" + ", ".join(f"'{p}'" for p in json_paths) + "]) AS jv")
    inner = ", ".join(["*", *lists])
    typed = "".join(", " + e for e in exprs)
    return (f"SELECT id AS event_id, type AS event_type, source AS event_source, subject AS event_subject, "
            f"event_time, topic AS kafka_topic, part AS kafka_partition, o AS kafka_offset, "
            f"CAST(? AS TIMESTAMPTZ) AS ingested_at, data::VARCHAR AS data{typed} "
            f"FROM (SELECT {inner} FROM parsed WHERE type = ? AND stored) JOIN sources USING (b) "
            f"ORDER BY b, date, o")


class RowBuffer:
    """The records of one topic-partition batch; `decode()` turns them into the lake's tables."""

    def __init__(self, pseudonym_key: bytes, topic: str, partition: int) -> None:
        self.key = pseudonym_key
        self.topic, self.partition = topic, partition
        self.records: list[Any] = []

    def add(self, record: Any) -> None:
        self.records.append(record)

    @property
    def count(self) -> int:
        return len(self.records)

    def decode(self) -> Decoded:
        return decode([self])[0]

    def _python_path(self, out: Decoded, records: list[Any], now: datetime) -> None:
        groups: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        for record in records:
            try:
                doc, etype, event_time, data, date = parse(record.value)
            except Undecodable as exc:
                out.rejected.append((record, str(exc)))
                continue
            for name in PSEUDONYMIZED:
                if isinstance(data.get(name), str):
                    data = {**data, name: pseudonym(self.key, data[name])}
            groups[(etype, date)].append((
                doc.get("id"), etype, doc.get("source"), doc.get("subject"), event_time, self.topic, self.partition,
                record.offset, orjson.dumps(data).decode(), *_values(etype, data),
            ))
        for (etype, date), rows in groups.items():
            _append(out, (etype, date), _table(etype, rows, now))


def _values(etype: str, data: dict) -> list[Any]:
    values = []
    for _column, _dtype, fill, source in columns(etype):
        raw = data.get(source)
        if raw is None:
            values.append(None)
        elif fill in ("amount", "currency"):
            values.append(raw.get(fill) if isinstance(raw, dict) else None)
        elif fill == "json":
            values.append(orjson.dumps(raw).decode())
        else:
            values.append(raw)
    return values


def _table(etype: str, rows: list[tuple], now: datetime) -> pa.Table:
    schema = arrow_schema(etype)
    names = [n for n, _ in ENVELOPE if n != "ingested_at"] + [c for c, _, _, _ in columns(etype)]
    arrays: dict[str, pa.Array] = {}
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        target = schema.field(name).type
        if target in (TIMESTAMP, DECIMAL):
            arrays[name] = pc.cast(pa.array(values, pa.string()), target)
        else:
            arrays[name] = pa.array(values, target)
    arrays["ingested_at"] = pa.array([now] * len(rows), TIMESTAMP)
    return pa.table([arrays[f.name] for f in schema], schema=schema)


def _append(out: Decoded, key: tuple[str, str], table: pa.Table) -> None:
    previous = out.tables.get(key)
    out.tables[key] = table if previous is None else pa.concat_tables([previous, table]).combine_chunks()


def decode(buffers: list[RowBuffer]) -> list[Decoded]:
    """Decode many topic-partition batches in one DuckDB pass (a flush's worth: a handful of queries in
    all, not a handful per partition); -> one `Decoded` per buffer, in order."""
    outs = [Decoded() for _ in buffers]
    now = datetime.fromtimestamp(clock.time(), UTC)
    con = _cursor()
    try:
        con.register("batch", _batch(buffers, outs))
        con.register("sources", pa.table({"b": pa.array(range(len(buffers)), pa.int32()),
                                          "topic": [buf.topic for buf in buffers],
                                          "part": pa.array([buf.partition for buf in buffers], pa.int32())}))
        con.execute(f"CREATE OR REPLACE TEMP TABLE parsed AS SELECT *, NOT personal AND event_time IS NOT NULL "
                    f"AS stored, CAST(CAST(event_time AS DATE) AS VARCHAR) AS date FROM ({_PARSE})")
        per_record: list[set[int]] = [set() for _ in buffers]
        for b, o in con.execute("SELECT b, o FROM batch ANTI JOIN parsed USING (b, o) UNION ALL "
                                "SELECT b, o FROM parsed WHERE NOT stored").fetchall():
            per_record[b].add(o)
        groups: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
        for etype, b, date, n in con.execute("SELECT type, b, date, count(*) FROM parsed WHERE stored "
                                             "GROUP BY ALL ORDER BY b, date").fetchall():
            groups[etype].append((b, date, n))
        for etype, slices in groups.items():
            table = con.sql(_typed_select(etype), params=[now, etype]).to_arrow_table()
            schema = arrow_schema(etype)
            table = table.select(schema.names).cast(schema)
            start = 0
            for b, date, n in slices:  # the same (b, date) order as the query's
                _append(outs[b], (etype, date), table.slice(start, n))
                start += n
    finally:
        con.close()
    for buffer, out, offsets in zip(buffers, outs, per_record, strict=True):
        buffer._python_path(out, [r for r in buffer.records if r.offset in offsets], now)
        stored = sum(t.num_rows for t in out.tables.values())
        if stored + len(out.rejected) != buffer.count:  # a bug, never a silent loss
            raise RuntimeError(f"decoded {stored} rows and rejected {len(out.rejected)} of {buffer.count}")
    return outs


def _batch(buffers: list[RowBuffer], outs: list[Decoded]) -> pa.Table:
    """The batches as one Arrow table (buffer index, offset, UTF-8 text); non-UTF-8 records are rejected.

    Built from flat lists, no object per record: a tuple per record cost more than all the rest (GC)."""
    parts = [_text(buffer, out) for buffer, out in zip(buffers, outs, strict=True)]
    return pa.table({
        "b": pa.array(np.repeat(np.arange(len(buffers), dtype=np.int32), [len(o) for o, _ in parts])),
        "o": pa.concat_arrays([o for o, _ in parts]),
        "v": pa.concat_arrays([v for _, v in parts]),
    })


def _text(buffer: RowBuffer, out: Decoded) -> tuple[pa.Array, pa.Array]:
    """-> (offsets, values as UTF-8 text) of one buffer."""
    records = buffer.records
    try:
        text = pa.array([r.value for r in records], pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:  # rare: find the culprits record by record
        keep = []
        for r in records:
            try:
                if r.value is not None:  # an empty record is rejected later, with its own reason
                    r.value.decode()
                keep.append(r)
            except UnicodeDecodeError:
                out.rejected.append((r, "not a CloudEvent the lake can store: the record is not UTF-8 text"))
        records = keep
        text = pa.array([r.value for r in records], pa.string())
    return pa.array([r.offset for r in records], pa.int64()), text
