"""CP's rating stream table, fed by CR's review events.

Faust processes records one at a time with a fixed cost per record (measured in bench/ratings.py), so
this agent takes them in batches (`take_events`), applies a batch to the vote shards in memory, and
writes each touched shard once per batch, under an event of its own product (so the changelog
partition is the product's). One RatingChanged event per touched product per batch.
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
from gamevault.streams.envelope import new_event, utcnow
from gamevault.streams.topics import CATALOG_EVENTS, REVIEWS_EVENTS

log = logging.getLogger(__name__)
SOURCE = "/gamevault/catalog"
CHANGED = "gamevault.catalog.rating.changed"
BATCH, WITHIN_S = 2000, 0.05
RELEVANT = (ratings.APPROVED.encode(), ratings.RETRACTED.encode())


def install(services: Any) -> None:
    app, producer = services.app, services.producer
    table, totals_table = services.tables.ratings, services.tables.rating_totals
    totals: dict[str, dict] = {}  # product -> its rating: a cache of the shard sums, checked on first touch

    async def aggregate(stream: Any) -> None:
        async for batch in stream.take_events(BATCH, within=WITHIN_S):
            try:
                await aggregate_batch(batch)
            except Exception:  # a crashed Faust agent stops for good: log loudly and keep aggregating
                log.exception("ratings: a batch of %d review events failed", len(batch))
            EVENTS_PROCESSED.labels("ratings", "batch").inc(len(batch))

    async def aggregate_batch(batch: list[Any]) -> None:
        touched: dict[str, tuple[dict, Any]] = {}  # shard key -> (record, an event of its product)
        for event in batch:
            raw = event.message.value
            if not any(kind in raw for kind in RELEVANT):  # submitted / rejected: not a rating change
                continue
            try:
                doc = orjson.loads(raw)
                kind, data = doc["type"], doc["data"]
                pid, rid, version = data["product_id"], data["review_id"], data["review_version"]
            except (ValueError, KeyError, TypeError):
                log.warning("ratings: undecodable review event at %s/%s", event.message.partition,
                            event.message.offset)
                continue
            if kind not in (ratings.APPROVED, ratings.RETRACTED):
                continue
            key = ratings.shard_key(pid, rid)
            record = touched[key][0] if key in touched else ratings.copy(table.get(key) or ratings.empty(pid, key))
            ratings.apply(record, kind, rid, data.get("rating"), version)
            touched[key] = (record, event)
        products: dict[str, Any] = {}
        for key, (record, event) in touched.items():
            pid = record["product_id"]
            if pid not in totals:  # first touch since start: sum the authoritative shards
                totals[pid] = ratings.total(pid, (table.get(f"{pid}#{n:02d}") for n in range(ratings.SHARDS)))
            ratings.add(totals[pid], table.get(key), -1)  # the shard's old sums out, the new ones in
            ratings.add(totals[pid], record, 1)
            token = _current_event.set(weakref.ref(event))  # the changelog partition: this product's
            try:
                record["version"] += 1
                table[key] = record  # one record, one write: a shard's votes and sums never disagree
            finally:
                _current_event.reset(token)
            products[pid] = event
        for pid, event in products.items():
            token = _current_event.set(weakref.ref(event))
            try:
                totals_table[pid] = {**totals[pid], "version": (totals_table.get(pid) or {}).get("version", 0) + 1}
            finally:
                _current_event.reset(token)
            changed = new_event(CHANGED, SOURCE, ratings.public(totals[pid]), subject=pid, time=utcnow())
            await producer.send(CATALOG_EVENTS.name, pid.encode(), changed.to_json())

    aggregate.__name__ = aggregate.__qualname__ = "ratings_agent"
    app.agent(raw_topic(app, REVIEWS_EVENTS), name="ratings")(aggregate)
