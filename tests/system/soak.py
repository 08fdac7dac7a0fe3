"""The soak scenario: the system suite's mixed traffic at a steady pace, the worker's memory sampled.

Shared by `tests/system/test_soak.py` (60 s in CI) and `bench/soak.py` (10 minutes, table into
docs/BENCHMARKS.md). Memory is judged by the least-squares slope of the worker's RSS over the last
half of the run: a leak shows as a steady climb there, warm-up growth (caches, JIT-free Python's
allocator arenas, table partitions loading) happens early.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.system.harness import Traffic


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    return cov / var * 60 if var else 0.0


@dataclass
class SoakResult:
    seconds: float
    traffic: Traffic
    started: float = 0.0  # monotonic
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)
    reads_only: list[tuple[float, float]] = field(default_factory=list)  # the read-only phase after it

    @property
    def requests(self) -> int:
        return sum(sum(c.values()) for c in self.traffic.calls.statuses.values())

    @property
    def errors(self) -> int:
        """Responses that are failures of the platform: no answer at all, or a 5xx."""
        return sum(n for c in self.traffic.calls.statuses.values() for s, n in c.items() if s == 0 or s >= 500)

    def last_half(self) -> list[tuple[float, float]]:
        return [(t, v) for t, v in self.rss if t >= self.seconds / 2]

    @property
    def late_slope(self) -> float:
        return slope_per_minute(self.last_half())

    @property
    def kb_per_order(self) -> float:
        """Worker growth over the last half per order accepted then: the state an order keeps in memory."""
        half = self.last_half()
        since = self.started + half[0][0]
        orders = sum(1 for at in self.traffic.accepted_at if since <= at <= self.started + half[-1][0])
        grown_mb = self.late_slope * (half[-1][0] - half[0][0]) / 60
        return grown_mb * 1024 / max(orders, 1)

    @property
    def reads_only_slope(self) -> float:
        return slope_per_minute(self.reads_only)

    def routes(self) -> list[tuple[str, int, float, float, float, int]]:
        """(route, requests, req/s, p50 ms, p99 ms, non-2xx/4xx) per route."""
        out = []
        for route, latencies in sorted(self.traffic.calls.latencies.items()):
            ordered = sorted(latencies)
            statuses = self.traffic.calls.statuses[route]
            bad = sum(n for s, n in statuses.items() if s == 0 or s >= 500)
            out.append((route, len(ordered), len(ordered) / self.seconds, ordered[len(ordered) // 2] * 1000,
                        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, bad))
        return out


def run_soak(stack, seconds: float, threads: int = 4, pace_s: float = 0.05, sample_s: float = 2.0,
             reads_only_s: float = 30.0) -> SoakResult:
    """Mixed traffic for `seconds`, then reads only for `reads_only_s`, sampling the first worker's RSS.

    With in-memory tables a worker grows with the state it keeps (orders, payments, reviews...), so the
    mixed phase is judged per order kept; the read-only phase shows whether serving requests leaks.
    """
    pid = stack.workers[0].proc.pid
    traffic = Traffic(stack, threads=threads, pace_s=pace_s)
    result = SoakResult(seconds, traffic)

    def sample(into: list[tuple[float, float]], stop: threading.Event) -> None:
        started = time.monotonic()
        while not stop.wait(sample_s):
            into.append((time.monotonic() - started, rss_mb(pid)))

    for into, duration, writes in ((result.rss, seconds, True), (result.reads_only, reads_only_s, False)):
        traffic.writes = writes
        stop = threading.Event()
        sampler = threading.Thread(target=sample, args=(into, stop), daemon=True)
        if writes:
            result.started = time.monotonic()
            traffic.run()
        sampler.start()
        time.sleep(duration)
        stop.set()
        sampler.join()
    traffic.stop()
    return result
