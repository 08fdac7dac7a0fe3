"""`gamevault worker`: one Faust worker with the API on the same event loop."""

from __future__ import annotations

from pathlib import Path

import click

from gamevault.cli.common import guarded, home_option, kafka_port_option, settings_from


@click.command()
@home_option
@kafka_port_option
@click.option("--api-port", type=int, default=None, help="Port of the API (default 8000; shared by all workers).")
@click.option("--api-host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--loglevel", type=click.Choice(["crit", "error", "warn", "info", "debug"]), default="warn",
              show_default=True)
@guarded
def worker(home: Path | None, kafka_port: int | None, api_port: int | None, api_host: str | None,
           loglevel: str) -> None:
    """Run one worker: the agents, the tables and the API. Run several for scale-out."""
    from gamevault.broker.admin import ensure_topics
    from gamevault.worker import run

    settings = settings_from(home, kafka_port, api_host=api_host, api_port=api_port)
    ensure_topics(settings.kafka)  # Faust never sees a missing topic (it would not be assigned)
    run(settings, loglevel=loglevel)
