"""What each sender may make on the ingress topics, and what the platform fills in itself."""

from hypothesis import given
from hypothesis import strategies as st

from gamevault.domain.ingress import (
    FROM_OPERATOR,
    Refused,
    Sender,
    admit,
    channel_author,
    channel_review_id,
)
from gamevault.streams.contracts import commands

SET_STOCK, SUBMIT_REVIEW, UPSERT_PRODUCT = commands.SET_STOCK.type, commands.SUBMIT_REVIEW.type, \
    commands.UPSERT_PRODUCT.type

SELLER = Sender("seller", "acme", "seller-a")
CHANNEL = Sender("reviews", "mag")
LISTING = {"product_id": "p1", "seller_id": "seller-a", "title": "Celeste", "platform": "pc", "genres": ["x"],
           "price": {"amount": "1.00", "currency": "PEN"}}
REVIEW = {"product_id": "p1", "rating": 5, "title": "Great", "body": "Played it all weekend."}


def test_a_seller_integration_changes_only_its_own_sellers_products():
    assert admit(SELLER, UPSERT_PRODUCT, LISTING, "e1")["sender"] == SELLER.as_data()
    other = admit(SELLER, SET_STOCK, {"product_id": "p1", "seller_id": "seller-b", "stock": 0}, "e2")
    assert isinstance(other, Refused) and other.unauthorized and "seller-b" in other.detail
    assert admit(SELLER, SUBMIT_REVIEW, REVIEW, "e3").unauthorized


def test_a_review_channel_submits_as_itself_with_ids_the_platform_chooses():
    data = admit(CHANNEL, SUBMIT_REVIEW, {**REVIEW, "external_id": "ext-9"}, "e1")
    assert data["review_id"] == channel_review_id("mag", "ext-9") and data["channel"] == "mag"
    assert data["buyer_id"] == channel_author("mag", "ext-9") and data["buyer_id"].startswith("partner:mag:")
    again = admit(CHANNEL, SUBMIT_REVIEW, {**REVIEW, "external_id": "ext-9"}, "e2")
    assert again["review_id"] == data["review_id"]  # the same delivery twice is one review
    for forged in ({"review_id": "someone-elses"}, {"buyer_id": "a-real-buyer"}):
        refused = admit(CHANNEL, SUBMIT_REVIEW, {**REVIEW, **forged}, "e3")
        assert isinstance(refused, Refused) and refused.unauthorized
    assert admit(CHANNEL, UPSERT_PRODUCT, LISTING, "e4").unauthorized


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=40))
def test_no_channel_can_reach_another_channels_review(a, b, ref):
    if a != b:
        assert channel_review_id(a, ref) != channel_review_id(b, ref)
        assert channel_author(a, ref) != channel_author(b, ref)


def test_the_operators_path_is_trusted_but_names_its_ids():
    assert admit(FROM_OPERATOR, UPSERT_PRODUCT, {**LISTING, "seller_id": "any"}, "e1")["seller_id"] == "any"
    missing = admit(FROM_OPERATOR, SUBMIT_REVIEW, REVIEW, "e2")
    assert isinstance(missing, Refused) and not missing.unauthorized
    assert admit(FROM_OPERATOR, SUBMIT_REVIEW, {**REVIEW, "review_id": "r", "buyer_id": "b"}, "e3")["review_id"] == "r"
