"""A throwaway PostgreSQL for a benchmark peer: Debian's server binaries, a cluster in a temporary
directory, run as the unprivileged `postgres` user (PostgreSQL refuses to run as root), trust auth on
127.0.0.1 only, removed when the block ends. Install with `make bench-deps`."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from gamevault.broker.ports import free_port

USER = "postgres"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL's server binaries are missing: run `make bench-deps` (Debian's postgresql)")
    return found[-1]


def _as_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", USER, "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def postgres(max_connections: int = 200) -> Iterator[str]:
    """A running server; yields its URL (database `postgres`, user `postgres`)."""
    tmp = Path(tempfile.mkdtemp(prefix="gv-bench-pg-"))
    data, port = tmp / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(tmp, USER)
    subprocess.run(_as_user([_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
                   check=True, stdout=subprocess.DEVNULL)
    options = (f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c max_connections={max_connections} "
               "-c shared_buffers=256MB -c fsync=on -c synchronous_commit=on")
    subprocess.run(_as_user([_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(tmp / "log"), "-w",
                             "start"]), check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_user([_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.2)
        shutil.rmtree(tmp, ignore_errors=True)


def pids(url: str) -> list[int]:
    """The server's processes (the postmaster and its backends), for CPU accounting from /proc."""
    port = url.rsplit(":", 1)[1].split("/")[0]
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    master = [int(line.split()[0]) for line in out.splitlines() if "postgres" in line and f"-p {port}" in line]
    if not master:
        return []
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master[0])], capture_output=True, text=True).stdout
    return master + [int(p) for p in children.split()]
