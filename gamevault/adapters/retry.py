"""Calling an outside service: transient failures retried with exponential backoff and full jitter,
permanent ones surfaced at once."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

log = logging.getLogger(__name__)
T = TypeVar("T")


class TransientError(Exception):
    """Worth retrying: a timeout, a refused connection, a 5xx or 429."""


class PermanentError(Exception):
    """Not worth retrying: the gateway said no (a decline, a validation error)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def classify(response: httpx.Response) -> None:
    """Raise the right error for a non-2xx answer."""
    if response.status_code < 400:
        return
    if response.status_code in (408, 425, 429) or response.status_code >= 500:
        raise TransientError(f"HTTP {response.status_code}")
    try:
        body = response.json()
        reason = body.get("reason") or body.get("message") or body.get("name") or response.text
        for detail in body.get("details") or []:
            reason = detail.get("issue") or reason
    except ValueError:
        reason = response.text or f"HTTP {response.status_code}"
    raise PermanentError(str(reason)[:200], response.status_code)


async def with_retries(call: Callable[[], Awaitable[T]], *, what: str, attempts: int = 6,
                       base_s: float = 0.1, cap_s: float = 3.0) -> T:
    """`call()` until it succeeds, raises PermanentError, or `attempts` transient failures in a row."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except (TransientError, httpx.TransportError) as exc:
            if attempt == attempts:
                raise TransientError(f"{what}: gave up after {attempts} attempts: {exc!r}") from exc
            delay = random.uniform(0, min(cap_s, base_s * 2 ** (attempt - 1)))  # full jitter
            log.info("%s: transient failure (%r); retry %d in %.2fs", what, exc, attempt, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
