"""Whole fetched batches for an agent that folds them (installed with agents/faust_patches.py).

Faust hands every record to its agents one at a time (a Message, the conductor, a channel queue, the
stream's iterator, an ack): ~65 us a record here (bench/ratings.py, the bare agent), a ceiling of ~15k
records/s for anything written as a Faust stream. A topic routed here is taken out of each batch where
aiokafka returns it (`divert`, in the patched `_getmany`) and handed to its handler a fetch at a time,
after the other topics' records of that fetch (`hand_over`, in the patched drain loop); its records are
then acknowledged and read as Faust's loop does one by one (the same seek marks, the same gap check).
Faust keeps everything else: the group, the assignment (the topic is still an agent's, so its tables
stay co-partitioned with it), recovery, and the commits (acknowledged offsets only, after the producer
is flushed). tests/unit/agents/test_batch_routes.py drives it on a stand-in for Faust's consumer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from faust.types.tuples import ack_lock
from mode.utils.futures import notify

from gamevault.agents.fetch_marks import fetched_again, rewind

BatchHandler = Callable[[dict[Any, list[Any]]], Awaitable[None]]  # {tp: aiokafka ConsumerRecords}


@dataclass(frozen=True)
class Route:
    handler: BatchHandler
    finish: Callable[[], Awaitable[Any]] | None  # once per fetch, after every handler that shares it


def route_batches(app: Any, topic: str, handler: BatchHandler,
                  finish: Callable[[], Awaitable[Any]] | None = None) -> None:
    """Hand `topic`'s records to `handler` a fetched batch at a time, not one by one to the agent subscribed
    to it (which keeps the topic in the group). Topics that share a `finish` (a flush of what their
    handlers wrote) have it awaited once per fetch, after all of their handlers. What a handler was handed
    is acknowledged once it and its finish have returned, as a Faust agent's event is when the agent moves
    on; when either raises, it is fetched again."""
    app.__dict__.setdefault("gamevault_batch_routes", {})[topic] = Route(handler, finish)


@dataclass
class Diverted:
    """A fetch's records of the routed topics, with what the fetch saw: the seeks before it, the group's
    generation."""

    seeks: int
    generation: int
    records: dict[Any, list[Any]]


def divert(consumer: Any, records: dict, routes: dict[str, Route]) -> None:
    """Take the routed topics' records out of a fetch (the rest goes Faust's way, record by record)."""
    taken = {tp: records.pop(tp) for tp in [tp for tp in records if tp.topic in routes]}
    if taken:
        consumer.gamevault_diverted = Diverted(consumer.gamevault_fetched_at, consumer.app.consumer_generation_id,
                                               taken)


def acknowledge(consumer: Any, tp: Any, records: list[Any]) -> None:
    """Faust's `Consumer.ack` for a partition's records at once."""
    with ack_lock:
        committed = consumer._committed_offset[tp]
        index, acked = consumer._acked_index[tp], consumer._acked[tp]
        fresh = [r.offset for r in records if (committed is None or r.offset >= committed) and r.offset not in index]
        index.update(fresh)
        acked.extend(fresh)
        consumer._n_acked += len(fresh)
    notify(consumer._waiting_for_ack)


async def fetch_again(consumer: Any, fetched: dict[Any, list[Any]]) -> None:
    for tp, records in fetched.items():
        await rewind(consumer, tp, records[0].offset)


async def hand_over(consumer: Any, moved: dict) -> None:
    """The records diverted from the last fetch to their handlers, then read and acknowledged."""
    batch, consumer.gamevault_diverted = consumer.gamevault_diverted, None
    if batch.generation != consumer.app.consumer_generation_id or not consumer.flow_active:
        return  # a rebalance since the fetch: recovery seeks what stays assigned back to its commit
    read_offset, routes = consumer._read_offset, consumer.app.gamevault_batch_routes
    by_topic: dict[str, dict[Any, list[Any]]] = defaultdict(dict)
    for tp, records in batch.records.items():
        if moved.get(tp, 0) > batch.seeks:
            continue  # fetched before a seek moved its partition: fetched again
        r_offset = read_offset[tp]
        if r_offset is not None and records[0].offset < r_offset:
            records = [r for r in records if r.offset >= r_offset]  # read already (Faust drops them too)
            if not records:
                continue
        first = records[0].offset
        if (first - (r_offset or 0) > 1 and r_offset and consumer.app.topics.acks_enabled_for(tp.topic)
                and await fetched_again(consumer, tp, r_offset, first)):
            continue
        by_topic[tp.topic][tp] = records
    handled: dict[str, dict[Any, list[Any]]] = {}
    finishes: dict[Callable[[], Awaitable[Any]], list[str]] = {}
    for topic, fetched in by_topic.items():
        route = routes[topic]
        try:
            await route.handler(fetched)
        except Exception:  # nothing lost (handlers are idempotent): the batch is fetched again
            consumer.log.exception("batch handler for %s raised: its records are fetched again", topic)
            await fetch_again(consumer, fetched)
            continue
        handled[topic] = fetched
        if route.finish is not None:
            finishes.setdefault(route.finish, []).append(topic)
    for finish, topics in finishes.items():
        try:
            await finish()
        except Exception:
            consumer.log.exception("finishing the batches of %s raised: their records are fetched again", topics)
            for topic in topics:
                await fetch_again(consumer, handled.pop(topic))
    for fetched in handled.values():
        for tp, records in fetched.items():
            if moved.get(tp, 0) > batch.seeks:
                continue  # moved while handled: fetched again (handlers are idempotent)
            consumer.app.monitor.track_tp_end_offset(tp, consumer.highwater(tp))
            read_offset[tp] = records[-1].offset
            acknowledge(consumer, tp, records)
    if consumer._commit_every is not None and consumer._n_acked >= consumer._commit_every:
        consumer._n_acked = 0
        await consumer.commit()
