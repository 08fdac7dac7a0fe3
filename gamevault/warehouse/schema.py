"""The lake's columns, derived from the event contracts (the one schema language).

Every file holds the CloudEvent envelope (`event_id`, `event_type`, `event_time`...), where the record
came from (`kafka_topic`, `kafka_partition`, `kafka_offset`), the whole `data` as JSON, and the data's
fields flattened into typed columns: Money -> `<field>_amount` DECIMAL(12,2) and `<field>_currency`,
datetimes -> TIMESTAMP WITH TIME ZONE, lists and objects -> JSON text. A field added to a contract
becomes a new column in new files; old files read as NULL there (DuckDB `union_by_name`).
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

import pyarrow as pa
from pydantic import BaseModel

from gamevault.streams.contracts import load_all
from gamevault.streams.contracts.common import Money

TIMESTAMP = pa.timestamp("us", tz="UTC")
DECIMAL = pa.decimal128(12, 2)

ENVELOPE: list[tuple[str, pa.DataType]] = [
    ("event_id", pa.string()), ("event_type", pa.string()), ("event_source", pa.string()),
    ("event_subject", pa.string()), ("event_time", TIMESTAMP), ("kafka_topic", pa.string()),
    ("kafka_partition", pa.int32()), ("kafka_offset", pa.int64()), ("ingested_at", TIMESTAMP),
    ("data", pa.string()),
]
DUCKDB_TYPES = {pa.string(): "VARCHAR", TIMESTAMP: "TIMESTAMPTZ", pa.int32(): "INTEGER", pa.int64(): "BIGINT",
                DECIMAL: "DECIMAL(12,2)", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN"}
# personal data never lands in the lake in clear: it is replaced by a keyed hash at ingestion
PSEUDONYMIZED = {"email": "email_hash"}


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else str
    return annotation


def _columns_of(name: str, annotation: Any) -> list[tuple[str, pa.DataType, str]]:
    """-> (column, arrow type, how to fill it: scalar | amount | currency | json | time)."""
    kind = _unwrap(annotation)
    if kind is Money:
        return [(f"{name}_amount", DECIMAL, "amount"), (f"{name}_currency", pa.string(), "currency")]
    if name in PSEUDONYMIZED:
        return [(PSEUDONYMIZED[name], pa.string(), "scalar")]
    if kind is datetime:
        return [(name, TIMESTAMP, "time")]
    if kind is bool:
        return [(name, pa.bool_(), "scalar")]
    if kind is int:
        return [(name, pa.int64(), "scalar")]
    if kind in (float, Decimal):
        return [(name, pa.float64(), "scalar")]
    origin = typing.get_origin(kind)
    if kind is str or origin is typing.Literal:
        return [(name, pa.string(), "scalar")]
    if origin in (list, dict) or kind in (list, dict) or (isinstance(kind, type) and issubclass(kind, BaseModel)):
        return [(name, pa.string(), "json")]
    return [(name, pa.string(), "scalar")]


@cache
def columns(event_type: str) -> tuple[tuple[str, pa.DataType, str, str], ...]:
    """The data columns of an event type: (column, arrow type, fill, source field)."""
    et = load_all().get(event_type)
    if et is None:
        return ()
    out = []
    for field, info in et.model.model_fields.items():
        for column, dtype, fill in _columns_of(field, info.annotation):
            out.append((column, dtype, fill, field))
    return tuple(out)


def arrow_schema(event_type: str) -> pa.Schema:
    fields = [pa.field(n, t) for n, t in ENVELOPE]
    fields += [pa.field(n, t) for n, t, _, _ in columns(event_type)]
    return pa.schema(fields)


def empty_select(event_type: str) -> str:
    """SQL for an empty relation with the columns of `event_type` (a view over no files yet)."""
    cols = [*ENVELOPE, *[(n, t) for n, t, _, _ in columns(event_type)]]
    body = ", ".join(f"NULL::{DUCKDB_TYPES[t]} AS {n}" for n, t in cols)
    return f"SELECT {body}, NULL::VARCHAR AS type, NULL::VARCHAR AS date WHERE false"
