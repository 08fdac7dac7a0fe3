"""Merging a partition's small files into files of a target size, safely beside the sink and readers.

Rows are copied, never recomputed: a merged file holds exactly the rows of the files it replaces, and
the swap (sources out of events/, merged file in, manifest updated) happens under the lake's lock.
Afterwards the rollups (see rollups.py) fold the events they do not cover yet.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gamevault.warehouse.lake import ROW_GROUP, Lake
from gamevault.warehouse.rollups import refresh

TARGET_BYTES = 128 * 1024 * 1024


def plan(lake: Lake, min_files: int = 4, small_bytes: int = TARGET_BYTES // 4) -> dict[str, list[list[str]]]:
    """partition directory -> groups of small files, each group to become one file near the target size."""
    by_dir: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for rel, info in lake.snapshot().files.items():
        if info.get("bytes", 0) < small_bytes:
            by_dir[rel.rsplit("/", 1)[0]].append((rel, info.get("bytes", 0)))
    groups: dict[str, list[list[str]]] = {}
    for directory, files in by_dir.items():
        if len(files) < min_files:
            continue
        current, size, out = [], 0, []
        for rel, nbytes in sorted(files):
            current.append(rel)
            size += nbytes
            if size >= TARGET_BYTES:
                out.append(current)
                current, size = [], 0
        if len(current) >= 2:
            out.append(current)
        if out:
            groups[directory] = out
    return groups


def merge(lake: Lake, directory: str, files: list[str]) -> tuple[str, int]:
    tables = [pq.read_table(lake.root / rel) for rel in files]
    merged = pa.concat_tables(tables, promote_options="default")
    rel = f"{directory}/compacted-{uuid.uuid4().hex}.parquet"
    tmp = lake.root / directory / f".compacting-{uuid.uuid4().hex}.tmp"
    pq.write_table(merged, tmp, compression="zstd", row_group_size=ROW_GROUP)
    lake.swap(files, tmp, rel, {"rows": merged.num_rows, "bytes": tmp.stat().st_size, "compacted": len(files)})
    return rel, merged.num_rows


def compact(lake_root: Path, min_files: int = 4, rollups: bool = True) -> list[tuple[str, int, int]]:
    """-> (merged file, rows, files it replaced) for every merge done; then the rollups are refreshed."""
    lake = Lake(lake_root).ensure()
    done = []
    for directory, groups in plan(lake, min_files).items():
        for files in groups:
            try:
                rel, rows = merge(lake, directory, files)
            except RuntimeError:
                continue  # the sink or another compaction changed them meanwhile: next time
            done.append((rel, rows, len(files)))
    if rollups:
        refresh(lake_root)
    lake.collect_garbage()
    return done
