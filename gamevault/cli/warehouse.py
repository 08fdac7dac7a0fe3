"""`gamevault warehouse sink|compact|export`, `gamevault sql`, `gamevault report`."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from gamevault.cli.common import fail, home_option, kafka_port_option, settings_from

FORMATS = click.Choice(["table", "csv", "json"])


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def render(columns: list[str], rows: list[tuple], fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps([{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows],
                           option=orjson.OPT_INDENT_2).decode()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows([[_plain(v) for v in row] for row in rows])
        return out.getvalue().rstrip("\n")
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*["NULL" if v is None else str(_plain(v)) for v in row])
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    console.print(table)
    console.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
    return console.file.getvalue().rstrip("\n")


@click.group(name="warehouse")
def warehouse() -> None:
    """ADR: the event lake (Parquet) and its DuckDB model."""


@warehouse.command()
@home_option
@kafka_port_option
@click.option("--flush-rows", type=int, default=50_000, show_default=True, help="Write a file after N rows ...")
@click.option("--flush-seconds", type=float, default=5.0, show_default=True, help="... or after T seconds ...")
@click.option("--idle-seconds", type=float, default=1.0, show_default=True, help="... or when a partition goes idle.")
@click.option("--compact-seconds", type=float, default=600.0, show_default=True,
              help="Compact and refresh the rollups this often (0: never; `warehouse compact` does it by hand).")
def sink(home: Path | None, kafka_port: int | None, flush_rows: int, flush_seconds: float, idle_seconds: float,
         compact_seconds: float) -> None:
    """Consume every public events topic into the lake (zstd Parquet, Hive-partitioned), exactly once."""
    from gamevault.warehouse.sink import run

    settings = settings_from(home, kafka_port)
    click.echo(f"warehouse sink: {settings.kafka.describe()} -> {settings.lake}", err=True)
    run(settings, flush_rows, flush_seconds, idle_seconds, compact_seconds)


@warehouse.command()
@home_option
@click.option("--min-files", type=int, default=4, show_default=True, help="Merge a partition from this many files.")
def compact(home: Path | None, min_files: int) -> None:
    """Merge small files of each partition into files of a target size (safe while the sink writes), then
    refresh the rollups (the `orders` snapshot pre-aggregated, so reports read it instead of every event)."""
    from gamevault.warehouse.compact import compact as run

    done = run(settings_from(home).lake, min_files)
    for rel, rows, replaced in done:
        click.echo(f"{rel}: {rows} rows from {replaced} files")
    click.echo(f"{len(done)} merged file(s)", err=True)


@warehouse.command()
@home_option
@click.option("--duckdb", "target", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The DuckDB database file to write.")
def export(home: Path | None, target: Path) -> None:
    """Write the views as tables of a DuckDB database file (for the DuckDB CLI or a BI tool)."""
    from gamevault.warehouse.export import export as run

    counts = run(settings_from(home).lake, target)
    for view, n in counts.items():
        click.echo(f"{view:12} {n:>10} rows")
    click.echo(f"written: {target}", err=True)


def stream_rows(columns: list[str], batches: Any, fmt: str) -> None:
    """CSV or JSON of any size, written batch by batch: nothing is held beyond one batch."""
    out = sys.stdout
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for batch in batches:
            writer.writerows([[_plain(v) for v in row] for row in batch])
        return
    first = True
    out.write("[")
    for batch in batches:
        for row in batch:
            out.write(("\n  " if first else ",\n  ") + orjson.dumps({c: _plain(v) for c, v in
                                                                      zip(columns, row, strict=True)}).decode())
            first = False
    out.write("\n]\n" if not first else "]\n")


@click.command()
@click.argument("query", required=False)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds a query may run before it is stopped.")
@click.option("--max-rows", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Rows a table shows (csv and json stream every row).")
@home_option
def sql(query: str | None, fmt: str, timeout_s: float, max_rows: int, home: Path | None) -> None:
    """DuckDB over the lake, read-only and sandboxed. Views: events, orders, order_items, payments,
    shipments, reviews, comments, products, users, carts. Without QUERY: an interactive shell (history kept)."""
    from gamevault.warehouse.sandbox import Sandbox

    with Sandbox(settings_from(home).lake) as box:
        if query is None and sys.stdin.isatty():
            _shell(box, fmt, settings_from(home).home / "sql_history")
        else:
            _run_sql(box, query if query is not None else sys.stdin.read(), fmt, timeout_s, max_rows)


def _run_sql(box: Any, text: str, fmt: str, timeout_s: float, max_rows: int) -> None:
    from gamevault.warehouse.sandbox import Refused, TimedOut

    try:
        if fmt in ("csv", "json"):
            for columns, batches in box.stream(text, timeout_s):
                stream_rows(columns, batches, fmt)
            return
        result = box.query(text, timeout_s, max_rows)
    except Refused as exc:
        fail(str(exc), code=2)
    except TimedOut as exc:
        fail(str(exc), code=3)
    except Exception as exc:  # duckdb's own errors: a clear line, a failing exit
        fail(f"query failed: {exc}", code=1)
    click.echo(render(result.columns, result.rows, fmt))
    if result.truncated:
        click.echo(f"(only the first {max_rows:,} rows are shown: use --max-rows, or --format csv|json to "
                   "stream them all)", err=True)


def _shell(box: Any, fmt: str, history: Path) -> None:
    import readline

    from gamevault.warehouse.sandbox import Refused

    history.parent.mkdir(parents=True, exist_ok=True)
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    click.echo("GameVault SQL (read-only). End statements with ';'. Ctrl-D quits.")
    buffer = ""
    while True:
        try:
            line = input("gamevault> " if not buffer else "       ...> ")
        except EOFError:
            break
        buffer += line + "\n"
        if not buffer.strip().endswith(";"):
            continue
        statement, buffer = buffer, ""
        box.refresh()  # the newest data for every statement
        try:
            result = box.query(statement)
            click.echo(render(result.columns, result.rows, fmt))
        except Refused as exc:
            click.echo(f"refused: {exc}")
        except Exception as exc:
            click.echo(f"error: {exc}")
    readline.write_history_file(history)


@click.command()
@click.argument("name", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "png"]), default="table",
              show_default=True)
@click.option("--list", "list_", is_flag=True, help="List the reports.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="PNG path (default under <home>/reports).")
@home_option
def report(name: str | None, fmt: str, list_: bool, out: Path | None, home: Path | None) -> None:
    """Canned reports over the lake (see --list); --format png draws a chart and prints its path."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from gamevault.warehouse.reports import DESCRIPTIONS, REPORTS_SQL, draw
    from gamevault.warehouse.sandbox import Sandbox

    if list_ or not name:
        for key, text in DESCRIPTIONS.items():
            click.echo(f"{key:22} {text}")
        return
    if name not in REPORTS_SQL:
        fail(f"no report {name!r}; `gamevault report --list` shows them")
    settings = settings_from(home)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True,
                  disable=not sys.stderr.isatty()) as progress:
        progress.add_task(f"running {name}", total=None)
        with Sandbox(settings.lake) as box:
            result = box.query(REPORTS_SQL[name])
    if fmt == "png":
        path = out or settings.home / "reports" / f"{name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.png"
        click.echo(draw(name, result.columns, result.rows, path))
        return
    click.echo(render(result.columns, result.rows, fmt))
