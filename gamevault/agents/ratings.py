"""CP's rating stream table, fed by CR's review events.

Faust processes records one at a time with a fixed cost per record (measured in bench/ratings.py), so
this agent takes them in batches (`take_events`), aggregates a batch per product in memory, and writes
each touched product's aggregate and votes once per batch, under that product's own event (so the
changelog partition is the product's). One RatingChanged event per product per batch.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import orjson
from faust.streams import _current_event

from gamevault.agents.app import raw_topic
from gamevault.domain import ratings
from gamevault.metrics import EVENTS_PROCESSED
from gamevault.streams.envelope import deterministic_id, new_event, utcnow
from gamevault.streams.topics import CATALOG_EVENTS, REVIEWS_EVENTS

log = logging.getLogger(__name__)
SOURCE = "/gamevault/catalog"
CHANGED = "gamevault.catalog.rating.changed"
BATCH, WITHIN_S = 2000, 0.05
RELEVANT = (ratings.APPROVED.encode(), ratings.RETRACTED.encode())


def install(services: Any) -> None:
    app, producer = services.app, services.producer
    table = services.tables.ratings

    async def aggregate(stream: Any) -> None:
        async for batch in stream.take_events(BATCH, within=WITHIN_S):
            try:
                await aggregate_batch(batch)
            except Exception:  # a crashed Faust agent stops for good: log loudly and keep aggregating
                log.exception("ratings: a batch of %d review events failed", len(batch))
            EVENTS_PROCESSED.labels("ratings", "batch").inc(len(batch))

    async def aggregate_batch(batch: list[Any]) -> None:
        touched: dict[str, tuple[dict, Any]] = {}
        for event in batch:
            raw = event.message.value
            if not any(kind in raw for kind in RELEVANT):  # submitted / rejected: not a rating change
                continue
            try:
                doc = orjson.loads(raw)
                kind, data, event_id = doc["type"], doc["data"], doc["id"]
                pid = data["product_id"]
            except (ValueError, KeyError, TypeError):
                log.warning("ratings: undecodable review event at %s/%s", event.message.partition,
                            event.message.offset)
                continue
            if kind not in (ratings.APPROVED, ratings.RETRACTED):
                continue
            if pid in touched:
                aggregate_, _ = touched[pid]
            else:
                aggregate_ = ratings.copy(table.get(pid) or ratings.empty(pid))
            ratings.apply(aggregate_, aggregate_["votes"], kind, data["review_id"], data.get("rating"), event_id)
            touched[pid] = (aggregate_, event)
        for pid, (aggregate_, event) in touched.items():
            token = _current_event.set(weakref.ref(event))  # the changelog partition: this product's
            try:
                aggregate_["version"] += 1
                table[pid] = aggregate_  # one record, one changelog write: votes and sums never disagree
            finally:
                _current_event.reset(token)
            changed = new_event(CHANGED, SOURCE, ratings.public(aggregate_), subject=pid,
                                event_id=deterministic_id(CHANGED, pid, str(aggregate_["version"])),
                                time=utcnow())
            await producer.send(CATALOG_EVENTS.name, pid.encode(), changed.to_json())

    aggregate.__name__ = aggregate.__qualname__ = "ratings_agent"
    app.agent(raw_topic(app, REVIEWS_EVENTS), name="ratings")(aggregate)
