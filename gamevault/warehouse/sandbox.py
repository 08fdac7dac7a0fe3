"""`gamevault sql`: DuckDB over the lake, read-only and sandboxed.

Two locks, each enough alone: statements are parsed first and only reads pass (SELECT, EXPLAIN,
DESCRIBE, SHOW, SUMMARIZE: no COPY, ATTACH, INSTALL, LOAD, SET, CREATE...); and the connection itself
can reach the lake directory and nothing else (`enable_external_access=false` with the lake as the
only allowed directory; DuckDB resolves symbolic links before that check, so a link planted in the
lake that points out is refused too), cannot install or load extensions, cannot read Python objects
by name (`python_enable_replacements=false`), and has its configuration locked, with memory and
thread limits. And bounds: a statement is interrupted at its timeout, and a buffered result keeps at
most `max_rows` rows (`stream()` hands rows over in batches, for CSV and JSON output of any size).
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from gamevault.warehouse.lake import Lake
from gamevault.warehouse.views import create_views

ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
_READ_KEYWORDS = ("describe", "show", "summarize", "from", "with", "select", "explain", "values", "table", "pivot",
                  "unpivot")
_LEADING_NOISE = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)  # whitespace and comments
_EXPLAIN = re.compile(r"^explain\b(?:\s+analyze\b)?(?:\s*\([^)]*\))?", re.I)


class Refused(Exception):
    """A statement the sandbox does not run, with the reason."""


class TimedOut(Exception):
    """The statement ran past its timeout and was interrupted."""


DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_ROWS = 10_000
BATCH_ROWS = 10_000


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False  # more rows than max_rows: the rest was not fetched


def check(sql: str) -> list[str]:
    """-> the statements, each a read; Refused otherwise (nothing has run yet)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise Refused(f"the query does not parse: {exc}") from None
    if not statements:
        raise Refused("no statement given")
    out = []
    for stmt in statements:
        text = _LEADING_NOISE.sub("", stmt.query).strip()
        first = text.split(None, 1)[0].lower() if text else ""
        if stmt.type not in ALLOWED or first not in _READ_KEYWORDS:
            kind = str(stmt.type).rsplit(".", 1)[-1]
            raise Refused(f"only read-only queries run here; a {kind} statement ({first.upper()}) is refused")
        if stmt.type == duckdb.StatementType.EXPLAIN:  # EXPLAIN ANALYZE runs its statement: check that one too
            check(_EXPLAIN.sub("", text, count=1))
        out.append(text)
    return out


class Sandbox:
    def __init__(self, lake_root: Path, memory_limit: str = "2GB", threads: int = 2) -> None:
        self.lake = Lake(lake_root).ensure()
        self.memory_limit, self.threads = memory_limit, threads
        self._spill = tempfile.TemporaryDirectory(prefix="gamevault-sql-")
        self.con = self._connect()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                                 "autoload_known_extensions": False})
        create_views(con, self.lake)
        root = str(self.lake.root).replace("'", "''")
        spill = self._spill.name.replace("'", "''")  # DuckDB allows its temp directory: make it a private one
        for setting in (f"SET temp_directory = '{spill}'",
                        f"SET allowed_directories = ['{root}']", "SET enable_external_access = false",
                        f"SET memory_limit = '{self.memory_limit}'", f"SET threads = {self.threads}",
                        "SET python_enable_replacements = false", "SET lock_configuration = true"):
            con.execute(setting)
        return con

    def close(self) -> None:
        """Close the connection in this thread: one left for the interpreter's exit can abort the process
        after its output is written (duckdb/duckdb#13904; seen once: `gamevault report` killed by SIGABRT)."""
        self.con.close()
        self._spill.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def refresh(self) -> None:
        """Views over the lake's newest snapshot (a new connection: the old one's settings are locked)."""
        self.con.close()
        self.con = self._connect()

    def query(self, sql: str, timeout_s: float = DEFAULT_TIMEOUT_S, max_rows: int | None = DEFAULT_MAX_ROWS
              ) -> Result:
        """The last statement's rows, at most `max_rows` of them (None: all)."""
        result = Result([], [])
        for columns, batches in self.stream(sql, timeout_s):
            result = Result(columns, [])
            for batch in batches:
                result.rows.extend(batch)
                if max_rows is not None and len(result.rows) > max_rows:
                    result.rows, result.truncated = result.rows[:max_rows], True
                    break
        return result

    def stream(self, sql: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[tuple[list[str], Iterator[list]]]:
        """Per statement: its columns and its rows in batches, all within `timeout_s` from the start."""
        statements = check(sql)
        timer = threading.Timer(timeout_s, self.con.interrupt)
        timer.daemon = True
        timer.start()
        try:
            for text in statements:
                cur = self._execute(text, timeout_s)
                yield [d[0] for d in cur.description or []], self._batches(cur, timeout_s)
        finally:
            timer.cancel()

    def _execute(self, text: str, timeout_s: float) -> duckdb.DuckDBPyConnection:
        try:
            try:
                return self.con.execute(text)
            except duckdb.IOException:
                self.refresh()  # compaction retired a file of our snapshot meanwhile: once more, newer
                return self.con.execute(text)
        except duckdb.PermissionException as exc:
            raise Refused(f"refused by the sandbox: {exc}") from None
        except duckdb.InterruptException:
            raise TimedOut(f"the query ran past its {timeout_s:g} s timeout and was stopped") from None

    @staticmethod
    def _batches(cur: duckdb.DuckDBPyConnection, timeout_s: float) -> Iterator[list]:
        while True:
            try:
                batch = cur.fetchmany(BATCH_ROWS)
            except duckdb.InterruptException:
                raise TimedOut(f"the query ran past its {timeout_s:g} s timeout and was stopped") from None
            if not batch:
                return
            yield batch
