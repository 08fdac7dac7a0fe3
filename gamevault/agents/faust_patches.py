"""Two measured costs in Faust's consumer, removed where Faust offers no setting for them.

Both patch one method of faust-streaming (pinned in pyproject.toml with aiokafka); each is idempotent
and keeps Faust's behaviour, only its cost changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

FETCH_MAX_WAIT_MS = 50


def shorten_fetch_wait(wait_ms: int = FETCH_MAX_WAIT_MS) -> None:
    """Faust hard-codes its consumer's fetch_max_wait_ms to 1500 (no setting).

    aiokafka keeps one fetch in flight per broker and leaves partitions that still hold buffered
    records out of it; a record arriving on such a partition then waits for the in-flight long poll
    to expire. Measured under load: 0.6-1.7 s per saga hop with 1500 ms, tens of ms with 50 ms.
    An idle worker pays for it with ~20 small fetches a second.
    """
    from faust.transport.drivers import aiokafka as driver

    original = driver.AIOKafkaConsumerThread._create_worker_consumer
    if getattr(original, "gamevault_patched", False):
        return

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = wait_ms  # read by consumer.start() when it builds its Fetcher
        return consumer

    create.gamevault_patched = True  # type: ignore[attr-defined]
    driver.AIOKafkaConsumerThread._create_worker_consumer = create


class _Resumed:
    """The rest of a coroutine that was stepped once and is now waiting on `yielded`, as an awaitable:
    a task awaiting it drives the coroutine on from where it stopped, cancellation included."""

    __slots__ = ("coro", "yielded")

    def __init__(self, coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
        self.coro, self.yielded = coro, yielded

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, yielded = self.coro, self.yielded
        while True:
            try:
                sent = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    yielded = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    yielded = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def _finish(resumed: _Resumed) -> Any:
    return await resumed


def deliver_without_tasks() -> None:
    """Faust's consumer hands each fetched record to its streams through `wait_first(deliver(record),
    suspend_flow.wait())`: four tasks and an `asyncio.wait` per record, so that a delivery blocked by a
    full stream buffer gives way when a rebalance suspends the flow. Almost every delivery completes
    without ever waiting. Here the delivery is stepped once in place: if it completed, nothing else is
    created; if it is waiting, the same race as before runs on its remainder. Measured in bench/ratings.py.
    """
    from faust.transport.consumer import Consumer
    from mode.services import WaitResults

    original = Consumer.wait_first
    if getattr(original, "gamevault_patched", False):
        return

    async def wait_first(self: Any, *coros: Any, timeout: Any = None) -> Any:
        first = coros[0] if coros else None
        if not asyncio.iscoroutine(first):
            return await original(self, *coros, timeout=timeout)
        try:
            yielded = first.send(None)
        except BaseException as ended:  # delivered (or failed) without waiting: the common case
            for other in coros[1:]:
                if asyncio.iscoroutine(other):
                    other.close()  # never started: nothing to cancel
            if isinstance(ended, StopIteration):
                return WaitResults([first], [ended.value], False)
            raise
        remainder = asyncio.ensure_future(_finish(_Resumed(first, yielded)))
        return await original(self, remainder, *coros[1:], timeout=timeout)

    wait_first.gamevault_patched = True  # type: ignore[attr-defined]
    Consumer.wait_first = wait_first
