"""`gamevault partners add|list|remove`: the Kafka identities of outside teams, each with a scope.

The CLI runs as the operator. A partner's password is printed once, in the JSON `add` prints, and kept
for this home under `<home>/secrets/partners/<name>.json` (0600) so `gamevault produce --partner` and
`gamevault kafka client-config --for NAME` can use it.
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from gamevault.broker.partners import PartnerError, Partners, describe
from gamevault.broker.security import LocalSecurity
from gamevault.cli.common import fail, guarded, home_option, kafka_port_option, settings_from
from gamevault.config import Settings
from gamevault.kafka_access import KafkaAccess
from gamevault.secret_files import write_private


def _saved(settings: Settings, name: str) -> Path:
    return settings.secrets_dir / "partners" / f"{name}.json"


def partner_access(settings: Settings, name: str) -> KafkaAccess:
    """The client settings of a partner added from this home (its password was kept here)."""
    try:
        saved = orjson.loads(_saved(settings, name).read_bytes())
    except OSError:
        fail(f"no credentials of partner {name!r} under {settings.secrets_dir / 'partners'} "
             "(`gamevault partners add` keeps them; integrations created through the API are shown once)")
    return settings.kafka_for(saved["username"], saved["password"])


@click.group(name="partners")
def partners() -> None:
    """Partners: outside teams that write to GameVault through Kafka, each bound to what it may change."""


@partners.command()
@click.argument("name")
@click.option("--seller", "seller_id", metavar="USER_ID", help="A seller's integration: changes only this "
              "seller's products and stock.")
@click.option("--reviews", is_flag=True, help="A partner review channel: submits reviews as itself.")
@home_option
@kafka_port_option
@guarded
def add(name: str, seller_id: str | None, reviews: bool, home: Path | None, kafka_port: int | None) -> None:
    """Create partner NAME; print its identity, Kafka client settings and topics as one JSON object."""
    if bool(seller_id) == reviews:
        fail("give exactly one of --seller USER_ID or --reviews")
    settings = settings_from(home, kafka_port)
    try:
        record, access = Partners.of(settings).add(name, "seller" if seller_id else "reviews", seller_id)
    except PartnerError as exc:
        fail(str(exc))
    write_private(_saved(settings, name), orjson.dumps({"username": access.username, "password": access.password}))
    if settings.uses_local_broker:  # a certificate too, for clients without SCRAM for Kafka 4 (README: kcat)
        LocalSecurity.of_home(settings.home).client_certificate(record.principal)
    click.echo(orjson.dumps(describe(record, access), option=orjson.OPT_INDENT_2).decode())


@partners.command(name="list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@home_option
@kafka_port_option
@guarded
def list_(fmt: str, home: Path | None, kafka_port: int | None) -> None:
    """The partners, with their kind, seller and topic (never a password)."""
    records = Partners.of(settings_from(home, kafka_port)).list()
    if fmt == "json":
        click.echo(orjson.dumps([{**describe(r), "created_at": r.created_at.isoformat(),
                                  "created_by": r.created_by} for r in records],
                                option=orjson.OPT_INDENT_2).decode())
        return
    for r in records:
        click.echo(f"{r.name:24} {r.kind:8} {r.seller_id or '-':40} {r.topic}")
    click.echo(f"{len(records)} partner{'s' if len(records) != 1 else ''}", err=True)


@partners.command()
@click.argument("name")
@home_option
@kafka_port_option
@guarded
def remove(name: str, home: Path | None, kafka_port: int | None) -> None:
    """Revoke partner NAME: its password stops working for new connections at once."""
    settings = settings_from(home, kafka_port)
    if not Partners.of(settings).remove(name):
        fail(f"no partner named {name!r}")
    _saved(settings, name).unlink(missing_ok=True)
    click.echo(f"partner {name} removed")
