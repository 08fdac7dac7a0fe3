"""Values held as JSON bytes (write-side tables, the growing replicas) read back as the dicts written."""

from __future__ import annotations

import tracemalloc

import orjson
import pytest

from gamevault.jsonbytes import kept
from gamevault.streams import topics as t
from gamevault.tables.definitions import JsonTable
from gamevault.tables.replica import TableReplica

ORDER = {"order_id": "o1", "buyer_id": "b1", "status": "paid", "version": 3,
         "timeline": [{"status": "pending", "at": 1.5}, {"status": "paid", "at": 2.25}]}


def test_kept_json_is_exact_size():
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = [kept(ORDER) for _ in range(1000)]
        per_value = (tracemalloc.get_traced_memory()[0] - before) / len(held)
    finally:
        tracemalloc.stop()
    assert held[0] == orjson.dumps(ORDER)
    assert per_value < len(held[0]) + 100  # orjson.dumps alone holds >= 4 KB per value


def test_a_json_table_holds_bytes_and_returns_the_dicts_written():
    faust_table: dict[str, bytes] = {}  # as far as the wrapper goes, a Faust table is a dict
    table = JsonTable(faust_table)
    table["o1"] = ORDER
    assert faust_table["o1"] == orjson.dumps(ORDER)  # the bytes Faust sends to the changelog as they are
    assert table.get("o1") == table["o1"] == ORDER
    assert table.get("missing") is None and table.get("missing", {}) == {}
    assert "o1" in table and len(table) == 1 and list(table.items()) == [("o1", ORDER)]
    del table["o1"]
    assert "o1" not in table


def test_items_decodes_only_the_keys_asked_for_and_skips_keys_being_deleted():
    faust_table = {"o1": orjson.dumps(ORDER), "o2": b"not json", "o3": b""}  # o3: deleted mid-recovery
    table = JsonTable(faust_table)
    assert list(table.items(where=lambda key: key == "o1")) == [("o1", ORDER)]  # o2 is never decoded
    assert dict(table.items(where=lambda key: key != "o2")) == {"o1": ORDER}

def test_reads_of_a_faust_table_go_to_its_store_and_an_emptied_key_is_absent():
    import faust

    table = faust.App("gv-unit-json-table", store="memory://").Table("orders")  # never started
    table.data["o1"] = orjson.dumps(ORDER)  # as recovery (or tables/bulk.py) writes the store
    table.data["o2"] = b""  # recovery's deleted key, before it pops it
    wrapped = JsonTable(table)
    assert wrapped.held is table.data.data  # the store's own mapping: one lookup per read
    assert wrapped.get("o1") == wrapped["o1"] == ORDER and "o1" in wrapped
    assert wrapped.get("o2") is None and "o2" not in wrapped and wrapped.get("o3", {}) == {}
    with pytest.raises(KeyError):
        wrapped["o2"]

def test_a_compact_replica_reads_like_a_plain_one():
    changes = {True: [], False: []}
    replicas = {compact: TableReplica(t.ORDERS_TABLE, compact=compact) for compact in (True, False)}
    for compact, replica in replicas.items():
        replica.subscribe(lambda key, old, new, c=compact: changes[c].append((key, old, new)))
        assert replica.apply("o1", ORDER, orjson.dumps(ORDER))
        assert not replica.apply("o1", {**ORDER, "version": 2, "status": "pending"})  # older: ignored
        assert replica.apply("o1", {**ORDER, "version": 4, "status": "shipping"})
        assert replica.apply("o2", {**ORDER, "order_id": "o2"})
        assert replica.apply("o2", None)
    compact, plain = replicas[True], replicas[False]
    assert isinstance(compact.data["o1"][1], bytes)
    assert compact.get("o1") == plain.get("o1") == {**ORDER, "version": 4, "status": "shipping"}
    assert compact.get("o2") is None and len(compact) == len(plain) == 1
    assert list(compact.values()) == list(plain.values())
    assert changes[True] == changes[False]  # listeners see the same old and new values
