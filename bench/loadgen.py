"""A small HTTP/1.1 load generator (asyncio + uvloop, keep-alive, no HTTP library in the hot path).

Two modes:
- closed loop: C connections send back-to-back for D seconds -> the throughput a server sustains;
- open loop: requests are *scheduled* at a fixed rate and latency counts from the scheduled time, so a
  slow server cannot hide its queueing (no coordinated omission).
Both endpoints of a comparison are driven by the same generator in the same run, so the ratio is fair.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.common import percentile


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def _request(host: str, port: int, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    if length:
        await reader.readexactly(length)
    return status


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port, limit=4 * 1024 * 1024)


async def closed_loop(host: str, port: int, paths: Sequence[str], connections: int, duration_s: float,
                      headers: dict[str, str] | None = None) -> Result:
    result = Result()
    requests = [_request(host, port, p, headers) for p in paths]
    deadline = time.perf_counter() + duration_s

    async def worker(offset: int) -> None:
        reader, writer = await _connect(host, port)
        cycle = itertools.islice(itertools.cycle(requests), offset, None)
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                writer.write(next(cycle))
                status = await _read_response(reader)
                result.latencies_ms.append((time.perf_counter() - start) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        except (ConnectionError, asyncio.IncompleteReadError):
            result.errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i * 7) for i in range(connections)))
    result.elapsed_s = time.perf_counter() - started
    return result


async def open_loop(host: str, port: int, paths: Sequence[str], rate: float, duration_s: float,
                    connections: int = 64, headers: dict[str, str] | None = None) -> Result:
    """`rate` requests per second for `duration_s`; latency measured from each request's scheduled time."""
    result = Result()
    requests = [_request(host, port, p, headers) for p in paths]
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await _connect(host, port))
    total = int(rate * duration_s)
    started = time.perf_counter()

    async def one(n: int) -> None:
        scheduled = started + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        reader, writer = await pool.get()
        try:
            writer.write(requests[n % len(requests)])
            status = await _read_response(reader)
            result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            pool.put_nowait((reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            result.errors += 1
            pool.put_nowait(await _connect(host, port))

    await asyncio.gather(*(one(n) for n in range(total)))
    result.elapsed_s = time.perf_counter() - started
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return result


def run(coro):  # uvloop for the client too: less client overhead, more honest server numbers
    import uvloop

    return uvloop.run(coro)
