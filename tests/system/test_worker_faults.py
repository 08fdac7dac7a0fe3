"""Faults 1: a worker killed with SIGKILL mid-run and restarted; one of two workers stopped for good."""

import time

from tests.system.harness import Traffic, check_everything, system_stack


def run_with_fault(stack, fault, seconds_before=5, seconds_after=8):
    traffic = Traffic(stack).run()
    time.sleep(seconds_before)
    window_start = time.monotonic()
    fault(stack)
    time.sleep(seconds_after)
    window_end = time.monotonic()
    traffic.stop()
    return traffic, (window_start, window_end)


def test_a_worker_killed_mid_run_and_restarted(system_home, figure):
    stack = system_stack(system_home, workers=2)
    try:
        def kill_and_restart(stack):
            stack.workers[1].kill()
            time.sleep(2)
            stack.start_worker(wait=False)

        traffic, window = run_with_fault(stack, kill_and_restart)
        check_everything(stack, traffic, (window[0], window[1] + 30), figure)
    finally:
        stack.stop()
        stack.broker.stop()


def test_one_of_two_workers_stopped_for_good(system_home, figure):
    stack = system_stack(system_home, workers=2)
    try:
        traffic, window = run_with_fault(stack, lambda s: s.workers[1].stop())
        check_everything(stack, traffic, window, figure)
    finally:
        stack.stop()
        stack.broker.stop()
