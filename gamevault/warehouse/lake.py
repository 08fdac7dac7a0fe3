"""The lake on disk: Hive-partitioned Parquet, and the manifest that makes its files exactly-once.

    <lake>/events/type=<event type>/date=<YYYY-MM-DD>/<topic>+<partition>+<first>+<last>.parquet
    <lake>/_gamevault/manifest.json   live files, per topic-partition the last offset written, rollups
    <lake>/_gamevault/rollups/<name>-<id>.parquet   a view pre-aggregated over the files it `covers`

A batch of one topic-partition [first..last] is split by event type and event date into files named
after the batch; each is written to a temporary name, fsynced and renamed; then the manifest (itself
written to a temporary file, fsynced and renamed) records the files and the partition's new progress;
only then are the Kafka offsets committed. The manifest is the source of truth: after a crash at any
point the sink resumes after the manifest's progress (files of a batch the manifest does not list are
removed and re-read), so no row is lost and none is written twice. Compaction swaps files in the
manifest under the same lock; GameVault's readers query a manifest snapshot (retrying once on a newer
one if compaction retired a file meanwhile), plain readers glob the directories.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP = 122_880  # DuckDB's own row group size: one row group, one thread
GRACE_S = 300.0  # files swapped out by compaction stay on disk this long for queries already running


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Snapshot:
    version: int
    files: dict[str, dict[str, Any]]
    progress: dict[str, int]
    rollups: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"path", "covers", "rows"}

    def paths(self, root: Path, event_type: str | None = None) -> list[str]:
        prefix = f"events/type={event_type}/" if event_type else "events/"
        return [str(root / rel) for rel in sorted(self.files) if rel.startswith(prefix)]

    def event_types(self) -> set[str]:
        return {rel.split("/")[1].removeprefix("type=") for rel in self.files}


class Lake:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.meta = self.root / "_gamevault"
        self.manifest_path = self.meta / "manifest.json"

    def ensure(self) -> Lake:
        (self.root / "events").mkdir(parents=True, exist_ok=True)
        self.meta.mkdir(parents=True, exist_ok=True)
        return self

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One writer of the manifest at a time (the sink and compaction may be separate processes)."""
        self.ensure()
        with open(self.meta / "lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def snapshot(self) -> Snapshot:
        try:
            doc = orjson.loads(self.manifest_path.read_bytes())
        except FileNotFoundError:
            return Snapshot(0, {}, {})
        return Snapshot(doc["version"], doc["files"], doc["progress"], doc.get("rollups", {}))

    def _save(self, snap: Snapshot, retired: list[str] | None = None,
              kept: list[dict[str, Any]] | None = None) -> None:
        """Write the manifest durably; `retired` files join the list awaiting deletion (`kept`: that list)."""
        kept = self._retired() if kept is None else kept
        doc = {"version": snap.version, "files": snap.files, "progress": snap.progress, "rollups": snap.rollups,
               "retired": [*kept, *[{"path": p, "at": time.time()} for p in retired or []]]}
        tmp = self.meta / f"manifest.tmp-{uuid.uuid4().hex}"
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(doc))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.rename(self.manifest_path)
        _fsync_dir(self.meta)

    def _retired(self) -> list[dict[str, Any]]:
        try:
            return orjson.loads(self.manifest_path.read_bytes()).get("retired", [])
        except FileNotFoundError:
            return []

    # ---- the sink's side -------------------------------------------------------------------
    def write_file(self, rel: str, table: pa.Table, sync_dir: bool = True) -> int:
        """Write one Parquet file durably under a temporary name; -> bytes. Call `commit` to publish.

        `sync_dir=False` leaves the rename's durability to one `sync_dirs` call for a whole flush."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        tmp.rename(path)
        if sync_dir:
            _fsync_dir(path.parent)
        return path.stat().st_size

    def sync_dirs(self, rel_dirs: set[str]) -> None:
        """Make the renames into these directories durable (before the manifest names their files)."""
        for rel in rel_dirs:
            _fsync_dir(self.root / rel)

    def commit(self, progress: dict[str, int], files: dict[str, dict[str, Any]]) -> None:
        """Publish batches' files and their partitions' new progress in one manifest write."""
        with self.locked():
            snap = self.snapshot()
            self._save(Snapshot(snap.version + 1, {**snap.files, **files}, {**snap.progress, **progress},
                                snap.rollups))

    def recover(self, tp: str) -> int:
        """The last offset of `tp` in the lake (-1: none); removes files of a batch that never committed."""
        with self.locked():
            snap = self.snapshot()
            topic, partition = tp.rsplit("+", 1)
            for path in (self.root / "events").glob(f"type=*/date=*/{topic}+{partition}+*.parquet"):
                rel = str(path.relative_to(self.root))
                if rel not in snap.files:
                    path.unlink()  # written by a batch that crashed before its manifest commit
            return snap.progress.get(tp, -1)

    # ---- compaction's side -----------------------------------------------------------------
    def swap(self, removed: list[str], merged_tmp: Path, merged_rel: str, info: dict[str, Any]) -> None:
        """Replace `removed` by the merged file: sources move out of events/ (plain readers never see a
        row twice) but stay on disk for GRACE_S (queries on an older snapshot can still read them)."""
        with self.locked():
            snap = self.snapshot()
            if any(r not in snap.files for r in removed):
                merged_tmp.unlink(missing_ok=True)
                raise RuntimeError("the files to compact changed meanwhile")
            retired = []
            for rel in removed:
                target = self.meta / "retired" / f"{uuid.uuid4().hex}-{Path(rel).name}"
                target.parent.mkdir(parents=True, exist_ok=True)
                (self.root / rel).rename(target)
                retired.append(str(target.relative_to(self.root)))
            merged_tmp.rename(self.root / merged_rel)
            _fsync_dir((self.root / merged_rel).parent)
            files = {k: v for k, v in snap.files.items() if k not in removed}
            files[merged_rel] = info
            self._save(Snapshot(snap.version + 1, files, snap.progress,
                                _rollups_after_swap(snap.rollups, removed, merged_rel)), retired=retired)

    def commit_rollup(self, name: str, tmp: Path, covers: list[str], rows: int) -> str:
        """Publish a rollup built from `covers` (all still live, or RuntimeError); the one it replaces is
        retired like a compacted file. -> the rollup's path."""
        rel = f"_gamevault/rollups/{name}-{uuid.uuid4().hex}.parquet"
        with self.locked():
            snap = self.snapshot()
            if any(c not in snap.files for c in covers):
                tmp.unlink(missing_ok=True)
                raise RuntimeError("files the rollup covers were compacted meanwhile")
            (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            tmp.rename(self.root / rel)
            _fsync_dir((self.root / rel).parent)
            old = snap.rollups.get(name)
            rollups = {**snap.rollups, name: {"path": rel, "covers": sorted(covers), "rows": rows}}
            self._save(Snapshot(snap.version + 1, snap.files, snap.progress, rollups),
                       retired=[old["path"]] if old else None)
        return rel

    def collect_garbage(self, grace_s: float = GRACE_S) -> int:
        """Delete files compaction swapped out more than `grace_s` ago (queries that listed them are done)."""
        with self.locked():
            now, kept, deleted = time.time(), [], 0
            for entry in self._retired():
                if now - entry["at"] >= grace_s:
                    (self.root / entry["path"]).unlink(missing_ok=True)
                    deleted += 1
                else:
                    kept.append(entry)
            self._save(self.snapshot(), kept=kept)
            return deleted


def _rollups_after_swap(rollups: dict[str, dict[str, Any]], removed: list[str],
                        merged: str) -> dict[str, dict[str, Any]]:
    """A merged file is covered by a rollup when every file it replaces was; otherwise it is not, and its
    rows that the rollup already holds are merged again (a rollup's aggregates are idempotent)."""
    out = {}
    for name, rollup in rollups.items():
        covers = set(rollup["covers"])
        whole = all(r in covers for r in removed)
        covers.difference_update(removed)
        if whole:
            covers.add(merged)
        out[name] = {**rollup, "covers": sorted(covers)}
    return out
