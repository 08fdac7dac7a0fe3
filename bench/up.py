"""Orders through a plain `gamevault up`: CPU per completed order by process, from the processes' own counters.

bench.saga runs the workers and the simulators alone on a private broker. This runs what an operator runs:
`gamevault up` with its broker, its worker, the simulators and the lake sink, all as `up` starts them
(its default settings, its log level), and places orders through its API at fixed offered rates and
as fast as 64 clients can (the simulators told to answer at once, the API's rate limits raised for the
load generator). Each process's CPU is read from /proc before and after the orders flow; completion is
read on gamevault.orders.events.

Run: `python -m bench.up [--orders 600] [--rates 40,100,0] [--repeat 2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import Table, cpu_seconds, median, publish
from bench.saga import Completions, prepare, wait_done
from bench.saga_orders import place_many
from gamevault.broker.local import free_port

PARTS = ["worker", "broker", "simulators", "warehouse sink"]


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (/proc/<pid>/task/*/children)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *children(kid)]
    return found


def part_of(pid: int) -> str | None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    if "kafka.Kafka" in cmdline:
        return "broker"
    for name, marker in (("worker", " worker"), ("simulators", " simulators"), ("warehouse sink", " warehouse sink")):
        if marker in cmdline:
            return name
    return None


def one_run(orders: int, rate: float | None) -> dict[str, float]:
    """A fresh `gamevault up` in a home of its own -> CPU ms per completed order by part, and the count."""
    from gamevault.cli.common import settings_from

    with tempfile.TemporaryDirectory(prefix="gv-bench-up-") as tmp:
        home, api_port, kafka_port, sim_port = Path(tmp) / "home", free_port(), free_port(), free_port()
        env = {**os.environ, "GAMEVAULT_SIMULATOR_PORT": str(sim_port), "GAMEVAULT_RATE_LIMIT_PER_MINUTE": "1000000000",
               "GAMEVAULT_TOKEN_RATE_LIMIT_PER_MINUTE": "1000000"}
        for name in ("GAMEVAULT_KAFKA_BOOTSTRAP", "GAMEVAULT_HOME"):
            env.pop(name, None)
        with open(Path(tmp) / "up.log", "wb") as log:
            up = subprocess.Popen([sys.executable, "-m", "gamevault", "up", "--home", str(home), "--api-port",
                                   str(api_port), "--kafka-port", str(kafka_port)], env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            while b"GameVault is up" not in (Path(tmp) / "up.log").read_bytes():
                if up.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gamevault up did not start: " + (Path(tmp) / "up.log").read_text()[-2000:])
                time.sleep(0.5)
            url = f"http://127.0.0.1:{api_port}"
            httpx.post(f"http://127.0.0.1:{sim_port}/_sim/config", json={"delay_s": 0})  # answer at once
            settings = settings_from(home, kafka_port, api_port=api_port)
            products, buyers = prepare(url)
            done = Completions(settings.kafka)
            wait_done(done, asyncio.run(place_many(url, products, buyers, 60, 20, None)))  # warm-up
            parts = {pid: part_of(pid) for pid in children(up.pid)}
            parts = {pid: name for pid, name in parts.items() if name is not None}
            cpu0 = {pid: cpu_seconds(pid) for pid in parts}
            placed = asyncio.run(place_many(url, products, buyers, orders, 64 if rate is None else 200, rate))
            wait_done(done, placed)
            spent = {name: 0.0 for name in PARTS}
            for pid, name in parts.items():
                spent[name] += cpu_seconds(pid) - cpu0[pid]
            completed = sum(done.done.get(o, (0, ""))[1] == "completed" for o in placed)
            done.close()
            return {**{name: s * 1000 / max(completed, 1) for name, s in spent.items()}, "completed": completed}
        finally:
            up.terminate()
            up.wait(60)


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--rates", type=lambda v: [float(x) for x in v.split(",")], default=[40.0, 100.0, 0.0],
                        help="offered orders per second (0: as fast as 64 clients can, closed loop)")
    parser.add_argument("--repeat", type=int, default=2, help="alternated runs of each rate (median)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    runs: dict[float, list[dict[str, float]]] = {rate: [] for rate in args.rates}
    for _ in range(args.repeat):  # alternated: the machine's noise falls on every rate alike
        for rate in args.rates:
            runs[rate].append(one_run(args.orders, rate or None))
    table = Table(f"Orders through a plain `gamevault up`: CPU ms per completed order by process ({args.orders} "
                  f"orders a run, medians of {args.repeat} alternated runs)",
                  ["offered orders/s", "completed", *(f"{name} ms" for name in PARTS), "all ms"])
    for rate, rows in runs.items():
        ms = {name: median([r[name] for r in rows]) for name in PARTS}
        table.add(f"{rate:g}" if rate else "as fast as 64 clients can", f"{min(r['completed'] for r in rows)} of "
                  f"{args.orders}", *(ms[name] for name in PARTS), sum(ms.values()))
    table.notes.append("Each run: a fresh home, `gamevault up` as an operator starts it (broker, worker with the "
                       "API, simulators, lake sink), the simulators answering at once, the API's rate limits "
                       "raised; CPU from /proc of each process while the orders flow (after a 60-order warm-up). "
                       "Goal (issue 17): worker <= 7 ms, broker <= 4 ms per order.")
    publish([table], "bench.up", argv, args.no_record)
    return [table]


if __name__ == "__main__":
    main()
