"""PayPal's certificate URL is attacker-chosen: only the gateway's own path is fetched, few are kept,
and only a current certificate with the expected subject (and pinned fingerprint) is believed."""

import asyncio
import datetime as dt
import hashlib

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from gamevault.adapters.payments.paypal_certs import CertificateStore
from gamevault.adapters.signing import InvalidSignature

PREFIX = "https://api.paypal.test/v1/notifications/certs/"
SUBJECT = "messageverificationcerts.paypal.com"


def certificate(subject: str = SUBJECT, days: int = 30, start: int = -1) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now + dt.timedelta(days=start))
            .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


GOOD = certificate()


def store(pem: bytes = GOOD, **kwargs) -> CertificateStore:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200, content=pem)))
    return CertificateStore(client, PREFIX, SUBJECT, **kwargs)


@pytest.mark.parametrize("url", [
    "https://evil.example/v1/notifications/certs/CERT-1.pem",
    "http://api.paypal.test/v1/notifications/certs/CERT-1.pem",  # another scheme
    PREFIX + "CERT-1.pem?cache-buster=1", PREFIX + "CERT-1.pem#x", PREFIX + "../../oauth2/token.pem",
    PREFIX + "sub/CERT-1.pem", PREFIX + "CERT-1.txt", PREFIX + ".pem", "https://api.paypal.test/other/CERT-1.pem",
])
def test_only_the_gateways_own_certificate_path_is_fetched(url):
    certs = store()
    with pytest.raises(InvalidSignature):
        asyncio.run(certs.get(url))
    assert certs.fetches == 0


def test_the_cache_is_bounded_and_a_repeat_is_not_fetched_again():
    certs = store(max_cached=3)

    async def run() -> None:
        for n in range(10):
            await certs.get(f"{PREFIX}CERT-{n}.pem")
        await certs.get(f"{PREFIX}CERT-9.pem")

    asyncio.run(run())
    assert certs.fetches == 10 and len(certs._cache) == 3


@pytest.mark.parametrize("pem", [certificate(subject="evil.example"), certificate(days=-1, start=-10),
                                 certificate(start=5)], ids=["subject", "expired", "not-yet-valid"])
def test_a_certificate_with_the_wrong_subject_or_dates_is_not_believed(pem):
    with pytest.raises(InvalidSignature):
        asyncio.run(store(pem).get(PREFIX + "CERT-1.pem"))


def test_pinned_fingerprints_decide_when_set():
    der = x509.load_pem_x509_certificate(GOOD).public_bytes(serialization.Encoding.DER)
    pin = hashlib.sha256(der).hexdigest()
    assert asyncio.run(store(pinned=frozenset({pin})).get(PREFIX + "CERT-1.pem")) == GOOD
    with pytest.raises(InvalidSignature):
        asyncio.run(store(pinned=frozenset({"00" * 32})).get(PREFIX + "CERT-1.pem"))
