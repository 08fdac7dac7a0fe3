"""`gamevault produce TOPIC`: the kafka-python producer for teams integrating from outside.

Each line is validated exactly as the platform's ingress will validate it, so mistakes are
reported per line before anything is sent; valid lines are sent keyed by their aggregate id and
acknowledged by the broker (acks=all) before they are reported as sent.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import IO

import click
import orjson

from gamevault.cli.common import fail, home_option, kafka_port_option, settings_from
from gamevault.streams.envelope import iso, utcnow
from gamevault.streams.topics import BY_NAME, INGRESS_TOPICS, Kind, partner_of, partner_topic
from gamevault.streams.validation import Invalid, validate


def _complete(line: bytes) -> bytes:
    """Fill the envelope attributes a producer may leave to us (specversion, id, time, source)."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line
    if isinstance(doc, dict):
        doc.setdefault("specversion", "1.0")
        doc.setdefault("id", str(uuid.uuid4()))
        doc.setdefault("time", iso(utcnow()))
        doc.setdefault("source", "/gamevault/produce")
        return orjson.dumps(doc)
    return line


@click.command()
@click.argument("topic")
@click.option("--file", "file_", type=click.File("rb"), default="-", show_default=True,
              help="JSON Lines file of CloudEvents ('-' reads standard input).")
@click.option("--complete", is_flag=True, help="Fill missing specversion, id, time and source.")
@click.option("--dry-run", is_flag=True, help="Validate only; send nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--partner", metavar="NAME", help="Publish as this partner (added from this home), to its own "
              "topic for TOPIC's module: the platform then applies only what the partner may change.")
@home_option
@kafka_port_option
def produce(topic: str, file_: IO[bytes], complete: bool, dry_run: bool, fmt: str, partner: str | None,
            home: Path | None, kafka_port: int | None) -> None:
    """Validate and publish CloudEvents (one JSON object a line) to an ingress TOPIC."""
    from gamevault.cli.partners import partner_access

    spec = BY_NAME.get(topic)
    if spec is None and (found := partner_of(topic)) is not None:  # a partner's own topic, named directly
        partner = partner or found[0]
        spec = found[1]
    if spec is None or spec.kind is not Kind.INGRESS:
        fail(f"{topic} is not an ingress topic; outside producers publish to: "
             + ", ".join(t.name for t in INGRESS_TOPICS) + " (or, as a partner, gamevault.partners.NAME.MODULE)")
    settings = settings_from(home, kafka_port)
    target = partner_topic(partner, spec.module or "") if partner else spec
    producer = None
    if not dry_run:
        from kafka import KafkaProducer

        access = partner_access(settings, partner) if partner else settings.kafka
        try:
            producer = KafkaProducer(**access.kafka_python(), acks="all", linger_ms=5, client_id="gamevault-produce",
                                     retries=5, max_block_ms=20_000)
        except Exception as exc:
            fail(f"Kafka at {access.describe()} is not reachable: {exc}")
    results = []
    pending = []
    for number, raw in enumerate(file_, start=1):
        line = raw.strip()
        if not line:
            continue
        if complete:
            line = _complete(line)
        verdict = validate(line, spec)
        if isinstance(verdict, Invalid):
            results.append({"line": number, "ok": False, "reason": verdict.reason.value, "detail": verdict.detail})
            continue
        entry = {"line": number, "ok": True, "type": verdict.event.type, "id": verdict.event.id, "key": verdict.key}
        results.append(entry)
        if producer is not None:
            pending.append((entry, producer.send(target.name, key=verdict.key.encode(), value=line)))
    if producer is not None:
        for entry, future in pending:
            try:
                meta = future.get(timeout=30)
                entry.update(partition=meta.partition, offset=meta.offset)
            except Exception as exc:
                entry.update(ok=False, reason="send_failed", detail=str(exc))
        producer.close()
    _report(results, fmt, dry_run)
    sys.exit(0 if results and all(r["ok"] for r in results) else 1)


def _report(results: list[dict], fmt: str, dry_run: bool) -> None:
    if fmt == "json":
        click.echo(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
        return
    for r in results:
        if r["ok"]:
            where = "valid (dry run)" if dry_run else f"sent -> partition {r['partition']} offset {r['offset']}"
            click.echo(f"line {r['line']}: ok  {r['type']}  key={r['key']}  {where}")
        else:
            click.echo(f"line {r['line']}: REJECTED  {r['reason']}: {r['detail']}")
    ok = sum(r["ok"] for r in results)
    click.echo(f"{ok} {'valid' if dry_run else 'sent'}, {len(results) - ok} rejected", err=True)
