"""Every dead-letter reason the ingress can give, from the record that causes it."""

import orjson
import pytest

from gamevault.streams.topics import CATALOG_INGRESS, REVIEWS_INGRESS
from gamevault.streams.validation import Invalid, Reason, Valid, deadletter_headers, validate
from tests.support.fuzz import draw_many


def upsert(**data):
    body = {"product_id": "p1", "seller_id": "s1", "title": "Hades", "platform": "pc",
            "genres": ["roguelike"], "price": {"amount": "39.90", "currency": "PEN"}}
    body.update(data)
    return {"specversion": "1.0", "id": "1", "source": "/seller/s1", "time": "2026-11-28T00:00:00Z",
            "type": "gamevault.catalog.product.upsert", "data": body}


def check(raw, reason, key=None, topic=CATALOG_INGRESS):
    verdict = validate(raw if isinstance(raw, bytes) else orjson.dumps(raw), topic, key)
    assert isinstance(verdict, Invalid), verdict
    assert verdict.reason is reason
    assert verdict.detail
    return verdict


def test_a_valid_upsert_is_normalized():
    verdict = validate(orjson.dumps(upsert(price={"amount": "39.9"})), CATALOG_INGRESS, b"p1")
    assert isinstance(verdict, Valid)
    assert verdict.key == "p1"
    assert verdict.data.price.amount == "39.90"


@pytest.mark.parametrize("raw, reason", [
    (b"\xff\xfe not json", Reason.NOT_JSON),
    (b"", Reason.NOT_JSON),
    (b"[1, 2, 3]", Reason.NOT_CLOUDEVENT),
    ({"hello": "world"}, Reason.NOT_CLOUDEVENT),
    ({**upsert(), "specversion": "0.3"}, Reason.NOT_CLOUDEVENT),
    ({**upsert(), "time": "not a time"}, Reason.NOT_CLOUDEVENT),
    ({**upsert(), "type": "gamevault.catalog.product.teleport"}, Reason.UNKNOWN_TYPE),
    ({**upsert(), "type": "gamevault.reviews.review.submit"}, Reason.WRONG_TOPIC),
    (upsert(price={"amount": 39.9}), Reason.SCHEMA_VIOLATION),
    (upsert(platform="amiga"), Reason.SCHEMA_VIOLATION),
    (upsert(sneaky="field"), Reason.SCHEMA_VIOLATION),
    (upsert(genres=[]), Reason.SCHEMA_VIOLATION),
])
def test_each_kind_of_bad_record_gets_its_reason(raw, reason):
    check(raw, reason)


def test_none_value_is_not_json():
    assert validate(None, CATALOG_INGRESS).reason is Reason.NOT_JSON


def test_a_key_other_than_the_aggregate_id_is_refused():
    verdict = check(upsert(), Reason.KEY_MISMATCH, key=b"p2")
    assert "p2" in verdict.detail and "p1" in verdict.detail


def test_schema_detail_names_the_field():
    verdict = check(upsert(price={"amount": "-1"}), Reason.SCHEMA_VIOLATION)
    assert "data.price.amount" in verdict.detail


def test_review_submissions_are_checked_too():
    doc = {"specversion": "1.0", "id": "r", "source": "/partner", "time": "2026-11-28T00:00:00Z",
           "type": "gamevault.reviews.review.submit",
           "data": {"review_id": "r1", "product_id": "p1", "buyer_id": "b1", "rating": 6,
                    "title": "Great", "body": "Really a great game to play"}}
    check(doc, Reason.SCHEMA_VIOLATION, topic=REVIEWS_INGRESS)


def test_deadletter_headers_say_why_and_where():
    headers = dict(deadletter_headers(Reason.NOT_JSON, "boom", "gamevault.catalog.commands", 3, 42, "ingress",
                                      [("traceparent", b"00-x"), ("dlq.reason", b"stale")]))
    assert headers["dlq.reason"] == b"not_json"
    assert headers["dlq.detail"] == b"boom"
    assert headers["dlq.source.topic"] == b"gamevault.catalog.commands"
    assert headers["dlq.source.partition"] == b"3"
    assert headers["dlq.source.offset"] == b"42"
    assert headers["traceparent"] == b"00-x"


@pytest.mark.parametrize("topic", [CATALOG_INGRESS, REVIEWS_INGRESS], ids=lambda t: t.name)
def test_every_fuzzed_breakage_gets_the_reason_it_calls_for(topic):
    """The same generator as the system suite's 10,000-record flood, smaller: validation alone."""
    for reason, value in draw_many(topic.name, 450):
        result = validate(value, topic, b"fuzz-key")
        assert isinstance(result, Invalid) and result.reason == reason and result.detail, (reason, value)
