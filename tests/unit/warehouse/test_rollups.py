"""The orders rollup: the `orders` view reads the same rows with it as without it, whatever is newer."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from gamevault.warehouse.compact import compact
from gamevault.warehouse.lake import Lake
from gamevault.warehouse.rollups import refresh
from gamevault.warehouse.views import definitions, orders_base
from tests.support.events import generate
from tests.support.lake import write_events

ORDERS = "SELECT * FROM orders ORDER BY order_id"


def rows(lake: Lake, rollups: bool = True) -> list[tuple]:
    """The `orders` view over the lake's snapshot, read through its rollup or by folding every event."""
    snap = lake.snapshot()
    if not rollups:
        snap = dataclasses.replace(snap, rollups={})
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW orders AS {definitions(snap, lake.root)['orders']}")
    return con.execute(ORDERS).fetchall()


@pytest.fixture
def events():
    out = generate(80, seed=5)
    assert sum(e["type"] == "gamevault.orders.order.placed" for _, _, e in out) == 80
    return out


def test_a_rollup_plus_newer_events_reads_as_folding_everything(tmp_path, events):
    lake = Lake(tmp_path).ensure()
    half = len(events) // 2  # orders whose saga straddles the cut have events on both sides
    write_events(lake, events[:half])
    assert refresh(tmp_path) == {"orders": len(rows(lake, rollups=False))}
    write_events(lake, events[half:], first_offset=half)
    write_events(lake, events[half - 50:half + 50], first_offset=len(events))  # redelivered: the same events again

    full = rows(lake, rollups=False)
    assert len(full) == 80
    assert rows(lake) == full
    assert "fresh" in orders_base(lake.snapshot(), lake.root)  # the newer files are folded at query time

    assert refresh(tmp_path)["orders"] is not None
    assert "fresh" not in orders_base(lake.snapshot(), lake.root)  # now the rollup alone answers
    assert rows(lake) == full
    assert refresh(tmp_path) == {"orders": None}  # current: nothing to do


def test_compaction_keeps_the_rollup_right_and_refreshes_it(tmp_path, events):
    lake = Lake(tmp_path).ensure()
    third = len(events) // 3
    write_events(lake, events[:third])
    refresh(tmp_path)
    covered = set(lake.snapshot().rollups["orders"]["covers"])
    write_events(lake, events[third:2 * third], first_offset=third)
    write_events(lake, events[2 * third:], first_offset=2 * third)
    full = rows(lake, rollups=False)

    merged = compact(tmp_path, min_files=2, rollups=False)  # merges covered files with newer ones
    assert any(n > 1 for _, _, n in merged)
    snap = lake.snapshot()
    assert not set(snap.rollups["orders"]["covers"]) - set(snap.files)  # no retired file left covered
    assert set(snap.rollups["orders"]["covers"]) < covered | set(snap.files)
    assert rows(lake) == full == rows(lake, rollups=False)

    compact(tmp_path, min_files=2)  # nothing left to merge; the rollup is brought up to date
    assert "fresh" not in orders_base(lake.snapshot(), lake.root)
    assert rows(lake) == full


def test_a_placed_event_arriving_after_its_transitions_still_makes_one_order(tmp_path, events):
    lake = Lake(tmp_path).ensure()
    placed = [e for e in events if e[2]["type"] == "gamevault.orders.order.placed"]
    rest = [e for e in events if e[2]["type"] != "gamevault.orders.order.placed"]
    write_events(lake, rest)
    refresh(tmp_path)
    assert rows(lake) == []  # transitions alone are no order
    write_events(lake, placed, first_offset=len(rest))
    assert rows(lake) == rows(lake, rollups=False)
    assert len(rows(lake)) == 80
