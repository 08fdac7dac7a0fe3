"""The topic catalogue: every topic GameVault uses is declared here, once.

Faust topics, changelog tables, the admin command (`gamevault topics create`), the AsyncAPI
document and the warehouse sink all read this list; nothing else spells a topic name.

All keyed topics share one partition count so that a table's changelog is co-partitioned with the
commands that write it (Faust refuses mismatches with `PartitionsMismatch`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from aiokafka.partitioner import murmur2

PARTITIONS = 8
DAY_MS = 24 * 3600 * 1000


class Kind(StrEnum):
    EVENTS = "events"  # public domain events, one topic per module
    INGRESS = "ingress"  # commands from producers outside the platform, validated
    DEADLETTER = "deadletter"
    COMMANDS = "commands"  # internal, trusted commands and saga replies to one module
    REPLIES = "replies"  # internal request/reply answers to the worker that asked
    CHANGELOG = "changelog"  # Faust table changelogs: compacted, the system of record for state
    REGISTRY = "registry"  # compacted, small, written outside the agents (the partners)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    kind: Kind
    description: str
    key: str
    partitions: int = PARTITIONS
    replication_factor: int = 3  # clamped to the cluster's broker count at creation
    min_insync_replicas: int = 2  # clamped likewise
    retention_ms: int = 30 * DAY_MS  # -1: forever
    module: str | None = None

    @property
    def compacted(self) -> bool:
        return self.kind in (Kind.CHANGELOG, Kind.REGISTRY)

    @property
    def public(self) -> bool:
        return self.kind in (Kind.EVENTS, Kind.INGRESS, Kind.DEADLETTER)

    def config(self, replication: int) -> dict[str, str]:
        cfg = {
            "cleanup.policy": "compact" if self.compacted else "delete",
            "retention.ms": str(-1 if self.compacted else self.retention_ms),
            "min.insync.replicas": str(max(1, min(self.min_insync_replicas, replication - 1 or 1))),
        }
        if self.compacted:
            cfg.update({"min.cleanable.dirty.ratio": "0.2", "segment.ms": str(DAY_MS)})
        return cfg


def _events(module: str, code: str, what: str, key: str) -> TopicSpec:
    return TopicSpec(
        f"gamevault.{module}.events", Kind.EVENTS, f"{code}: {what}", key=key, module=module,
        retention_ms=90 * DAY_MS,
    )


def _commands(module: str, what: str, key: str) -> TopicSpec:
    return TopicSpec(
        f"gamevault.internal.{module}.commands", Kind.COMMANDS, what, key=key, module=module,
        retention_ms=7 * DAY_MS,
    )


def _changelog(table: str, what: str, key: str) -> TopicSpec:
    return TopicSpec(f"gamevault.internal.{table}.changelog", Kind.CHANGELOG, what, key=key)


# ---- public domain events ------------------------------------------------------------------
USERS_EVENTS = _events("users", "GU", "accounts registered, roles", "user id")
CATALOG_EVENTS = _events("catalog", "CP", "products created and changed, stock, ratings", "product id")
ORDERS_EVENTS = _events("orders", "CCP", "carts and every order saga transition", "order id (cart: buyer id)")
PAYMENTS_EVENTS = _events("payments", "SP", "payment attempts, captures, refunds, voids", "order id")
LOGISTICS_EVENTS = _events("logistics", "LE", "shipments created, delivered, failed", "order id")
REVIEWS_EVENTS = _events(
    "reviews", "CR", "reviews submitted, moderated, edited, retracted",
    "product id (a product's review thread is CR's aggregate; see README)",
)

# ---- ingress for producers outside the platform ------------------------------------------
CATALOG_INGRESS = TopicSpec(
    "gamevault.catalog.commands", Kind.INGRESS,
    "Product upserts and stock updates from seller integrations (validated; invalid -> dead letter)",
    key="product id", module="catalog", retention_ms=7 * DAY_MS,
)
REVIEWS_INGRESS = TopicSpec(
    "gamevault.reviews.commands", Kind.INGRESS,
    "Reviews from partner channels (validated, verified purchase; invalid -> dead letter)",
    key="product id", module="reviews", retention_ms=7 * DAY_MS,
)
DEADLETTER = TopicSpec(
    "gamevault.deadletter", Kind.DEADLETTER,
    "Records that could not be processed, unchanged, with the reason in the dlq.* headers",
    key="the original key", partitions=4,
)

# ---- internal: commands, replies, changelogs --------------------------------------------
USERS_COMMANDS = _commands("users", "GU commands (register)", "email")
CATALOG_COMMANDS = _commands("catalog", "CP commands: product writes, stock, reservations", "product id")
ORDERS_COMMANDS = _commands("orders", "CCP commands and saga replies", "order id (cart: buyer id)")
PAYMENTS_COMMANDS = _commands("payments", "SP commands and stored gateway webhooks", "order id")
LOGISTICS_COMMANDS = _commands("logistics", "LE commands and carrier callbacks", "order id")
REVIEWS_COMMANDS = _commands("reviews", "CR commands: submit, moderate, edit, retract", "product id")
REPLIES = TopicSpec(
    "gamevault.internal.replies", Kind.REPLIES,
    "Answers to request/reply commands; a worker reads only its own partition",
    key="correlation id", retention_ms=3600 * 1000,
)

USERS_TABLE = _changelog("users", "GU accounts by email (with the password hash; never public)", "email")
PRODUCTS_TABLE = _changelog("products", "CP products with available stock", "product id")
RESERVATIONS_TABLE = _changelog("reservations", "CP stock held for orders", "product id|order id")
RATINGS_TABLE = _changelog("ratings", "CP rating stream table: each review's vote and each product's aggregate",
                           "product id|review id (a vote) or product id (the aggregate)")
RATING_TOTALS_TABLE = _changelog("rating-totals", "CP rating per product, as the read side serves it", "product id")
CARTS_TABLE = _changelog("carts", "CCP carts", "buyer id")
ORDERS_TABLE = _changelog("orders", "CCP order sagas", "order id")
PAYMENTS_TABLE = _changelog("payments", "SP payments", "order id")
SHIPMENTS_TABLE = _changelog("shipments", "LE shipments", "order id")
REVIEWS_TABLE = _changelog("reviews", "CR reviews", "review id")
REVIEW_AUTHORS_TABLE = _changelog("review-authors", "CR one review per buyer and product", "product|buyer")
COMMENTS_TABLE = _changelog("comments", "CR comments on reviews, moderated like reviews", "comment id")
VOTES_TABLE = _changelog("votes", "CR helpful votes: each voter's vote and each review's count (a stream table)",
                         "review id|voter id (a vote) or review id (the count)")
PARTNERS_TABLE = TopicSpec(
    "gamevault.internal.partners.changelog", Kind.REGISTRY,
    "The partners registry: each partner's kind, seller and topic (written by `gamevault partners` and the API)",
    key="partner name", partitions=1,
)

DEADLETTER_REPLAYS = TopicSpec(
    "gamevault.internal.deadletter-replays", Kind.REGISTRY,
    "Which dead letters `gamevault deadletter replay` sent back (so a replay happens once)",
    key="dead letter partition/offset", partitions=1,
)

CATALOGUE: tuple[TopicSpec, ...] = (
    USERS_EVENTS, CATALOG_EVENTS, ORDERS_EVENTS, PAYMENTS_EVENTS, LOGISTICS_EVENTS, REVIEWS_EVENTS,
    CATALOG_INGRESS, REVIEWS_INGRESS, DEADLETTER,
    USERS_COMMANDS, CATALOG_COMMANDS, ORDERS_COMMANDS, PAYMENTS_COMMANDS, LOGISTICS_COMMANDS,
    REVIEWS_COMMANDS, REPLIES,
    USERS_TABLE, PRODUCTS_TABLE, RESERVATIONS_TABLE, RATINGS_TABLE, RATING_TOTALS_TABLE, CARTS_TABLE,
    ORDERS_TABLE, PAYMENTS_TABLE, SHIPMENTS_TABLE, REVIEWS_TABLE, REVIEW_AUTHORS_TABLE, COMMENTS_TABLE,
    VOTES_TABLE, PARTNERS_TABLE, DEADLETTER_REPLAYS,
)

BY_NAME: dict[str, TopicSpec] = {t.name: t for t in CATALOGUE}
PUBLIC_EVENT_TOPICS: tuple[TopicSpec, ...] = tuple(t for t in CATALOGUE if t.kind is Kind.EVENTS)
INGRESS_TOPICS: tuple[TopicSpec, ...] = tuple(t for t in CATALOGUE if t.kind is Kind.INGRESS)


# ---- one ingress topic per partner: the broker vouches for who wrote a record (broker/acls.py) ------
PARTNER_TOPIC_PREFIX = "gamevault.partners."
PARTNER_INGRESS = {"catalog": CATALOG_INGRESS, "reviews": REVIEWS_INGRESS}  # module -> what it accepts
PARTNER_TOPIC = re.compile(r"^gamevault\.partners\.([a-z0-9][a-z0-9-]{1,30}[a-z0-9])\.(catalog|reviews)$")
# every topic the ingress consumer reads: the operator's two and every partner's
INGRESS_PATTERN = r"^(gamevault\.(catalog|reviews)\.commands|gamevault\.partners\.[a-z0-9-]+\.(catalog|reviews))$"


def partner_topic(partner: str, module: str) -> TopicSpec:
    """The topic only `partner` may write; it carries what `module`'s ingress topic carries."""
    accepts = PARTNER_INGRESS[module]
    return TopicSpec(f"{PARTNER_TOPIC_PREFIX}{partner}.{module}", Kind.INGRESS,
                     f"{accepts.description}; written by partner {partner} only", key=accepts.key, partitions=2,
                     module=module, retention_ms=accepts.retention_ms)


def partner_of(topic_name: str) -> tuple[str, TopicSpec] | None:
    """(partner name, the ingress topic whose contracts apply) for a partner's topic, else None."""
    match = PARTNER_TOPIC.match(topic_name)
    return (match.group(1), PARTNER_INGRESS[match.group(2)]) if match else None


def topic(name: str) -> TopicSpec:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not in the topic catalogue") from None


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a key (murmur2, as aiokafka and kafka-python)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
