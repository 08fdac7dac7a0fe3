"""Dead letters an operator can act on: list them with their reason and origin, send them back once.

A dead letter carries its reason and the coordinates of the record that was refused (`dlq.source.*`).
Replaying sends that *original* record (read back from its source topic: an agent's refusal stores the
forwarded command, not what the producer sent) to its source topic, with a `gamevault-replay-of` header;
each replay is recorded on `gamevault.internal.deadletter-replays`, so the same dead letter is sent back
once however often it is replayed. Synchronous (kafka-python): the CLI runs it as the operator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from gamevault.kafka_access import KafkaAccess
from gamevault.streams.topics import DEADLETTER, DEADLETTER_REPLAYS


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]
    timestamp_ms: int

    @property
    def id(self) -> str:
        return f"{DEADLETTER.name}/{self.partition}/{self.offset}"

    @property
    def reason(self) -> str:
        return self.headers.get("dlq.reason", "")

    @property
    def source(self) -> tuple[str, int, int] | None:
        try:
            return (self.headers["dlq.source.topic"], int(self.headers["dlq.source.partition"]),
                    int(self.headers["dlq.source.offset"]))
        except (KeyError, ValueError):
            return None

    def as_dict(self) -> dict[str, object]:
        source = self.source
        return {"id": self.id, "reason": self.reason, "detail": self.headers.get("dlq.detail", ""),
                "source": {"topic": source[0], "partition": source[1], "offset": source[2]} if source else None,
                "stage": self.headers.get("dlq.stage"), "at": self.headers.get("dlq.at"),
                "key": self.key.decode(errors="replace") if self.key is not None else None,
                "value": self.value.decode(errors="replace") if self.value is not None else None}


class DeadLetters:
    def __init__(self, access: KafkaAccess) -> None:
        self.access = access

    def _consumer(self) -> KafkaConsumer:
        return KafkaConsumer(**self.access.kafka_python(), group_id=None, enable_auto_commit=False,
                             client_id="gamevault-deadletters")

    def _read(self, tps: list[TopicPartition], since: datetime | None = None) -> Iterator:
        consumer = self._consumer()
        try:
            consumer.assign(tps)
            ends = consumer.end_offsets(tps)
            if since is not None:
                found = consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
                for tp in tps:
                    consumer.seek(tp, found[tp].offset if found.get(tp) else ends[tp])
            else:
                consumer.seek_to_beginning(*tps)
            while any(consumer.position(tp) < ends[tp] for tp in tps):
                for records in consumer.poll(timeout_ms=1000).values():
                    yield from (r for r in records if r.offset < ends[TopicPartition(r.topic, r.partition)])
        finally:
            consumer.close()

    def list(self, reason: str | None = None, topic: str | None = None, since: datetime | None = None,
             limit: int | None = None) -> list[DeadLetter]:
        tps = [TopicPartition(DEADLETTER.name, p) for p in range(DEADLETTER.partitions)]
        out = []
        for rec in self._read(tps, since):
            letter = DeadLetter(rec.partition, rec.offset, rec.key, rec.value,
                                {k: v.decode(errors="replace") for k, v in rec.headers or []}, rec.timestamp)
            if (reason is None or letter.reason == reason) and \
                    (topic is None or (letter.source or ("",))[0] == topic):
                out.append(letter)
        out.sort(key=lambda d: (d.timestamp_ms, d.partition, d.offset))
        return out[:limit] if limit else out

    def replayed(self) -> set[str]:
        tps = [TopicPartition(DEADLETTER_REPLAYS.name, p) for p in range(DEADLETTER_REPLAYS.partitions)]
        return {rec.key.decode() for rec in self._read(tps) if rec.key}

    def original(self, source: tuple[str, int, int]) -> tuple[bytes | None, bytes | None] | None:
        """The refused record as its producer sent it (None once retention removed it)."""
        topic, partition, offset = source
        consumer = self._consumer()
        try:
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, offset)
            for _ in range(10):
                for records in consumer.poll(timeout_ms=1000).values():
                    for rec in records:
                        if rec.offset == offset:
                            return rec.key, rec.value
                        if rec.offset > offset:
                            return None
            return None
        finally:
            consumer.close()

    def replay(self, letters: list[DeadLetter]) -> list[tuple[DeadLetter, str]]:
        """Send each original back to its source topic, once; -> (letter, what happened) per letter."""
        done = self.replayed()
        producer = KafkaProducer(**self.access.kafka_python(), acks="all", client_id="gamevault-deadletters")
        outcome = []
        try:
            for letter in letters:
                source = letter.source
                if letter.id in done:
                    outcome.append((letter, "already replayed"))
                    continue
                original = self.original(source) if source else None
                if source is None or original is None:
                    outcome.append((letter, "its original record is gone (retention) or unknown"))
                    continue
                key, value = original
                producer.send(source[0], key=key, value=value,
                              headers=[("gamevault-replay-of", letter.id.encode())]).get(timeout=30)
                producer.send(DEADLETTER_REPLAYS.name, key=letter.id.encode(), value=source[0].encode()).get(30)
                done.add(letter.id)
                outcome.append((letter, f"sent back to {source[0]}"))
        finally:
            producer.close()
        return outcome
