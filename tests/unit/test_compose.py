"""compose.yml cannot run here (no Docker engine); its shape is checked instead."""

import yaml

from tests.support.stack import REPO


def test_compose_has_kafka_worker_and_sink_with_the_cli_environment():
    doc = yaml.safe_load((REPO / "compose.yml").read_text())
    services = doc["services"]
    assert {"kafka", "topics", "worker", "warehouse-sink"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    kafka_env = services["kafka"]["environment"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for name in ("worker", "warehouse-sink", "topics"):
        env = services[name]["environment"]
        assert env["GAMEVAULT_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "deploy" in services["worker"] or "scale" in str(services["worker"])
