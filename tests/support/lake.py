"""A lake written straight from generated events, through the sink's own row and file code (no broker)."""

from __future__ import annotations

from pathlib import Path

import orjson

from gamevault.warehouse.lake import Lake
from gamevault.warehouse.rows import Record, RowBuffer
from tests.support.events import generate


def write_lake(root: Path, orders: int = 40, seed: int = 1) -> Lake:
    lake = Lake(root).ensure()
    buffers: dict[str, RowBuffer] = {}
    for offset, (topic, _key, event) in enumerate(generate(orders, seed=seed)):
        buffer = buffers.setdefault(topic, RowBuffer(b"test-pseudonym-key" * 2, topic, 0))
        buffer.add(Record(offset, orjson.dumps(event)))
    files = {}
    for topic, buffer in buffers.items():
        last = buffer.records[-1].offset
        for (etype, date), table in buffer.decode().tables.items():
            rel = f"events/type={etype}/date={date}/{topic}+0+0+{last}.parquet"
            files[rel] = {"rows": table.num_rows, "bytes": lake.write_file(rel, table)}
    lake.commit({f"{topic}+0": buffer.records[-1].offset for topic, buffer in buffers.items()}, files)
    return lake
