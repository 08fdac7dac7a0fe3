"""A lake written straight from generated events, through the sink's own row and file code (no broker)."""

from __future__ import annotations

from pathlib import Path

import orjson

from gamevault.warehouse.lake import Lake
from gamevault.warehouse.rows import RowBuffer
from tests.support.events import generate


def write_lake(root: Path, orders: int = 40, seed: int = 1) -> Lake:
    lake = Lake(root).ensure()
    rows = RowBuffer(b"test-pseudonym-key" * 2)
    events = generate(orders, seed=seed)
    for offset, (topic, _key, event) in enumerate(events):
        rows.add(topic, 0, offset, orjson.dumps(event))
    last = len(events) - 1
    files = {}
    for (etype, date), table in rows.tables().items():
        rel = f"events/type={etype}/date={date}/generated+0+0+{last}.parquet"
        files[rel] = {"rows": table.num_rows, "bytes": lake.write_file(rel, table)}
    lake.commit({"generated+0": last}, files)
    return lake
