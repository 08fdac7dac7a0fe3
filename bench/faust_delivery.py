"""A lever measured and dropped (issue 17): Faust's per-record delivery without its tasks.

Faust's consumer hands each fetched record to its streams through `wait_first(deliver(record),
suspend_flow.wait())`: four tasks and an `asyncio.wait` per record, so that a delivery blocked by a full
stream buffer gives way when a rebalance suspends the flow. `install()` steps the delivery once in place
and only falls back to that race when it waits. bench.ratings and `bench.saga --lever delivery` measure
it; it is not in GameVault because with it tests/integration/test_effectively_once.py (a worker killed
with SIGKILL mid-run) failed in 4 runs of 4 with it (orders left short of a final state) and passed
without it. Its root cause is not found yet; the measured gain is in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any


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


def install() -> None:
    """Patch faust.transport.consumer.Consumer.wait_first (idempotent)."""
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
