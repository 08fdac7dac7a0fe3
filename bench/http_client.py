"""CPU per request of the httpx AsyncClient that the gateway adapters and the carrier use: with `sniffio`
importable (a dependency of this project) and without it; and against aiohttp, alone and as httpx's transport.

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


async def _measure(requests: int, concurrency: int = 16, library: str = "httpx") -> float:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    if library == "aiohttp":
        import aiohttp

        client = aiohttp.ClientSession()

        async def get() -> None:
            async with client.post(url, data=b"{}") as response:
                await response.read()
    else:
        import httpx

        if library == "httpx + aiohttp transport":
            from httpx_aiohttp import HttpxAiohttpClient

            client = HttpxAiohttpClient()
        else:
            client = httpx.AsyncClient()

        async def get() -> None:
            await client.post(url, content=b"{}")
    try:
        for _ in range(200):  # warm the pool and the code paths
            await get()
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await get()

        started = time.process_time()
        await asyncio.gather(*(one() for _ in range(requests)))
        cpu = time.process_time() - started
    finally:
        await (client.close() if library == "aiohttp" else client.aclose())
    server.close()
    return cpu / requests * 1e6


def child(requests: int, hide: bool, library: str = "httpx") -> float:
    code = (HIDE_SNIFFIO if hide else "") + (
        "import asyncio; from bench.http_client import _measure; "
        f"print(asyncio.run(_measure({requests}, library={library!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    runs: dict[bool, list[float]] = {True: [], False: []}
    libraries: dict[str, list[float]] = {"httpx": [], "httpx + aiohttp transport": [], "aiohttp": []}
    for _ in range(args.repeat):
        for hide in (True, False):
            runs[hide].append(child(args.requests, hide))
        for library in libraries:
            libraries[library].append(child(args.requests, False, library))
    table = Table("HTTP client: CPU per request of httpx.AsyncClient, sniffio absent vs importable",
                  ["sniffio", "us CPU per request (median)", "runs", "vs absent"])
    absent = median(runs[True])
    for hide, label in ((True, "absent (anyio >= 4.11 alone)"), (False, "importable (project dependency)")):
        value = median(runs[hide])
        table.add(label, value, ", ".join(f"{v:,.0f}" for v in runs[hide]), f"{value / absent:.0%}")
    table.notes.append(f"{args.requests:,} POSTs per run, 16 in flight, keep-alive, against a bare asyncio server "
                       "in the same process; variants alternated in child processes.")
    clients = Table("HTTP client: CPU per request, httpx.AsyncClient vs aiohttp.ClientSession (issue 17's lever)",
                    ["client", "us CPU per request (median)", "runs", "vs httpx"])
    base = median(libraries["httpx"])
    for library, values in libraries.items():
        clients.add(library, median(values), ", ".join(f"{v:,.0f}" for v in values), f"{median(values) / base:.0%}")
    clients.notes.append(f"{args.requests:,} POSTs of a small JSON body per run, 16 in flight, keep-alive, same "
                         "server; variants alternated in child processes. GameVault ships the middle one "
                         "(gamevault/http_clients.py).")
    publish([table, clients], "bench.http_client", argv, args.no_record)
    return [table, clients]


if __name__ == "__main__":
    main()
