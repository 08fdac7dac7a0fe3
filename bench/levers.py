"""The levers of issue 17, each turned on or off alone in a `python -m gamevault` process."""

from __future__ import annotations

# issue 17's levers: name -> (lines that turn it off, lines that turn it on), run before the command;
# `--lever NAME` measures one alone. "http", "rebalance" and "batches" ship on; "delivery", "linger" and
# "one_write" are measured, not shipped (bench/faust_delivery.py). "changelog_pause" was measured at dac72c0
# (Faust's pause of table changelogs mirrored in aiokafka) and not shipped.
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
    "http": ("import httpx\nfrom gamevault import http_clients\nhttp_clients.async_client = httpx.AsyncClient\n", ""),
    # longer idle polls: Faust's consumer waits 200 ms (instead of 50) for records before answering empty
    "faust_wait": ("", "from gamevault.agents import faust_patches\n_shorten = faust_patches.shorten_fetch_wait\n"
                       "faust_patches.shorten_fetch_wait = lambda wait_ms=200: _shorten(wait_ms)\n"),
    # ... and the read-model replica 100 ms (instead of 25): how stale the read model may get at low traffic
    "replica_wait": ("", "import aiokafka\n_init = aiokafka.AIOKafkaConsumer.__init__\n"
                         "def _replica_wait(self, *a, **kw):\n"
                         "    if kw.get('client_id') == 'gamevault-replica':\n"
                         "        kw['fetch_max_wait_ms'] = 100\n"
                         "    _init(self, *a, **kw)\n"
                         "aiokafka.AIOKafkaConsumer.__init__ = _replica_wait\n"),
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
