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
        "unauthorized"
    assert catalog.set_stock(state, {"product_id": "p", "seller_id": "intruder", "stock": 0}, "c2", AT).error[0] == \
        "unauthorized"
    replaced = catalog.upsert(state, {"product_id": "p", "seller_id": "s", **LISTING, "title": "New"}, "c3", AT)
    assert replaced.state["title"] == "New" and replaced.state["stock"] == 3  # stock kept when not sent
    fresh = catalog.upsert(None, {"product_id": "q", "seller_id": "s", **LISTING}, "c4", AT)
    assert fresh.state["stock"] == 0


def test_set_stock():
    state = created()
    assert catalog.set_stock(state, {"product_id": "p", "seller_id": "s", "stock": 0}, "c2", AT).state["stock"] == 0
    assert catalog.set_stock(None, {"product_id": "x", "seller_id": "s", "stock": 1}, "c3", AT).error[0] == \
        "not_found"


def reserve(product, reservation=None, order="o1", qty=1, cause="r1"):
    return catalog.reserve(product, reservation, {"order_id": order, "product_id": "p", "quantity": qty}, cause, AT)


def test_the_last_unit_goes_to_exactly_one_order():
    product = {**created(), "stock": 1}
    first, record, answer = reserve(product)
    assert answer == catalog.RESERVED and first.state["stock"] == 0 and first.state["held"] == {"o1": 1}
    assert record is None  # the hold is in the product record, with the stock it took
    second, rejected, answer2 = reserve(first.state, order="o2", cause="r2")
    assert answer2 == catalog.REJECTED and second.state is None and rejected["available"] == 0


def test_reservations_are_idempotent_and_releases_give_stock_back_once():
    decision, _, _ = reserve(created(), qty=2)
    product = decision.state
    again, none, answer = reserve(product, qty=2, cause="r1-dup")
    assert answer == catalog.RESERVED and again.state is None and none is None
    released, record = catalog.release(product, None, {"order_id": "o1", "product_id": "p"}, "x1", AT)
    assert released.state["stock"] == 3 and released.state["held"] == {} and record["state"] == catalog.RELEASED
    twice, _ = catalog.release(released.state, record, {"order_id": "o1", "product_id": "p"}, "x2", AT)
    assert twice.state is None
    late, _, answer = reserve(released.state, record, qty=2, cause="r1-late")
    assert answer == catalog.REJECTED and late.state is None


def test_a_release_before_its_reservation_blocks_the_late_reservation():
    product = created()
    _, record = catalog.release(product, None, {"order_id": "o1", "product_id": "p"}, "x1", AT)
    decision, _, answer = reserve(product, record)
    assert answer == catalog.REJECTED and decision.state is None


def test_a_replayed_reservation_does_not_take_stock_twice():
    decision, _, _ = reserve(created(), qty=2)
    replay, record, answer = reserve(decision.state, qty=2)
    assert answer == catalog.RESERVED and replay.state is None and record is None
    assert [e[0] for e in replay.events] == [e[0] for e in decision.events]  # the same events, re-emitted


def test_a_release_whose_product_write_was_lost_gives_the_stock_back_when_replayed():
    """The release's record (written first) survived a crash, its product change did not."""
    product = reserve(created(), qty=2)[0].state
    _, ended = catalog.release(product, None, {"order_id": "o1", "product_id": "p"}, "x1", AT)
    replay, again = catalog.release(product, ended, {"order_id": "o1", "product_id": "p"}, "x1", AT)
    assert replay.state["stock"] == 3 and replay.state["held"] == {} and again is None


def test_a_release_whose_record_was_lost_writes_it_again_when_replayed():
    product = reserve(created(), qty=2)[0].state
    decision, _ = catalog.release(product, None, {"order_id": "o1", "product_id": "p"}, "x1", AT)
    replay, ended = catalog.release(decision.state, None, {"order_id": "o1", "product_id": "p"}, "x1", AT)
    assert replay.state is None and ended["state"] == catalog.RELEASED
    assert reserve(decision.state, ended, cause="r1-late")[2] == catalog.REJECTED


def test_commit_makes_the_sale_final_and_drops_the_hold():
    product = reserve(created(), qty=2)[0].state
    decision, sold = catalog.commit(product, None, "o1", "c1", AT)
    assert sold["state"] == catalog.SOLD and decision.state["held"] == {} and decision.state["stock"] == 1
    assert decision.events == []  # stock did not change
    # its product write lost in a crash: the replay drops the hold, the record stays as written
    replay, again = catalog.commit(product, sold, "o1", "c1", AT)
    assert replay.state["held"] == {} and again is None
    # released or rejected: nothing to sell
    assert catalog.commit(created(), {"state": catalog.RELEASED, "quantity": 1}, "o1", "c2", AT) == (
        catalog.Decision(), None)
    assert catalog.release(decision.state, sold, {"order_id": "o1", "product_id": "p"}, "x9", AT)[0].state is None


def test_a_hold_of_the_two_table_design_is_still_released():
    """A reservation record "reserved" (written before `held` existed) took its stock with it."""
    product = {**created(), "stock": 1}
    legacy = {"state": catalog.RESERVED, "quantity": 2, "at": AT}
    decision, ended = catalog.release(product, legacy, {"order_id": "o1", "product_id": "p"}, "x1", AT)
    assert decision.state["stock"] == 3 and ended["state"] == catalog.RELEASED
