"""Opaque pagination cursors, and the one error a bad one raises.

A cursor is the position of the last item served (an index entry, or a sort key), base64url-encoded:
clients pass it back as is. Anything that does not decode to a position this API could have issued
(forged, truncated, from another listing or sort order) is a `BadCursor`, answered with a 400."""

from __future__ import annotations

import base64
import math

import orjson


class BadCursor(ValueError):
    """A cursor this API did not issue (forged, truncated, from another listing)."""


def encode_cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        raise BadCursor("the cursor is not one this API issued") from None


# ---- the catalog search's cursors: a sort key (tables/search.py) ------------------------------
# the key a cursor carries, per sort order: (-score, id), (cents, id), (-cents, id),
# (unrated, -average, -count, id), (-created timestamp, id); "number" slots take an int or a float
_KEY_SHAPES: dict[str, tuple[str, ...]] = {
    "relevance": ("int", "id"), "price_asc": ("int", "int", "id"), "price_desc": ("int", "int", "id"),
    "rating_desc": ("int", "number", "int", "id"), "newest": ("number", "id"),
}


def encode_key_cursor(sort: str, key: tuple) -> str:
    return encode_cursor(orjson.dumps([sort, list(key)]))


def _fits(value: object, kind: str) -> bool:
    if isinstance(value, bool):
        return False
    if kind == "id":
        return isinstance(value, str) and 0 < len(value) <= 64
    if kind == "int":
        return isinstance(value, int) and abs(value) < 10**15
    return isinstance(value, int | float) and math.isfinite(value) and abs(value) < 10**15


def decode_key_cursor(sort: str, cursor: str) -> tuple:
    """The key a cursor carries, checked against the shape its sort order gives keys: anything else is
    a BadCursor, never an error deeper in the search."""
    try:
        cursor_sort, key = orjson.loads(decode_cursor(cursor))
    except BadCursor:
        raise
    except Exception:
        raise BadCursor("the cursor is not one this API issued") from None
    if cursor_sort != sort:
        raise BadCursor("the cursor belongs to another sort order")
    shape = _KEY_SHAPES.get(sort, ())
    if not isinstance(key, list) or len(key) != len(shape) or not all(map(_fits, key, shape)):
        raise BadCursor("the cursor is not one this API issued")
    return tuple(key)
