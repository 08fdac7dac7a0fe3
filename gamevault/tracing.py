"""W3C Trace Context: a request's `traceparent` follows everything it causes through Kafka."""

from __future__ import annotations

import random
import re
from contextvars import ContextVar

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
current_traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)


def parse(value: str | None) -> tuple[str, str, str] | None:
    """(trace id, parent id, flags), or None for a missing or malformed header (W3C: then start anew)."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if not match or set(match.group(1)) == {"0"} or set(match.group(2)) == {"0"}:
        return None
    return match.group(1), match.group(2), match.group(3)


def child_of(value: str | None) -> str:
    """A traceparent for the next hop: same trace, new span id (a new trace when none came in)."""
    parsed = parse(value)
    # ids need to be unique, not secret (W3C): the process PRNG, not a urandom syscall per request
    trace_id, flags = (parsed[0], parsed[2]) if parsed else (f"{random.getrandbits(128) or 1:032x}", "01")
    return f"00-{trace_id}-{random.getrandbits(64) or 1:016x}-{flags}"


def header(headers: list[tuple[str, bytes]] | None, name: str) -> str | None:
    for key, value in headers or ():
        if key == name:
            return value.decode("utf-8", "replace") if value is not None else None
    return None
