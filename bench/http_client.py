"""CPU per request of the httpx AsyncClient that the gateway adapters, the carrier and the simulators'
webhook sender use: with `sniffio` importable (a dependency of this project) and without it.

httpcore imports `sniffio` inside `current_async_library()`, on every lock and connection setup;
anyio >= 4.11 and httpx 0.28 no longer install it, and Python does not cache a failed import, so each
call scans `sys.path` again (encode/httpcore#1103). The "absent" runs reproduce that: a finder answers
`import sniffio` with the same full `sys.path` scan, then ModuleNotFoundError. Both variants run in
child processes of this script, alternated, against the same bare asyncio HTTP server.

Run: `python -m bench.http_client [--requests 5000] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time

from bench.common import Table, median, publish

HIDE_SNIFFIO = """
import importlib.abc, importlib.machinery, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "sniffio":
            importlib.machinery.PathFinder.find_spec("sniffio_is_absent", None)  # the failed lookup's cost
            raise ModuleNotFoundError("No module named 'sniffio'", name=name)
        return None
sys.modules.pop("sniffio", None)
sys.meta_path.insert(0, Absent())
"""
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError, asyncio.CancelledError):
        pass
    writer.close()


async def _measure(requests: int, concurrency: int = 16) -> float:
    import httpx

    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    async with httpx.AsyncClient() as client:
        for _ in range(200):  # warm the pool and the code paths
            await client.get(url)
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await client.get(url)

        started = time.process_time()
        await asyncio.gather(*(one() for _ in range(requests)))
        cpu = time.process_time() - started
    server.close()
    return cpu / requests * 1e6


def child(requests: int, hide: bool) -> float:
    code = (HIDE_SNIFFIO if hide else "") + (
        f"import asyncio; from bench.http_client import _measure; print(asyncio.run(_measure({requests})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    runs: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.repeat):
        for hide in (True, False):
            runs[hide].append(child(args.requests, hide))
    table = Table("HTTP client: CPU per request of httpx.AsyncClient, sniffio absent vs importable",
                  ["sniffio", "us CPU per request (median)", "runs", "vs absent"])
    absent = median(runs[True])
    for hide, label in ((True, "absent (anyio >= 4.11 alone)"), (False, "importable (project dependency)")):
        value = median(runs[hide])
        table.add(label, value, ", ".join(f"{v:,.0f}" for v in runs[hide]), f"{value / absent:.0%}")
    table.notes.append(f"{args.requests:,} GETs per run, 16 in flight, keep-alive, against a bare asyncio server "
                       "in the same process; variants alternated in child processes.")
    publish([table], "bench.http_client", argv, args.no_record)
    return [table]


if __name__ == "__main__":
    main()
