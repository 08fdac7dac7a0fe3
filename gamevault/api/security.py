"""Access tokens (JWT, HS256 pinned); password hashing is gamevault/passwords.py, importable by every layer."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"  # pinned: decode() accepts this one algorithm only (no "none", no key confusion)

class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Claims:
    sub: str
    role: str
    exp: int
    jti: str
    token_version: int = 0


# Values published in examples and old compose files: anyone could sign tokens with them.
KNOWN_PLACEHOLDERS = ("change-me-to-a-long-random-secret-of-32-bytes-or-more",)
_PLACEHOLDER_WORDS = ("change-me", "changeme", "replace-me", "placeholder", "your-secret", "example")


def refuse_placeholder(secret: str) -> None:
    """A known or obviously placeholder secret must never sign tokens: fail the start instead."""
    lowered = secret.lower()
    if secret in KNOWN_PLACEHOLDERS or any(word in lowered for word in _PLACEHOLDER_WORDS):
        raise ValueError("GAMEVAULT_JWT_SECRET is a placeholder: anyone could mint admin tokens with it. Unset it "
                         "(a random one is generated under <home>/secrets) or set one from `openssl rand -base64 48`")


class TokenService:
    def __init__(self, secret: str, issuer: str, audience: str, ttl_s: int) -> None:
        if len(secret.encode()) < 32:
            raise ValueError("the JWT secret must be at least 32 bytes (HS256, RFC 7518 §3.2)")
        refuse_placeholder(secret)
        self._secret = secret
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = ttl_s

    def issue(self, user_id: str, role: str, token_version: int = 0) -> tuple[str, int]:
        """`token_version`: the account's; a logout or a password change raises it, and the tokens issued
        before stop working (deps.current_user compares)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": user_id, "role": role, "iss": self.issuer, "aud": self.audience,
            "iat": now, "nbf": now, "exp": now + self.ttl_s, "jti": uuid.uuid4().hex, "tv": token_version,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), self.ttl_s

    def verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
            doc = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], audience=self.audience, issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]}, leeway=5,
            )
        except InvalidToken:
            raise
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is not valid: {exc}") from None
        tv = doc.get("tv", 0)
        if not isinstance(tv, int) or isinstance(tv, bool):
            raise InvalidToken("the token's version is not a number")
        return Claims(str(doc["sub"]), str(doc.get("role", "")), int(doc["exp"]), str(doc.get("jti", "")), tv)
