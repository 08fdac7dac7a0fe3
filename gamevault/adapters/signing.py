"""Webhook signatures, both sides (the adapters verify; the simulators sign).

- HMAC scheme (Yape, Plin, the carrier): header `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
- PayPal scheme: an RSA-SHA256 signature (base64) over
  `<transmission id>|<transmission time>|<webhook id>|<CRC32 of the body, decimal>`, checked against the
  public key of the certificate at PAYPAL-CERT-URL (which must be the gateway's own).
Both refuse timestamps outside a 5-minute window (replays of old captures).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import zlib
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalid
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

WINDOW_S = 300


class InvalidSignature(Exception):
    """The notification is not from the gateway (or was altered)."""


class StaleNotification(Exception):
    """The notification's timestamp is outside the 5-minute window (a replay, or a broken clock)."""


def hmac_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def verify_hmac(secret: str, header: str | None, body: bytes, now: float | None = None) -> int:
    if not header:
        raise InvalidSignature("missing signature header")
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        ts = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        raise InvalidSignature("malformed signature header") from None
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise InvalidSignature("signature does not match")
    if abs((now or time.time()) - ts) > WINDOW_S:
        raise StaleNotification(f"timestamp {ts} is outside the {WINDOW_S}s window")
    return ts


def paypal_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


def paypal_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def check_transmission_time(transmission_time: str | None, now: float | None = None) -> None:
    """PayPal's transmission time must be within the window: checked before anything costs a fetch."""
    if not transmission_time:
        raise InvalidSignature("missing PAYPAL-TRANSMISSION-TIME")
    try:
        sent = datetime.fromisoformat(transmission_time.replace("Z", "+00:00")).astimezone(UTC).timestamp()
    except ValueError:
        raise InvalidSignature("malformed PAYPAL-TRANSMISSION-TIME") from None
    if abs((now or time.time()) - sent) > WINDOW_S:
        raise StaleNotification(f"transmission time {transmission_time} is outside the {WINDOW_S}s window")


def verify_paypal(cert_pem: bytes, signature_b64: str | None, message: bytes, transmission_time: str | None,
                  now: float | None = None) -> None:
    if not signature_b64 or not transmission_time:
        raise InvalidSignature("missing PayPal transmission headers")
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
        public_key = certificate.public_key()
        public_key.verify(base64.b64decode(signature_b64), message, padding.PKCS1v15(), hashes.SHA256())
    except (_CryptoInvalid, ValueError, TypeError):
        raise InvalidSignature("PayPal signature does not verify against the gateway certificate") from None
    check_transmission_time(transmission_time, now)
