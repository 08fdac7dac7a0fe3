"""The levers of issue 17, each turned on or off alone in a `python -m gamevault` process."""

from __future__ import annotations

# issue 17's levers: name -> (lines that turn it off, lines that turn it on), run before the command;
# `--lever NAME` measures one alone. "http", "rebalance", "batches" and "changelog_pause" ship on; "delivery",
# "linger" and "one_write" are measured, not shipped (bench/faust_delivery.py).
LEVERS = {
    "delivery": ("", "from bench import faust_delivery\nfaust_delivery.install()\n"),
    # Faust's producer linger: 2 ms as shipped (agents/app.py), 10 ms on: fuller, fewer produce requests
    "linger": ("", "import faust\n_init = faust.App.__init__\n"
                   "def _linger(self, *a, **kw):\n    kw['producer_linger'] = 0.010\n    _init(self, *a, **kw)\n"
                   "faust.App.__init__ = _linger\n"),
    # the rebalance fix (agents/faust_patches.py drain_safely): off = Faust's own drain loop (what it costs)
    "rebalance": ("from gamevault.agents import faust_patches\nfaust_patches.drain_safely = lambda: None\n", ""),
    # whole fetched batches for the rating fold (agents/batch_routes.py): off = the agent's own Faust stream
    "batches": ("from gamevault.agents import batch_routes\nbatch_routes.route_batches = lambda *a, **kw: None\n",
                ""),
    # Faust's pause of table changelogs mirrored in aiokafka (agents/faust_patches.py): off = every fetch names them
    "changelog_pause": ("from gamevault.agents import faust_patches\n"
                        "faust_patches.pause_changelogs_in_fetch = lambda: None\n", ""),
    "http": ("import httpx\nfrom gamevault import http_clients\nhttp_clients.async_client = httpx.AsyncClient\n", ""),
    # a batch's state and what it caused in one produce round (what an atomic write would buy at most):
    # on = the flush does not wait for the state before sending the rest. Measured, not shipped: see
    # docs/RELIABILITY.md (a crash may then keep outputs whose state is lost)
    "one_write": ("", "from gamevault.tables.bulk import BulkWriter\n_flush = BulkWriter.flush\n"
                      "async def _one_write(self, state_first=False):\n    return await _flush(self, False)\n"
                      "BulkWriter.flush = _one_write\n"),
}


# every Kafka request a worker's clients send (Faust's, the replicas', the bus'), by API, on its /metrics
COUNT_KAFKA_REQUESTS = """
import aiokafka.conn, prometheus_client
_requests = prometheus_client.Counter("bench_kafka_requests", "Kafka requests sent", ["api"])
_send = aiokafka.conn.AIOKafkaConnection.send
def _counted(self, request, expect_response=True):
    _requests.labels(type(request).__name__.split("Request")[0]).inc()
    return _send(self, request, expect_response)
aiokafka.conn.AIOKafkaConnection.send = _counted
"""


def gamevault_argv(command: str, flipped: dict[str, bool], count_requests: bool = True) -> list[str]:
    """`python -m gamevault COMMAND` with the levers in `flipped` turned off or on (a worker also counts its
    Kafka requests unless told not to)."""
    preamble = "".join(LEVERS[name][on] for name, on in sorted(flipped.items()))
    preamble += COUNT_KAFKA_REQUESTS if command == "worker" and count_requests else ""
    if not preamble:
        return ["-m", "gamevault", command]
    return ["-c", f"{preamble}from gamevault.cli.main import cli\ncli([{command!r}], prog_name='gamevault')\n"]
