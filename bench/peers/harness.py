"""Running bench/peers/dbos_saga.py inside bench.saga: PostgreSQL, the simulators, the peer, the same load.

CPU is counted per process from /proc, as for GameVault: the peer, PostgreSQL (its live backends plus
those that exited, from the postmaster's children times), the simulators and the load generator.
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

from bench.common import Table, cpu_seconds
from bench.peers.postgres import pids as pg_pids
from bench.peers.postgres import postgres
from bench.saga_orders import place_many, wait_ready
from gamevault.broker.ports import free_port

PEER_PYTHON = Path(__file__).resolve().parents[2] / ".venv-peer" / "bin" / "python"
PEER_PARTS = ["peer (DBOS + FastAPI)", "postgres", "simulators", "bench client"]


def peer_completions(url: str, placed: dict[str, float], timeout: float = 300) -> dict[str, tuple[float, str]]:
    deadline = time.monotonic() + timeout
    while True:
        done = {k: tuple(v) for k, v in httpx.get(url + "/peer/completions", timeout=30).json().items()}
        if all(o in done for o in placed) or time.monotonic() > deadline:
            return done
        time.sleep(0.5)


def peer_scenario(args: argparse.Namespace) -> dict:
    """The same orders through bench/peers/dbos_saga.py: same simulators, same load generator, PostgreSQL."""
    if not PEER_PYTHON.exists():
        raise SystemExit("the DBOS peer needs `make bench-deps` (Debian's PostgreSQL and .venv-peer)")
    with postgres() as pg_url, tempfile.TemporaryDirectory(prefix="gv-bench-peer-") as tmp:
        port, sim_port = free_port(), free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "GAMEVAULT_HOME": tmp, "GAMEVAULT_SIMULATOR_PORT": str(sim_port),
               "GAMEVAULT_API_URL": url, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        sim = subprocess.Popen([sys.executable, "-m", "gamevault", "simulators"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ready(f"http://127.0.0.1:{sim_port}/_sim/config")
        with open(Path(tmp) / "peer.log", "ab") as log:
            peer = subprocess.Popen([str(PEER_PYTHON), "-m", "bench.peers.dbos_saga", str(port), pg_url], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(url + "/readyz")
            httpx.post(f"http://127.0.0.1:{sim_port}/_sim/config", json={"delay_s": 0})
            products = [f"peer-p{n}" for n in range(16)]
            buyers = [{"Authorization": "Bearer not-checked-by-the-peer"}]
            warm = asyncio.run(place_many(url, products, buyers, 60, 20, None))
            peer_completions(url, warm)
            parts = {"peer (DBOS + FastAPI)": [peer.pid], "simulators": [sim.pid]}

            def cpu_now() -> dict[str, float]:
                now = {name: sum(map(cpu_seconds, p)) for name, p in parts.items()}
                now["postgres"] = sum(map(cpu_seconds, pg_pids(pg_url))) + pg_children_cpu(pg_url)
                return now

            cpu0, client0, t0 = cpu_now(), time.process_time(), time.time()
            placed = asyncio.run(place_many(url, products, buyers, args.orders, args.concurrency, None))
            done = peer_completions(url, placed)
            cpu = {name: value - cpu0[name] for name, value in cpu_now().items()}
            cpu["bench client"] = time.process_time() - client0
            completed = sum(done.get(o, (0, ""))[1] == "completed" for o in placed)
            last = max(done[o][0] for o in placed if o in done)
            log_tail = (Path(tmp) / "peer.log").read_text()[-2000:]
            if completed < len(placed):
                print(f"peer: {completed}/{len(placed)} completed; log tail:\n{log_tail}", file=sys.stderr)
            return {"throughput": completed / (last - t0), "completed": completed, "placed": len(placed),
                    "cpu_ms": {name: seconds * 1000 / max(completed, 1) for name, seconds in cpu.items()}}
        finally:
            for proc in (peer, sim):
                proc.terminate()
            for proc in (peer, sim):
                proc.wait(30)


def pg_children_cpu(url: str) -> float:
    """CPU of the server's backends that have exited (the postmaster's cutime + cstime)."""
    found = pg_pids(url)
    if not found:
        return 0.0
    fields = Path(f"/proc/{found[0]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def peer_table(ours: dict, peer: dict, args: argparse.Namespace) -> Table:
    table = Table("Order saga beside its peer: GameVault (1 worker, Kafka) and DBOS Transact (PostgreSQL), same "
                  "simulators and load generator",
                  ["system", "completed", "completed orders/s", "CPU ms per order (all processes)",
                   "orders per CPU-second", "CPU ms by process"])
    for name, res in (("GameVault, 1 worker", ours), ("DBOS peer (bench/peers/dbos_saga.py)", peer)):
        total = sum(res["cpu_ms"].values())
        by = ", ".join(f"{k} {v:.1f}" for k, v in res["cpu_ms"].items())
        table.add(name, res["completed"], res["throughput"], total, 1000 / total, by)
    table.notes.append(f"{args.orders} orders, {args.concurrency} concurrent clients, each on a fresh broker or "
                       "PostgreSQL. The peer checks no JWT and keeps no read models, events or lake feed: it is the "
                       "saga alone. Goal (issue 17): GameVault completes more orders per CPU-second than the peer.")
    return table
