"""Hostile input, SQL side: escape attempts beyond the warehouse issue's list. The sandbox must refuse each
one with a clear message, write nothing anywhere, leak no secret, and keep answering afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gamevault.warehouse.sandbox import Refused, Sandbox, TimedOut
from tests.support.lake import write_lake

SECRET = "hunter2-do-not-leak"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A lake with a secrets directory beside it, and a symlink planted inside the lake pointing out."""
    base = tmp_path_factory.mktemp("sql-escapes")
    write_lake(base / "lake")
    secrets = base / "secrets"
    secrets.mkdir()
    (secrets / "s.csv").write_text(f"password\n{SECRET}\n")
    pq.write_table(pa.table({"password": [SECRET]}), secrets / "s.parquet")
    os.symlink(secrets / "s.csv", base / "lake" / "events" / "planted.csv")
    return {"base": base, "lake": base / "lake", "box": Sandbox(base / "lake")}


def tree(path) -> set[str]:
    return {os.path.join(d, f) for d, _, files in os.walk(path) for f in files}


def escapes(lake, base) -> list[str]:
    L = str(lake)
    return [
        # reading outside the lake: traversal, lists, globs, symlinks, devices, /proc, URLs
        f"SELECT * FROM read_csv('{L}/../secrets/s.csv')",
        f"SELECT * FROM read_parquet('{L}/events/../../secrets/s.parquet')",
        f"SELECT * FROM read_parquet(['{L}/events/**/*.parquet', '{base}/secrets/s.parquet'])",
        f"SELECT * FROM read_csv('{L}/events/planted.csv')",
        f"SELECT * FROM glob('{L}/../*')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_blob('/etc/hostname')",
        "SELECT * FROM sniff_csv('/etc/passwd')",
        "SELECT * FROM read_json_auto('/proc/self/environ')",
        "SELECT * FROM parquet_metadata('/etc/passwd')",
        "SELECT * FROM read_csv('/dev/stdin')",
        "SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')",
        "SUMMARIZE SELECT * FROM read_csv('/etc/passwd')",
        "DESCRIBE SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM duckdb_secrets()",
        # writing, through the statements that run another statement
        f"EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{L}/events/evil.csv'",
        f"EXPLAIN (FORMAT json) COPY (SELECT 1 AS x) TO '{L}/events/evil.csv'",
        "/* a comment first */ COPY (SELECT 1) TO '/tmp/gamevault-evil.csv'",
        "-- a comment first\nATTACH ':memory:' AS m",
        "SELECT 42; COPY (SELECT 1) TO '/tmp/gamevault-evil.csv'",
        # turning the locks back
        "RESET enable_external_access",
        "SET GLOBAL enable_external_access = true",
        "SET allowed_directories = ['/']",
        "PRAGMA enable_external_access",
        "CALL pragma_version()",
        "INSTALL '/tmp/x.duckdb_extension'",
        "LOAD '/tmp/x.duckdb_extension'",
        "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
        "DETACH memory",
        "USE memory",
        "CHECKPOINT",
        "VACUUM",
    ]


def not_runnable(lake) -> list[str]:
    """Escapes DuckDB itself rejects in this embedding (shell-only functions, query() of a non-SELECT)."""
    L = str(lake)
    return [
        f"SELECT * FROM query('COPY (SELECT 1) TO ''{L}/events/evil.csv''')",
        "SELECT getenv('GV_SQL_SECRET')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT load_extension('httpfs')",
    ]


def test_every_escape_is_refused_and_nothing_leaks(world, monkeypatch):
    monkeypatch.setenv("GV_SQL_SECRET", SECRET)
    box, lake, base = world["box"], world["lake"], world["base"]
    before = tree(base)
    outcomes = {}
    for query in escapes(lake, base) + not_runnable(lake):
        try:
            result = box.query(query)
            outcomes[query] = f"RAN: {result.rows!r}"
        except Refused as exc:
            outcomes[query] = f"refused: {exc}"
        except duckdb.Error as exc:  # the function or table does not exist here: nothing ran
            outcomes[query] = f"error: {type(exc).__name__}: {exc}"
    ran = {q: o for q, o in outcomes.items() if o.startswith("RAN")}
    assert not ran, ran
    assert not any(SECRET in o for o in outcomes.values())
    for query in escapes(lake, base):
        assert outcomes[query].startswith("refused: "), (query, outcomes[query])
    for query in not_runnable(lake):
        assert outcomes[query].startswith("error: "), (query, outcomes[query])
    assert tree(base) == before and not os.path.exists("/tmp/gamevault-evil.csv")
    [(orders,)] = box.query("SELECT count(*) FROM orders").rows
    assert orders > 0  # and the sandbox keeps answering


def test_reads_inside_the_lake_still_work(world):
    box = world["box"]
    for query in ("/* leading comment */ SELECT count(*) FROM events", "EXPLAIN ANALYZE SELECT * FROM orders",
                  "SUMMARIZE payments", "DESCRIBE users", "SHOW TABLES", "VALUES (1)",
                  f"SELECT count(*) FROM read_parquet('{world['lake']}/events/**/*.parquet')"):
        box.query(query)
    settings = dict(box.query("SELECT name, value FROM duckdb_settings() WHERE name IN "
                              "('enable_external_access', 'lock_configuration', 'autoload_known_extensions')").rows)
    assert settings == {"enable_external_access": "false", "lock_configuration": "true",
                        "autoload_known_extensions": "false"}


def test_the_cli_refuses_with_a_clear_message_and_a_failing_exit_code(world, tmp_path):
    home = tmp_path / "home"
    write_lake(home / "lake")
    env = {**os.environ, "GAMEVAULT_HOME": str(home)}
    result = subprocess.run([sys.executable, "-m", "gamevault", "sql",
                             f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{home}/lake/events/x.csv'"],
                            env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "read-only" in result.stderr and "COPY" in result.stderr
    assert not (home / "lake" / "events" / "x.csv").exists()


def test_runaway_queries_are_bounded(world, tmp_path):
    """The review's `SELECT * FROM range(1e10)` ran the machine out of memory: a buffered result now stops at
    max_rows, a long query at its timeout, and the CLI streams CSV/JSON batch by batch."""
    box = world["box"]
    big = box.query("SELECT * FROM range(10000000000)", max_rows=1000)
    assert len(big.rows) == 1000 and big.truncated
    started = time.monotonic()
    with pytest.raises(TimedOut):
        box.query("SELECT count(*) FROM range(1000000000000) a", timeout_s=1)
    assert time.monotonic() - started < 10
    assert box.query("SELECT 42").rows == [(42,)]  # and it keeps answering
    home = tmp_path / "home"
    write_lake(home / "lake")
    env = {**os.environ, "GAMEVAULT_HOME": str(home)}
    cli = [sys.executable, "-m", "gamevault", "sql"]
    slow = subprocess.run([*cli, "SELECT count(*) FROM range(1000000000000) a", "--timeout", "1"], env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert slow.returncode == 3 and "timeout" in slow.stderr
    streamed = subprocess.run([*cli, "SELECT range AS n FROM range(50000)", "--format", "json"], env=env,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    rows = json.loads(streamed.stdout)
    assert len(rows) == 50000 and rows[-1] == {"n": 49999}


def test_python_objects_and_planted_parquet_links_are_out_of_reach(world):
    box, lake, base = world["box"], world["lake"], world["base"]
    [(replacements,)] = box.query("SELECT value FROM duckdb_settings() WHERE name = 'python_enable_replacements'").rows
    assert replacements == "false"  # no query can name a Python object of the process as a table
    planted = lake / "events" / "type=gamevault.users.user.registered" / "date=2026-01-01" / "planted.parquet"
    planted.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(base / "secrets" / "s.parquet", planted)
    try:
        for query in (f"SELECT * FROM read_parquet('{planted}')",
                      f"SELECT * FROM read_parquet('{lake}/events/**/*.parquet', union_by_name=true)"):
            with pytest.raises(Refused):
                box.query(query)
    finally:
        planted.unlink()
