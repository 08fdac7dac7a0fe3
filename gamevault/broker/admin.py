"""Creating the catalogue's topics on any cluster, idempotently."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from gamevault.kafka_access import KafkaAccess
from gamevault.streams.topics import CATALOGUE, TopicSpec


class TopicMismatch(RuntimeError):
    """A topic exists with a partition count other than the catalogue's."""


@dataclass(frozen=True)
class TopicsReport:
    created: list[str]
    existing: list[str]
    replication: int


def admin_client(access: KafkaAccess, timeout_s: float = 30.0) -> KafkaAdminClient:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return KafkaAdminClient(**access.kafka_python(), client_id="gamevault-admin", request_timeout_ms=15000)
        except (KafkaError, OSError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kafka at {access.describe()} is not reachable: {exc}") from exc
            time.sleep(0.5)


def ensure_topics(
    access: KafkaAccess,
    specs: Iterable[TopicSpec] = CATALOGUE,
    echo: Callable[[str], None] | None = None,
) -> TopicsReport:
    """Create missing topics with their declared settings; check existing ones' partition counts.

    The replication factor and min.insync.replicas are clamped to the number of brokers, so the same
    catalogue serves a one-node dev broker and a production cluster.
    """
    specs = list(specs)
    admin = admin_client(access)
    try:
        brokers = len(admin.describe_cluster()["brokers"])
        existing = set(admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        replication = max(1, min(3, brokers))
        if missing:
            new = [
                NewTopic(
                    s.name, s.partitions, min(s.replication_factor, replication),
                    topic_configs=s.config(min(s.replication_factor, replication)),
                )
                for s in missing
            ]
            try:
                admin.create_topics(new, validate_only=False)
            except TopicAlreadyExistsError:
                pass  # raced with another creator: fine, checked below
        _check_partitions(admin, [s for s in specs if s.name in existing])
        if echo:
            for s in missing:
                echo(f"created  {s.name}  partitions={s.partitions} "
                     f"rf={min(s.replication_factor, replication)} "
                     f"cleanup={'compact' if s.compacted else 'delete'}")
            echo(f"{len(missing)} created, {len(specs) - len(missing)} already present "
                 f"({brokers} broker{'s' if brokers != 1 else ''})")
        _wait_for_leaders(admin, [s.name for s in missing])
        return TopicsReport([s.name for s in missing], sorted(existing & {s.name for s in specs}), replication)
    finally:
        admin.close()


def _check_partitions(admin: KafkaAdminClient, specs: list[TopicSpec]) -> None:
    if not specs:
        return
    described = {_name(d): len(d["partitions"]) for d in admin.describe_topics([s.name for s in specs])}
    wrong = [f"{s.name} has {described.get(s.name)} partitions, the catalogue says {s.partitions}"
             for s in specs if described.get(s.name) != s.partitions]
    if wrong:
        raise TopicMismatch(
            "Topics exist with the wrong partition count (tables need co-partitioned topics; "
            "recreate them or migrate): " + "; ".join(wrong)
        )


def _wait_for_leaders(admin: KafkaAdminClient, names: list[str], timeout_s: float = 30.0) -> None:
    """New topics are usable only once every partition has a leader."""
    deadline = time.monotonic() + timeout_s
    pending = list(names)
    while pending and time.monotonic() < deadline:
        described = admin.describe_topics(pending)
        pending = [
            _name(d) for d in described
            if d.get("error_code") or not d["partitions"] or any(_leader(p) < 0 for p in d["partitions"])
        ]
        if pending:
            time.sleep(0.2)


def _name(described: dict) -> str:  # kafka-python 3 says "name", 2.x said "topic"
    return described.get("name") or described["topic"]


def _leader(partition: dict) -> int:
    return partition.get("leader_id", partition.get("leader", -1))


def metadata_ok(access: KafkaAccess, timeout_s: float = 3.0) -> bool:
    """True when the broker answers a metadata request (not just an open port)."""
    try:
        admin = KafkaAdminClient(**access.kafka_python(), request_timeout_ms=int(timeout_s * 1000),
                                 client_id="gamevault-probe")
    except (KafkaError, OSError, ValueError):
        return False
    try:
        return bool(admin.describe_cluster().get("brokers"))
    except (KafkaError, OSError, ValueError):
        return False
    finally:
        admin.close()
