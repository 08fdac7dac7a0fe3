"""The order saga on the real stack: every provider, every failure path and its compensations."""

import concurrent.futures as cf

import pytest

from tests.integration.support import wait_for
from tests.support.api import place, settle


def order_for(api, payment, stock=5, quantity=1, address=None):
    buyer, seller = api.register("buyer"), api.register("seller")
    product = api.product(seller, stock=stock)
    r = place(api, buyer, [(product["id"], quantity)], payment=payment, address=address)
    assert r.status_code == 202, r.text
    return buyer, product, settle(api, buyer, r.json()["id"])


def stock_settles_at(api, product_id, expected, timeout=15.0):
    """The stock a product settles at: compensations (releases) are commands of their own, decided by the
    catalog after the order's cancellation is visible, so the read may lag the order for a moment."""
    wait_for(lambda: api.http.get(f"/products/{product_id}").json()["stock"] == expected, timeout=timeout)
    return api.http.get(f"/products/{product_id}").json()["stock"]


def statuses(api, buyer, order):
    return [e["status"] for e in api.http.get(f"/orders/{order['id']}/timeline", headers=buyer.headers).json()]


@pytest.mark.parametrize("provider", ["paypal", "yape", "plin"])
def test_each_provider_completes_and_is_captured_once(api, stack, provider):
    _buyer, product, order = order_for(api, provider, stock=3, quantity=2)
    assert order["status"] == "completed"
    assert stock_settles_at(api, product["id"], 1) == 1
    entry = stack.ledger()[order["id"]]
    assert (entry["provider"], entry["captures"], entry["refunds"]) == (provider, 1, 0)


@pytest.mark.parametrize("payment, reason", [
    ("paypal-declined", "payment_failed: INSTRUMENT_DECLINED"),
    ("yape-declined", "payment_failed: approval code declined"),
    ("plin-declined", "payment_failed: rejected in the wallet app"),
])
def test_declined_payments_cancel_and_release_the_stock(api, stack, payment, reason):
    buyer, product, order = order_for(api, payment, stock=3, quantity=2)
    assert order["status"] == "cancelled" and order["cancel_reason"] == reason
    assert stock_settles_at(api, product["id"], 3) == 3
    assert stack.ledger()[order["id"]]["captures"] == 0
    assert statuses(api, buyer, order)[-1] == "cancelled"


def test_a_payment_never_confirmed_is_reconciled_then_voided(api, stack):
    _buyer, product, order = order_for(api, "yape-never", stock=2)
    assert order["status"] == "cancelled" and order["cancel_reason"] == "payment_not_confirmed"
    assert order["payment"]["status"] == "voided"
    assert stock_settles_at(api, product["id"], 2) == 2
    entry = stack.ledger()[order["id"]]
    assert entry["voids"] == 1 and entry["captures"] == 0


@pytest.mark.parametrize("postal_code, reason", [("00000", "undeliverable address"), ("99999", "lost in transit")])
def test_a_failed_shipment_is_refunded_once_then_cancelled(api, stack, postal_code, reason):
    from tests.support.api import ADDRESS

    buyer, product, order = order_for(api, "plin", stock=4, quantity=3, address={**ADDRESS, "postal_code": postal_code})
    assert order["status"] == "cancelled" and order["cancel_reason"] == f"shipment_failed: {reason}"
    assert order["payment"]["status"] == "refunded"
    assert stock_settles_at(api, product["id"], 4) == 4
    entry = stack.ledger()[order["id"]]
    assert (entry["captures"], entry["refunds"]) == (1, 1)
    assert "paid" in statuses(api, buyer, order)


def test_stock_not_available_cancels(api):
    _buyer, product, order = order_for(api, "yape", stock=1, quantity=2)
    assert order["status"] == "cancelled" and order["cancel_reason"].startswith("stock_unavailable")
    assert stock_settles_at(api, product["id"], 1) == 1


def test_two_orders_racing_for_the_last_unit(api):
    seller = api.register("seller")
    product = api.product(seller, stock=1)
    buyers = [api.register("buyer") for _ in range(2)]
    with cf.ThreadPoolExecutor(2) as pool:
        placed = list(pool.map(lambda b: place(api, b, [(product["id"], 1)]).json(), buyers))
    finals = [settle(api, b, o["id"]) for b, o in zip(buyers, placed, strict=True)]
    assert sorted(o["status"] for o in finals) == ["cancelled", "completed"]
    assert stock_settles_at(api, product["id"], 0) == 0


def test_multi_item_order_with_one_item_short_releases_the_others(api):
    buyer, seller = api.register("buyer"), api.register("seller")
    plenty, scarce = api.product(seller, stock=10), api.product(seller, stock=1)
    order = place(api, buyer, [(plenty["id"], 3), (scarce["id"], 2)]).json()
    final = settle(api, buyer, order["id"])
    assert final["status"] == "cancelled"
    assert stock_settles_at(api, plenty["id"], 10) == 10
    assert stock_settles_at(api, scarce["id"], 1) == 1
