"""One place builds every Kafka client's settings: each protocol, each client, each output format."""

import ssl

import pytest

from gamevault.config import load_settings
from gamevault.kafka_access import AccessError, KafkaAccess

SCRAM = KafkaAccess("b1:9092,b2:9092", "SASL_SSL", "SCRAM-SHA-512", "gamevault", "s3cret", ca_file=None)


def test_plaintext_is_only_the_servers():
    access = KafkaAccess("b1:9092, b2:9092")
    assert access.kafka_python() == {"bootstrap_servers": ["b1:9092", "b2:9092"], "security_protocol": "PLAINTEXT"}
    assert access.aiokafka() == access.kafka_python()
    assert access.faust() == {"broker": "kafka://b1:9092;kafka://b2:9092", "broker_credentials": None}
    assert access.kcat() == ["-b", "b1:9092,b2:9092", "-X", "security.protocol=plaintext"]


def test_sasl_ssl_scram_for_every_client():
    kp = SCRAM.kafka_python()
    assert kp["security_protocol"] == "SASL_SSL" and kp["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kp["sasl_plain_username"], kp["sasl_plain_password"]) == ("gamevault", "s3cret")
    aio = SCRAM.aiokafka()
    assert isinstance(aio["ssl_context"], ssl.SSLContext) and aio["ssl_context"].check_hostname
    faust = SCRAM.faust()["broker_credentials"]
    assert faust.username == "gamevault" and faust.mechanism.value == "SCRAM-SHA-512"
    assert faust.protocol.value == "SASL_SSL"
    props = SCRAM.java_properties()
    assert "security.protocol=SASL_SSL" in props and "sasl.mechanism=SCRAM-SHA-512" in props
    assert 'ScramLoginModule required username="gamevault" password="s3cret";' in props
    kcat = " ".join(SCRAM.kcat())
    assert "-X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=gamevault -X sasl.password=s3cret" in kcat


def test_plain_is_the_default_sasl_mechanism_and_uses_the_plain_login_module():
    access = KafkaAccess("b:9092", "SASL_PLAINTEXT", None, "u", "p")
    assert access.kafka_python()["sasl_mechanism"] == "PLAIN"
    assert "PlainLoginModule" in access.java_properties()


def test_mtls_carries_the_client_certificate(tmp_path):
    cert = tmp_path / "client.pem"
    access = KafkaAccess("b:9093", "SSL", ca_file="/ca.pem", cert_file=str(cert), key_file=str(cert))
    assert access.kafka_python() == {"bootstrap_servers": ["b:9093"], "security_protocol": "SSL",
                                     "ssl_cafile": "/ca.pem", "ssl_certfile": str(cert), "ssl_keyfile": str(cert)}
    assert f"ssl.keystore.location={cert}" in access.java_properties()
    assert f"-X ssl.certificate.location={cert}" in " ".join(access.kcat())


@pytest.mark.parametrize("kwargs", [
    {"security_protocol": "SASL"},
    {"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "username": "u", "password": "p"},
    {"security_protocol": "SASL_PLAINTEXT", "username": "u"},
    {"security_protocol": "SSL", "cert_file": "c.pem"},
    {"security_protocol": "PLAINTEXT", "cert_file": "c.pem", "key_file": "k.pem"},
])
def test_settings_no_client_could_use_are_refused(kwargs):
    with pytest.raises(AccessError):
        KafkaAccess("b:9092", **kwargs)


def test_the_description_never_shows_the_password():
    assert "s3cret" not in SCRAM.describe() and "gamevault" in SCRAM.describe()


def test_settings_read_the_environment_for_an_existing_cluster(monkeypatch, tmp_path):
    monkeypatch.setenv("GAMEVAULT_KAFKA_BOOTSTRAP", "kafka.example:9096")
    monkeypatch.setenv("GAMEVAULT_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("GAMEVAULT_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("GAMEVAULT_KAFKA_USERNAME", "gv")
    monkeypatch.setenv("GAMEVAULT_KAFKA_PASSWORD", "pw")
    monkeypatch.setenv("GAMEVAULT_KAFKA_CA_FILE", "/etc/ca.pem")
    access = load_settings(tmp_path).kafka
    assert access == KafkaAccess("kafka.example:9096", "SASL_SSL", "SCRAM-SHA-256", "gv", "pw", "/etc/ca.pem")


def test_the_local_broker_is_reached_as_the_platform_with_a_generated_password(monkeypatch, tmp_path):
    monkeypatch.delenv("GAMEVAULT_KAFKA_BOOTSTRAP", raising=False)
    for name in ("SECURITY_PROTOCOL", "USERNAME", "PASSWORD", "SASL_MECHANISM", "CA_FILE"):
        monkeypatch.delenv(f"GAMEVAULT_KAFKA_{name}", raising=False)
    settings = load_settings(tmp_path, kafka_port=19500)
    access = settings.kafka
    assert (access.bootstrap, access.security_protocol, access.username) == ("127.0.0.1:19500", "SASL_PLAINTEXT",
                                                                             "gamevault")
    secret = tmp_path / "secrets" / "kafka-gamevault"
    assert secret.read_text() == access.password and (secret.stat().st_mode & 0o777) == 0o600
    assert (secret.parent.stat().st_mode & 0o777) == 0o700
    tls = settings.with_overrides(kafka_security_protocol="SASL_SSL").kafka
    assert tls.bootstrap == "127.0.0.1:19502" and tls.ca_file.endswith("kafka/tls/ca.pem")
    assert settings.with_overrides(kafka_security_protocol="SSL").kafka.bootstrap == "127.0.0.1:19503"
    with pytest.raises(AccessError):
        settings.with_overrides(kafka_security_protocol="PLAINTEXT").kafka  # noqa: B018
