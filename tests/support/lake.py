"""A lake written straight from generated events, through the sink's own row and file code (no broker)."""

from __future__ import annotations

from pathlib import Path

import orjson

from gamevault.warehouse.lake import Lake
from gamevault.warehouse.rows import Record, RowBuffer
from tests.support.events import generate


def write_events(lake: Lake, events: list[tuple[str, bytes, dict]], first_offset: int = 0) -> dict[str, dict]:
    """Write (topic, key, event) as one sink batch per topic, offsets from `first_offset`; -> files added."""
    buffers: dict[str, RowBuffer] = {}
    for offset, (topic, _key, event) in enumerate(events, start=first_offset):
        buffer = buffers.setdefault(topic, RowBuffer(b"test-pseudonym-key" * 2, topic, 0))
        buffer.add(Record(offset, orjson.dumps(event)))
    files = {}
    for topic, buffer in buffers.items():
        first, last = buffer.records[0].offset, buffer.records[-1].offset
        for (etype, date), table in buffer.decode().tables.items():
            rel = f"events/type={etype}/date={date}/{topic}+0+{first}+{last}.parquet"
            files[rel] = {"rows": table.num_rows, "bytes": lake.write_file(rel, table)}
    lake.commit({f"{topic}+0": buffer.records[-1].offset for topic, buffer in buffers.items()}, files)
    return files


def write_lake(root: Path, orders: int = 40, seed: int = 1) -> Lake:
    lake = Lake(root).ensure()
    write_events(lake, generate(orders, seed=seed))
    return lake
