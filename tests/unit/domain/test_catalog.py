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
