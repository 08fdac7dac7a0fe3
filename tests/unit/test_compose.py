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


def test_compose_ships_no_usable_secret_and_locks_kafka():
    text = (REPO / "compose.yml").read_text()
    doc = yaml.safe_load(text)
    env = doc["services"]["worker"]["environment"]
    for name in ("GAMEVAULT_JWT_SECRET", "GAMEVAULT_ADMIN_PASSWORD", "GAMEVAULT_KAFKA_PASSWORD",
                 "GAMEVAULT_KAFKA_ADMIN_PASSWORD"):
        assert ":?" in env[name], f"{name} must be required (${{VAR:?...}}), not defaulted"
    assert ":-" not in text  # no variable has a default value
    kafka = doc["services"]["kafka"]["environment"]
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert "PLAINTEXT:PLAINTEXT" not in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert env["GAMEVAULT_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
