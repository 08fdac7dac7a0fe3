from gamevault.domain import catalog

LISTING = {"title": "Hades", "description": "", "platform": "pc", "genres": ["roguelike"],
           "price": {"amount": "39.90", "currency": "PEN"}}
AT = "2026-11-28T00:00:00Z"


def created():
    return catalog.create(None, {"product_id": "p", "seller_id": "s", **LISTING, "stock": 3}, "c1", AT).state


def test_create_then_conflict():
    state = created()
    assert state["version"] == 1 and state["stock"] == 3
    assert catalog.create(state, {"product_id": "p", "seller_id": "s", **LISTING}, "c2", AT).error[0] == "conflict"


def test_replayed_commands_re_emit_the_same_events():
    first = catalog.create(None, {"product_id": "p", "seller_id": "s", **LISTING, "stock": 3}, "c1", AT)
    again = catalog.create(first.state, {"product_id": "p", "seller_id": "s", **LISTING, "stock": 3}, "c1", AT)
    assert again.ok and again.state is None and again.events == first.events


def test_only_the_owner_or_an_admin_may_update():
    state = created()
    other = catalog.update(state, {"product_id": "p", "actor_id": "s2", "actor_role": "seller",
                                   "changes": {"title": "Mine"}}, "c2", AT)
    assert other.error[0] == "forbidden"
    admin = catalog.update(state, {"product_id": "p", "actor_id": "a", "actor_role": "admin",
                                   "changes": {"title": "Hades II"}}, "c3", AT)
    assert admin.state["title"] == "Hades II" and admin.state["version"] == 2


def test_update_emits_changed_fields_and_stock_moves():
    state = created()
    decision = catalog.update(state, {"product_id": "p", "actor_id": "s", "actor_role": "seller",
                                      "changes": {"price": {"amount": "29.90", "currency": "PEN"}, "stock": 5}},
                              "c2", AT)
    types = [t for t, _ in decision.events]
    assert types == [catalog.UPDATED, catalog.STOCK_CHANGED]
    assert decision.events[0][1]["changed"] == ["price"]
    assert decision.events[1][1]["delta"] == 2


def test_update_without_changes_keeps_the_version():
    state = created()
    decision = catalog.update(state, {"product_id": "p", "actor_id": "s", "actor_role": "seller",
                                      "changes": {"title": "Hades"}}, "c2", AT)
    assert decision.ok and decision.state is None and decision.events == []


def test_seller_integration_upserts_only_its_own_products():
    state = created()
    assert catalog.upsert(state, {"product_id": "p", "seller_id": "intruder", **LISTING}, "c2", AT).error[0] == \
        "forbidden"
    replaced = catalog.upsert(state, {"product_id": "p", "seller_id": "s", **LISTING, "title": "New"}, "c3", AT)
    assert replaced.state["title"] == "New" and replaced.state["stock"] == 3  # stock kept when not sent
    fresh = catalog.upsert(None, {"product_id": "q", "seller_id": "s", **LISTING}, "c4", AT)
    assert fresh.state["stock"] == 0


def test_set_stock():
    state = created()
    assert catalog.set_stock(state, {"product_id": "p", "seller_id": "s", "stock": 0}, "c2", AT).state["stock"] == 0
    assert catalog.set_stock(None, {"product_id": "x", "seller_id": "s", "stock": 1}, "c3", AT).error[0] == \
        "not_found"


def test_the_last_unit_goes_to_exactly_one_order():
    product = {**created(), "stock": 1}
    first, reservation, answer = catalog.reserve(product, None, {"order_id": "o1", "product_id": "p", "quantity": 1},
                                                 "r1", AT)
    assert answer == catalog.RESERVED and first.state["stock"] == 0 and reservation["state"] == catalog.RESERVED
    second, rejected, answer2 = catalog.reserve(first.state, None, {"order_id": "o2", "product_id": "p", "quantity": 1},
                                                "r2", AT)
    assert answer2 == catalog.REJECTED and second.state is None and rejected["available"] == 0


def test_reservations_are_idempotent_and_releases_give_stock_back_once():
    product = created()
    decision, reservation, _ = catalog.reserve(product, None, {"order_id": "o1", "product_id": "p", "quantity": 2},
                                               "r1", AT)
    product = decision.state
    again, none, answer = catalog.reserve(product, reservation, {"order_id": "o1", "product_id": "p", "quantity": 2},
                                          "r1-dup", AT)
    assert answer == catalog.RESERVED and again.state is None and none is None
    released, record = catalog.release(product, reservation, {"order_id": "o1", "product_id": "p"}, "x1", AT)
    assert released.state["stock"] == 3 and record["state"] == catalog.RELEASED
    twice, _ = catalog.release(released.state, record, {"order_id": "o1", "product_id": "p"}, "x2", AT)
    assert twice.state is None


def test_a_release_before_its_reservation_blocks_the_late_reservation():
    product = created()
    _, record = catalog.release(product, None, {"order_id": "o1", "product_id": "p"}, "x1", AT)
    reserve = {"order_id": "o1", "product_id": "p", "quantity": 1}
    decision, _, answer = catalog.reserve(product, record, reserve, "r1", AT)
    assert answer == catalog.REJECTED and decision.state is None


def test_a_replayed_reservation_whose_record_was_lost_does_not_take_stock_twice():
    product = created()
    decision, _, _ = catalog.reserve(product, None, {"order_id": "o1", "product_id": "p", "quantity": 2}, "r1", AT)
    replay, record, answer = catalog.reserve(decision.state, None, {"order_id": "o1", "product_id": "p",
                                                                    "quantity": 2}, "r1", AT)
    assert answer == catalog.RESERVED and replay.state is None and record["state"] == catalog.RESERVED


def test_commit_makes_the_sale_final():
    reservation = {"state": catalog.RESERVED, "quantity": 1}
    assert catalog.commit(reservation, AT)["state"] == catalog.SOLD
    assert catalog.commit({"state": catalog.RELEASED, "quantity": 1}, AT) is None
