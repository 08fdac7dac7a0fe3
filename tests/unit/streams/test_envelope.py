import pytest
from pydantic import ValidationError

from gamevault.streams.envelope import CloudEvent, deterministic_id, new_event


def event(**overrides):
    doc = {"specversion": "1.0", "id": "e1", "source": "/test", "type": "t",
           "time": "2026-11-28T10:00:00Z", "data": {"a": 1}}
    doc.update(overrides)
    return doc


def test_round_trip_keeps_every_attribute():
    ce = new_event("gamevault.x", "/src", {"k": "v"}, subject="s", traceparent="00-abc")
    again = CloudEvent.model_validate_json(ce.to_json())
    assert again == ce
    assert again.model_extra == {"traceparent": "00-abc"}


def test_time_is_normalized_to_utc():
    ce = CloudEvent.model_validate(event(time="2026-11-28T05:00:00-05:00"))
    assert ce.time.isoformat() == "2026-11-28T10:00:00+00:00"
    assert b'"time":"2026-11-28T10:00:00Z"' in ce.to_json()


@pytest.mark.parametrize("bad", [
    {"specversion": "0.3"}, {"id": ""}, {"source": ""}, {"time": "yesterday"},
    {"time": "2026-11-28T10:00:00"},  # no offset
    {"datacontenttype": "text/xml"}, {"data": [1, 2]}, {"Bad-Ext": "x"},
])
def test_invalid_envelopes_are_refused(bad):
    with pytest.raises(ValidationError):
        CloudEvent.model_validate(event(**bad))


def test_deterministic_ids_depend_on_every_part():
    assert deterministic_id("a", "b") == deterministic_id("a", "b")
    assert deterministic_id("a", "b") != deterministic_id("a", "c")
    assert deterministic_id("ab", "c") != deterministic_id("a", "bc")
