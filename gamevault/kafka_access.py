"""How a client reaches Kafka and proves who it is: the one place that builds client settings.

Every Kafka client of GameVault (Faust/aiokafka in the workers, the replicas and reply bus, the sink,
the kafka-python admin and `gamevault produce`) takes its settings from a `KafkaAccess`, and the
`gamevault kafka client-config` formats (kafka-python keyword arguments, a Java client properties
file, kcat arguments) come from it too, so every client speaks the same protocols: PLAINTEXT, SSL
(with a client certificate: mTLS), SASL_PLAINTEXT and SASL_SSL, with PLAIN or SCRAM-SHA-256/512.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

# The principals of a local broker (gamevault/broker/security.py creates them; Settings reads them).
BROKER, PLATFORM, OPERATOR = "broker", "gamevault", "operator"
SCRAM_MECHANISM = "SCRAM-SHA-512"  # of every user GameVault creates (local principals, partners)


class AccessError(ValueError):
    """Settings that no client could connect with (an unknown protocol, SASL without a password...)."""


def local_password_file(secrets_dir: Path, principal: str) -> Path:
    """Where a local broker keeps a principal's SCRAM password (0600, generated at first start)."""
    return secrets_dir / f"kafka-{principal}"


@dataclass(frozen=True)
class LocalPorts:
    """A local broker's listeners: the client port P, the controller P+1, TLS P+2, mTLS P+3 (security.py)."""

    client: int
    controller: int
    tls: int
    mtls: int

    @classmethod
    def from_base(cls, port: int, controller: int | None = None) -> LocalPorts:
        return cls(port, controller or port + 1, port + 2, port + 3)

    def for_protocol(self, protocol: str) -> int:
        port = {"SASL_PLAINTEXT": self.client, "SASL_SSL": self.tls, "SSL": self.mtls}.get(protocol)
        if port is None:
            raise AccessError(f"a local broker has no {protocol} listener (SASL_PLAINTEXT, SASL_SSL or SSL)")
        return port


def local_access(bootstrap: str, protocol: str, principal: str, password: str | None, tls_dir: Path,
                 mechanism: str | None = None, ca_file: str | None = None, cert_file: str | None = None,
                 key_file: str | None = None) -> KafkaAccess:
    """How `principal` reaches a local broker (or cluster): its SCRAM password, or over SSL its client
    certificate (`<tls_dir>/clients/<principal>.pem`, key and chain in one file), the local CA for TLS."""
    ca = ca_file or (str(tls_dir / "ca.pem") if protocol.endswith("SSL") else None)
    if protocol == "SSL":
        cert = cert_file or str(tls_dir / "clients" / f"{principal}.pem")
        return KafkaAccess(bootstrap, "SSL", ca_file=ca, cert_file=cert, key_file=key_file or cert)
    return KafkaAccess(bootstrap, protocol, mechanism or SCRAM_MECHANISM, principal, password, ca_file=ca)


@dataclass(frozen=True)
class KafkaAccess:
    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def __post_init__(self) -> None:
        if self.security_protocol not in PROTOCOLS:
            raise AccessError(f"security protocol {self.security_protocol!r}: expected one of {', '.join(PROTOCOLS)}")
        if self.sasl:
            if (self.sasl_mechanism or "PLAIN") not in MECHANISMS:
                raise AccessError(f"SASL mechanism {self.sasl_mechanism!r}: expected one of {', '.join(MECHANISMS)}")
            if not self.username or not self.password:
                raise AccessError(f"{self.security_protocol} needs a username and a password "
                                  "(GAMEVAULT_KAFKA_USERNAME, GAMEVAULT_KAFKA_PASSWORD)")
        if bool(self.cert_file) != bool(self.key_file):
            raise AccessError("a client certificate needs both GAMEVAULT_KAFKA_CERT_FILE and GAMEVAULT_KAFKA_KEY_FILE")
        if self.cert_file and not self.tls:
            raise AccessError(f"a client certificate needs SSL or SASL_SSL, not {self.security_protocol}")

    # ---- what it is -----------------------------------------------------------------------------
    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.security_protocol.endswith("SSL")

    @property
    def mechanism(self) -> str | None:
        return (self.sasl_mechanism or "PLAIN") if self.sasl else None

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap.split(",") if s.strip()]

    def as_user(self, username: str, password: str, mechanism: str | None = None) -> KafkaAccess:
        """The same cluster and protocol, another principal (a partner, the operator)."""
        return replace(self, username=username, password=password, cert_file=None, key_file=None,
                       sasl_mechanism=mechanism or self.sasl_mechanism)

    def describe(self) -> str:
        """For logs and errors: never the password."""
        who = f" as {self.username} ({self.mechanism})" if self.sasl else (" with a client certificate"
                                                                           if self.cert_file else "")
        return f"{self.bootstrap} over {self.security_protocol}{who}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """Verifies the broker against the CA file (or the system's CAs) and its name; mTLS when a cert is set."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context

    # ---- per client -----------------------------------------------------------------------------
    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's consumers, producers and admin client."""
        kwargs: dict[str, Any] = {"bootstrap_servers": self.servers, "security_protocol": self.security_protocol}
        if self.tls:
            kwargs["ssl_context"] = self.ssl_context()
        if self.sasl:
            kwargs.update(sasl_mechanism=self.mechanism, sasl_plain_username=self.username,
                          sasl_plain_password=self.password)
        return kwargs

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""
        kwargs: dict[str, Any] = {"bootstrap_servers": self.servers, "security_protocol": self.security_protocol}
        if self.tls:
            kwargs.update({k: v for k, v in (("ssl_cafile", self.ca_file), ("ssl_certfile", self.cert_file),
                                             ("ssl_keyfile", self.key_file)) if v})
        if self.sasl:
            kwargs.update(sasl_mechanism=self.mechanism, sasl_plain_username=self.username,
                          sasl_plain_password=self.password)
        return kwargs

    def faust(self) -> dict[str, Any]:
        """`broker` and `broker_credentials` for faust.App."""
        import faust

        brokers = ";".join(f"kafka://{server}" for server in self.servers)
        credentials: Any = None
        if self.sasl:
            credentials = faust.SASLCredentials(username=self.username, password=self.password,
                                                ssl_context=self.ssl_context(), mechanism=self.mechanism)
        elif self.tls:
            credentials = faust.SSLCredentials(self.ssl_context())
        return {"broker": brokers, "broker_credentials": credentials}

    def java_properties(self) -> str:
        """A Java client properties file (kafka-console-producer --producer.config, Kafka Connect, ...)."""
        lines = [f"bootstrap.servers={','.join(self.servers)}", f"security.protocol={self.security_protocol}"]
        if self.sasl:
            module = ("org.apache.kafka.common.security.plain.PlainLoginModule" if self.mechanism == "PLAIN"
                      else "org.apache.kafka.common.security.scram.ScramLoginModule")
            lines += [f"sasl.mechanism={self.mechanism}",
                      f'sasl.jaas.config={module} required username="{self.username}" password="{self.password}";']
        if self.tls and self.ca_file:
            lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={self.ca_file}"]
        if self.cert_file:  # Java reads a PEM keystore as one file: the private key, then the certificate chain
            if self.cert_file == self.key_file:
                lines += ["ssl.keystore.type=PEM", f"ssl.keystore.location={self.cert_file}"]
            else:
                lines += [f"# mTLS: cat {self.key_file} {self.cert_file} > client.pem, then",
                          "# ssl.keystore.type=PEM and ssl.keystore.location=client.pem"]
        return "\n".join(lines) + "\n"

    def kcat(self) -> list[str]:
        """kcat (librdkafka) arguments: `kcat $(gamevault kafka client-config --format kcat) -L`."""
        args = ["-b", ",".join(self.servers), "-X", f"security.protocol={self.security_protocol.lower()}"]
        if self.sasl:
            args += ["-X", f"sasl.mechanisms={self.mechanism}", "-X", f"sasl.username={self.username}",
                     "-X", f"sasl.password={self.password}"]
        if self.tls and self.ca_file:
            args += ["-X", f"ssl.ca.location={self.ca_file}"]
        if self.cert_file:
            args += ["-X", f"ssl.certificate.location={self.cert_file}", "-X", f"ssl.key.location={self.key_file}"]
        return args
