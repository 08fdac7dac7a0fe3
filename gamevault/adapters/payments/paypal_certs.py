"""PayPal's webhook certificates: which URLs may be fetched, how many are kept, and which are believed.

A notification names the certificate that verifies it (PAYPAL-CERT-URL), so the URL is attacker-chosen
input: it must be the gateway's own certificate path exactly (same scheme, host and prefix, one file
name, no query, no fragment, no traversal), at most `max_cached` certificates are kept (least recently
used go), and a certificate is believed only if it is within its validity period, names the expected
subject (PayPal's `messageverificationcerts.paypal.com`; the simulator's own locally) and, when
fingerprints are pinned (GAMEVAULT_PAYPAL_CERT_SHA256), is one of them.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections import OrderedDict
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.x509.oid import NameOID

from gamevault.adapters.signing import InvalidSignature

_FILE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}\.pem$")


class CertificateStore:
    def __init__(self, client: httpx.AsyncClient, prefix: str, subject: str,
                 pinned: frozenset[str] = frozenset(), max_cached: int = 8) -> None:
        self.client = client
        self.prefix = urlsplit(prefix)
        self.subject = subject
        self.pinned = frozenset(p.lower().replace(":", "") for p in pinned)
        self.max_cached = max_cached
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self.fetches = 0

    def canonical(self, url: str) -> str:
        """The URL if it names one of the gateway's certificates, else InvalidSignature (never fetched)."""
        parts = urlsplit(url)
        name = parts.path[len(self.prefix.path):] if parts.path.startswith(self.prefix.path) else ""
        if (parts.scheme, parts.netloc) != (self.prefix.scheme, self.prefix.netloc) or parts.query \
                or parts.fragment or not _FILE.match(name) or ".." in name:
            raise InvalidSignature(f"certificate URL {url[:200]!r} is not the gateway's")
        return f"{parts.scheme}://{parts.netloc}{parts.path}"

    async def get(self, url: str) -> bytes:
        canonical = self.canonical(url)
        if canonical in self._cache:
            self._cache.move_to_end(canonical)
            return self._cache[canonical]
        self.fetches += 1
        r = await self.client.get(canonical)
        if r.status_code != 200:
            raise InvalidSignature("the gateway certificate could not be fetched")
        self.check(r.content)
        self._cache[canonical] = r.content
        if len(self._cache) > self.max_cached:
            self._cache.popitem(last=False)
        return r.content

    def check(self, pem: bytes, now: datetime.datetime | None = None) -> None:
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise InvalidSignature("the gateway certificate is not a PEM certificate") from None
        moment = now or datetime.datetime.now(datetime.UTC)
        if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
            raise InvalidSignature("the gateway certificate is expired or not yet valid")
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        if names != [self.subject]:
            raise InvalidSignature(f"the gateway certificate names {names}, not {self.subject!r}")
        if self.pinned and hashlib.sha256(pem_der(cert)).hexdigest() not in self.pinned:
            raise InvalidSignature("the gateway certificate is not one of the pinned fingerprints")


def pem_der(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)
