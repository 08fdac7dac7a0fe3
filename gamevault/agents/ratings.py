"""CP's rating stream table, fed by CR's review events.

Faust hands records to an agent one at a time, at a fixed cost per record that caps any per-event Faust
stream at ~15k records/s (bench/ratings.py). So the consumer hands this agent whole fetched batches
(agents/batch_routes.py: the topic stays the agent's, its table co-partitioned with it),
and the agent folds a batch in memory (domain/ratings.py). It then writes, into the product's changelog
partition, the batch's aggregates first and its votes second: the order that makes a crash at any point
recoverable by replay. Each vote is a small record of its own, so a write never grows with a product's
popularity. Last, the per-product projection the read side replicates, and one RatingChanged event per
touched product per batch. All of it goes out as one record batch per partition (tables/bulk.py), not as
a Faust send per record. The agent's own stream (`take_events`) folds the same way when the topic is not
routed (bench/levers.py "batches").
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from gamevault.agents import batch_routes
from gamevault.agents.app import raw_topic
from gamevault.agents.services import AgentServices
from gamevault.domain import ratings
from gamevault.metrics import EVENTS_PROCESSED
from gamevault.streams.contracts.catalog import RatingChanged
from gamevault.streams.envelope import new_event, utcnow
from gamevault.streams.topics import CATALOG_EVENTS, REVIEWS_EVENTS
from gamevault.tables.bulk import BulkWriter

log = logging.getLogger(__name__)
SOURCE = "/gamevault/catalog"
CHANGED = RatingChanged.event_type
BATCH, WITHIN_S = 2000, 0.05
RELEVANT = (ratings.APPROVED.encode(), ratings.RETRACTED.encode())


def install(services: AgentServices) -> None:
    app = services.app
    writer = BulkWriter(app)
    table, totals_table = services.tables.ratings, services.tables.rating_totals

    async def aggregate(stream: Any) -> None:  # Faust's way, when the topic is not routed
        async for batch in stream.take_events(BATCH, within=WITHIN_S):
            await aggregate_records([event.message for event in batch])

    async def aggregate_fetched(fetched: dict[Any, list[Any]]) -> None:  # the consumer's batches, routed
        await aggregate_records([record for records in fetched.values() for record in records])

    async def aggregate_records(records: list[Any]) -> None:
        try:
            await fold(records)
        except Exception:  # a crashed Faust agent stops for good: log loudly and keep aggregating
            log.exception("ratings: a batch of %d review events failed", len(records))
        EVENTS_PROCESSED.labels("ratings", "batch").inc(len(records))

    async def fold(records: list[Any]) -> None:
        """Records (Faust messages or aiokafka's: value, partition, offset) -> the table's writes."""
        events, last_event = [], {}  # the fold's input; a record of each product (its partition)
        for msg in records:
            if not any(kind in msg.value for kind in RELEVANT):  # submitted / rejected: no rating change
                continue
            try:
                doc = orjson.loads(msg.value)
                kind, data = doc["type"], doc["data"]
                pid, rid, version = data["product_id"], data["review_id"], int(data["review_version"])
            except (ValueError, KeyError, TypeError):
                log.warning("ratings: undecodable review event at %s/%s", msg.partition, msg.offset)
                continue
            if kind in (ratings.APPROVED, ratings.RETRACTED):
                events.append((pid, rid, kind, data.get("rating"), version, msg.offset))
                last_event[pid] = msg
        aggregates, votes = ratings.fold(events, table.get)
        # a product's records go to its partition (that of its events, as Faust places table writes),
        # the aggregates before the votes: see the domain
        for pid, aggregate in aggregates.items():
            writer.set(table, pid, aggregate, last_event[pid].partition)
        for key, vote in votes.items():
            writer.set(table, key, vote, last_event[ratings.product_of(key)].partition)
        for pid, aggregate in aggregates.items():
            shown = ratings.public(aggregate)
            writer.set(totals_table, pid, {**shown, "version": aggregate["offset"]}, last_event[pid].partition)
            changed = new_event(CHANGED, SOURCE, shown, subject=pid, time=utcnow())
            writer.send(CATALOG_EVENTS.name, CATALOG_EVENTS.partitions, pid.encode(), changed.to_json())
        await writer.flush()

    aggregate.__name__ = aggregate.__qualname__ = "ratings_agent"
    app.agent(raw_topic(app, REVIEWS_EVENTS), name="ratings")(aggregate)
    batch_routes.route_batches(app, REVIEWS_EVENTS.name, aggregate_fetched)
