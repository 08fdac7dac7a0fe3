"""Partners: outside teams that write to GameVault through Kafka, each an identity with a scope.

Adding one creates its SCRAM user, its one topic (`gamevault.partners.<name>.<catalog|reviews>`), the ACL
that lets it write that topic and nothing else (acls.py), and its record in the partners registry, which
tells every worker's ingress whose records arrive on that topic (agents/ingress.py). Removing one deletes
its user (new connections fail at once; open ones at their next re-authentication), its ACLs and its
record; its topic stays until retention empties it.

Why a topic per partner and not a signed record on a shared topic: the broker then vouches for the
sender, so any Kafka client works unchanged (kcat, Kafka Connect, the Java clients) and no key has to be
shared with, or rotated by, the partner. Synchronous (kafka-python): the CLI calls it directly, the API
from a thread.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pydantic import ValidationError

from gamevault.broker import acls
from gamevault.broker.admin import admin_client, ensure_topics
from gamevault.config import Settings
from gamevault.kafka_access import OPERATOR, SCRAM_MECHANISM, KafkaAccess
from gamevault.streams.contracts.partners import MODULE_OF, PartnerRecord
from gamevault.streams.envelope import utcnow
from gamevault.streams.topics import PARTNERS_TABLE, partner_topic

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$")
PRINCIPAL_PREFIX = "partner-"


class PartnerError(ValueError):
    """A partner that cannot be added or removed as asked (bad name, taken, unknown)."""


class PartnerExists(PartnerError):
    pass


def principal_of(name: str) -> str:
    return PRINCIPAL_PREFIX + name


def describe(record: PartnerRecord, access: KafkaAccess | None = None) -> dict[str, Any]:
    """What `partners add` prints (and the API answers): with `access`, the partner's client settings."""
    out: dict[str, Any] = {"name": record.name, "kind": record.kind}
    if record.seller_id is not None:
        out["seller_id"] = record.seller_id
    if access is not None:
        out["kafka"] = access.kafka_python()
    out["topics"] = [record.topic]
    return out


class Partners:
    """`operator` may alter the cluster (users, ACLs); `platform` writes and reads the registry."""

    def __init__(self, operator: KafkaAccess, platform: KafkaAccess) -> None:
        self.operator = operator
        self.platform = platform

    @classmethod
    def of(cls, settings: Settings) -> Partners:
        return cls(settings.kafka_as(OPERATOR), settings.kafka)

    def add(self, name: str, kind: str, seller_id: str | None = None, created_by: str = "operator"
            ) -> tuple[PartnerRecord, KafkaAccess]:
        """Create the partner; returns its record and its client access (the password is shown once)."""
        if not NAME.match(name):
            raise PartnerError(f"partner name {name!r}: 3-32 characters of a-z, 0-9 and '-', starting and "
                               "ending with a letter or digit")
        if (kind == "seller") != (seller_id is not None):
            raise PartnerError("a seller integration names its seller; a review channel names none")
        if not self.platform.sasl:
            raise PartnerError(f"partners authenticate with SCRAM: the cluster is reached over "
                               f"{self.platform.security_protocol}, not SASL_PLAINTEXT or SASL_SSL")
        if self.get(name) is not None:
            raise PartnerExists(f"partner {name} already exists")
        spec = partner_topic(name, MODULE_OF[kind])
        try:
            record = PartnerRecord(name=name, kind=kind, seller_id=seller_id, principal=principal_of(name),
                                   topic=spec.name, created_at=utcnow(), created_by=created_by)
        except ValidationError as exc:
            raise PartnerError(str(exc)) from None
        password = secrets.token_urlsafe(32)
        ensure_topics(self.platform, [spec])
        admin = admin_client(self.operator)
        try:
            acls.set_password(admin, record.principal, password)
            acls.grant(admin, acls.partner_acls(record.principal, spec.name))
        finally:
            admin.close()
        self._write(name, record.model_dump_json().encode())
        return record, self.platform.as_user(record.principal, password, SCRAM_MECHANISM)

    def remove(self, name: str) -> bool:
        record = self.get(name)
        if record is None:
            return False
        admin = admin_client(self.operator)
        try:
            acls.delete_user(admin, record.principal)
            acls.revoke(admin, record.principal)
        finally:
            admin.close()
        self._write(name, None)
        return True

    def get(self, name: str) -> PartnerRecord | None:
        return self.all().get(name)

    def list(self) -> list[PartnerRecord]:
        return sorted(self.all().values(), key=lambda r: r.name)

    # ---- the registry topic ---------------------------------------------------------------------
    def all(self) -> dict[str, PartnerRecord]:
        """Read the compacted registry to its end (a few records per partner)."""
        consumer = KafkaConsumer(**self.platform.kafka_python(), group_id=None, enable_auto_commit=False,
                                 client_id="gamevault-partners")
        try:
            tps = [TopicPartition(PARTNERS_TABLE.name, p) for p in range(PARTNERS_TABLE.partitions)]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            ends = consumer.end_offsets(tps)
            records: dict[str, PartnerRecord] = {}
            while any(consumer.position(tp) < ends[tp] for tp in tps):
                for batch in consumer.poll(timeout_ms=1000).values():
                    for rec in batch:
                        key = rec.key.decode()
                        if rec.value is None:
                            records.pop(key, None)
                        else:
                            records[key] = PartnerRecord.model_validate(orjson.loads(rec.value))
            return records
        finally:
            consumer.close()

    def _write(self, name: str, value: bytes | None) -> None:
        producer = KafkaProducer(**self.platform.kafka_python(), acks="all", client_id="gamevault-partners")
        try:
            producer.send(PARTNERS_TABLE.name, key=name.encode(), value=value).get(timeout=30)
        finally:
            producer.close()
