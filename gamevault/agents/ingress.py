"""Ingress: records from producers outside the platform, validated before anything trusts them.

A valid record is forwarded, re-keyed by its aggregate id, to the owning module's internal commands
topic (so it is decided by the same agent and rules as a REST write). An invalid one goes to the
dead-letter topic, unchanged, with the reason, source topic, partition and offset in its headers.
"""

from __future__ import annotations

from typing import Any

from gamevault.agents.app import raw_topic
from gamevault.agents.runtime import Producer
from gamevault.metrics import EVENTS_PROCESSED
from gamevault.streams.topics import CATALOG_COMMANDS, CATALOG_INGRESS, REVIEWS_COMMANDS, REVIEWS_INGRESS
from gamevault.streams.validation import Invalid, validate

ROUTES = ((CATALOG_INGRESS, CATALOG_COMMANDS), (REVIEWS_INGRESS, REVIEWS_COMMANDS))


def install(services: Any) -> None:
    for source, target in ROUTES:
        _install_route(services.app, services.producer, source, target)


def _install_route(app: Any, producer: Producer, source: Any, target: Any) -> None:
    name = f"ingress-{source.module}"

    async def ingress(stream: Any) -> None:
        async for event in stream.events():
            msg = event.message
            headers = list(msg.headers or [])
            result = validate(msg.value, source, msg.key)
            if isinstance(result, Invalid):
                await producer.deadletter(msg.key, msg.value, result.reason, result.detail,
                                          msg.topic, msg.partition, msg.offset, name, headers)
                EVENTS_PROCESSED.labels(name, "invalid").inc()
                continue
            headers.append(("ingress-offset", f"{msg.topic}/{msg.partition}/{msg.offset}".encode()))
            normalized = result.event.model_copy(update={"data": result.data.model_dump(mode="json")})
            await producer.send(target.name, result.key.encode(), normalized.to_json(), headers)
            EVENTS_PROCESSED.labels(name, result.event.type).inc()

    ingress.__name__ = ingress.__qualname__ = name.replace("-", "_")
    app.agent(raw_topic(app, source), name=name)(ingress)
