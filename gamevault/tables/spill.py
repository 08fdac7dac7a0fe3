"""State spilled to a local RocksDB (rocksdict), so a worker's memory stays flat as the business grows.

Every order, payment, shipment, cart and user is kept twice by a worker: in the Faust table that owns
it (write side) and in the read replica the API serves from. Held in Python, both grew with every order
(5 KB each, measured by bench/soak.py). Here they live in one RocksDB per process with a bounded
memtable and block cache; the operating system's page cache, not the worker's heap, holds what is hot.

The disk is a spill area, not the state of record: the compacted changelogs are. Each process opens a
directory of its own, empty, and rebuilds it from the changelogs at start, exactly as `memory://` did.
So a SIGKILL never leaves a half-written store that a restart would trust, and Faust's RocksDB store
with persisted offsets (its recovery traps: faust-streaming#333, #432) is not needed. Directories of
dead processes are removed by the next process that opens one.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from faust.stores import STORES, memory
from rocksdict import BlockBasedOptions, Cache, Options, Rdict, WriteOptions

from gamevault.secret_files import private_dir

V = TypeVar("V")
WRITE_BUFFER_BYTES = 4 << 20  # per memtable, two of them: 8 MB of writes before a flush to disk
BLOCK_CACHE_BYTES = 16 << 20  # hot blocks (index and filter blocks included, so they are bounded too)
_open: dict[Path, Spill] = {}


def _identity(value: Any) -> Any:
    return value


class SpillMap(MutableMapping[str, V], Generic[V]):
    """One namespace of the spill: a str-keyed mapping whose values are stored as bytes.

    `len()` is kept as a counter (RocksDB has no exact count), so a write checks whether its key
    exists first: reads of recent keys are served from the memtable or the block cache."""

    def __init__(self, db: Rdict, namespace: str, dumps: Callable[[V], bytes] = _identity,
                 loads: Callable[[bytes], V] = _identity) -> None:
        self._db = db
        self._prefix = namespace.encode() + b"\x00"
        self._end = namespace.encode() + b"\x01"
        self._dumps, self._loads = dumps, loads
        self._count = 0

    def _key(self, key: str) -> bytes:
        return self._prefix + key.encode()

    def __getitem__(self, key: str) -> V:
        raw = self._db.get(self._key(key))
        if raw is None:
            raise KeyError(key)
        return self._loads(raw)

    def get(self, key: str, default: Any = None) -> Any:
        raw = self._db.get(self._key(key))
        return default if raw is None else self._loads(raw)

    def __setitem__(self, key: str, value: V) -> None:
        k = self._key(key)
        if self._db.get(k) is None:
            self._count += 1
        self._db.put(k, self._dumps(value))

    def __delitem__(self, key: str) -> None:
        k = self._key(key)
        if self._db.get(k) is None:
            raise KeyError(key)
        self._db.delete(k)
        self._count -= 1

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._db.get(self._key(key)) is not None

    def __len__(self) -> int:
        return self._count

    def _scan(self, prefix: bytes, start_after: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        start = self._prefix + prefix
        first = start + start_after if start_after is not None else start
        for raw_key, raw in self._db.items(from_key=first):
            if not raw_key.startswith(start):
                return
            if start_after is not None and raw_key == first:
                continue  # exclusive: the cursor's own entry was served already
            yield raw_key, raw

    def __iter__(self) -> Iterator[str]:
        cut = len(self._prefix)
        return (raw_key[cut:].decode() for raw_key, _ in self._scan(b""))

    def items(self) -> Iterator[tuple[str, V]]:  # type: ignore[override]
        cut = len(self._prefix)
        return ((raw_key[cut:].decode(), self._loads(raw)) for raw_key, raw in self._scan(b""))

    def values(self) -> Iterator[V]:  # type: ignore[override]
        return (self._loads(raw) for _, raw in self._scan(b""))

    def keys_with_prefix(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        """The keys that start with `prefix`, in order (a range scan, not a full one); with `start_after`,
        only those after `prefix + start_after` (a seek, then the scan)."""
        cut = len(self._prefix)
        after = start_after.encode() if start_after is not None else None
        return (raw_key[cut:].decode() for raw_key, _ in self._scan(prefix.encode(), after))

    def clear(self) -> None:
        self._db.delete_range(self._prefix, self._end)
        self._count = 0


class Spill:
    """One RocksDB per process directory; every table and read model is a namespace in it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._maps = 0
        shutil.rmtree(directory, ignore_errors=True)
        private_dir(directory.parent)  # <home>/state: password hashes and payment state pass through it
        private_dir(directory)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_write_buffer_size(WRITE_BUFFER_BYTES)
        options.set_max_write_buffer_number(2)
        table = BlockBasedOptions()
        table.set_block_cache(Cache(BLOCK_CACHE_BYTES))
        table.set_cache_index_and_filter_blocks(True)
        options.set_block_based_table_factory(table)
        self.db = Rdict(str(directory), options)
        no_wal = WriteOptions()
        no_wal.disable_wal = True  # nothing here outlives the process: the changelogs are the log
        self.db.set_write_options(no_wal)

    def map(self, name: str, dumps: Callable[[Any], bytes] = _identity,
            loads: Callable[[bytes], Any] = _identity) -> SpillMap:
        """A new, empty namespace: two apps (or read models) of one process never share one."""
        self._maps += 1
        return SpillMap(self.db, f"{self._maps}/{name}", dumps, loads)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def process_spill(root: Path) -> Spill:
    """This process's spill under `root` (created on first use, removed at exit), after removing the
    directories that processes no longer alive left behind (a SIGKILL skips atexit)."""
    directory = (root / f"pid-{os.getpid()}").resolve()
    if directory not in _open:
        _remove_orphans(root)
        spill = _open[directory] = Spill(directory)
        atexit.register(spill.close)
    return _open[directory]


def _remove_orphans(root: Path) -> None:
    if not root.is_dir():
        return
    for child in root.glob("pid-*"):
        try:
            os.kill(int(child.name[4:]), 0)
        except ProcessLookupError:
            shutil.rmtree(child, ignore_errors=True)
        except (ValueError, PermissionError):
            continue


class SpillStore(memory.Store):
    """Faust's in-memory store, its two mappings (values; recovered keys' partitions) in the spill.

    Store URL: `spill:///absolute/root`. Values are the tables' JSON bytes (`JsonTable`)."""

    def __init__(self, url: Any, app: Any, table: Any, **kwargs: Any) -> None:
        super().__init__(url, app, table, **kwargs)
        spill = process_spill(Path(self.url.path))
        self.data = spill.map(f"table/{self.table_name}", dumps=_none_as_empty)
        self._key_partition = spill.map(f"table-partition/{self.table_name}",
                                        dumps=lambda p: str(p).encode(), loads=int)


def _none_as_empty(value: bytes | None) -> bytes:
    """Recovery stores a deleted key's value (None) before it pops the key; b"" is falsy like None."""
    return b"" if value is None else value


SCHEME = "spill"
STORES.aliases.setdefault(SCHEME, f"{__name__}:SpillStore")  # Faust finds stores by URL scheme
