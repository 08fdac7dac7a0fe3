"""A lever measured and not shipped (issue 17): Faust's per-record hand-off without its tasks.

Faust hands each fetched record over with `wait_first(deliver(record), suspend_flow.wait())`: four tasks
and an `asyncio.wait` per record, so that a delivery blocked by a full stream buffer gives way when a
rebalance suspends the flow. `install()` puts in place of `gamevault.agents.faust_patches.deliver` one
that steps the delivery once in place and only joins that race when it has to wait.
`bench.saga --lever delivery` measures it (bench.ratings did too, until 2026-12-01 15:00: slower there).
It is not in GameVault: with it, tests/integration/test_effectively_once.py (a worker killed with
SIGKILL mid-run) fails, and passes without it: 4 runs of 4 before the drain loop's seek fix
(agents/faust_patches.py), and again after it (accepted orders that never existed: the victim's outputs
reached Kafka, its table write did not, and the survivor committed past the placement without
recreating the order; every commit otherwise complete). Most likely cause: a Faust table write drains
from Faust's producer buffer after sends made later. The command agents now do without this hand-off
altogether (agents/command_batches.py: the state sent first and waited for). Its gain is in
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any


class _Resumed:
    """The rest of a coroutine that was stepped once and now waits on `yielded`, as an awaitable: the
    task awaiting it drives the coroutine on from where it stopped, cancellation included."""

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


async def deliver_in_place(consumer: Any, callback: Any, message: Any) -> None:
    delivery = callback(message)
    try:
        yielded = delivery.send(None)
    except StopIteration:
        return  # delivered without waiting: the common case
    remainder = asyncio.ensure_future(_finish(_Resumed(delivery, yielded)))
    await consumer.wait_first(remainder, consumer.suspend_flow.wait())


def install() -> None:
    from gamevault.agents import faust_patches

    faust_patches.deliver = deliver_in_place
