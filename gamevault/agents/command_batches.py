"""A command agent's records a fetched batch at a time, its outputs sent as one record batch per partition.

Through Faust's stream, each command costs a hand-off (a Message, the conductor, a channel queue, the
stream's iterator, an ack), a Faust table write (a FutureMessage through its producer buffer) and a
producer send per output (an aiokafka future, a small produce request when the saga is not busy). Here
the consumer hands the agent each fetch of its topic (agents/batch_routes.py); the
dispatcher decides the records one after another, as the stream would, and what they write and send
is collected (tables/bulk.py), with what the app's other command agents handle from the same fetch, and
flushed once per fetch: the state first, on the broker before any event, command or reply it caused is
sent. That is the order `runtime.apply` promises (a crash in between replays the record, and the domain
re-emits the same outputs); Faust's table buffer does not keep it. The records are acknowledged after
the flush, and committed by Faust after its producer flush.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from gamevault.agents import batch_routes
from gamevault.agents.app import raw_topic
from gamevault.agents.runtime import Dispatcher, Producer, stream_agent
from gamevault.streams.topics import partition_of, topic
from gamevault.tables.bulk import BulkWriter, writing


class _Sent:
    """What a collected send returns in place of a delivery future (nothing waits for it: the flush does)."""

    def __await__(self) -> Any:
        return iter(())


SENT = _Sent()


class CollectingProducer(Producer):
    """The runtime's producer for a batch: each send joins the batch's writer, placed as Kafka's default
    partitioner would place it (a record without a key: any partition, as aiokafka's)."""

    def __init__(self, app: Any, writer: BulkWriter) -> None:
        super().__init__(app)
        self.writer = writer

    async def send(self, topic_name: str, key: bytes | None, value: bytes | None,
                   headers: list[tuple[str, bytes]] | None = None, partition: int | None = None) -> Any:
        if partition is None:
            partitions = topic(topic_name).partitions
            partition = partition_of(key, partitions) if key is not None else random.randrange(partitions)
        self.writer.send_to(topic_name, partition, key, value, headers)
        return SENT


@dataclass(frozen=True)
class Collector:
    """What every command agent of an app writes and sends while a fetch is handed over, flushed once
    after all of them (one record batch per partition per fetch, whichever agents wrote it)."""

    writer: BulkWriter
    producer: CollectingProducer

    async def flush(self) -> None:
        await self.writer.flush(state_first=True)


def collector(app: Any) -> Collector:
    found = app.__dict__.get("gamevault_collector")
    if found is None:
        writer = BulkWriter(app)
        found = app.__dict__["gamevault_collector"] = Collector(writer, CollectingProducer(app, writer))
    return found


def command_agent(app: Any, dispatcher: Dispatcher) -> None:
    """The dispatcher's agent on its topic (the subscription, and Faust's stream path), and the batch
    route that hands it the topic's fetches instead."""
    app.agent(raw_topic(app, dispatcher.spec), name=dispatcher.name)(stream_agent(dispatcher))
    collected = collector(app)

    async def handle_fetched(fetched: dict[Any, list[Any]]) -> None:
        for records in fetched.values():
            for record in records:
                with writing(collected.writer, record.partition):
                    await dispatcher.handle_record(record, collected.producer)

    handle_fetched.__qualname__ = f"{dispatcher.name}_batches"
    batch_routes.route_batches(app, dispatcher.spec.name, handle_fetched, finish=collected.flush)
