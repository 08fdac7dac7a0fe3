"""Ingress: records from producers outside the platform, validated before anything trusts them.

A valid record is forwarded, re-keyed by its aggregate id, to the owning module's internal commands
topic (so it is decided by the same agent and rules as a REST write). An invalid one goes to the
dead-letter topic, unchanged, with the reason, source topic, partition and offset in its headers.

Records are taken in small batches: Faust's fixed cost per record dominates validation (~10 us), and a
flood of partner records (valid or not) must not starve the gateway served on the same event loop, so
a batch is bounded in size and the loop is handed back between batches.
"""

from __future__ import annotations

from typing import Any

from gamevault import priority
from gamevault.agents.app import raw_topic
from gamevault.agents.runtime import Producer
from gamevault.metrics import EVENTS_PROCESSED
from gamevault.streams.topics import CATALOG_COMMANDS, CATALOG_INGRESS, REVIEWS_COMMANDS, REVIEWS_INGRESS
from gamevault.streams.validation import Invalid, validate

ROUTES = ((CATALOG_INGRESS, CATALOG_COMMANDS), (REVIEWS_INGRESS, REVIEWS_COMMANDS))
BATCH, WITHIN_S, SLICE = 100, 0.005, 10  # the loop is handed back every SLICE records (about 1 ms)


def install(services: Any) -> None:
    for source, target in ROUTES:
        _install_route(services.app, services.producer, source, target)


def _install_route(app: Any, producer: Producer, source: Any, target: Any) -> None:
    name = f"ingress-{source.module}"

    async def ingress(stream: Any) -> None:
        async for batch in stream.take_events(BATCH, within=WITHIN_S):
            for n, event in enumerate(batch, 1):
                await forward(event.message)
                if n % SLICE == 0:
                    await priority.yield_to_requests()
            await priority.yield_to_requests()

    async def forward(msg: Any) -> None:
        headers = list(msg.headers or [])
        result = validate(msg.value, source, msg.key)
        if isinstance(result, Invalid):
            await producer.deadletter(msg.key, msg.value, result.reason, result.detail,
                                      msg.topic, msg.partition, msg.offset, name, headers)
            EVENTS_PROCESSED.labels(name, "invalid").inc()
            return
        headers.append(("ingress-offset", f"{msg.topic}/{msg.partition}/{msg.offset}".encode()))
        normalized = result.event.model_copy(update={"data": result.data.model_dump(mode="json")})
        await producer.send(target.name, result.key.encode(), normalized.to_json(), headers)
        EVENTS_PROCESSED.labels(name, result.event.type).inc()

    ingress.__name__ = ingress.__qualname__ = name.replace("-", "_")
    app.agent(raw_topic(app, source), name=name)(ingress)
