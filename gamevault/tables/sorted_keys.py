"""A sorted list of keys that takes changes in batches: the catalog search's pre-sorted orders."""

from __future__ import annotations

import bisect


class SortedKeys:
    """A list of (key..., id) tuples kept sorted; batches of changes are merged by one re-sort.

    Pending additions and removals cancel each other, so a key added and removed before the next
    read never reaches the list.
    """

    def __init__(self) -> None:
        self.items: list[tuple] = []
        self._add: set[tuple] = set()
        self._remove: set[tuple] = set()

    def add(self, key: tuple) -> None:
        if key in self._remove:
            self._remove.discard(key)  # it is still in `items`
        else:
            self._add.add(key)

    def remove(self, key: tuple) -> None:
        if key in self._add:
            self._add.discard(key)  # never reached `items`
        else:
            self._remove.add(key)

    def settle(self) -> list[tuple]:
        if self._add or self._remove:
            if len(self._add) + len(self._remove) > 64:
                keep = [k for k in self.items if k not in self._remove] if self._remove else self.items
                keep.extend(self._add)
                keep.sort()
                self.items = keep
            else:
                for key in self._remove:
                    i = bisect.bisect_left(self.items, key)
                    if i < len(self.items) and self.items[i] == key:
                        del self.items[i]
                for key in self._add:
                    bisect.insort(self.items, key)
            self._add.clear()
            self._remove.clear()
        return self.items
