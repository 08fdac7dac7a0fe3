"""The catalog search's inverted index: token -> product ids, per field, with prefix completion and
relevance (title 3, tag 2, description 1 per query token), kept as products change."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from typing import Any

_WORD = re.compile(r"[a-z0-9]+")
_MAX_PREFIX_EXPANSION = 64
_DESCRIPTION_TOKENS = 60
_RANKED_CACHE = 4096  # one-token relevance orders kept, least recently used dropped
_EMPTY: set[str] = set()
TEXT_FIELDS = ("title", "description", "genres", "platform")  # a change to one of these re-indexes


def tokenize(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return _WORD.findall(folded)


def union(index: dict[str, set[str]], words: list[str]) -> set[str]:
    """The ids under any of `words` (read only: one word gives its own set, never a copy)."""
    if len(words) == 1:
        return index.get(words[0], _EMPTY)
    out: set[str] = set()
    for word in words:
        out |= index.get(word, _EMPTY)
    return out


class TextIndex:
    def __init__(self) -> None:
        self.postings: dict[str, set[str]] = defaultdict(set)  # any field
        self.fields: tuple[dict[str, set[str]], ...] = (defaultdict(set), defaultdict(set), defaultdict(set))
        self._doc_tokens: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {}
        self._vocab: list[str] = []
        self._vocab_dirty = False
        # (words of one query token) -> its candidates in (-score, id) order; dropped when a product
        # with one of those words changes
        self._ranked: OrderedDict[tuple[str, ...], list[tuple[int, str]]] = OrderedDict()
        self._ranked_by_word: dict[str, set[tuple[str, ...]]] = defaultdict(set)

    def __len__(self) -> int:
        return len(self._doc_tokens)

    def ids(self) -> Iterable[str]:
        return self._doc_tokens.keys()

    def add(self, pid: str, product: dict[str, Any]) -> None:
        title = frozenset(tokenize(product["title"]))
        tags = frozenset(tokenize(" ".join([*product["genres"], product["platform"]])))
        desc = frozenset(tokenize(product.get("description", ""))[:_DESCRIPTION_TOKENS])
        self._doc_tokens[pid] = (title, tags, desc)
        self._forget_ranked(title | tags | desc)
        for tok in title | tags | desc:
            if tok not in self.postings:
                self._vocab_dirty = True
            self.postings[tok].add(pid)
        for field, tokens in zip(self.fields, (title, tags, desc), strict=True):
            for tok in tokens:
                field[tok].add(pid)

    def remove(self, pid: str) -> None:
        tokens = self._doc_tokens.pop(pid, None)
        if not tokens:
            return
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

    def words(self, token: str, prefix: bool) -> list[str]:
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

    def matching(self, words: list[str]) -> set[str]:
        return union(self.postings, words)

    def ranked(self, words: list[str]) -> list[tuple[int, str]]:
        """Every product matching one query token, best first: title 3, tag 2, description 1, then id."""
        key = tuple(words)
        ranked = self._ranked.get(key)
        if ranked is not None:
            self._ranked.move_to_end(key)
            return ranked
        title, tags = union(self.fields[0], words), union(self.fields[1], words)
        ranked = sorted((-3 if pid in title else -2 if pid in tags else -1, pid) for pid in self.matching(words))
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

    def score_buckets(self, candidates: set[str], expanded: list[list[str]]) -> dict[int, set[str]]:
        """score -> products, by set algebra (C speed): per token, title 3, tag 2, description 1."""
        buckets: dict[int, set[str]] = {0: candidates}
        for words in expanded:
            title, tags = union(self.fields[0], words), union(self.fields[1], words)
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
