"""Soak: the system suite's mixed traffic at a steady pace for 10 minutes against the whole stack.

One broker, one worker (agents + API), the gateway simulators and the warehouse sink, as `gamevault up`
runs them. Traffic: searches, product pages, carts, orders over the three providers, reviews with
moderation, invalid partner records. Reported: requests and p50/p99 per route, errors (5xx or no answer),
and the worker's RSS at the start, middle and end with its least-squares slope over the last half.
The baseline is the bare FastAPI endpoint, timed from the same client process in the same run.

Run: `python -m bench.soak [--seconds 600] [--threads 4] [--pace 0.05]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from bench import bare_api
from bench.common import Table, median, percentile, publish
from tests.support.stack import jar_cache
from tests.system.harness import check_everything, system_stack
from tests.system.soak import run_soak


def bare_latencies(seconds: float = 10.0) -> list[float]:
    """The bare endpoint (bench/bare_api.py in its own process), 20 sequential GETs a second."""
    out: list[float] = []
    with bare_api.serve() as url, httpx.Client(timeout=10) as http:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            http.get(url)
            out.append(time.perf_counter() - started)
            time.sleep(0.05)
    return out


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pace", type=float, default=0.05, help="pause of each traffic thread between calls")
    parser.add_argument("--reads-only", type=float, default=120.0, help="seconds of read-only traffic after it")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    jar_cache()
    bare = bare_latencies()
    with tempfile.TemporaryDirectory(prefix="gv-bench-soak-") as home:
        stack = system_stack(Path(home) / "system")
        try:
            result = run_soak(stack, args.seconds, threads=args.threads, pace_s=args.pace,
                              reads_only_s=args.reads_only)
            summary = check_everything(stack, result.traffic, None)
        finally:
            stack.stop()
            stack.broker.stop()

    minutes = args.seconds / 60
    t1 = Table(f"Soak: {minutes:g} minutes of mixed traffic, one worker",
               ["route", "requests", "req/s", "p50 ms", "p99 ms", "errors"])
    t1.add("bare FastAPI endpoint (baseline, 20 req/s)", len(bare), len(bare) / 10, median(bare) * 1000,
           percentile(bare, 99) * 1000, 0)
    for row in result.routes():
        t1.add(*row)
    t1.notes.append(f"{result.requests:,} requests, {result.errors} errors (5xx or no answer); "
                    f"{args.threads} client threads, {args.pace * 1000:g} ms pause between calls.")
    t1.notes.append(f"At the end: {summary['orders']:,} orders all final ({summary['completed']:,} completed, "
                    f"{summary['refunds']} refunds, captures and stock checked), {summary['reviews']} approved "
                    f"reviews counted once, {summary['dead letters']} invalid partner records dead-lettered, "
                    f"{summary['lake events']:,} public events in the lake exactly once.")
    rss = result.rss
    mid = min(rss, key=lambda s: abs(s[0] - args.seconds / 2))
    t2 = Table(f"Soak: worker memory over {minutes:g} minutes",
               ["RSS start MB", "RSS middle MB", "RSS end MB", "slope over last half MB/min", "KB per order kept",
                "reads-only slope MB/min"])
    t2.add(rss[0][1], mid[1], rss[-1][1], f"{result.late_slope:+.2f}", result.kb_per_order,
           f"{result.reads_only_slope:+.2f}")
    t2.notes.append("RSS of the worker process from /proc every 2 s; slopes are least-squares fits, over the second "
                    "half of the mixed traffic and over a read-only phase after it. Table state is spilled to a "
                    "local RocksDB (gamevault/tables/spill.py) with bounded caches (24 MB), so the worker grows "
                    "until those fill, then stays flat; the read-only phase shows whether serving requests leaks.")
    tables = [t1, t2]
    publish(tables, "bench.soak", argv, args.no_record)
    return tables


if __name__ == "__main__":
    main()
