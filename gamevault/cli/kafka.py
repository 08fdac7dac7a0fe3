"""`gamevault kafka start|stop|status|install`: the local single-node KRaft broker."""

from __future__ import annotations

from pathlib import Path

import click

from gamevault.broker.local import LocalKafka
from gamevault.cli.common import fail, guarded, home_option, kafka_port_option, settings_from


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
