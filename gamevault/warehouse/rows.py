"""From Kafka records to typed Arrow tables, one per (event type, event date)."""

from __future__ import annotations

import hashlib
import hmac
import time as clock
from collections import defaultdict
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from gamevault.warehouse.schema import DECIMAL, ENVELOPE, PSEUDONYMIZED, TIMESTAMP, arrow_schema, columns


class Undecodable(ValueError):
    pass


def pseudonym(key: bytes, value: str) -> str:
    """A keyed hash (HMAC-SHA256): stable for joins and counts, not reversible without the key."""
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()


def event_date(ts: str) -> str:
    if ts.endswith("Z"):
        return ts[:10]
    return datetime.fromisoformat(ts).astimezone(UTC).date().isoformat()


class RowBuffer:
    """Rows of one topic-partition batch, grouped by (event type, event date)."""

    def __init__(self, pseudonym_key: bytes) -> None:
        self.key = pseudonym_key
        self.groups: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        self.count = 0

    def add(self, topic: str, partition: int, offset: int, value: bytes | None) -> None:
        try:
            doc = orjson.loads(value)
            etype, event_time, data = doc["type"], doc["time"], doc["data"]
            if not isinstance(data, dict) or not isinstance(etype, str) or not isinstance(event_time, str):
                raise TypeError("type, time and data must be a string, a string and an object")
            date = event_date(event_time)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise Undecodable(f"not a CloudEvent the lake can store: {exc!r}"[:300]) from None
        for field in PSEUDONYMIZED:
            if isinstance(data.get(field), str):
                data = {**data, field: pseudonym(self.key, data[field])}
        values = []
        for _column, _dtype, fill, field in columns(etype):
            raw = data.get(field)
            if raw is None:
                values.append(None)
            elif fill == "amount":
                values.append(raw.get("amount") if isinstance(raw, dict) else None)
            elif fill == "currency":
                values.append(raw.get("currency") if isinstance(raw, dict) else None)
            elif fill == "json":
                values.append(orjson.dumps(raw).decode())
            else:
                values.append(raw)
        self.groups[(etype, date)].append((
            doc.get("id"), etype, doc.get("source"), doc.get("subject"), event_time, topic, partition, offset,
            orjson.dumps(data).decode(), *values,
        ))
        self.count += 1

    def tables(self) -> dict[tuple[str, str], pa.Table]:
        now = datetime.fromtimestamp(clock.time(), UTC)
        out = {}
        for (etype, date), rows in self.groups.items():
            schema = arrow_schema(etype)
            cols = list(zip(*rows, strict=True))
            arrays: dict[str, pa.Array] = {}
            names = [n for n, _ in ENVELOPE if n != "ingested_at"] + [c for c, _, _, _ in columns(etype)]
            for name, values in zip(names, cols, strict=True):
                target = schema.field(name).type
                if target in (TIMESTAMP, DECIMAL):
                    arrays[name] = pc.cast(pa.array(values, pa.string()), target)
                else:
                    arrays[name] = pa.array(values, target)
            arrays["ingested_at"] = pa.array([now] * len(rows), TIMESTAMP)
            out[(etype, date)] = pa.table([arrays[f.name] for f in schema], schema=schema)
        return out

