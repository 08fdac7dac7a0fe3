"""ADR on the real broker: the sink writes every public event exactly once (through SIGKILLs and
compaction), quiet topics are flushed, reports equal an independent polars computation, the SQL
sandbox refuses escapes, and the lake is plain Parquet any DuckDB reads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import polars as pl
import pytest

from tests.integration.support import headers_of, read_topic, wait_for
from tests.support.events import cloudevent, generate, iso, produce
from tests.support.stack import Stack, start_broker


@pytest.fixture(scope="module")
def lake_env(tmp_path_factory, kafka_jars):
    home = tmp_path_factory.mktemp("lake-home")
    broker = start_broker(home)
    stack = Stack(home, broker)
    events = generate(600, seed=3)
    produce(broker.access(), events)
    env = {**stack.base_env(), "GAMEVAULT_HOME": str(home)}
    yield {"home": home, "broker": broker, "stack": stack, "events": events, "env": env}
    stack.stop()
    broker.stop()


def gv(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "gamevault", *args], env=env, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def sql(env: dict, query: str) -> list[dict]:
    return orjson.loads(gv(env, "sql", query, "--format", "json").stdout)


def lake_ids(env: dict) -> tuple[int, int]:
    """(rows, distinct event ids) in the lake's files, read by glob as any outside reader would."""
    result = gv(env, "sql", "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM read_parquet("
                            f"'{env['GAMEVAULT_HOME']}/lake/events/**/*.parquet', hive_partitioning=true, "
                            "union_by_name=true)", "--format", "json", check=False)
    if result.returncode != 0:  # no file yet
        return 0, 0
    [row] = orjson.loads(result.stdout)
    return row["n"], row["ids"]


def start_sink(lake_env, *extra: str):
    return lake_env["stack"].start_process(f"sink-{uuid.uuid4().hex[:4]}", "warehouse", "sink", *extra)


def test_every_event_exactly_once_through_kills_and_compaction(lake_env):
    env, events = lake_env["env"], lake_env["events"]
    total = len(events)
    kp_value = b"\x00\x01 not json at all"
    from kafka import KafkaProducer

    kp = KafkaProducer(**lake_env["broker"].access().kafka_python())
    kp.send("gamevault.orders.events", key=b"broken", value=kp_value)
    kp.flush()
    kp.close()

    sink = start_sink(lake_env, "--flush-rows", "400", "--flush-seconds", "30", "--idle-seconds", "30")
    lake = Path(env["GAMEVAULT_HOME"]) / "lake" / "events"
    wait_for(lambda: len(list(lake.glob("**/*.parquet"))) >= 3, timeout=60, interval=0.05)
    sink.kill()  # mid-run: some batches written, others half-written or buffered
    sink = start_sink(lake_env, "--flush-rows", "400", "--flush-seconds", "30", "--idle-seconds", "30")
    time.sleep(1.5)
    sink.kill()  # and once more
    sink = start_sink(lake_env, "--flush-rows", "5000", "--flush-seconds", "2", "--idle-seconds", "1")
    wait_for(lambda: lake_ids(env)[1] >= total, timeout=90, interval=1)
    n, ids = lake_ids(env)
    assert (n, ids) == (total, total)  # every event, none twice
    wanted = {e["id"] for _, _, e in events}
    got = {r["event_id"] for r in sql(env, "SELECT event_id FROM events")}
    assert got == wanted

    dead = read_topic(lake_env["broker"].access(), "gamevault.deadletter",
                      lambda recs: any(r.key == b"broken" for r in recs))
    [record] = [r for r in dead if r.key == b"broken"]
    assert headers_of(record)["dlq.reason"] == "undecodable" and record.value == kp_value

    result = gv(env, "warehouse", "compact", "--min-files", "2")
    assert "merged file" in result.stderr
    assert lake_ids(env) == (total, total)  # compaction lost and duplicated nothing
    assert sql(env, "SELECT count(*) AS n FROM events")[0]["n"] == total
    sink.stop()


def test_an_idle_topic_is_written_within_seconds(lake_env):
    env = lake_env["env"]
    sink = start_sink(lake_env)  # defaults: 50,000 rows or 5 s, or 1 s of idleness
    time.sleep(3)
    marker = f"idle-{uuid.uuid4().hex[:8]}"
    event = cloudevent("gamevault.users.user.registered",
                       {"user_id": marker, "email": f"{marker}@example.test", "display_name": "Idle", "role": "buyer",
                        "registered_at": iso(datetime.now(UTC))}, datetime.now(UTC), marker)
    produce(lake_env["broker"].access(), [("gamevault.users.events", marker.encode(), event)])
    sent = time.monotonic()
    wait_for(lambda: sql(env, f"SELECT count(*) AS n FROM users WHERE user_id = '{marker}'")[0]["n"] == 1,
             timeout=15, interval=0.2)
    assert time.monotonic() - sent < 7  # T = 5 s, plus one idle second and the query itself
    [user] = sql(env, f"SELECT * FROM users WHERE user_id = '{marker}'")
    assert "@" not in str(user) and len(user["email_hash"]) == 64  # pseudonymized, keyed hash
    sink.stop()


def test_late_events_land_on_their_own_date(lake_env):
    env = lake_env["env"]
    sink = start_sink(lake_env)
    late_at = datetime.now(UTC) - timedelta(days=9)
    marker = f"late-{uuid.uuid4().hex[:8]}"
    event = cloudevent("gamevault.users.user.registered",
                       {"user_id": marker, "email": "l@example.test", "display_name": "Late", "role": "buyer",
                        "registered_at": iso(late_at), "newly_added_field": "tolerated"}, late_at, marker)
    produce(lake_env["broker"].access(), [("gamevault.users.events", marker.encode(), event)])
    wait_for(lambda: sql(env, f"SELECT count(*) AS n FROM events WHERE event_subject = '{marker}'")[0]["n"] == 1,
             timeout=20, interval=0.3)
    [row] = sql(env, f"SELECT date, data FROM events WHERE event_subject = '{marker}'")
    assert row["date"] == late_at.date().isoformat()
    assert orjson.loads(row["data"])["newly_added_field"] == "tolerated"
    sink.stop()


def _raw(events) -> dict[str, pl.DataFrame]:
    rows: dict[str, list] = {}
    for _, _, e in events:
        rows.setdefault(e["type"].rsplit(".", 1)[-1] if "order." in e["type"] else e["type"], []).append(
            {**e["data"], "_time": e["time"], "_type": e["type"]})
    return {k: pl.DataFrame(v, infer_schema_length=None) for k, v in rows.items()}


def test_reports_equal_an_independent_polars_computation(lake_env):
    env, events = lake_env["env"], lake_env["events"]
    sink = start_sink(lake_env)
    wait_for(lambda: lake_ids(env)[1] >= len(events), timeout=60, interval=1)
    sink.stop()

    def report(name: str) -> list[dict]:
        return orjson.loads(gv(env, "report", name, "--format", "json").stdout)

    ts = pl.col("at").str.to_datetime(time_zone="UTC")
    trans = pl.DataFrame([{**e["data"], "kind": e["type"].rsplit(".", 1)[-1]} for _, _, e in events
                          if e["type"].startswith("gamevault.orders.order.")
                          and e["type"] != "gamevault.orders.order.placed"],
                         infer_schema_length=None).with_columns(ts.alias("ts"))
    placed = pl.DataFrame([{"order_id": e["data"]["order_id"], "buyer_id": e["data"]["buyer_id"],
                            "total": float(e["data"]["total"]["amount"]), "provider": e["data"]["provider"],
                            "placed": e["data"]["placed_at"], "items": e["data"]["items"]} for _, _, e in events
                           if e["type"] == "gamevault.orders.order.placed"]).with_columns(
        pl.col("placed").str.to_datetime(time_zone="UTC"))
    at = {k: trans.filter(pl.col("kind") == k).select("order_id", pl.col("ts").alias(k)) for k in
          ("paid", "shipping", "completed")}
    orders = placed.join(at["paid"], on="order_id", how="left").join(at["shipping"], on="order_id", how="left") \
        .join(at["completed"], on="order_id", how="left")

    gmv = orders.filter(pl.col("paid").is_not_null()).group_by(pl.col("paid").dt.date().alias("day")) \
        .agg(pl.len().alias("orders"), pl.col("total").sum().alias("gmv")).sort("day")
    assert [(r["day"], r["orders"], round(float(r["gmv"]), 2)) for r in report("gmv_daily")] == \
        [(d.isoformat(), o, round(g, 2)) for d, o, g in gmv.iter_rows()]

    pays = pl.DataFrame([{**e["data"], "kind": e["type"].rsplit(".", 1)[-1]} for _, _, e in events
                         if e["type"].startswith("gamevault.payments.")], infer_schema_length=None)
    attempts = pays.group_by("provider", "payment_id").agg(pl.col("kind").alias("kinds"))
    failure = attempts.group_by("provider").agg(
        pl.len().alias("attempts"),
        pl.col("kinds").list.eval(pl.element().is_in(["failed", "voided"]).any()).list.first().sum().alias("failed"),
    ).sort("provider")
    assert [(r["provider"], r["attempts"], r["failed"]) for r in report("payment_failure_rate")] == \
        list(failure.iter_rows())

    completed = orders.filter(pl.col("completed").is_not_null())
    items = completed.explode("items").select(pl.col("items").struct.field("product_id").alias("product_id"),
                                               pl.col("items").struct.field("quantity").alias("q"),
                                               pl.col("items").struct.field("unit_price").struct.field("amount")
                                               .cast(pl.Float64).alias("price"))
    top = items.group_by("product_id").agg(pl.col("q").sum().alias("units"), (pl.col("q") * pl.col("price")).sum()
                                           .alias("revenue")).sort(["units", "revenue", "product_id"],
                                                                   descending=[True, True, False]).head(10)
    assert [(r["product_id"], r["units"], round(float(r["revenue"]), 2)) for r in report("top_products")] == \
        [(p, u, round(v, 2)) for p, u, v in top.iter_rows()]

    stars = pl.DataFrame([{"rating": e["data"]["rating"]} for _, _, e in events
                          if e["type"] == "gamevault.reviews.review.approved"]).group_by("rating").len().sort("rating")
    assert [(r["stars"], r["reviews"]) for r in report("rating_distribution")] == list(stars.iter_rows())

    lat = orders.with_columns(((pl.col("paid") - pl.col("placed")).dt.total_microseconds() / 1e6).alias("p2p"))
    p2p = lat.filter(pl.col("p2p").is_not_null())["p2p"]
    [first] = [r for r in report("order_latency") if r["step"] == "placed -> paid"]
    assert first["orders"] == p2p.len()
    assert abs(float(first["p50_s"]) - round(p2p.quantile(0.5, "linear"), 3)) < 0.002
    assert abs(float(first["p95_s"]) - round(p2p.quantile(0.95, "linear"), 3)) < 0.002

    carts = {e["data"]["buyer_id"] for _, _, e in events if e["type"] == "gamevault.orders.cart.item_set"}
    funnel = {r["stage"]: r["buyers"] for r in report("orders_funnel")}
    assert funnel == {"cart": len(carts), "placed": placed["buyer_id"].n_unique(),
                      "paid": orders.filter(pl.col("paid").is_not_null())["buyer_id"].n_unique(),
                      "shipped": orders.filter(pl.col("shipping").is_not_null())["buyer_id"].n_unique(),
                      "completed": completed["buyer_id"].n_unique()}
    png = gv(env, "report", "gmv_daily", "--format", "png").stdout.strip()
    assert png.endswith(".png") and Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("escape", [
    "COPY (SELECT 1) TO '/tmp/gamevault-escape.csv'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "ATTACH '/tmp/gamevault-escape.duckdb' AS x",
    "CREATE TABLE t AS SELECT 1",
    "SELECT 1; COPY (SELECT 1) TO '/tmp/gamevault-escape2.csv'",
    "EXPORT DATABASE '/tmp/gamevault-escape-dir'",
    "SELECT * FROM read_parquet('/etc/../tmp/*.parquet')",
])
def test_sandbox_refuses_escapes_and_keeps_answering(lake_env, escape):
    env = lake_env["env"]
    result = gv(env, "sql", escape, check=False)
    assert result.returncode != 0, result.stdout
    assert "refused" in result.stderr or "Permission" in result.stderr or "query failed" in result.stderr
    assert not os.path.exists("/tmp/gamevault-escape.csv") and not os.path.exists("/tmp/gamevault-escape2.csv")
    assert sql(env, "SELECT count(*) AS n FROM orders")[0]["n"] > 0  # the views keep answering


def test_plain_duckdb_reads_the_lake_without_gamevault(lake_env):
    lake = Path(lake_env["env"]["GAMEVAULT_HOME"]) / "lake"
    code = ("import sys, duckdb; n = duckdb.sql(\"SELECT count(*) FROM read_parquet('" + str(lake) +
            "/events/**/*.parquet', hive_partitioning=true, union_by_name=true)\").fetchall()[0][0]; "
            "assert 'gamevault' not in sys.modules; print(n)")
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= len(lake_env["events"])


def test_export_writes_a_duckdb_file_the_plain_cli_opens(lake_env, tmp_path):
    env = lake_env["env"]
    target = tmp_path / "gamevault.duckdb"
    out = gv(env, "warehouse", "export", "--duckdb", str(target)).stdout
    assert "orders" in out
    code = (f"import duckdb; c = duckdb.connect('{target}', read_only=True); "
            "print(c.sql('SELECT count(*) FROM orders').fetchall()[0][0])")
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and int(result.stdout) == 600, result.stderr
