"""Counts every Kafka request a process's aiokafka clients send, by client id and API (bench/up.py --requests),
and turns a lever of bench/levers.py on or off (bench/up.py --lever).

Loaded by Python at start-up when this directory is on PYTHONPATH and GAMEVAULT_BENCH_PROBE_DIR is set (bench.up
sets both for the `gamevault up` it starts, so every process it spawns counts). Each process writes its counts
to <dir>/<pid>.json once a second; a fetch also counts the partitions it names."""

from __future__ import annotations

import collections
import json
import os
import threading
import time

PROBE_DIR = os.environ.get("GAMEVAULT_BENCH_PROBE_DIR")


def _install(probe_dir: str) -> None:
    import aiokafka.conn

    counts: collections.Counter[str] = collections.Counter()
    send = aiokafka.conn.AIOKafkaConnection.send

    def counted(self, request, expect_response=True):
        api = type(request).__name__.removesuffix("Request")
        counts[f"{self._client_id}|{api}"] += 1
        if api == "Fetch":
            counts[f"{self._client_id}|FetchPartitions"] += sum(len(parts) for _, parts in request.topics)
        return send(self, request, expect_response)

    def dump() -> None:
        path = os.path.join(probe_dir, f"{os.getpid()}.json")
        while True:
            time.sleep(1.0)
            with open(path + ".tmp", "w") as out:
                json.dump(dict(counts), out)
            os.replace(path + ".tmp", path)

    aiokafka.conn.AIOKafkaConnection.send = counted
    threading.Thread(target=dump, name="kafka-probe", daemon=True).start()


def _lever(setting: str) -> None:
    """GAMEVAULT_BENCH_LEVER=NAME:on|off turns one of bench/levers.py's levers on or off in this process."""
    import sys

    name, _, state = setting.partition(":")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from bench.levers import LEVERS

    exec(LEVERS[name][state == "on"], {})  # the benchmark's own lever code


if PROBE_DIR:
    _install(PROBE_DIR)
if os.environ.get("GAMEVAULT_BENCH_LEVER"):
    _lever(os.environ["GAMEVAULT_BENCH_LEVER"])
