"""The `gamevault` command."""

from __future__ import annotations

import logging

import click

from gamevault.cli.deadletter import deadletter
from gamevault.cli.kafka import kafka
from gamevault.cli.partners import partners
from gamevault.cli.produce import produce
from gamevault.cli.schemas import schemas
from gamevault.cli.simulators import simulators
from gamevault.cli.topics import topics
from gamevault.cli.up import up
from gamevault.cli.warehouse import report, sql, warehouse
from gamevault.cli.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gamevault")
def cli() -> None:
    """GameVault: an event-driven marketplace for video games on Kafka.

    Start everything with `gamevault up`; see `gamevault COMMAND --help` for each command.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SCRAM never sends the password, yet kafka-python warns "credentials in the clear" on every connection
    logging.getLogger("kafka.net.sasl.scram").setLevel(logging.ERROR)


for command in (up, kafka, topics, worker, produce, partners, deadletter, warehouse, sql, report, simulators,
                schemas):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="gamevault")
