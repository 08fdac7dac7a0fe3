"""The delivery fast path keeps `wait_first`'s meaning: a delivery that completes at once creates no
task; one that waits still races the other waitables, and loses to them as before (it is cancelled)."""

from __future__ import annotations

import asyncio

import mode
from faust.transport.consumer import Consumer

from gamevault.agents import faust_patches

faust_patches.deliver_without_tasks()


def test_a_delivery_that_does_not_wait_creates_no_task():
    async def main() -> None:
        service = mode.Service()
        delivered = []

        async def deliver() -> str:
            delivered.append(1)
            return "done"

        suspend = asyncio.Event()
        before = len(asyncio.all_tasks())
        result = await Consumer.wait_first(service, deliver(), suspend.wait())
        assert result.results == ["done"] and not result.stopped
        assert delivered == [1] and len(asyncio.all_tasks()) == before

    asyncio.run(main())


def test_a_delivery_that_waits_finishes_as_a_task():
    async def main() -> None:
        service = mode.Service()
        gate = asyncio.get_running_loop().create_future()
        steps = []

        async def deliver() -> str:
            steps.append("started")
            value = await gate
            steps.append(value)
            return value

        asyncio.get_running_loop().call_later(0.01, gate.set_result, "opened")
        result = await Consumer.wait_first(service, deliver(), asyncio.Event().wait())
        assert result.results == ["opened"] and steps == ["started", "opened"]

    asyncio.run(main())


def test_a_waiting_delivery_gives_way_to_a_suspended_flow():
    async def main() -> None:
        service = mode.Service()
        cancelled = []

        async def deliver() -> None:
            try:
                await asyncio.get_running_loop().create_future()  # a full stream buffer: never frees
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        suspend = asyncio.Event()
        asyncio.get_running_loop().call_later(0.01, suspend.set)
        result = await Consumer.wait_first(service, deliver(), suspend.wait())
        await asyncio.sleep(0)
        assert len(result.results) == 1 and result.results[0] is True  # the suspension won
        assert cancelled == [True]

    asyncio.run(main())


def test_an_error_in_delivery_propagates():
    async def main() -> None:
        async def deliver() -> None:
            raise ValueError("bad record")

        try:
            await Consumer.wait_first(mode.Service(), deliver(), asyncio.Event().wait())
        except ValueError as exc:
            assert str(exc) == "bad record"
        else:
            raise AssertionError("the error was swallowed")

    asyncio.run(main())
