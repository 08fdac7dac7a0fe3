"""Interactive requests first on the one event loop that serves the gateway and runs the agents.

Stream work that may fall behind without harm (partner records on the ingress topics) calls
`yield_to_requests()` between small slices: it hands the loop over, then waits while gateway requests
are in flight (bounded, so a steady stream of requests cannot stall the stream for good). The gateway
middleware marks requests in and out.
"""

from __future__ import annotations

import asyncio
import contextlib

_in_flight = 0
_idle: asyncio.Event | None = None


def _event() -> asyncio.Event:
    global _idle
    if _idle is None:
        _idle = asyncio.Event()
        _idle.set()
    return _idle


def request_started() -> None:
    global _in_flight
    _in_flight += 1
    _event().clear()


def request_finished() -> None:
    global _in_flight
    _in_flight -= 1
    if _in_flight <= 0:
        _in_flight = 0
        _event().set()


async def yield_to_requests(max_wait_s: float = 0.02) -> None:
    await asyncio.sleep(0)  # lets the loop poll its sockets: requests that just arrived start now
    if _in_flight:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_event().wait(), max_wait_s)
