"""The lock on a local broker: SCRAM principals, a CA generated at first start, and the listeners.

Listeners (all on loopback):

| name | port | protocol | who |
|---|---|---|---|
| CLIENT | P | SASL_PLAINTEXT, SCRAM-SHA-256/512 | every client; brokers talk to each other here too |
| CONTROLLER | P+1 | SASL_PLAINTEXT, PLAIN | the KRaft quorum: only the `broker` principal exists on it |
| TLS | P+2 | SASL_SSL, SCRAM-SHA-256/512 | clients that want the wire encrypted |
| MTLS | P+3 | SSL with a client certificate required | clients holding a certificate of this CA (CN = principal) |

Principals: `broker` (the nodes themselves) and `operator` are super users; `gamevault` (the platform)
gets prefixed ACLs on what it owns (acls.py); partners get a literal ACL on their own topic. SCRAM
users must exist before a KRaft node first starts if the nodes authenticate with them (KIP-900), so
the three are written into the storage when it is formatted (`--add-scram`); partners are added later
through the admin API. Every password lives in `<secrets>/kafka-<principal>` (0600).
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from gamevault.kafka_access import (
    BROKER,
    OPERATOR,
    PLATFORM,
    SCRAM_MECHANISM,
    KafkaAccess,
    LocalPorts,
    local_access,
    local_password_file,
)
from gamevault.secret_files import private_dir, read_or_create, write_private

SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
FORMAT_PRINCIPALS = (BROKER, OPERATOR, PLATFORM)
PROTOCOL_OF = {"CLIENT": "SASL_PLAINTEXT", "CONTROLLER": "SASL_PLAINTEXT", "TLS": "SASL_SSL", "MTLS": "SSL"}
DEFAULT_REAUTH_MS = 5 * 60 * 1000  # a revoked password stops working on open connections within this


class LocalSecurity:
    """Credentials and TLS material of one local broker (or of every node of a local cluster)."""

    def __init__(self, secrets_dir: Path, tls_dir: Path, reauth_ms: int = DEFAULT_REAUTH_MS) -> None:
        self.secrets_dir = secrets_dir
        self.tls_dir = tls_dir
        self.reauth_ms = reauth_ms

    @classmethod
    def of_home(cls, home: Path, **kwargs: int) -> LocalSecurity:
        return cls(Path(home) / "secrets", Path(home) / "kafka" / "tls", **kwargs)

    def password(self, principal: str) -> str:
        return read_or_create(local_password_file(self.secrets_dir, principal))

    def access(self, principal: str, bootstrap: str, protocol: str = "SASL_PLAINTEXT") -> KafkaAccess:
        """How `principal` reaches this broker over `protocol` (SSL: with its client certificate)."""
        if protocol == "SSL":
            self.client_certificate(principal)  # issued on first use
            return local_access(bootstrap, protocol, principal, None, self.tls_dir)
        return local_access(bootstrap, protocol, principal, self.password(principal), self.tls_dir)

    # ---- the broker's configuration --------------------------------------------------------
    def format_args(self) -> list[str]:
        """`kafka-storage format` arguments that create the nodes', the operator's and the platform's users."""
        args: list[str] = []
        for principal in FORMAT_PRINCIPALS:
            args += ["--add-scram", f"{SCRAM_MECHANISM}=[name={principal},password={self.password(principal)}]"]
        return args

    def server_properties(self, ports: LocalPorts, plaintext_port: int | None = None) -> dict[str, str]:
        """The listeners, their authentication and the authorizer. `plaintext_port`: an extra listener
        without authentication, for benchmarks only (its clients are User:ANONYMOUS, which no ACL names)."""
        self.ensure_tls()
        private_dir(self.secrets_dir)
        secret = self.password(BROKER)
        host = "127.0.0.1"
        scram_server = f"{SCRAM_LOGIN} required;"
        config = {
            "listeners": f"CLIENT://{host}:{ports.client},CONTROLLER://{host}:{ports.controller},"
                         f"TLS://{host}:{ports.tls},MTLS://{host}:{ports.mtls}",
            "advertised.listeners": f"CLIENT://{host}:{ports.client},TLS://{host}:{ports.tls},"
                                    f"MTLS://{host}:{ports.mtls}",
            "listener.security.protocol.map": ",".join(f"{k}:{v}" for k, v in PROTOCOL_OF.items()),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "CLIENT",
            "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
            "sasl.mechanism.controller.protocol": "PLAIN",
            # the quorum's listener knows one static user: the nodes themselves
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config":
                f'{PLAIN_LOGIN} required username="{BROKER}" password="{secret}" user_{BROKER}="{secret}";',
            "listener.name.client.sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
            "listener.name.client.scram-sha-256.sasl.jaas.config": scram_server,
            "listener.name.client.scram-sha-512.sasl.jaas.config":
                f'{SCRAM_LOGIN} required username="{BROKER}" password="{secret}";',
            "listener.name.tls.sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
            "listener.name.tls.scram-sha-256.sasl.jaas.config": scram_server,
            "listener.name.tls.scram-sha-512.sasl.jaas.config": scram_server,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.broker_keystore),
            "listener.name.mtls.ssl.client.auth": "required",
            "listener.name.mtls.ssl.truststore.type": "PEM",
            "listener.name.mtls.ssl.truststore.location": str(self.ca_file),
            # a client certificate's CN is its principal ("CN=gamevault" -> User:gamevault)
            "ssl.principal.mapping.rules": "RULE:^CN=([^,]+)$/$1/,DEFAULT",
            "authorizer.class.name": AUTHORIZER,
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{BROKER};User:{OPERATOR}",
            "connections.max.reauth.ms": str(self.reauth_ms),
        }
        if plaintext_port is not None:
            config["listeners"] += f",PLAIN://{host}:{plaintext_port}"
            config["advertised.listeners"] += f",PLAIN://{host}:{plaintext_port}"
            config["listener.security.protocol.map"] += ",PLAIN:PLAINTEXT"
        return config

    # ---- TLS material -----------------------------------------------------------------------
    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"

    @property
    def broker_keystore(self) -> Path:
        return self.tls_dir / "broker.pem"

    def ensure_tls(self) -> None:
        """A CA and the brokers' certificate (127.0.0.1, localhost), generated once."""
        if self.ca_file.exists() and self.broker_keystore.exists():
            return
        private_dir(self.tls_dir)
        key, cert = _new_ca()
        write_private(self.tls_dir / "ca-key.pem", _key_pem(key))
        leaf_key, leaf = _issue(key, cert, "broker", server=True)
        write_private(self.broker_keystore, _key_pem(leaf_key) + _cert_pem(leaf) + _cert_pem(cert))
        write_private(self.ca_file, _cert_pem(cert))  # last: its presence means the set is complete
        for principal in (PLATFORM, OPERATOR):  # so either can connect over mTLS with no further step
            self.client_certificate(principal)

    def client_certificate(self, principal: str) -> Path:
        """A certificate with CN=`principal` signed by this CA: one PEM file, key first, then the chain."""
        path = self.tls_dir / "clients" / f"{principal}.pem"
        if path.exists():
            return path
        self.ensure_tls()
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        ca_cert = x509.load_pem_x509_certificate(self.ca_file.read_bytes())
        ca_key = serialization.load_pem_private_key((self.tls_dir / "ca-key.pem").read_bytes(), None)
        key, cert = _issue(ca_key, ca_cert, principal, server=False)
        write_private(path, _key_pem(key) + _cert_pem(cert) + _cert_pem(ca_cert))
        return path


# ---- certificates (cryptography) ---------------------------------------------------------------
def _name(cn: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject: str, issuer, public_key, days: int):
    from cryptography import x509

    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days)))


def _new_ca():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder("GameVault local Kafka CA", _name("GameVault local Kafka CA"), key.public_key(), 3650)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _issue(ca_key, ca_cert, cn: str, server: bool):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (_builder(cn, ca_cert.subject, key.public_key(), 825)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)
