import asyncio
import secrets
import time

import jwt
import pytest

from gamevault.api.security import InvalidToken, TokenService
from gamevault.passwords import Argon2Gate, Busy, hash_password, verify_password

SECRET = "x" * 48


@pytest.fixture()
def tokens():
    return TokenService(SECRET, "gamevault", "gamevault-api", 60)


def test_round_trip(tokens):
    token, ttl = tokens.issue("u1", "buyer")
    claims = tokens.verify(token)
    assert (claims.sub, claims.role, ttl) == ("u1", "buyer", 60)


@pytest.mark.parametrize("forge", [
    lambda c: jwt.encode(c, None, algorithm="none"),
    lambda c: jwt.encode(c, "another-key-of-enough-length-for-hs256!!", algorithm="HS256"),
    lambda c: jwt.encode(c, SECRET, algorithm="HS512"),
    lambda c: jwt.encode({**c, "aud": "someone-else"}, SECRET, algorithm="HS256"),
    lambda c: jwt.encode({**c, "iss": "evil"}, SECRET, algorithm="HS256"),
    lambda c: jwt.encode({**c, "exp": int(time.time()) - 60}, SECRET, algorithm="HS256"),
    lambda c: jwt.encode({k: v for k, v in c.items() if k != "exp"}, SECRET, algorithm="HS256"),
])
def test_forged_tokens_are_refused(tokens, forge):
    now = int(time.time())
    claims = {"sub": "u1", "role": "admin", "iss": "gamevault", "aud": "gamevault-api", "iat": now, "exp": now + 60}
    with pytest.raises(InvalidToken):
        tokens.verify(forge(claims))


def test_tampered_payload_is_refused(tokens):
    token, _ = tokens.issue("u1", "buyer")
    header, _payload, signature = token.split(".")
    forged_payload = jwt.utils.base64url_encode(b'{"sub":"u2","role":"admin"}').decode()
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{forged_payload}.{signature}")


def test_short_secrets_are_refused():
    with pytest.raises(ValueError):
        TokenService("short", "i", "a", 60)


def test_passwords_are_argon2id_and_verified():
    async def go():
        hashed = await hash_password("correct horse")
        assert hashed.startswith("$argon2id$")
        assert await verify_password("correct horse", hashed)
        assert not await verify_password("wrong horse", hashed)
        assert not await verify_password("anything", None)

    asyncio.run(go())


@pytest.mark.parametrize("secret", ["change-me-to-a-long-random-secret-of-32-bytes-or-more",
                                    "please-CHANGEME-this-is-the-jwt-secret-of-gamevault",
                                    "an-example-secret-that-is-long-enough-to-pass-length"])
def test_a_placeholder_jwt_secret_refuses_to_start(secret):
    with pytest.raises(ValueError, match="placeholder"):
        TokenService(secret, "gamevault", "gamevault-api", 60)
    TokenService(secrets.token_urlsafe(48), "gamevault", "gamevault-api", 60)  # a real one starts


def test_a_flood_of_password_checks_is_bounded_and_the_excess_refused_at_once():
    gate = Argon2Gate(running=2, waiting=3)
    started = []

    def slow(n: int) -> int:
        started.append(n)
        time.sleep(0.05)
        return n

    async def flood() -> list:
        return await asyncio.gather(*(gate.run(slow, n) for n in range(20)), return_exceptions=True)

    results = asyncio.run(flood())
    done = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Busy)]
    assert len(done) == 5 and len(refused) == 15 and sorted(started) == done
    assert asyncio.run(flood()).count(0) == 1  # the gate is free again afterwards
