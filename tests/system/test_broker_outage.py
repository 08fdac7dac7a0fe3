"""Fault 2: the broker stopped for 20 s mid-run, then started again.

While it is down the API answers 503 + Retry-After (problem+json) to writes, reads keep being served
from the read models, and nothing a client saw accepted is lost once it is back.
"""

import time

from tests.system.harness import Traffic, check_everything, system_stack


def test_broker_down_for_20_seconds(system_home, figure):
    stack = system_stack(system_home, workers=1)
    try:
        traffic = Traffic(stack).run()
        time.sleep(5)
        window_start = time.monotonic()
        stack.broker.stop(echo=lambda m: None)
        time.sleep(20)
        restarted = time.monotonic()
        stack.broker.start(echo=lambda m: None)
        time.sleep(8)
        window_end = time.monotonic()
        traffic.stop()

        assert any(status == 503 for _, status, _, _ in traffic.calls.server_errors), "the outage was not seen"
        assert any(at > restarted for at in traffic.accepted_at), "orders did not resume after the outage"
        reads = traffic.calls.statuses["GET /products"]
        assert reads[200] > 0 and set(reads) <= {200}, reads  # reads never failed
        refused = sum(status == 503 for _, status, _, _ in traffic.calls.server_errors)
        figure(f"{refused} writes answered 503 + Retry-After while the broker was down; "
               f"{reads[200]:,} searches, all 200")
        check_everything(stack, traffic, (window_start, window_end + 30), figure)
    finally:
        stack.stop()
        stack.broker.stop()
