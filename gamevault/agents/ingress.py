"""Ingress: records from producers outside the platform, validated and authorized before anything trusts them.

Two doors, one consumer group (`gamevault-ingress`) over both:
- the operator's topics, `gamevault.catalog.commands` and `gamevault.reviews.commands` (only the operator
  and the platform may write them: broker/acls.py);
- one topic per partner, `gamevault.partners.<name>.<catalog|reviews>`, that only that partner may write,
  so the broker vouches for the sender. A pattern subscription picks up a new partner's topic within
  `METADATA_REFRESH_MS`; the partners registry (a replica) says what the partner may do.

A valid record its sender may make is forwarded, re-keyed by its aggregate id, to the owning module's
internal commands topic, with its sender (domain/ingress.py) and under an id derived from its source
topic and its own id (a partner's ids cannot collide with another's). An invalid one goes to the
dead-letter topic, unchanged, with the reason; one outside its sender's scope with `unauthorized`. Only
the `traceparent` header is carried over: routing headers (`reply-to`, `ingress-offset`) are the
platform's own. Offsets are committed once the forwarded records are acknowledged: at least once, and a
redelivered record is a replay downstream (same command id).

Records come in bounded batches and the loop is handed back every few records, so a flood of partner
records (valid or not) cannot starve the gateway served on the same event loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import mode
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from gamevault import priority, tracing
from gamevault.agents.runtime import Producer
from gamevault.agents.services import AgentServices
from gamevault.domain.ingress import FROM_OPERATOR, Refused, Sender, admit
from gamevault.kafka_access import KafkaAccess
from gamevault.metrics import EVENTS_PROCESSED
from gamevault.streams.envelope import deterministic_id
from gamevault.streams.topics import (
    BY_NAME,
    CATALOG_COMMANDS,
    CATALOG_INGRESS,
    INGRESS_PATTERN,
    REVIEWS_COMMANDS,
    REVIEWS_INGRESS,
    TopicSpec,
    partner_of,
)
from gamevault.streams.validation import Invalid, Reason, validate
from gamevault.tables.replica import ReplicaService, TableReplica

log = logging.getLogger(__name__)

TARGETS = {CATALOG_INGRESS.name: CATALOG_COMMANDS, REVIEWS_INGRESS.name: REVIEWS_COMMANDS}
BATCH, SLICE = 100, 5  # the loop is handed back every SLICE records (about 0.5 ms); a fetch decodes BATCH at once
METADATA_REFRESH_MS = 3000  # how soon a new partner's topic is consumed
STOP_S = 5.0  # how long the consumer's stop may take (its group leave): see `on_stop`
STAGE = "ingress"


def install(services: AgentServices) -> None:
    ingress = IngressService(services.settings.kafka, f"{services.settings.app_id}-ingress", services.producer,
                             services.views.partners, services.replicas)
    services.app.add_dependency(ingress)


class IngressService(mode.Service):
    def __init__(self, access: KafkaAccess, group: str, producer: Producer, partners: TableReplica,
                 replicas: ReplicaService, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.access, self.group = access, group
        self.producer, self.partners, self.replicas = producer, partners, replicas
        self._consumer: AIOKafkaConsumer | None = None

    async def on_start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **self.access.aiokafka(), group_id=self.group, enable_auto_commit=False,
            auto_offset_reset="earliest", metadata_max_age_ms=METADATA_REFRESH_MS, fetch_max_wait_ms=100,
            max_poll_records=BATCH, client_id="gamevault-ingress",
        )
        await self._consumer.start()
        self._consumer.subscribe(pattern=INGRESS_PATTERN)
        self.add_future(self._run())

    async def on_stop(self) -> None:
        """aiokafka's stop can wait for good for a group coordinator it lost (aio-libs/aiokafka#659): seen
        when a broker ends a connection whose session expired (its re-authentication deadline), which
        held a worker's stop for 30 s until it was killed. Offsets are committed after each batch, so a
        stop cut short loses nothing: the broker drops the member when its session times out."""
        if self._consumer is not None:
            try:
                await asyncio.wait_for(self._consumer.stop(), STOP_S)
            except TimeoutError:
                log.warning("the ingress consumer did not leave its group in %.0f s: stopped without it", STOP_S)

    async def _run(self) -> None:
        await self.replicas.ready.wait()  # the partners registry is read before any partner record
        consumer = self._consumer
        assert consumer is not None
        while not self.should_stop:
            try:
                batches = await consumer.getmany(timeout_ms=500, max_records=BATCH)
            except KafkaError as exc:  # broker away: retry
                log.warning("ingress fetch failed: %s", exc)
                await asyncio.sleep(0.5)
                continue
            if not batches:
                continue
            sent: list[Any] = []
            offsets: dict[TopicPartition, int] = {}
            n = 0
            for tp, records in batches.items():
                for rec in records:
                    sent.append(await self.forward(rec))
                    n += 1
                    if n % SLICE == 0:
                        await priority.yield_to_requests()
                offsets[tp] = records[-1].offset + 1
            try:
                await asyncio.gather(*sent)  # acknowledged (acks=all) before the offsets move
                await consumer.commit(offsets)
            except (CommitFailedError, KafkaError) as exc:  # a rebalance: the new owner redelivers (replays)
                log.warning("ingress commit failed, records will be redelivered: %r", exc)
            await priority.yield_to_requests()

    async def sender_of(self, topic: str) -> tuple[Sender, TopicSpec] | str:
        """Who may have written `topic` (the broker enforced it), or why nobody may."""
        spec = BY_NAME.get(topic)
        if spec is not None:
            return FROM_OPERATOR, spec
        partner, accepts = partner_of(topic) or (None, None)
        if partner is None or accepts is None:
            return f"{topic} is not an ingress topic"
        record = await self.replicas.fresh(lambda: self.partners.get(partner), timeout=5.0)  # added just now?
        if record is None:
            return f"partner {partner} is not registered (removed?)"
        kind = "seller" if record["kind"] == "seller" else "reviews"
        return Sender(kind, partner, record.get("seller_id")), accepts

    async def forward(self, rec: ConsumerRecord) -> Any:
        headers = [(k, v) for k, v in (rec.headers or []) if k == "traceparent"]
        found = await self.sender_of(rec.topic)
        if isinstance(found, str):
            return await self._dead(rec, Reason.UNAUTHORIZED, found, headers)
        sender, accepts = found
        result = validate(rec.value, accepts, rec.key)
        if isinstance(result, Invalid):
            return await self._dead(rec, result.reason, result.detail, headers)
        data = admit(sender, result.event.type, result.data.model_dump(mode="json", exclude_none=True),
                     result.event.id)
        if isinstance(data, Refused):
            reason = Reason.UNAUTHORIZED if data.unauthorized else Reason.SCHEMA_VIOLATION
            return await self._dead(rec, reason, data.detail, headers)
        command = result.event.model_copy(update={
            "data": data, "id": deterministic_id("ingress", rec.topic, result.event.id)})
        headers.append(("ingress-offset", f"{rec.topic}/{rec.partition}/{rec.offset}".encode()))
        if not any(k == "traceparent" for k, _ in headers):
            headers.append(("traceparent", tracing.child_of(None).encode()))
        EVENTS_PROCESSED.labels(STAGE, result.event.type).inc()
        return await self.producer.send(TARGETS[accepts.name].name, result.key.encode(), command.to_json(), headers)

    async def _dead(self, rec: ConsumerRecord, reason: Reason, detail: str, headers: list[tuple[str, bytes]]) -> Any:
        EVENTS_PROCESSED.labels(STAGE, "invalid").inc()
        return await self.producer.deadletter(rec.key, rec.value, reason, detail, rec.topic, rec.partition,
                                              rec.offset, STAGE, headers)
