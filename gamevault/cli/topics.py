"""`gamevault topics create|list`."""

from __future__ import annotations

from pathlib import Path

import click

from gamevault.cli.common import guarded, home_option, kafka_port_option, settings_from
from gamevault.streams.topics import CATALOGUE


@click.group(name="topics")
def topics() -> None:
    """The topic catalogue: every topic with its partitions, replication and cleanup policy."""


@topics.command()
@home_option
@kafka_port_option
@guarded
def create(home: Path | None, kafka_port: int | None) -> None:
    """Create every catalogue topic that is missing (idempotent); check the existing ones."""
    from gamevault.broker.admin import ensure_topics

    settings = settings_from(home, kafka_port)
    ensure_topics(settings.kafka, echo=click.echo)


@topics.command(name="list")
def list_() -> None:
    """Print the catalogue."""
    for spec in CATALOGUE:
        policy = "compact" if spec.compacted else f"delete/{spec.retention_ms // 86_400_000}d"
        click.echo(f"{spec.name:45} {spec.kind.value:10} p={spec.partitions:<3} {policy:12} key: {spec.key}")
