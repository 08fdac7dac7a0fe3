"""Settings: every environment variable GameVault reads is read here, once.

Commands build one `Settings` and pass it down (the composition root owns it); nothing else
looks at `os.environ`, so a test can run several differently configured stacks side by side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from gamevault.kafka_access import (
    OPERATOR,
    PLATFORM,
    SCRAM_MECHANISM,
    KafkaAccess,
    LocalPorts,
    local_access,
    local_password_file,
)
from gamevault.secret_files import read_or_create

DEFAULT_KAFKA_PORT = 9092
DEFAULT_API_PORT = 8000
DEFAULT_SIMULATOR_PORT = 8100
SIMULATOR_PAYPAL_CERT_SUBJECT = "messageverificationcerts.sandbox.gamevault"  # the local PayPal simulator's


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    home: Path
    kafka_port: int = DEFAULT_KAFKA_PORT
    external_bootstrap: str | None = None
    # how clients authenticate (GAMEVAULT_KAFKA_*); unset: the local broker's own principal and CA
    kafka_security_protocol: str | None = None
    kafka_sasl_mechanism: str | None = None
    kafka_username: str | None = None
    kafka_password: str | None = None
    kafka_ca_file: str | None = None
    kafka_cert_file: str | None = None
    kafka_key_file: str | None = None
    kafka_admin_username: str | None = None
    kafka_admin_password: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = DEFAULT_API_PORT
    simulator_port: int = DEFAULT_SIMULATOR_PORT
    simulators_url: str | None = None
    api_public_url: str | None = None
    lake_dir: Path | None = None
    app_id: str = "gamevault"
    log_level: str = "info"
    admin_email: str | None = None
    admin_password: str | None = None
    jwt_issuer: str = "gamevault"
    jwt_audience: str = "gamevault-api"
    jwt_ttl_seconds: int = 3600
    auto_approve_reviews: bool = False
    review_banned_terms: tuple[str, ...] = ("scam", "estafa", "idiota", "fraude")
    agents: frozenset[str] = frozenset()  # empty: every agent (see AGENTS in worker.py)
    rate_limit_per_minute: int = 600
    token_rate_limit_per_minute: int = 10
    saga_step_timeout_s: float = 30.0
    payment_confirm_timeout_s: float = 60.0
    delivery_timeout_s: float = 3600.0
    chaos: frozenset[str] = frozenset()
    state_in_memory: bool = False  # True: tables and replicas in the heap (memory://), as before spill.py
    trusted_proxies: tuple[str, ...] = ()  # addresses whose X-Forwarded-For is believed; none by default
    paypal_cert_pins: frozenset[str] = frozenset()  # SHA-256 fingerprints of PayPal's webhook certificates
    paypal_cert_subject: str = SIMULATOR_PAYPAL_CERT_SUBJECT  # whose certificate signs PayPal's webhooks
    webhook_rate_limit_per_minute: int = 6000  # per source address, on the gateways' callback paths

    # ---- derived -------------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        """Where Kafka is: an existing cluster if configured, else this home's local broker."""
        return self.external_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def uses_local_broker(self) -> bool:
        return self.external_bootstrap is None

    @property
    def kafka(self) -> KafkaAccess:
        """How the platform's clients reach Kafka: GAMEVAULT_KAFKA_*, else as `gamevault` on the local broker."""
        if not self.uses_local_broker:
            return KafkaAccess(
                self.bootstrap, self.kafka_security_protocol or "PLAINTEXT", self.kafka_sasl_mechanism,
                self.kafka_username, self.kafka_password, self.kafka_ca_file, self.kafka_cert_file,
                self.kafka_key_file)
        return self.kafka_for(self.kafka_username or PLATFORM, self.kafka_password)

    def kafka_as(self, principal: str) -> KafkaAccess:
        """The operator's access (partner provisioning): the local broker's super user, or on an existing
        cluster GAMEVAULT_KAFKA_ADMIN_USERNAME/PASSWORD (else the platform's own, which may not suffice)."""
        if principal != OPERATOR:
            raise ValueError(f"only the operator's access is configured, not {principal!r}")
        if self.uses_local_broker:
            return self.kafka_for(OPERATOR)
        if self.kafka_admin_username and self.kafka_admin_password:
            return self.kafka.as_user(self.kafka_admin_username, self.kafka_admin_password)
        return self.kafka

    def kafka_for(self, principal: str, password: str | None = None) -> KafkaAccess:
        """Another principal on the same cluster and protocol. On the local broker its password defaults to
        the one kept under <home>/secrets, and over SSL it is its certificate (issued under <home>/kafka/tls)."""
        if not self.uses_local_broker:
            return self.kafka.as_user(principal, password or "", SCRAM_MECHANISM)
        protocol = self.kafka_security_protocol or "SASL_PLAINTEXT"
        bootstrap = f"127.0.0.1:{LocalPorts.from_base(self.kafka_port).for_protocol(protocol)}"
        own = principal == (self.kafka_username or PLATFORM)  # the files set for the platform are its own
        secret = None if protocol == "SSL" else \
            password or read_or_create(local_password_file(self.secrets_dir, principal))
        return local_access(bootstrap, protocol, principal, secret, self.kafka_dir / "tls", self.kafka_sasl_mechanism,
                            self.kafka_ca_file, self.kafka_cert_file if own else None,
                            self.kafka_key_file if own else None)

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @property
    def kafka_dir(self) -> Path:
        return self.home / "kafka"

    @property
    def state_dir(self) -> Path:
        """Where workers spill table state (one directory per process, rebuilt from Kafka at start)."""
        return self.home / "state"

    @property
    def lake(self) -> Path:
        return self.lake_dir or (self.home / "lake")

    @property
    def api_url(self) -> str:
        return self.api_public_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def simulators_base_url(self) -> str:
        return self.simulators_url or f"http://127.0.0.1:{self.simulator_port}"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    # ---- secrets shared by every process of one home -------------------------------------
    def gateway_url(self, name: str) -> str:
        """A payment gateway's or the carrier's base URL: GAMEVAULT_<NAME>_URL, else its simulator."""
        return _env(f"GAMEVAULT_{name.upper()}_URL") or f"{self.simulators_base_url}/{name}"

    def secret(self, name: str) -> str:
        """GAMEVAULT_<NAME> from the environment, else a value generated once under <home>/secrets.

        Every process of one home (workers, simulators, the sink) must agree on the JWT key, the
        gateway credentials and the webhook secrets; a generated file (mode 0600) gives a fresh
        install safe, distinct values without any setup. Names: jwt-secret, pseudonym-key,
        paypal-client-secret, paypal-webhook-id, yape-api-key, yape-webhook-secret, plin-api-key,
        plin-webhook-secret, carrier-api-key, carrier-webhook-secret.
        """
        explicit = _env("GAMEVAULT_" + name.upper().replace("-", "_"))
        if explicit:
            return explicit
        return read_or_create(self.secrets_dir / name)


def load_settings(home: str | Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with explicit (CLI) overrides winning."""
    home_path = Path(home or _env("GAMEVAULT_HOME", "./.gamevault")).expanduser().resolve()
    lake = _env("GAMEVAULT_LAKE")
    base = Settings(
        home=home_path,
        kafka_port=int(_env("GAMEVAULT_KAFKA_PORT", str(DEFAULT_KAFKA_PORT))),
        external_bootstrap=_env("GAMEVAULT_KAFKA_BOOTSTRAP"),
        kafka_security_protocol=_env("GAMEVAULT_KAFKA_SECURITY_PROTOCOL"),
        kafka_sasl_mechanism=_env("GAMEVAULT_KAFKA_SASL_MECHANISM"),
        kafka_username=_env("GAMEVAULT_KAFKA_USERNAME"),
        kafka_password=_env("GAMEVAULT_KAFKA_PASSWORD"),
        kafka_ca_file=_env("GAMEVAULT_KAFKA_CA_FILE"),
        kafka_cert_file=_env("GAMEVAULT_KAFKA_CERT_FILE"),
        kafka_key_file=_env("GAMEVAULT_KAFKA_KEY_FILE"),
        kafka_admin_username=_env("GAMEVAULT_KAFKA_ADMIN_USERNAME"),
        kafka_admin_password=_env("GAMEVAULT_KAFKA_ADMIN_PASSWORD"),
        api_host=_env("GAMEVAULT_API_HOST", "127.0.0.1") or "127.0.0.1",
        api_port=int(_env("GAMEVAULT_API_PORT", str(DEFAULT_API_PORT))),
        simulator_port=int(_env("GAMEVAULT_SIMULATOR_PORT", str(DEFAULT_SIMULATOR_PORT))),
        simulators_url=_env("GAMEVAULT_SIMULATORS_URL"),
        api_public_url=_env("GAMEVAULT_API_URL"),
        lake_dir=Path(lake).expanduser().resolve() if lake else None,
        app_id=_env("GAMEVAULT_APP_ID", "gamevault") or "gamevault",
        log_level=_env("GAMEVAULT_LOG_LEVEL", "info") or "info",
        admin_email=_env("GAMEVAULT_ADMIN_EMAIL"),
        admin_password=_env("GAMEVAULT_ADMIN_PASSWORD"),
        auto_approve_reviews=_env_bool("GAMEVAULT_AUTO_APPROVE_REVIEWS", False),
        review_banned_terms=tuple(t.strip() for t in (_env("GAMEVAULT_REVIEW_BANNED_TERMS",
                                                           "scam,estafa,idiota,fraude") or "").split(",") if t.strip()),
        agents=frozenset(a.strip() for a in (_env("GAMEVAULT_AGENTS", "") or "").split(",") if a.strip()),
        rate_limit_per_minute=int(_env("GAMEVAULT_RATE_LIMIT_PER_MINUTE", "600")),
        token_rate_limit_per_minute=int(_env("GAMEVAULT_TOKEN_RATE_LIMIT_PER_MINUTE", "10")),
        saga_step_timeout_s=float(_env("GAMEVAULT_SAGA_STEP_TIMEOUT", "30")),
        payment_confirm_timeout_s=float(_env("GAMEVAULT_PAYMENT_CONFIRM_TIMEOUT", "60")),
        delivery_timeout_s=float(_env("GAMEVAULT_DELIVERY_TIMEOUT", "3600")),
        chaos=frozenset(x.strip() for x in (_env("GAMEVAULT_CHAOS", "") or "").split(",") if x.strip()),
        state_in_memory=_env_bool("GAMEVAULT_STATE_IN_MEMORY", False),
        paypal_cert_subject=_env("GAMEVAULT_PAYPAL_CERT_SUBJECT") or (
            "messageverificationcerts.paypal.com" if _env("GAMEVAULT_PAYPAL_URL") else SIMULATOR_PAYPAL_CERT_SUBJECT),
        paypal_cert_pins=frozenset(p.strip() for p in (_env("GAMEVAULT_PAYPAL_CERT_SHA256", "") or "").split(",")
                                   if p.strip()),
        webhook_rate_limit_per_minute=int(_env("GAMEVAULT_WEBHOOK_RATE_LIMIT_PER_MINUTE", "6000")),
        trusted_proxies=tuple(p.strip() for p in (_env("GAMEVAULT_TRUSTED_PROXIES", "") or "").split(",")
                              if p.strip()),
    )
    return base.with_overrides(**overrides)
