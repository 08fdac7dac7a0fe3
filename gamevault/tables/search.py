"""The catalog's search index, kept in memory by every worker from the product and rating replicas.

An inverted index (tables/text_index.py) answers text queries; sets per platform and genre answer
the filters; pre-sorted key lists answer the sort orders, walked from the cursor until a page is
full. Pagination is keyset-based: a cursor is the sort key of the last item served, so pages stay
stable while products are added.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from gamevault.money import cents
from gamevault.tables.cursors import decode_key_cursor, encode_key_cursor
from gamevault.tables.replica import TableReplica
from gamevault.tables.sorted_keys import SortedKeys
from gamevault.tables.text_index import TEXT_FIELDS, TextIndex, tokenize

SORTS = ("relevance", "price_asc", "price_desc", "rating_desc", "newest")
_SMALL_SET = 4000  # below this many candidates, sorting them beats walking a global order
_MAX_QUERY_TOKENS = 8
_EMPTY: set[str] = set()

CURRENCIES = ("PEN", "USD")  # price sorts group by currency in this order, then order by amount


def _price_key(product: dict) -> tuple[int, int, str]:
    """(currency rank, cents, id): prices are never compared across currencies as if they were one."""
    price = product["price"]
    return _rank(price["currency"]), cents(price["amount"]), product["product_id"]


def _rank(currency: str) -> int:
    return CURRENCIES.index(currency) if currency in CURRENCIES else len(CURRENCIES)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Query:
    q: str | None = None
    platform: str | None = None
    genre: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_rating: float | None = None
    currency: str = "PEN"  # what min_price / max_price are in: products priced in another are left out
    sort: str = "relevance"
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True)
class Page:
    ids: list[str]
    next_cursor: str | None


class CatalogIndex:
    def __init__(self, products: TableReplica, ratings: Any) -> None:
        self.products = products
        self.text = TextIndex()
        self.by_platform: dict[str, set[str]] = defaultdict(set)
        self.by_genre: dict[str, set[str]] = defaultdict(set)
        self.rating: dict[str, tuple[float, int]] = {}
        self._sort_key: dict[str, dict[str, tuple]] = {s: {} for s in ("price", "newest", "rating")}
        self._sorted = {s: SortedKeys() for s in ("price", "newest", "rating")}
        products.subscribe(self._on_product)
        ratings.subscribe(self._on_rating)

    # ---- maintenance ----------------------------------------------------------------------
    def _on_product(self, pid: str, old: dict | None, new: dict | None) -> None:
        if old is not None and not old.get("listed", True):
            old = None  # it was not indexed
        if new is not None and not new.get("listed", True):
            new = None  # delisted: out of search, as if removed (the replica keeps it: its page reads)
        if new is None and old is None:
            return
        if new is None:
            self.text.remove(pid)
            if old is not None:
                self.by_platform[old["platform"]].discard(pid)
                for g in old["genres"]:
                    self.by_genre[g].discard(pid)
            for name in self._sorted:
                self._set_key(name, pid, None)
            return
        if old is None or any(old.get(f) != new.get(f) for f in TEXT_FIELDS):
            self.text.remove(pid)
            if old is not None:
                self.by_platform[old["platform"]].discard(pid)
                for g in old["genres"]:
                    self.by_genre[g].discard(pid)
            self.text.add(pid, new)
            self.by_platform[new["platform"]].add(pid)
            for g in new["genres"]:
                self.by_genre[g].add(pid)
        if old is None or old["price"] != new["price"]:
            self._set_key("price", pid, _price_key(new))
        if old is None or old.get("created_at") != new.get("created_at"):
            self._set_key("newest", pid, (-_ts(new["created_at"]), pid))
        if pid not in self._sort_key["rating"]:
            self._set_key("rating", pid, self._rating_key(pid))

    def _rating_key(self, pid: str) -> tuple:
        avg, count = self.rating.get(pid, (0.0, 0))
        return (0 if count else 1, -avg, -count, pid)

    def _on_rating(self, pid: str, old: dict | None, new: dict | None) -> None:
        if new is None or not new.get("count"):
            self.rating.pop(pid, None)
        else:
            self.rating[pid] = (new["sum"] / new["count"], new["count"])
        product = self.products.get(pid)
        if product is not None and product.get("listed", True):  # a delisted product is out of search
            self._set_key("rating", pid, self._rating_key(pid))

    def _set_key(self, name: str, pid: str, key: tuple | None) -> None:
        keys = self._sort_key[name]
        old = keys.pop(pid, None)
        if old is not None:
            self._sorted[name].remove(old)
        if key is not None:
            keys[pid] = key
            self._sorted[name].add(key)

    # ---- queries ----------------------------------------------------------------------------
    def _candidates(self, query: Query, expanded: list[list[str]]) -> set[str] | None:
        sets: list[set[str]] = [self.text.matching(words) for words in expanded]
        if query.platform:
            sets.append(self.by_platform.get(query.platform, _EMPTY))
        if query.genre:
            sets.append(self.by_genre.get(query.genre, _EMPTY))
        if not sets:
            return None
        sets.sort(key=len)
        if len(sets) == 1:
            return sets[0]  # read only: no copy of a large posting list
        result = set(sets[0])
        for other in sets[1:]:
            result &= other
            if not result:
                break
        return result

    def _passes(self, pid: str, query: Query, min_cents: int | None, max_cents: int | None) -> bool:
        if min_cents is not None or max_cents is not None:
            rank, amount, _ = self._sort_key["price"][pid]
            if rank != _rank(query.currency):
                return False
            if (min_cents is not None and amount < min_cents) or (max_cents is not None and amount > max_cents):
                return False
        if query.min_rating is not None:
            avg, count = self.rating.get(pid, (0.0, 0))
            if not count or avg < query.min_rating:
                return False
        return True

    def _key(self, sort: str, pid: str) -> tuple:
        if sort == "price_asc":
            return self._sort_key["price"][pid]
        if sort == "price_desc":
            rank, amount, _ = self._sort_key["price"][pid]
            return (-rank, -amount, pid)
        if sort == "rating_desc":
            return self._sort_key["rating"][pid]
        return self._sort_key["newest"][pid]

    def _walk(self, sort: str, after: tuple | None) -> Iterator[str]:
        """Product ids in `sort` order after the cursor key, from the pre-sorted lists."""
        if sort == "price_desc":
            items = self._sorted["price"].settle()
            end = len(items)
            if after is not None:
                end = bisect.bisect_left(items, (-after[0], -after[1], after[2]))
            for i in range(end - 1, -1, -1):
                yield items[i][-1]
            return
        name = {"price_asc": "price", "rating_desc": "rating"}.get(sort, "newest")
        items = self._sorted[name].settle()
        start = bisect.bisect_right(items, after) if after is not None else 0
        for i in range(start, len(items)):
            yield items[i][-1]

    def search(self, query: Query) -> Page:
        tokens = tokenize(query.q or "")[:_MAX_QUERY_TOKENS]
        sort = query.sort if (query.sort != "relevance" or tokens) else "newest"
        after = decode_key_cursor(sort, query.cursor) if query.cursor else None
        # bounds may have any precision: 10.005 as a minimum starts at 10.01
        min_cents = math.ceil(query.min_price * 100) if query.min_price is not None else None
        max_cents = math.floor(query.max_price * 100) if query.max_price is not None else None
        expanded = [self.text.words(tok, prefix=(n == len(tokens) - 1)) for n, tok in enumerate(tokens)]
        candidates = self._candidates(query, expanded)
        limit = query.limit
        filtered = min_cents is not None or max_cents is not None or query.min_rating is not None
        if candidates is not None and (tokens or len(candidates) <= _SMALL_SET):
            if filtered:
                candidates = {pid for pid in candidates if self._passes(pid, query, min_cents, max_cents)}
            if sort == "relevance" and len(expanded) == 1:  # one token: walk its cached order
                ranked = self.text.ranked(expanded[0])
                start = bisect.bisect_right(ranked, after) if after is not None else 0
                page = []
                for i in range(start, len(ranked)):
                    if ranked[i][1] in candidates:
                        page.append((ranked[i], ranked[i][1]))
                        if len(page) > limit:
                            break
            elif sort == "relevance":
                page = self._top_by_score(self.text.score_buckets(candidates, expanded), after, limit + 1)
            else:
                keyed = ((self._key(sort, pid), pid) for pid in candidates)
                if after is not None:
                    keyed = (kp for kp in keyed if kp[0] > after)
                page = heapq.nsmallest(limit + 1, keyed)
        else:
            page = []
            for pid in self._walk(sort, after):
                if candidates is not None and pid not in candidates:
                    continue
                if filtered and not self._passes(pid, query, min_cents, max_cents):
                    continue
                page.append((self._key(sort, pid), pid))
                if len(page) > limit:
                    break
        more = len(page) > limit
        page = page[:limit]
        next_cursor = encode_key_cursor(sort, page[-1][0]) if more and page else None
        return Page([pid for _, pid in page], next_cursor)

    @staticmethod
    def _top_by_score(buckets: dict[int, set[str]], after: tuple | None, n: int) -> list[tuple[tuple, str]]:
        """The first n of (-score, id) order after the cursor, reading only the buckets it needs."""
        page: list[tuple[tuple, str]] = []
        for score in sorted(buckets, reverse=True):
            ids = buckets[score]
            if after is not None:
                if -score < after[0]:
                    continue  # scored higher than the cursor: served already
                if -score == after[0]:
                    ids = {pid for pid in ids if pid > after[1]}
            page.extend(((-score, pid), pid) for pid in heapq.nsmallest(n - len(page), ids))
            if len(page) >= n:
                break
        return page

    def count(self) -> int:
        return len(self.text)

    def ids(self) -> Iterable[str]:
        return self.text.ids()

    def rating_of(self, pid: str) -> tuple[float, int] | None:
        return self.rating.get(pid)

    def stats(self) -> dict[str, Any]:
        return {"products": self.count(), "tokens": len(self.text.postings)}
