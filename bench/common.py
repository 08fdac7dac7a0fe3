"""Shared by the benchmarks: a private broker, timing helpers, and the results table."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gamevault.broker.local import LocalKafka

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = REPO / "docs" / "BENCHMARKS.md"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *row: object) -> None:
        self.rows.append(list(row))

    def markdown(self) -> str:
        def fmt(v: object) -> str:
            if isinstance(v, float):
                return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"
            if isinstance(v, int):
                return f"{v:,}"
            return str(v)

        lines = ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in self.rows]
        return "\n".join(lines)


def machine() -> str:
    cpus = os.cpu_count()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return f"{cpus} cores ({model}), Python {platform.python_version()}, {java}"


def show(tables: Sequence[Table]) -> None:
    for table in tables:
        print(f"\n### {table.title}\n\n{table.markdown()}\n" + "".join(f"- {n}\n" for n in table.notes))


def record(tables: Sequence[Table], command: str) -> None:
    """Print the tables and append them, with the command and the machine, to docs/BENCHMARKS.md."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    chunks = []
    for table in tables:
        body = f"### {table.title}\n\n{table.markdown()}\n"
        if table.notes:
            body += "\n" + "\n".join(f"- {n}" for n in table.notes) + "\n"
        chunks.append(body)
        print(f"\n{body}")
    section = f"\n## {tables[0].title.split(':')[0]} — {stamp}\n\nCommand: `{command}`  \nMachine: {machine()}\n\n"
    BENCHMARKS_MD.parent.mkdir(exist_ok=True)
    if not BENCHMARKS_MD.exists():
        BENCHMARKS_MD.write_text("# Benchmarks\n\nEvery table below was appended by a script under `bench/`, "
                                 "with the command that produced it. Figures are medians of repeated runs on a "
                                 "shared, noisy machine; ratios to a baseline measured in the same run are the "
                                 "figures to compare.\n")
    with open(BENCHMARKS_MD, "a") as fh:
        fh.write(section + "\n".join(chunks))


def publish(tables: Sequence[Table], module: str, argv: list[str] | None, no_record: bool) -> None:
    """Print the tables; unless `no_record`, also append them to BENCHMARKS.md with the command that ran."""
    if no_record:
        show(tables)
    else:
        record(tables, f"python -m {module} " + " ".join(argv if argv is not None else sys.argv[1:]))


BROKER_PIDS: dict[str, int] = {}  # bootstrap -> JVM pid, for the benchmarks that account CPU per process


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/<pid>/stat, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def private_broker(heap: str = "1g", plaintext: bool = False) -> Iterator[LocalKafka]:
    """A fresh single-node broker (the project's own LocalKafka, locked) for the benchmark's duration.

    Clients connect with `broker.access(PLATFORM)`; GameVault processes of another home get
    `broker.client_env()`. `plaintext`: also an unauthenticated listener (`broker.plaintext_port`) whose
    anonymous clients may use the `bench-` topics, to measure what the locks cost."""
    from gamevault.broker.acls import grant, platform_acls
    from gamevault.broker.admin import admin_client, ensure_topics
    from gamevault.broker.local import free_port
    from gamevault.kafka_access import PLATFORM

    jars = LocalKafka(REPO / ".gamevault").install(echo=lambda m: print(m, file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="gv-bench-") as home:
        broker = LocalKafka(Path(home), free_port(span=4), libs_dir=jars, heap=heap,
                            plaintext_port=free_port() if plaintext else None)
        BROKER_PIDS[broker.bootstrap] = broker.start(echo=lambda m: print(m, file=sys.stderr)).pid
        try:
            ensure_topics(broker.access(PLATFORM))
            admin = admin_client(broker.access())
            try:  # bench topics: the platform owns gamevault*, these are the benchmark's own
                grant(admin, platform_acls(PLATFORM, prefix="bench-"))
                if plaintext:
                    grant(admin, platform_acls("ANONYMOUS", prefix="bench-"))
            finally:
                admin.close()
            yield broker
        finally:
            broker.stop(echo=lambda m: None)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.perf_counter() - self.start
