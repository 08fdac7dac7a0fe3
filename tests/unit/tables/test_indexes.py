"""Ordered indexes: pages are range scans in sort order, spilled or in the heap alike, with opaque cursors."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamevault.streams import topics as t
from gamevault.tables.cursors import BadCursor
from gamevault.tables.indexes import OrderedIndex, encode_entry_cursor, newest_first
from gamevault.tables.replica import TableReplica
from gamevault.tables.spill import Spill


def orders_index(spill: Spill | None) -> tuple[TableReplica, OrderedIndex]:
    replica = TableReplica(t.ORDERS_TABLE, spill=spill)
    return replica, OrderedIndex(replica, "by-buyer", lambda o: o["buyer_id"],
                                 lambda o: newest_first(o["created_at"]), spill)


ops = st.lists(st.tuples(st.sampled_from([f"o{n}" for n in range(12)]), st.sampled_from(["b1", "b2", None]),
                         st.integers(1_700_000_000, 1_700_000_100)), max_size=40)


@settings(max_examples=40, deadline=None)
@given(ops, st.integers(1, 5))
def test_pages_walk_every_order_of_a_buyer_newest_first_exactly_once(tmp_path_factory, changes, limit):
    spill = Spill(tmp_path_factory.mktemp("spill"))
    for replica, index in (orders_index(spill), orders_index(None)):
        version, truth = {}, {}
        for oid, buyer, created in changes:
            version[oid] = version.get(oid, 0) + 1
            if buyer is None:
                replica.apply(oid, None)
                truth.pop(oid, None)
            else:
                record = {"order_id": oid, "buyer_id": buyer, "created_at": created, "version": version[oid]}
                replica.apply(oid, record)
                truth[oid] = record
        for buyer in ("b1", "b2"):
            expected = [o for o, r in sorted(truth.items(), key=lambda kv: (-kv[1]["created_at"], kv[0]))
                        if r["buyer_id"] == buyer]
            walked, cursor = [], None
            while True:
                page, cursor = index.page(buyer, limit, cursor)
                walked += page
                assert len(page) <= limit
                if cursor is None:
                    break
            assert walked == expected


@pytest.mark.parametrize("cursor", ["!!!", encode_entry_cursor("no-separator"),
                                    encode_entry_cursor("x" * 300 + "\x00y"), "AAAA" * 80])
def test_a_forged_cursor_is_refused(cursor):
    _, index = orders_index(None)
    with pytest.raises(BadCursor):
        index.page("b1", 5, cursor)
