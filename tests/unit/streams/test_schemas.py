"""The committed JSON Schemas and AsyncAPI document match the code that generates them."""

import jsonschema
import orjson
import pytest

from gamevault.streams import schemas
from gamevault.streams.contracts import load_all
from gamevault.streams.topics import PUBLIC_EVENT_TOPICS
from tests.support.stack import REPO


def test_generated_files_are_committed_and_up_to_date():
    stale = [str(rel) for rel, content in schemas.render().items()
             if not (REPO / rel).exists() or (REPO / rel).read_bytes() != content]
    assert not stale, f"run `gamevault schemas` and commit: {stale}"


def test_asyncapi_lists_every_public_topic():
    doc = schemas.asyncapi()
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in doc["channels"].values()}
    assert {t.name for t in PUBLIC_EVENT_TOPICS} <= addresses
    assert {"gamevault.catalog.commands", "gamevault.reviews.commands", "gamevault.deadletter"} <= addresses


@pytest.mark.parametrize("event_type", sorted(load_all()))
def test_each_schema_is_valid_json_schema(event_type):
    schema = schemas.event_schema(load_all()[event_type])
    jsonschema.Draft202012Validator.check_schema(schema)


def test_a_schema_accepts_a_real_event_and_refuses_a_broken_one():
    schema = schemas.event_schema(load_all()["gamevault.catalog.stock.set"])
    good = {"specversion": "1.0", "id": "1", "source": "/s", "type": "gamevault.catalog.stock.set",
            "time": "2026-11-28T00:00:00Z", "data": {"product_id": "p", "seller_id": "s", "stock": 3}}
    jsonschema.validate(orjson.loads(orjson.dumps(good)), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "data": {"product_id": "p", "stock": -1}}, schema)
