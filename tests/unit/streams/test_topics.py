import re

from gamevault.streams.topics import (
    CATALOG_INGRESS,
    CATALOGUE,
    INGRESS_PATTERN,
    PARTITIONS,
    REVIEWS_INGRESS,
    Kind,
    partner_of,
    partner_topic,
    topic,
)

CONTRACT_TOPICS = {
    "gamevault.users.events", "gamevault.catalog.events", "gamevault.orders.events",
    "gamevault.payments.events", "gamevault.logistics.events", "gamevault.reviews.events",
    "gamevault.catalog.commands", "gamevault.reviews.commands", "gamevault.deadletter",
}


def test_every_contract_topic_is_declared():
    assert CONTRACT_TOPICS <= {t.name for t in CATALOGUE}


def test_names_are_unique():
    names = [t.name for t in CATALOGUE]
    assert len(names) == len(set(names))


def test_changelogs_are_compacted_and_copartitioned_with_commands():
    for spec in CATALOGUE:
        if spec.kind is Kind.CHANGELOG:
            assert spec.compacted and spec.config(3)["cleanup.policy"] == "compact"
            assert spec.config(3)["retention.ms"] == "-1"
        if spec.kind in (Kind.CHANGELOG, Kind.COMMANDS, Kind.EVENTS, Kind.INGRESS):  # not the one registry
            assert spec.partitions == PARTITIONS, spec.name


def test_event_topics_delete_with_retention():
    spec = topic("gamevault.orders.events")
    assert spec.config(1) == {"cleanup.policy": "delete", "retention.ms": str(spec.retention_ms),
                              "min.insync.replicas": "1"}


def test_min_insync_clamps_to_the_cluster():
    spec = topic("gamevault.orders.events")
    assert spec.config(3)["min.insync.replicas"] == "2"
    assert spec.config(1)["min.insync.replicas"] == "1"


def test_partner_topics_carry_what_the_operators_ingress_topic_carries():
    spec = partner_topic("acme-store", "catalog")
    assert spec.name == "gamevault.partners.acme-store.catalog" and spec.kind is Kind.INGRESS
    assert partner_of(spec.name) == ("acme-store", CATALOG_INGRESS)
    assert partner_of(partner_topic("mag", "reviews").name) == ("mag", REVIEWS_INGRESS)
    for name in ("gamevault.catalog.commands", "gamevault.partners.acme.orders", "gamevault.partners.-x.catalog",
                 "gamevault.partners.a.b.catalog", "gamevault.internal.catalog.commands"):
        assert partner_of(name) is None, name


def test_the_ingress_pattern_reads_the_operators_and_partners_topics_only():
    assert re.match(INGRESS_PATTERN, "gamevault.catalog.commands")
    assert re.match(INGRESS_PATTERN, "gamevault.partners.acme.reviews")
    for name in ("gamevault.internal.catalog.commands", "gamevault.internal.partners.changelog",
                 "gamevault.deadletter", "gamevault.catalog.commandsX", "gamevault.partners.acme.orders"):
        assert not re.match(INGRESS_PATTERN, name), name
