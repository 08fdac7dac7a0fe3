"""The catalog's search index, kept in memory by every worker from the product and rating replicas.

An inverted index (token -> product ids) answers text queries; sets per platform and genre answer
the filters; pre-sorted key lists answer the sort orders, walked from the cursor until a page is
full. Pagination is keyset-based: a cursor is the sort key of the last item served, so pages stay
stable while products are added.
"""

from __future__ import annotations

import base64
import bisect
import heapq
import math
import re
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from gamevault.money import cents
from gamevault.tables.replica import TableReplica

SORTS = ("relevance", "price_asc", "price_desc", "rating_desc", "newest")
_WORD = re.compile(r"[a-z0-9]+")
_SMALL_SET = 4000  # below this many candidates, sorting them beats walking a global order
_MAX_PREFIX_EXPANSION = 64
_DESCRIPTION_TOKENS = 60
_MAX_QUERY_TOKENS = 8
_RANKED_CACHE = 4096  # one-token relevance orders kept, least recently used dropped
_EMPTY: set[str] = set()


class BadCursor(ValueError):
    pass


def tokenize(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return _WORD.findall(folded)


CURRENCIES = ("PEN", "USD")  # price sorts group by currency in this order, then order by amount


def _price_key(product: dict) -> tuple[int, int, str]:
    """(currency rank, cents, id): prices are never compared across currencies as if they were one."""
    price = product["price"]
    return _rank(price["currency"]), cents(price["amount"]), product["product_id"]


def _rank(currency: str) -> int:
    return CURRENCIES.index(currency) if currency in CURRENCIES else len(CURRENCIES)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


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


def encode_cursor(sort: str, key: tuple) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([sort, list(key)])).decode().rstrip("=")


# the key a cursor carries, per sort order: (-score, id), (cents, id), (-cents, id),
# (unrated, -average, -count, id), (-created timestamp, id); "number" slots take an int or a float
_KEY_SHAPES: dict[str, tuple[str, ...]] = {
    "relevance": ("int", "id"), "price_asc": ("int", "int", "id"), "price_desc": ("int", "int", "id"),
    "rating_desc": ("int", "number", "int", "id"), "newest": ("number", "id"),
}


def _fits(value: object, kind: str) -> bool:
    if isinstance(value, bool):
        return False
    if kind == "id":
        return isinstance(value, str) and 0 < len(value) <= 64
    if kind == "int":
        return isinstance(value, int) and abs(value) < 10**15
    return isinstance(value, int | float) and math.isfinite(value) and abs(value) < 10**15


def decode_cursor(sort: str, cursor: str) -> tuple:
    """The key a cursor carries, checked against the shape its sort order gives keys: anything else
    (a forged or truncated cursor) is a BadCursor, never an error deeper in the search."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, key = orjson.loads(base64.urlsafe_b64decode(padded))
    except Exception:
        raise BadCursor("the cursor is not one this API issued") from None
    if cursor_sort != sort:
        raise BadCursor("the cursor belongs to another sort order")
    shape = _KEY_SHAPES.get(sort, ())
    if not isinstance(key, list) or len(key) != len(shape) or not all(map(_fits, key, shape)):
        raise BadCursor("the cursor is not one this API issued")
    return tuple(key)


class CatalogIndex:
    def __init__(self, products: TableReplica, ratings: Any) -> None:
        self.products = products
        self.postings: dict[str, set[str]] = defaultdict(set)  # any field
        self.fields: tuple[dict[str, set[str]], ...] = (defaultdict(set), defaultdict(set), defaultdict(set))
        self._doc_tokens: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {}
        self._vocab: list[str] = []
        # (words of one query token) -> its candidates in (-score, id) order; dropped when a product
        # with one of those words changes
        self._ranked: OrderedDict[tuple[str, ...], list[tuple[int, str]]] = OrderedDict()
        self._ranked_by_word: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        self._vocab_dirty = False
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
            self._unindex_text(pid)
            if old is not None:
                self.by_platform[old["platform"]].discard(pid)
                for g in old["genres"]:
                    self.by_genre[g].discard(pid)
            for name in self._sorted:
                self._set_key(name, pid, None)
            return
        text_changed = old is None or any(
            old.get(f) != new.get(f) for f in ("title", "description", "genres", "platform")
        )
        if text_changed:
            self._unindex_text(pid)
            if old is not None:
                self.by_platform[old["platform"]].discard(pid)
                for g in old["genres"]:
                    self.by_genre[g].discard(pid)
            title = frozenset(tokenize(new["title"]))
            tags = frozenset(tokenize(" ".join([*new["genres"], new["platform"]])))
            desc = frozenset(tokenize(new.get("description", ""))[:_DESCRIPTION_TOKENS])
            self._doc_tokens[pid] = (title, tags, desc)
            self._forget_ranked(title | tags | desc)
            for tok in title | tags | desc:
                if tok not in self.postings:
                    self._vocab_dirty = True
                self.postings[tok].add(pid)
            for field, tokens in zip(self.fields, (title, tags, desc), strict=True):
                for tok in tokens:
                    field[tok].add(pid)
            self.by_platform[new["platform"]].add(pid)
            for g in new["genres"]:
                self.by_genre[g].add(pid)
        if old is None or old["price"] != new["price"]:
            self._set_key("price", pid, _price_key(new))
        if old is None or old.get("created_at") != new.get("created_at"):
            self._set_key("newest", pid, (-_ts(new["created_at"]), pid))
        if pid not in self._sort_key["rating"]:
            self._set_key("rating", pid, self._rating_key(pid))

    def _unindex_text(self, pid: str) -> None:
        tokens = self._doc_tokens.pop(pid, None)
        if tokens:
            self._forget_ranked(tokens[0] | tokens[1] | tokens[2])
            for tok in tokens[0] | tokens[1] | tokens[2]:
                ids = self.postings.get(tok)
                if ids is not None:
                    ids.discard(pid)
                    if not ids:
                        del self.postings[tok]
                        self._vocab_dirty = True
            for field, field_tokens in zip(self.fields, tokens, strict=True):
                for tok in field_tokens:
                    ids = field.get(tok)
                    if ids is not None:
                        ids.discard(pid)
                        if not ids:
                            del field[tok]

    def _forget_ranked(self, words: Iterable[str]) -> None:
        for word in words:
            for key in self._ranked_by_word.pop(word, ()):
                self._ranked.pop(key, None)

    def _ranked_ids(self, words: list[str]) -> list[tuple[int, str]]:
        """Every product matching one query token, best first: title 3, tag 2, description 1, then id."""
        key = tuple(words)
        ranked = self._ranked.get(key)
        if ranked is not None:
            self._ranked.move_to_end(key)
            return ranked
        title, tags = self._union(self.fields[0], words), self._union(self.fields[1], words)
        ranked = sorted((-3 if pid in title else -2 if pid in tags else -1, pid)
                        for pid in self._union(self.postings, words))
        self._ranked[key] = ranked
        for word in words:
            self._ranked_by_word[word].add(key)
        if len(self._ranked) > _RANKED_CACHE:
            old_key, _ = self._ranked.popitem(last=False)
            for word in old_key:
                keys = self._ranked_by_word.get(word)
                if keys is not None:
                    keys.discard(old_key)
                    if not keys:
                        del self._ranked_by_word[word]
        return ranked

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
    def _words(self, token: str, prefix: bool) -> list[str]:
        """The indexed words a query token stands for: itself, and as the last token its completions."""
        if not prefix or len(token) < 2:
            return [token]
        if self._vocab_dirty:
            self._vocab = sorted(self.postings)
            self._vocab_dirty = False
        words = [token]
        i = bisect.bisect_left(self._vocab, token)
        for word in self._vocab[i:i + _MAX_PREFIX_EXPANSION]:
            if not word.startswith(token):
                break
            if word != token:
                words.append(word)
        return words

    @staticmethod
    def _union(index: dict[str, set[str]], words: list[str]) -> set[str]:
        if len(words) == 1:
            return index.get(words[0], _EMPTY)
        out: set[str] = set()
        for word in words:
            out |= index.get(word, _EMPTY)
        return out

    def _candidates(self, query: Query, expanded: list[list[str]]) -> set[str] | None:
        sets: list[set[str]] = [self._union(self.postings, words) for words in expanded]
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

    def _score_buckets(self, candidates: set[str], expanded: list[list[str]]) -> dict[int, set[str]]:
        """score -> products, by set algebra (C speed): per token, title 3, tag 2, description 1."""
        buckets: dict[int, set[str]] = {0: candidates}
        for words in expanded:
            title, tags = self._union(self.fields[0], words), self._union(self.fields[1], words)
            split: dict[int, set[str]] = defaultdict(set)
            for score, ids in buckets.items():
                in_title = ids & title
                in_tags = (ids - in_title) & tags
                rest = ids - in_title - in_tags  # matched the description (every candidate matched somewhere)
                for add, part in ((3, in_title), (2, in_tags), (1, rest)):
                    if part:
                        split[score + add] |= part
            buckets = split
        return buckets

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
        after = decode_cursor(sort, query.cursor) if query.cursor else None
        # bounds may have any precision: 10.005 as a minimum starts at 10.01
        min_cents = math.ceil(query.min_price * 100) if query.min_price is not None else None
        max_cents = math.floor(query.max_price * 100) if query.max_price is not None else None
        expanded = [self._words(tok, prefix=(n == len(tokens) - 1)) for n, tok in enumerate(tokens)]
        candidates = self._candidates(query, expanded)
        limit = query.limit
        filtered = min_cents is not None or max_cents is not None or query.min_rating is not None
        if candidates is not None and (tokens or len(candidates) <= _SMALL_SET):
            if filtered:
                candidates = {pid for pid in candidates if self._passes(pid, query, min_cents, max_cents)}
            if sort == "relevance" and len(expanded) == 1:  # one token: walk its cached order
                ranked = self._ranked_ids(expanded[0])
                start = bisect.bisect_right(ranked, after) if after is not None else 0
                page = []
                for i in range(start, len(ranked)):
                    if ranked[i][1] in candidates:
                        page.append((ranked[i], ranked[i][1]))
                        if len(page) > limit:
                            break
            elif sort == "relevance":
                page = self._top_by_score(self._score_buckets(candidates, expanded), after, limit + 1)
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
        next_cursor = encode_cursor(sort, page[-1][0]) if more and page else None
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
        return len(self._doc_tokens)

    def ids(self) -> Iterable[str]:
        return self._doc_tokens.keys()

    def rating_of(self, pid: str) -> tuple[float, int] | None:
        return self.rating.get(pid)

    def stats(self) -> dict[str, Any]:
        return {"products": self.count(), "tokens": len(self.postings)}
