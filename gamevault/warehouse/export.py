"""`gamevault warehouse export --duckdb FILE`: the views materialized in a DuckDB database file any
DuckDB CLI or BI tool can open, without GameVault or the lake."""

from __future__ import annotations

from pathlib import Path

import duckdb

from gamevault.warehouse.lake import Lake
from gamevault.warehouse.views import VIEWS, create_views


def export(lake_root: Path, target: Path) -> dict[str, int]:
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    source = duckdb.connect(":memory:")
    create_views(source, Lake(lake_root).ensure())
    source.execute(f"ATTACH '{str(tmp).replace(chr(39), chr(39) * 2)}' AS out")
    counts = {}
    for view in VIEWS:
        source.execute(f"CREATE TABLE out.{view} AS SELECT * FROM {view}")
        counts[view] = source.execute(f"SELECT count(*) FROM out.{view}").fetchone()[0]
    source.execute("DETACH out")
    source.close()
    tmp.rename(target)
    return counts
