"""Load: mixed traffic at a steady pace for 60 s, then 20 s of reads only (CI's version of the
10-minute `python -m bench.soak`).

Error rate 0, a p99 recorded for every route, the worker's memory flat while it only serves reads and
bounded under writes (state is spilled to disk; its caches fill in the first minutes, then the worker
stays flat: the 10-minute run shows it), and every invariant of the suite at the end.
"""

import os

from tests.system.harness import check_everything, system_stack
from tests.system.soak import run_soak

SECONDS = float(os.environ.get("GAMEVAULT_SOAK_SECONDS", "60"))


def test_soak_error_free_with_flat_memory(system_home, figure):
    stack = system_stack(system_home)
    try:
        result = run_soak(stack, SECONDS, reads_only_s=20)
        for route, requests, rate, p50, p99, bad in result.routes():
            figure(f"{route}: {requests} requests, {rate:.1f}/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, {bad} errors")
        half = result.last_half()
        figure(f"worker RSS {result.rss[0][1]:.0f} -> {result.rss[-1][1]:.0f} MB under mixed traffic; last-half "
               f"slope {result.late_slope:+.2f} MB/min = {result.kb_per_order:.1f} KB per order accepted then; "
               f"reads only afterwards: {result.reads_only_slope:+.2f} MB/min "
               f"({result.reads_only[0][1]:.1f} -> {result.reads_only[-1][1]:.1f} MB)")
        assert result.requests > 500 and result.errors == 0
        assert {r[0] for r in result.routes()} >= {"GET /products", "POST /orders", "GET /products/{id}/page"}
        # Memory: serving requests does not grow the worker (flat while only reading); under writes, in
        # 60 s, the spill's caches are still filling (24 MB at most): bounded per order, not yet flat.
        reads_growth = max(v for _, v in result.reads_only) - result.reads_only[0][1]
        assert reads_growth < 2.0, result.reads_only  # MB, over thousands of reads
        assert result.kb_per_order < 64, (result.kb_per_order, result.rss)
        assert len(half) >= 10
        check_everything(stack, result.traffic, None, figure)
    finally:
        stack.stop()
        stack.broker.stop()
