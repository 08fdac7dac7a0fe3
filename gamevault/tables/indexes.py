"""Ordered secondary indexes: owner -> a replica's keys in one sort order, so a page is a range scan.

A listing route (a buyer's orders, newest first; a product's approved reviews; the moderation queue) reads
`limit + 1` entries after its cursor instead of loading and sorting every record of the owner. The index
follows the replica's changes: a record leaves it when its owner or sort key changes, or when it stops
qualifying (a review that is no longer approved). With a spill the entries are RocksDB keys
(`owner NUL sort NUL key`, scanned in byte order); without one, a sorted list per owner.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from gamevault.tables.cursors import BadCursor, decode_cursor, encode_cursor
from gamevault.tables.replica import TableReplica
from gamevault.tables.spill import Spill

SEP = "\x00"  # ids and sort strings never hold a NUL
END = object()  # what a page's `keep` returns to end the listing there (the rest is out of range too)
_MAX_CURSOR = 256


def newest_first(seconds: float) -> str:
    """A sort string that orders later times first (fixed width, so byte order is numeric order)."""
    return f"{10**13 - int(seconds * 1000):014d}"


def iso_newest_first(value: str) -> str:
    return newest_first(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def oldest_first(seconds: float) -> str:
    return f"{int(seconds * 1000):014d}"


def encode_entry_cursor(entry: str) -> str:
    return encode_cursor(entry.encode())


def decode_entry_cursor(cursor: str) -> str:
    try:
        entry = decode_cursor(cursor).decode()
    except UnicodeDecodeError:
        raise BadCursor("the cursor is not one this API issued") from None
    if len(entry) > _MAX_CURSOR or entry.count(SEP) != 1:
        raise BadCursor("the cursor is not one this API issued")
    return entry


class OrderedIndex:
    """`owner_of(record)`: the owner (or owners: an order is listed under each of its sellers) a record is
    listed under, or None to leave it out; `sort_of(record)`: its sort string (entries of one owner are
    ordered by it, then by key)."""

    def __init__(self, replica: TableReplica, name: str, owner_of: Callable[[dict], str | Iterable[str] | None],
                 sort_of: Callable[[dict], str], spill: Spill | None = None) -> None:
        self.owner_of, self.sort_of = owner_of, sort_of
        self.pairs = spill.map(f"ordered/{name}") if spill is not None else None
        self.lists: dict[str, list[str]] = defaultdict(list)  # no spill only
        replica.subscribe(self._on_change)

    def _entries_of(self, key: str, record: dict | None) -> set[tuple[str, str]]:
        owners = self.owner_of(record) if record is not None else None
        if owners is None:
            return set()
        entry = f"{self.sort_of(record)}{SEP}{key}"
        return {(owner, entry) for owner in ([owners] if isinstance(owners, str) else owners)}

    def _on_change(self, key: str, old: dict | None, new: dict | None) -> None:
        before, after = self._entries_of(key, old), self._entries_of(key, new)
        for owner, entry in before - after:
            self._discard(owner, entry)
        for owner, entry in after - before:
            self._add(owner, entry)

    def _add(self, owner: str, entry: str) -> None:
        if self.pairs is not None:
            self.pairs[owner + SEP + entry] = b""
            return
        entries = self.lists[owner]
        i = bisect.bisect_left(entries, entry)
        if i == len(entries) or entries[i] != entry:
            entries.insert(i, entry)

    def _discard(self, owner: str, entry: str) -> None:
        if self.pairs is not None:
            self.pairs.pop(owner + SEP + entry, None)
            return
        entries = self.lists.get(owner)
        if entries:
            i = bisect.bisect_left(entries, entry)
            if i < len(entries) and entries[i] == entry:
                entries.pop(i)

    def _entries(self, owner: str, after: str | None) -> Iterator[str]:
        if self.pairs is not None:
            cut = len(owner) + 1
            for pair in self.pairs.keys_with_prefix(owner + SEP, start_after=after):
                yield pair[cut:]
            return
        entries = self.lists.get(owner, [])
        start = bisect.bisect_right(entries, after) if after is not None else 0
        yield from entries[start:]

    def keys(self, owner: str) -> Iterator[str]:
        return (entry.rsplit(SEP, 1)[1] for entry in self._entries(owner, None))

    def page(self, owner: str, limit: int, cursor: str | None = None,
             keep: Callable[[str], Any] | None = None) -> tuple[list[Any], str | None]:
        """Up to `limit` of the owner's keys after `cursor` (as `keep(key)` gives them, skipping None, ending
        at END), and the cursor of the next page (None: the last page)."""
        after = decode_entry_cursor(cursor) if cursor else None
        out: list[Any] = []
        last = None
        for entry in self._entries(owner, after):
            if len(out) == limit:
                return out, encode_entry_cursor(last)
            value = entry.rsplit(SEP, 1)[1]
            value = keep(value) if keep is not None else value
            if value is END:
                return out, None
            if value is not None:
                out.append(value)
                last = entry
        return out, None
