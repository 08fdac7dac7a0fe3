"""Orders through a plain `gamevault up`: CPU per completed order by process, from the processes' own counters.

bench.saga runs the workers and the simulators alone on a private broker. This runs what an operator runs:
`gamevault up` with its broker, its worker, the simulators and the lake sink, all as `up` starts them
(its default settings, its log level), and places orders through its API at fixed offered rates and
as fast as 64 clients can (the simulators told to answer at once, the API's rate limits raised for the
load generator). Each process's CPU is read from /proc before and after the orders flow; completion is
read on gamevault.orders.events.

A fresh broker's JVM compiles Kafka's hot paths in its first minutes: on a cold `up` its compiler threads
used a fifth of a core while 800 orders flowed at 40/s, more than its request threads. `--warm-up N` places N
orders (as fast as 64 clients can) before the measured ones, so the figure is that of a broker that has been
running, as an operator's does; `--warm-up 60` is the cold start. `--requests` also counts every Kafka request
of every process `up` started (bench/kafka_probe), per completed order by client.

`--lever NAME` runs each rate with one of bench/levers.py's levers off, then on (alternated). `--idle S` also
measures an idle `up` (no orders after the warm-up) for S seconds, per second: the floor of a low rate.

Run: `python -m bench.up [--orders 600] [--rates 40,100,0] [--repeat 2] [--warm-up 1500] [--requests]
[--lever NAME] [--idle S]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import Table, cpu_seconds, median, publish
from bench.levers import LEVERS
from bench.saga import Completions, prepare, wait_done
from bench.saga_orders import place_many
from gamevault.broker.local import free_port

PARTS = ["worker", "broker", "simulators", "warehouse sink"]
PROBE = Path(__file__).resolve().parent / "kafka_probe"
CLIENTS = {"faust": "Faust (agents and producer)", "gamevault-replica": "read-model replica",
           "gamevault-replies": "replies", "gamevault-ingress": "ingress", "gamevault-warehouse-sink": "lake sink"}


def compiler_ticks(pid: int) -> dict[str, int]:
    """CPU clock ticks of each of a JVM's JIT compiler threads ("C1/C2 CompilerThread<n>"), by thread id."""
    ticks = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if "CompilerThre" in name:
            ticks[task.name] = int(fields[11]) + int(fields[12])
    return ticks


def compiler_seconds(before: dict[str, int], after: dict[str, int]) -> float:
    """What the compiler threads alive at the end spent since `before` (the JVM starts and ends compiler threads
    as it needs them: one gone meanwhile is not counted, so this is a floor)."""
    return sum(n - before.get(tid, 0) for tid, n in after.items()) / os.sysconf("SC_CLK_TCK")


def probe_counts(probe_dir: Path) -> dict[str, float]:
    """Every process's Kafka request counts so far, summed by (client, API); see bench/kafka_probe."""
    total: dict[str, float] = {}
    for path in probe_dir.glob("*.json"):
        try:
            counts = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for key, n in counts.items():
            client, api = key.split("|")
            name = next((v for k, v in CLIENTS.items() if client.startswith(k)), "other")
            total[f"{name}|{api}"] = total.get(f"{name}|{api}", 0) + n
    return total


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


def one_run(orders: int, rate: float | None, warm_up: int, requests: bool, warm_at_rate: bool = False,
            lever: str | None = None, idle_s: float = 0.0) -> dict[str, float]:
    """A fresh `gamevault up` in a home of its own -> CPU ms per completed order by part, the count and (with
    `requests`) Kafka requests per completed order as "client|API". `lever`: "NAME:on" or "NAME:off".
    `idle_s`: no orders after the warm-up; the same figures per second over `idle_s` seconds instead."""
    from gamevault.cli.common import settings_from

    with tempfile.TemporaryDirectory(prefix="gv-bench-up-") as tmp:
        home, api_port, kafka_port, sim_port = Path(tmp) / "home", free_port(), free_port(), free_port()
        env = {**os.environ, "GAMEVAULT_SIMULATOR_PORT": str(sim_port), "GAMEVAULT_RATE_LIMIT_PER_MINUTE": "1000000000",
               "GAMEVAULT_TOKEN_RATE_LIMIT_PER_MINUTE": "1000000"}
        for name in ("GAMEVAULT_KAFKA_BOOTSTRAP", "GAMEVAULT_HOME"):
            env.pop(name, None)
        probe_dir = Path(tmp) / "probe"
        if requests:
            probe_dir.mkdir()
            env["GAMEVAULT_BENCH_PROBE_DIR"] = str(probe_dir)
        if lever:
            env["GAMEVAULT_BENCH_LEVER"] = lever
        if requests or lever:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROBE), env.get("PYTHONPATH")]))
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
            warm_rate = rate if warm_at_rate else None
            wait_done(done, asyncio.run(place_many(url, products, buyers, warm_up, 64 if warm_rate is None else 200,
                                                   warm_rate)))
            parts = {pid: part_of(pid) for pid in children(up.pid)}
            parts = {pid: name for pid, name in parts.items() if name is not None}
            time.sleep(1.5 if requests else 0)  # every probe has written its counts since the warm-up
            broker = next(pid for pid, name in parts.items() if name == "broker")
            cpu0, requests0 = {pid: cpu_seconds(pid) for pid in parts}, probe_counts(probe_dir)
            compiler0 = compiler_ticks(broker)
            if idle_s:
                time.sleep(idle_s)
                placed = []
            else:
                placed = asyncio.run(place_many(url, products, buyers, orders, 64 if rate is None else 200, rate))
                wait_done(done, placed)
            cpu1 = {pid: cpu_seconds(pid) for pid in parts}
            compiler = compiler_seconds(compiler0, compiler_ticks(broker))
            time.sleep(1.5 if requests else 0)
            requests1 = probe_counts(probe_dir)
            spent = {name: 0.0 for name in PARTS}
            for pid, name in parts.items():
                spent[name] += cpu1[pid] - cpu0[pid]
            completed = idle_s or sum(done.done.get(o, (0, ""))[1] == "completed" for o in placed)
            done.close()
            counted_over = idle_s + (1.5 if requests else 0) if idle_s else completed  # the counts run on 1.5 s
            sent = {key: (n - requests0.get(key, 0)) / max(counted_over, 1) for key, n in requests1.items()}
            return {**{name: s * 1000 / max(completed, 1) for name, s in spent.items()}, "completed": completed,
                    "broker's JIT compiler": compiler * 1000 / max(completed, 1),
                    **sent}
        finally:
            up.terminate()
            up.wait(60)


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--rates", type=lambda v: [float(x) for x in v.split(",")], default=[40.0, 100.0, 0.0],
                        help="offered orders per second (0: as fast as 64 clients can, closed loop)")
    parser.add_argument("--repeat", type=int, default=2, help="alternated runs of each rate (median)")
    parser.add_argument("--warm-up", type=int, default=1500, help="orders placed before the measured ones")
    parser.add_argument("--warm-at-rate", action="store_true", help="place the warm-up orders at the measured rate "
                        "(default: as fast as 64 clients can)")
    parser.add_argument("--requests", action="store_true", help="also count Kafka requests per order by client")
    parser.add_argument("--lever", choices=sorted(LEVERS), help="each rate with one lever of bench/levers.py "
                        "off, then on (alternated)")
    parser.add_argument("--idle", type=float, default=0.0, metavar="SECONDS", help="also measure an idle `up` "
                        "(no orders after the warm-up) for SECONDS: CPU ms and requests per second")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    settings = [(rate, state) for rate in args.rates for state in (["off", "on"] if args.lever else [""])]
    runs: dict[tuple[float, str], list[dict[str, float]]] = {setting: [] for setting in settings}
    for _ in range(args.repeat):  # alternated: the machine's noise falls on every rate alike
        for rate, state in settings:
            lever = f"{args.lever}:{state}" if args.lever else None
            runs[rate, state].append(one_run(args.orders, rate or None, args.warm_up, args.requests,
                                             args.warm_at_rate, lever))
    states = ["off", "on"] if args.lever else [""]
    idle: dict[str, list[dict[str, float]]] = {state: [] for state in states} if args.idle else {}
    for _ in range(args.repeat if args.idle else 0):
        for state in states:
            idle[state].append(one_run(0, None, args.warm_up, args.requests, idle_s=args.idle,
                                       lever=f"{args.lever}:{state}" if args.lever else None))
    warmed = " at the same rate" if args.warm_at_rate else ""
    label = {(rate, state): (f"{rate:g}" if rate else "as fast as 64 clients can") +
             (f", {args.lever} {state}" if state else "") for rate, state in runs}
    table = Table(f"Orders through a plain `gamevault up`: CPU ms per completed order by process ({args.orders} "
                  f"orders a run after {args.warm_up:,}{warmed}, medians of {args.repeat} alternated runs)",
                  ["offered orders/s", "completed", *(f"{name} ms" for name in PARTS), "all ms",
                   "of the broker's: its JIT compiler ms"])
    for setting, rows in runs.items():
        ms = {name: median([r[name] for r in rows]) for name in PARTS}
        table.add(label[setting], f"{min(r['completed'] for r in rows)} of {args.orders}",
                  *(ms[name] for name in PARTS), sum(ms.values()), median([r["broker's JIT compiler"] for r in rows]))
    table.notes.append("Each run: a fresh home, `gamevault up` as an operator starts it (broker, worker with the "
                       "API, simulators, lake sink), the simulators answering at once, the API's rate limits "
                       f"raised, {args.warm_up:,} orders placed first; CPU from /proc of each process while the "
                       "measured orders flow. Goal (issue 17): worker <= 7 ms, broker <= 4 ms per order.")
    if jvm_options := os.environ.get("GAMEVAULT_KAFKA_JVM_OPTS"):
        table.notes.append(f"The broker's JVM with GAMEVAULT_KAFKA_JVM_OPTS={jvm_options!r}.")
    tables = [table]
    if args.requests:
        tables.append(request_table(runs, label, args.orders))
    if idle:
        tables.append(idle_table(idle, args.idle, args.warm_up, args.lever))
    publish(tables, "bench.up", argv, args.no_record)
    return tables


def request_table(runs: dict[Any, list[dict[str, float]]], label: dict[Any, str], orders: int) -> Table:
    """Kafka requests per completed order by client (medians), and how many partitions a fetch names."""
    clients = list(CLIENTS.values())
    table = Table(f"Kafka requests per completed order by client, same runs ({orders} orders a run)",
                  ["offered orders/s", "produce, all clients", *(f"fetch: {c}" for c in clients),
                   "partitions a Faust fetch names"])
    for setting, rows in runs.items():
        produce = median([sum(v for k, v in r.items() if k.endswith("|Produce")) for r in rows])
        fetches = [median([r.get(f"{c}|Fetch", 0.0) for r in rows]) for c in clients]
        faust = [(r.get(f"{CLIENTS['faust']}|FetchPartitions", 0.0), r.get(f"{CLIENTS['faust']}|Fetch", 0.0))
                 for r in rows]
        table.add(label[setting], produce, *fetches, median([parts / max(n, 1e-9) for parts, n in faust]))
    table.notes.append("Counted in every process `up` started, at its aiokafka connections (bench/kafka_probe): "
                       "a request per call, whatever its size; the broker answers each.")
    return table


def idle_table(by_state: dict[str, list[dict[str, float]]], seconds: float, warm_up: int, lever: str | None
               ) -> Table:
    """What an idle `up` costs a second: the floor under every low-rate figure per order."""
    repeats = len(next(iter(by_state.values())))
    table = Table(f"An idle `gamevault up` ({seconds:g} s after {warm_up:,} orders, medians of {repeats} runs): "
                  "CPU ms and Kafka requests per second",
                  ["", *(f"{name} ms/s" for name in PARTS), "all ms/s", "of the broker's: its JIT compiler ms/s",
                   "produce/s", *(f"fetch/s: {c}" for c in CLIENTS.values())])
    for state, runs in by_state.items():
        ms = [median([r[name] for r in runs]) for name in PARTS]
        produce = median([sum(v for k, v in r.items() if k.endswith("|Produce")) for r in runs])
        fetches = [median([r.get(f"{c}|Fetch", 0.0) for r in runs]) for c in CLIENTS.values()]
        table.add(f"idle, {lever} {state}" if state else "idle", *ms, sum(ms),
                  median([r["broker's JIT compiler"] for r in runs]), produce, *fetches)
    table.notes.append("At R orders/s an order carries about (idle ms/s) / R of this on top of its own work: the "
                       "long polls of each consumer (Faust 50 ms, the replica 25 ms, replies 500 ms, ingress 100 ms, "
                       "the sink 500 ms) answered empty, and the broker's own housekeeping.")
    return table


if __name__ == "__main__":
    main()
