"""Outside calls (gateways, the carrier) run beside an agent, never inside its loop.

An agent decides "call the gateway" and records it; the call runs as a background task with an
idempotency key derived from the aggregate, and its result comes back as a command on the agent's
own topic, decided like any other. A call lost in a crash is repeated by the saga's deadline, and the
idempotency key makes the repeat harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from gamevault.agents.runtime import Producer
from gamevault.streams.envelope import new_event
from gamevault.streams.registry import CommandType

log = logging.getLogger(__name__)


class EffectRunner:
    def __init__(self, producer: Producer, source: str) -> None:
        self.producer = producer
        self.source = source
        self.tasks: set[asyncio.Task] = set()
        self.in_flight: set[tuple[str, str]] = set()  # (what, key): one call at a time per aggregate

    def run(self, what: str, key: str, call: Callable[[], Awaitable[dict[str, Any]]], result_type: CommandType) -> None:
        if (what, key) in self.in_flight:
            return
        self.in_flight.add((what, key))

        async def execute() -> None:
            try:
                outcome = await call()
            except Exception as exc:  # the result is data: the agent decides what a failure means
                log.warning("%s for %s failed: %r", what, key, exc)
                outcome = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"[:200], "transient": True}
            finally:
                self.in_flight.discard((what, key))
            command = new_event(result_type.type, self.source, {"key": key, **outcome}, subject=key)
            try:
                fut = await self.producer.send(result_type.topic.name, key.encode(), command.to_json())
                await asyncio.wait_for(fut, 30)
            except Exception as exc:  # Kafka away: the saga's deadline will ask again
                log.error("result of %s for %s not stored: %r", what, key, exc)

        task = asyncio.ensure_future(execute())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
