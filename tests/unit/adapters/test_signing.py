import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gamevault.adapters.signing import (
    InvalidSignature,
    StaleNotification,
    hmac_header,
    paypal_message,
    paypal_sign,
    verify_hmac,
    verify_paypal,
)
from gamevault.simulators.paypal import _certificate

BODY = b'{"id":"evt_1","type":"charge.succeeded"}'


def test_hmac_round_trip_and_tampering():
    header = hmac_header("s3cret", BODY)
    assert verify_hmac("s3cret", header, BODY)
    with pytest.raises(InvalidSignature):
        verify_hmac("s3cret", header, BODY + b" ")
    with pytest.raises(InvalidSignature):
        verify_hmac("other", header, BODY)
    with pytest.raises(InvalidSignature):
        verify_hmac("s3cret", "garbage", BODY)
    with pytest.raises(InvalidSignature):
        verify_hmac("s3cret", None, BODY)


def test_hmac_replays_outside_five_minutes_are_refused():
    old = hmac_header("s3cret", BODY, timestamp=int(time.time()) - 301)
    with pytest.raises(StaleNotification):
        verify_hmac("s3cret", old, BODY)
    future = hmac_header("s3cret", BODY, timestamp=int(time.time()) + 400)
    with pytest.raises(StaleNotification):
        verify_hmac("s3cret", future, BODY)


def test_paypal_rsa_signature_against_the_certificate():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _certificate(key)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    message = paypal_message("t-1", now, "WH-ID", BODY)
    verify_paypal(cert, paypal_sign(key, message), message, now)
    with pytest.raises(InvalidSignature):
        verify_paypal(cert, paypal_sign(key, message), paypal_message("t-1", now, "WH-ID", BODY + b"x"), now)
    intruder = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidSignature):
        verify_paypal(cert, paypal_sign(intruder, message), message, now)
    old = "2020-01-01T00:00:00Z"
    stale = paypal_message("t-1", old, "WH-ID", BODY)
    with pytest.raises(StaleNotification):
        verify_paypal(cert, paypal_sign(key, stale), stale, old)
