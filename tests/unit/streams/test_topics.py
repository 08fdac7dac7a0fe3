from gamevault.streams.topics import CATALOGUE, PARTITIONS, Kind, topic

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
        if spec.kind in (Kind.CHANGELOG, Kind.COMMANDS, Kind.EVENTS, Kind.INGRESS):
            assert spec.partitions == PARTITIONS, spec.name


def test_event_topics_delete_with_retention():
    spec = topic("gamevault.orders.events")
    assert spec.config(1) == {"cleanup.policy": "delete", "retention.ms": str(spec.retention_ms),
                              "min.insync.replicas": "1"}


def test_min_insync_clamps_to_the_cluster():
    spec = topic("gamevault.orders.events")
    assert spec.config(3)["min.insync.replicas"] == "2"
    assert spec.config(1)["min.insync.replicas"] == "1"
