"""`gamevault kafka start|stop|status|install`: the local single-node KRaft broker."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from gamevault.broker.local import LocalKafka
from gamevault.cli.common import fail, guarded, home_option, kafka_port_option, settings_from
from gamevault.kafka_access import OPERATOR, PLATFORM


def local_broker(home: Path | None, kafka_port: int | None) -> LocalKafka:
    settings = settings_from(home, kafka_port)
    if not settings.uses_local_broker:
        fail(f"GAMEVAULT_KAFKA_BOOTSTRAP={settings.external_bootstrap} points at an existing cluster; "
             "the local broker is not used (unset it to manage one).")
    return LocalKafka(settings.home, settings.kafka_port)


@click.group(name="kafka")
def kafka() -> None:
    """The local Apache Kafka broker (KRaft mode), data under <home>/kafka."""


@kafka.command()
@home_option
@kafka_port_option
@click.option("--timeout", type=float, default=90.0, show_default=True, help="Seconds to wait for readiness.")
@guarded
def start(home: Path | None, kafka_port: int | None, timeout: float) -> None:
    """Start the broker (formatting its storage on first use); returns once it answers metadata requests."""
    broker = local_broker(home, kafka_port)
    status = broker.start(timeout=timeout, echo=lambda m: click.echo(m, err=True))
    click.echo(f"bootstrap: {broker.bootstrap}\nkafka version: {status.version}")


@kafka.command()
@home_option
@kafka_port_option
@guarded
def stop(home: Path | None, kafka_port: int | None) -> None:
    """Stop the broker (SIGTERM, a controlled shutdown) and wait until it is gone."""
    broker = local_broker(home, kafka_port)
    click.echo("kafka stopped" if broker.stop(echo=lambda m: click.echo(m, err=True)) else "kafka was not running")


@kafka.command()
@home_option
@kafka_port_option
def status(home: Path | None, kafka_port: int | None) -> None:
    """Print pid, port, version and data directory; exit 1 when stopped."""
    state = local_broker(home, kafka_port).status()
    click.echo(state.describe())
    raise SystemExit(0 if state.running else 1)


@kafka.command()
@home_option
@guarded
def install(home: Path | None) -> None:
    """Resolve the broker's jars with Maven now (start does it on first use)."""
    broker = local_broker(home, None)
    libs = broker.install(echo=lambda m: click.echo(m, err=True))
    click.echo(f"Kafka {broker.version()} jars in {libs}")


@kafka.command()
@home_option
@kafka_port_option
@guarded
def grant(home: Path | None, kafka_port: int | None) -> None:
    """Grant the platform principal its ACLs (what it owns: gamevault* topics, groups, transactional ids),
    as the operator. The local broker does it at every start; run it once on a cluster of your own."""
    from gamevault.broker.acls import grant_platform

    settings = settings_from(home, kafka_port)
    principal = settings.kafka.username or PLATFORM
    grant_platform(settings.kafka_as(OPERATOR), principal)
    click.echo(f"ACLs granted to User:{principal} on {settings.kafka.bootstrap}")


@kafka.command(name="client-config")
@click.option("--for", "who", default=OPERATOR, show_default=True, metavar="operator|PARTNER",
              help="Whose credentials: the operator (a super user) or a partner added from this home.")
@click.option("--format", "fmt", type=click.Choice(["json", "properties", "kcat"]), default="json",
              show_default=True, help="json: kafka-python keyword arguments; properties: a Java client file; "
              "kcat: -b/-X arguments, as in `kcat $(gamevault kafka client-config --format kcat) -L`.")
@click.option("--protocol", type=click.Choice(["SASL_PLAINTEXT", "SASL_SSL", "SSL"]), default=None,
              help="Which listener of the local broker (default: GAMEVAULT_KAFKA_SECURITY_PROTOCOL, else "
              "SASL_PLAINTEXT, and SSL for kcat; SSL is mTLS with the principal's certificate).")
@home_option
@kafka_port_option
@guarded
def client_config(who: str, fmt: str, protocol: str | None, home: Path | None, kafka_port: int | None) -> None:
    """Print ready-to-use client settings for the operator or a partner (they hold a password: keep them safe)."""
    from gamevault.cli.partners import partner_access

    settings = settings_from(home, kafka_port)
    if protocol is None and fmt == "kcat" and settings.uses_local_broker and not settings.kafka_security_protocol:
        protocol = "SSL"  # librdkafka before 2.6.1 (Debian 12's kcat) cannot do SCRAM with Kafka 4: README, traps
    if protocol is not None:
        settings = settings.with_overrides(kafka_security_protocol=protocol)
    access = settings.kafka_as(OPERATOR) if who == OPERATOR else partner_access(settings, who)
    if fmt == "json":
        click.echo(orjson.dumps(access.kafka_python(), option=orjson.OPT_INDENT_2).decode())
    elif fmt == "properties":
        click.echo(access.java_properties(), nl=False)
    else:
        click.echo(" ".join(access.kcat()))
