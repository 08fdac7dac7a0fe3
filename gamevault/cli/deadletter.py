"""`gamevault deadletter list|replay`: the dead letters, with their reason and origin; sending them back.

Runs as the operator (the dead-letter topic holds every refused record: no partner may read it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import orjson

from gamevault.broker.deadletters import DeadLetter, DeadLetters
from gamevault.cli.common import fail, guarded, home_option, kafka_port_option, settings_from
from gamevault.kafka_access import OPERATOR


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--since {value!r}: an ISO 8601 time such as 2026-12-01T10:00:00Z")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _selected(home: Path | None, kafka_port: int | None, reason: str | None, topic: str | None,
              since: str | None, limit: int | None, offset: str | None) -> tuple[DeadLetters, list[DeadLetter]]:
    box = DeadLetters(settings_from(home, kafka_port).kafka_as(OPERATOR))
    letters = box.list(reason, topic, _since(since), None if offset else limit)
    if offset is not None:
        try:
            src_topic, partition, off = offset.rsplit("/", 2)
            wanted = (src_topic, int(partition), int(off))
        except ValueError:
            fail(f"--offset {offset!r}: TOPIC/PARTITION/OFFSET of the refused record (dlq.source.*)")
        letters = [d for d in letters if d.source == wanted or d.id == offset]
    return box, letters


filters = [
    click.option("--reason", help="Only this dlq.reason (not_json, schema_violation, rejected, unauthorized, ...)."),
    click.option("--topic", help="Only records refused from this source topic."),
    click.option("--since", help="Only dead letters written since this ISO 8601 time."),
]


def with_filters(fn):
    for option in reversed(filters):
        fn = option(fn)
    return fn


@click.group(name="deadletter")
def deadletter() -> None:
    """Records the platform refused, with the reason: list them, send them back once fixed."""


@deadletter.command(name="list")
@with_filters
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@home_option
@kafka_port_option
@guarded
def list_(reason: str | None, topic: str | None, since: str | None, limit: int, fmt: str, home: Path | None,
          kafka_port: int | None) -> None:
    """Dead letters, oldest first: reason, origin (topic/partition/offset) and the record."""
    _, letters = _selected(home, kafka_port, reason, topic, since, limit, None)
    if fmt == "json":
        click.echo(orjson.dumps([d.as_dict() for d in letters], option=orjson.OPT_INDENT_2).decode())
        return
    for d in letters:
        src = "/".join(map(str, d.source)) if d.source else "-"
        click.echo(f"{d.headers.get('dlq.at', ''):27} {d.reason:17} {src:45} {d.headers.get('dlq.detail', '')[:90]}")
    click.echo(f"{len(letters)} dead letter{'s' if len(letters) != 1 else ''}", err=True)


@deadletter.command()
@with_filters
@click.option("--offset", help="Only the dead letter of this refused record: TOPIC/PARTITION/OFFSET.")
@home_option
@kafka_port_option
@guarded
def replay(reason: str | None, topic: str | None, since: str | None, offset: str | None, home: Path | None,
           kafka_port: int | None) -> None:
    """Send each selected dead letter's original record back to its source topic, once."""
    if not (reason or topic or since or offset):
        fail("say which dead letters to replay: --reason, --topic, --since or --offset")
    box, letters = _selected(home, kafka_port, reason, topic, since, None, offset)
    if not letters:
        fail("no dead letter matches")
    for letter, what in box.replay(letters):
        click.echo(f"{letter.id}  ({letter.reason})  {what}")
