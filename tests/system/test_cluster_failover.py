"""Fault 3: a 3-broker KRaft cluster (RF 3, min.insync.replicas 2), one broker SIGKILLed mid-run.

Nothing accepted is lost and the platform never pauses for more than 30 s: orders keep being accepted
through the leader elections that follow the kill.
"""

import itertools
import time

import pytest

from gamevault.broker.admin import ensure_topics
from gamevault.broker.cluster import LocalCluster
from tests.support.stack import jar_cache
from tests.system.harness import Traffic, check_everything, system_stack

pytestmark = pytest.mark.slow


def largest_gap(times: list[float], start: float, end: float) -> float:
    points = [start, *sorted(t for t in times if start <= t <= end), end]
    return max(b - a for a, b in itertools.pairwise(points))


def test_one_of_three_brokers_killed(system_home, figure):
    cluster = LocalCluster(system_home / "cluster", 3, libs_dir=jar_cache(), heap="384m")
    cluster.start(echo=lambda m: None)
    try:
        report = ensure_topics(cluster.access())
        assert report.replication == 3
        stack = system_stack(system_home, workers=1, broker=cluster)
        try:
            traffic = Traffic(stack).run()
            time.sleep(12)
            killed_at = time.monotonic()
            cluster.nodes[1].kill()
            time.sleep(25)
            window_end = time.monotonic()
            traffic.stop()

            gap = largest_gap(traffic.accepted_at, killed_at, window_end)
            assert gap < 30, f"no order accepted for {gap:.1f} s after the kill"
            assert any(at > killed_at + 5 for at in traffic.accepted_at)
            figure(f"largest pause in accepted orders after the kill: {gap:.1f} s (limit 30 s)")
            check_everything(stack, traffic, (killed_at, window_end), figure)
        finally:
            stack.stop()
        stopping = time.monotonic()
        cluster.stop()  # the two survivors at once: one by one, the last waited a minute for a lost quorum
        assert time.monotonic() - stopping < 30
    finally:
        cluster.stop()
