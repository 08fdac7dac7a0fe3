"""Fault 5: the warehouse sink killed with SIGKILL mid-batch, twice, and compaction run during traffic.

The sink flushes every 2 s, so a kill lands with rows buffered and, often, files half written; the
lake must still hold every public event exactly once (checked by topic, partition and offset).
"""

import subprocess
import sys
import time

from tests.system.harness import Traffic, check_everything, system_stack


def test_sink_killed_twice_and_compaction_during_traffic(system_home, figure):
    stack = system_stack(system_home, workers=1)
    try:
        traffic = Traffic(stack).run()
        [sink] = [p for p in stack.extra if p.name == "sink"]
        compactions = []
        for _ in range(2):
            time.sleep(5.3)
            sink.kill()
            time.sleep(1)
            sink.start()
            compactions.append(subprocess.run(
                [sys.executable, "-m", "gamevault", "warehouse", "compact", "--min-files", "2"],
                env=stack.base_env(), capture_output=True, text=True, timeout=120))
        time.sleep(5)
        traffic.stop()
        for run in compactions:
            assert run.returncode == 0, run.stderr
        assert sum(int(run.stderr.split(" merged")[0].split()[-1]) for run in compactions) > 0, "nothing compacted"
        check_everything(stack, traffic, None, figure)
    finally:
        stack.stop()
        stack.broker.stop()
