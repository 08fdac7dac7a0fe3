"""The analysts' views over a lake written by the sink's own row buffer (no broker needed)."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from gamevault.warehouse.lake import Lake
from gamevault.warehouse.rows import Record, RowBuffer
from gamevault.warehouse.sandbox import Sandbox

ORD = "gamevault.orders.order."
PLACED = datetime(2026, 3, 7, 23, 59, 59, 250_000, tzinfo=UTC)  # a DST change in many zones follows
MILESTONES = {"paid": timedelta(seconds=1.5), "shipping": timedelta(seconds=61.75),
              "completed": timedelta(days=3, hours=1, microseconds=3)}


def _event(n: int, etype: str, data: dict) -> bytes:
    return orjson.dumps({"specversion": "1.0", "id": f"e{n}", "source": "/test", "type": ORD + etype,
                         "time": datetime.now(UTC).isoformat(), "subject": "o1", "data": data})


@pytest.fixture
def lake_root(tmp_path):
    buffer = RowBuffer(b"k" * 32, "t", 0)
    placed = {"order_id": "o1", "buyer_id": "b1", "items": [], "total": {"amount": "10.00", "currency": "PEN"},
              "provider": "yape", "placed_at": PLACED.isoformat()}
    buffer.add(Record(0, _event(0, "placed", placed)))
    for n, (status, after) in enumerate(MILESTONES.items(), start=1):
        data = {"order_id": "o1", "buyer_id": "b1", "previous_status": "x", "at": (PLACED + after).isoformat()}
        if status == "paid":
            data["amount"] = {"amount": "10.00", "currency": "PEN"}
        buffer.add(Record(n, _event(n, status, data)))
    lake = Lake(tmp_path).ensure()
    files = {}
    for (etype, date), table in buffer.decode().tables.items():
        rel = f"events/type={etype}/date={date}/t-0-{etype}.parquet"
        files[rel] = {"rows": table.num_rows, "bytes": lake.write_file(rel, table)}
    lake.commit({"t+0": len(MILESTONES)}, files)
    return tmp_path


def test_order_lags_are_exact_elapsed_seconds(lake_root):
    row = Sandbox(lake_root).query(
        "SELECT status, placed_to_paid_s, paid_to_shipped_s, shipped_to_completed_s, placed_to_completed_s "
        "FROM orders").rows
    paid, shipped, completed = (MILESTONES[k].total_seconds() for k in ("paid", "shipping", "completed"))
    assert row == [("completed", paid, shipped - paid, completed - shipped, completed)]
