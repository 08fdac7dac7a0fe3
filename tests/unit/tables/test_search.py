"""The catalog search index: text, filters, the five sort orders, keyset pagination."""

import base64
from decimal import Decimal

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamevault.streams import topics as t
from gamevault.tables.cursors import BadCursor
from gamevault.tables.replica import TableReplica
from gamevault.tables.search import CatalogIndex, Query, tokenize


def product(pid, title, price="10.00", platform="pc", genres=("action",), created="2026-01-01T00:00:00Z",
            description=""):
    return {"product_id": pid, "seller_id": "s", "title": title, "description": description,
            "platform": platform, "genres": list(genres), "price": {"amount": price, "currency": "PEN"},
            "stock": 1, "created_at": created, "updated_at": created, "version": 1}


@pytest.fixture()
def index():
    products, ratings = TableReplica(t.PRODUCTS_TABLE), TableReplica(t.RATINGS_TABLE)
    idx = CatalogIndex(products, ratings)
    idx._products, idx._ratings = products, ratings
    rows = [
        product("p1", "Pokémon Legends", "59.90", "switch", ("rpg", "adventure"), "2026-01-01T00:00:00Z"),
        product("p2", "Legend of the Ninja", "19.90", "pc", ("action",), "2026-02-01T00:00:00Z"),
        product("p3", "Super Kart Racing", "39.90", "switch", ("racing",), "2026-03-01T00:00:00Z",
                description="Kart legends return"),
        product("p4", "Ninja Gaiden", "29.90", "ps5", ("action",), "2026-04-01T00:00:00Z"),
        product("p5", "Quiet Farm", "9.90", "pc", ("simulation",), "2026-05-01T00:00:00Z"),
    ]
    for row in rows:
        products.apply(row["product_id"], row)
    ratings.apply("p1", {"product_id": "p1", "count": 2, "sum": 9, "histogram": {"4": 1, "5": 1}, "version": 1})
    ratings.apply("p4", {"product_id": "p4", "count": 1, "sum": 3, "histogram": {"3": 1}, "version": 1})
    return idx


def ids(index, **kw):
    return index.search(Query(**kw)).ids


def test_tokenize_folds_case_and_accents():
    assert tokenize("Pokémon: LEGENDS-Z!") == ["pokemon", "legends", "z"]


def test_text_query_ranks_title_above_description(index):
    assert ids(index, q="legends") == ["p1", "p3"]  # p3 matches in the description only
    assert ids(index, q="pokemon") == ["p1"]


def test_last_word_matches_as_prefix(index):
    assert set(ids(index, q="nin")) == {"p2", "p4"}
    assert ids(index, q="legend ninja") == ["p2"]


def test_filters(index):
    assert set(ids(index, platform="switch")) == {"p1", "p3"}
    assert set(ids(index, genre="action")) == {"p2", "p4"}
    assert set(ids(index, min_price=Decimal("20"), max_price=Decimal("40"))) == {"p3", "p4"}
    assert ids(index, min_rating=4.0) == ["p1"]
    assert ids(index, platform="ps5", genre="racing") == []


def test_sort_orders(index):
    assert ids(index, sort="price_asc") == ["p5", "p2", "p4", "p3", "p1"]
    assert ids(index, sort="price_desc") == ["p1", "p3", "p4", "p2", "p5"]
    assert ids(index, sort="newest") == ["p5", "p4", "p3", "p2", "p1"]
    assert ids(index, sort="rating_desc")[:2] == ["p1", "p4"]  # rated first, best first
    assert ids(index, sort="relevance") == ids(index, sort="newest")  # no text: newest


@pytest.mark.parametrize("sort", ["price_asc", "price_desc", "newest", "rating_desc", "relevance"])
def test_cursor_pages_cover_everything_once(index, sort):
    seen, cursor = [], None
    while True:
        page = index.search(Query(sort=sort, limit=2, cursor=cursor))
        seen += page.ids
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ids(index, sort=sort, limit=100)


def test_cursor_of_another_sort_is_refused(index):
    cursor = index.search(Query(sort="price_asc", limit=1)).next_cursor
    with pytest.raises(BadCursor):
        index.search(Query(sort="newest", cursor=cursor))
    with pytest.raises(BadCursor):
        index.search(Query(cursor="garbage!!"))


def test_updates_and_deletes_are_reflected(index):
    changed = product("p5", "Loud Farm", "99.90", "pc", ("simulation",), "2026-05-01T00:00:00Z")
    index._products.apply("p5", {**changed, "version": 2})
    assert ids(index, q="quiet") == []
    assert ids(index, q="loud") == ["p5"]
    assert ids(index, sort="price_desc")[0] == "p5"
    index._products.apply("p5", None)
    assert "p5" not in ids(index, sort="price_asc")


def test_rating_changes_move_the_rating_order(index):
    index._ratings.apply("p4", {"product_id": "p4", "count": 3, "sum": 15, "histogram": {"5": 3}, "version": 2})
    assert ids(index, sort="rating_desc")[:2] == ["p4", "p1"]


def test_bulk_and_single_changes_keep_the_order_sorted(index):
    for n in range(200):
        index._products.apply(f"b{n}", product(f"b{n}", f"Bulk {n}", f"{(n * 37) % 100}.00"))
    prices = [index._sort_key["price"][pid][0] for pid in ids(index, sort="price_asc", limit=100)]
    assert prices == sorted(prices)


WORDS = ["ninja", "nine", "kart", "legend", "farm", "quiet"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
                          st.lists(st.sampled_from(WORDS), max_size=2), st.sampled_from(["pc", "ps5"])),
                min_size=1, max_size=40),
       st.sampled_from(["nin", "ninja", "kart", "le", "farm"]), st.sampled_from([None, "pc"]), st.integers(1, 4))
def test_one_word_relevance_pages_equal_a_brute_force_ranking(changes, word, platform, limit):
    """The cached one-token order stays equal to scoring every product, while products change."""
    products, ratings = TableReplica(t.PRODUCTS_TABLE), TableReplica(t.RATINGS_TABLE)
    idx = CatalogIndex(products, ratings)
    for n, (slot, title, desc, plat) in enumerate(changes):
        pid = f"p{slot:02d}"
        products.apply(pid, {**product(pid, " ".join(title), platform=plat, description=" ".join(desc)), "version": n})
        idx.search(Query(q=word))  # fill the cache between changes: it must be dropped when stale

    def score(p):
        def hits(text):
            return any(tok.startswith(word) for tok in tokenize(text))
        return 3 if hits(p["title"]) else 2 if hits(" ".join([*p["genres"], p["platform"]])) else \
            1 if hits(p["description"]) else 0

    want = sorted((-score(p), pid) for pid, p in products.data.items()
                  if score(p) and (platform is None or p["platform"] == platform))
    got, cursor = [], None
    while True:
        page = idx.search(Query(q=word, platform=platform, limit=limit, cursor=cursor))
        got.extend(page.ids)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert got == [pid for _, pid in want]


@pytest.mark.parametrize("sort", ["relevance", "price_asc", "price_desc", "rating_desc", "newest"])
@given(key=st.lists(st.one_of(st.none(), st.booleans(), st.integers(-2**62, 2**62), st.floats(allow_nan=False),
                              st.text(max_size=80),
                              st.lists(st.integers(0, 9), max_size=2)), max_size=5))
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_forged_cursor_is_a_bad_cursor_never_a_crash(index, sort, key):
    forged = base64.urlsafe_b64encode(orjson.dumps([sort, key])).decode()
    q = "zelda" if sort == "relevance" else None
    try:
        index.search(Query(q=q, sort=sort, cursor=forged))
    except BadCursor:
        pass


def test_the_crafted_cursors_of_the_review_are_refused(index):
    for sort, cursor in (("newest", "WyJuZXdlc3QiLFsieCJdXQ"), ("price_desc", "WyJwcmljZV9kZXNjIixbMV1d")):
        with pytest.raises(BadCursor):
            index.search(Query(sort=sort, cursor=cursor))


def test_prices_are_compared_within_one_currency(index):
    usd = {**product("u1", "Import Ninja", "5.00", "pc"), "price": {"amount": "5.00", "currency": "USD"}}
    index._products.apply("u1", usd)
    assert ids(index, sort="price_asc")[-1] == "u1"  # PEN amounts first, then USD: 5 USD is not "cheapest"
    assert ids(index, sort="price_desc")[0] == "u1"
    assert ids(index, max_price=Decimal("20"), sort="price_asc") == ["p5", "p2"]  # PEN by default
    assert ids(index, max_price=Decimal("20"), currency="USD") == ["u1"]
    walked, cursor = [], None
    while True:  # keyset pages across the currency boundary
        page = index.search(Query(sort="price_desc", limit=2, cursor=cursor))
        walked += page.ids
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert walked == ids(index, sort="price_desc", limit=100)
