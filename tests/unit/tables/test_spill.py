"""State spilled to RocksDB behaves like the dicts it replaces, and keeps the heap flat."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamevault.streams import topics as t
from gamevault.tables.indexes import OrderedIndex, newest_first
from gamevault.tables.replica import TableReplica
from gamevault.tables.spill import Spill, process_spill

ORDER = {"order_id": "o1", "buyer_id": "b1", "status": "paid", "created_at": 1_700_000_000.5, "version": 3}


@pytest.fixture(scope="module")
def spill(tmp_path_factory: pytest.TempPathFactory) -> Spill:
    spill = Spill(tmp_path_factory.mktemp("spill") / "pid-test")
    yield spill
    spill.close()


keys = st.text(alphabet="ab|-\u00e9", min_size=0, max_size=3)
operations = st.lists(st.tuples(st.sampled_from(["set", "del", "pop"]), keys, st.binary(max_size=4)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(operations)
def test_a_spill_map_behaves_like_a_dict(spill: Spill, ops: list[tuple[str, str, bytes]]) -> None:
    mapping, model = spill.map("model"), {}
    for op, key, value in ops:
        if op == "set":
            mapping[key] = model[key] = value
        elif op == "del" and key in model:
            del mapping[key]
            del model[key]
        elif op == "pop":
            assert mapping.pop(key, None) == model.pop(key, None)
    assert len(mapping) == len(model)
    assert dict(mapping.items()) == model and sorted(mapping) == sorted(model)
    assert all(mapping.get(k) == model.get(k) and (k in mapping) == (k in model) for k, _, _ in ops)
    mapping.clear()
    assert len(mapping) == 0 and list(mapping) == []


def test_namespaces_never_share_keys(spill: Spill) -> None:
    first, second = spill.map("orders"), spill.map("orders")  # same name, two apps in one process
    first["o1"] = b"1"
    assert "o1" not in second and len(second) == 0
    second["o1x"] = b"2"
    assert list(first) == ["o1"] and list(first.keys_with_prefix("o1")) == ["o1"]


def test_a_spilled_replica_and_index_read_like_in_heap_ones(spill: Spill) -> None:
    changes: dict[bool, list] = {True: [], False: []}
    replicas = {True: TableReplica(t.ORDERS_TABLE, spill=spill), False: TableReplica(t.ORDERS_TABLE)}
    indexes = {spilled: OrderedIndex(r, "by-buyer", lambda o: o["buyer_id"], lambda o: newest_first(o["created_at"]),
                                     spill if spilled else None) for spilled, r in replicas.items()}
    for spilled, replica in replicas.items():
        replica.subscribe(lambda key, old, new, s=spilled: changes[s].append((key, old, new)))
        assert replica.apply("o1", ORDER)
        assert not replica.apply("o1", {**ORDER, "version": 2, "status": "pending"})  # older: ignored
        assert replica.apply("o1", {**ORDER, "version": 4, "buyer_id": "b2"})  # moves to another owner
        assert replica.apply("o2", {**ORDER, "order_id": "o2"})
        assert replica.apply("o3", {**ORDER, "order_id": "o3"})
        assert replica.apply("o3", None)
    spilled, heap = replicas[True], replicas[False]
    assert spilled.get("o1") == heap.get("o1") == {**ORDER, "version": 4, "buyer_id": "b2"}
    assert len(spilled) == len(heap) == 2 and list(spilled.values()) == list(heap.values())
    assert changes[True] == changes[False]
    for owner in ("b1", "b2", "b", "nobody"):
        assert list(indexes[True].keys(owner)) == list(indexes[False].keys(owner)), owner
    assert list(indexes[True].keys("b1")) == ["o2"]  # "b1" is not a prefix match of another owner


def test_spilled_values_leave_the_heap(spill: Spill) -> None:
    replica = TableReplica(t.ORDERS_TABLE, spill=spill)
    value = {**ORDER, "timeline": ["x" * 40] * 20}
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(5000):
            replica.apply(f"order-{i}", value)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(replica) == 5000 and replica.get("order-4999") == value
    assert grown < 5000 * 50  # held in the heap, ~1 KB each (tracemalloc sees Python allocations only)


def test_a_process_spill_removes_what_dead_processes_left(tmp_path: Path) -> None:
    child = "import sys, os; from pathlib import Path; from gamevault.tables.spill import process_spill; " \
            "process_spill(Path(sys.argv[1])); os._exit(0)"  # exits without atexit: as SIGKILL would
    subprocess.run([sys.executable, "-c", child, str(tmp_path)], check=True)
    assert len(list(tmp_path.glob("pid-*"))) == 1
    mine = process_spill(tmp_path)
    assert [p.name for p in tmp_path.glob("pid-*")] == [f"pid-{os.getpid()}"]
    assert mine.directory.is_dir()
    for directory in (tmp_path, mine.directory):  # password hashes and payment state pass through it
        assert directory.stat().st_mode & 0o077 == 0
