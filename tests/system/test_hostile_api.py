"""Hostile input over HTTP: schemathesis as every role over the whole OpenAPI document, object-level
authorization on every route that takes an id, and every kind of bad token on every protected route."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest

from tests.support.api import Api, User, admin, purchase

CONFIG = Path(__file__).with_name("schemathesis.toml")
ROLES = ["anonymous", "buyer", "seller", "admin"]


def schemathesis_cli() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert found, "schemathesis is a dev dependency; install the project with .[dev]"
    return found


@pytest.fixture(scope="module")
def world(stack):
    """Two of each role and one of everything an id can name: a product, an order, a review."""
    api = Api(stack.url)
    seller, other_seller = api.register("seller"), api.register("seller")
    buyer, other_buyer = api.register("buyer"), api.register("buyer")
    product = api.product(seller, stock=50)
    order = purchase(api, buyer, [product["id"]])
    review = api.http.post(f"/products/{product['id']}/reviews", headers=buyer.headers,
                           json={"rating": 4, "title": "Solid", "body": "Plays well on my machine."}).json()
    yield {"api": api, "seller": seller, "other_seller": other_seller, "buyer": buyer, "other_buyer": other_buyer,
           "admin": admin(api), "product": product, "order": order, "review": review}
    api.close()


def headers_for(world, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    return world["admin"] if role == "admin" else world[role].headers


def test_object_level_authorization_on_every_id(stack, world):
    """Each id route, called by a caller who does not own the object: refused, and the object unchanged.

    Runs before the schemathesis tests below (file order), which may legitimately change these objects."""
    http: httpx.Client = world["api"].http
    product, order, review = world["product"]["id"], world["order"]["id"], world["review"]["id"]
    other_buyer, other_seller, buyer = world["other_buyer"], world["other_seller"], world["buyer"]
    cases = [
        # (caller, method, path, body, refused with)
        (other_buyer, "GET", f"/orders/{order}", None, {404}),
        (other_buyer, "GET", f"/orders/{order}/timeline", None, {404}),
        (other_seller, "GET", f"/orders/{order}", None, {403, 404}),
        (other_seller, "PATCH", f"/products/{product}", {"stock": 0}, {403}),
        (buyer, "PATCH", f"/products/{product}", {"stock": 0}, {403}),
        (other_buyer, "PATCH", f"/reviews/{review}", {"rating": 1}, {403, 404}),
        (other_buyer, "DELETE", f"/reviews/{review}", None, {403, 404}),
        (other_seller, "DELETE", f"/reviews/{review}", None, {403, 404}),
        (buyer, "POST", f"/reviews/{review}/moderation", {"decision": "approve"}, {403}),
        (world["seller"], "POST", f"/reviews/{review}/moderation", {"decision": "approve"}, {403}),
        (other_buyer, "POST", f"/products/{product}/reviews",
         {"rating": 1, "title": "Fake", "body": "Never bought it."},
         {403}),
        (buyer, "GET", "/reviews/pending", None, {403}),
    ]
    def state() -> tuple:  # the objects under attack, as their owners see them
        return (http.get(f"/products/{product}").json(),
                http.get(f"/orders/{order}", headers=buyer.headers).json(),
                http.get(f"/products/{product}/reviews", headers=world["admin"]).json(),
                http.get("/reviews/pending", headers=world["admin"]).json())

    before = state()
    for caller, method, path, body, refused in cases:
        r = http.request(method, path, json=body, headers=caller.headers)
        assert r.status_code in refused, (caller.role, method, path, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    # nothing moved: the product, the order and the review are as they were
    assert state() == before
    assert before[1]["status"] == "completed"
    assert any(r["id"] == review for r in before[2]["items"] + before[3]["items"])
    # a public profile shows no private field
    profile = http.get(f"/users/{buyer.id}").json()
    assert "email" not in profile and "password_hash" not in profile


def bad_tokens(user: User, key: str) -> dict[str, str]:
    """`key` is the platform's own: expiry, audience, issuer and subject are checked, not just the signature."""
    claims = jwt.decode(user.token, options={"verify_signature": False})
    now = int(time.time())
    header, _payload, signature = user.token.split(".")
    forged_payload = jwt.encode({**claims, "role": "admin"}, "x" * 40, algorithm="HS256").split(".")[1]
    return {
        "alg-none": jwt.encode(claims, None, algorithm="none"),
        "another-key": jwt.encode(claims, "not-our-secret-" * 3, algorithm="HS256"),
        "hs512": jwt.encode(claims, "not-our-secret-" * 5, algorithm="HS512"),
        "expired": jwt.encode({**claims, "exp": now - 60, "iat": now - 3600}, key, algorithm="HS256"),
        "wrong-audience": jwt.encode({**claims, "aud": "someone-else"}, key, algorithm="HS256"),
        "wrong-issuer": jwt.encode({**claims, "iss": "https://evil.example"}, key, algorithm="HS256"),
        "no-expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, key, algorithm="HS256"),
        "tampered-role": f"{header}.{forged_payload}.{signature}",
        "garbage": "not.a.jwt",
        "empty": "",
        "random-subject": jwt.encode({**claims, "sub": str(uuid.uuid4())}, key, algorithm="HS256"),
    }


def test_every_bad_token_on_every_protected_route(stack, world):
    http: httpx.Client = world["api"].http
    document = httpx.get(f"{stack.url}/openapi.json").json()
    ids = {"product_id": world["product"]["id"], "order_id": world["order"]["id"], "review_id": world["review"]["id"],
           "name": "no-such-integration"}
    protected = [(method.upper(), path.removeprefix("/api/v1").format(**ids))
                 for path, operations in document["paths"].items()
                 for method, operation in operations.items() if operation.get("security")]
    assert len(protected) >= 15
    key = (stack.home / "secrets" / "jwt-secret").read_text().strip()
    good = jwt.decode(world["buyer"].token, key, algorithms=["HS256"], audience="gamevault-api")
    assert good["sub"] == world["buyer"].id  # the key is the one the platform signs with
    for name, token in bad_tokens(world["buyer"], key).items():
        for method, path in protected:
            r = http.request(method, path, headers={"Authorization": f"Bearer {token}".strip()}, json={})
            assert r.status_code == 401, (name, method, path, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert "bearer" in r.headers.get("www-authenticate", "").lower(), (name, method, path)


@pytest.mark.parametrize("use_real_ids", [False, True], ids=["random-ids", "real-ids"])
@pytest.mark.parametrize("role", ROLES)
def test_schemathesis_whole_api_as_each_role(stack, world, role, use_real_ids, tmp_path):
    env = {**os.environ, "NO_COLOR": "1", "GV_PRODUCT_ID": world["product"]["id"], "GV_ORDER_ID": world["order"]["id"],
           "GV_REVIEW_ID": world["review"]["id"], "GV_USER_ID": world["buyer"].id}
    config = ["--config-file", str(CONFIG)] if use_real_ids else []
    headers = [arg for k, v in headers_for(world, role).items() for arg in ("-H", f"{k}: {v}")]
    cmd = [
        schemathesis_cli(), *config, "run", f"{stack.url}/openapi.json", "--checks", "all",
        "--max-examples", "15", "--seed", "20261128", "--phases", "examples,coverage,fuzzing",
        "--request-timeout", "20", "--report", "junit", "--report-dir", str(tmp_path), *headers,
    ]
    if not use_real_ids:  # without the config file, the opaque-cursor 400 would count as a rejection
        cmd += ["--exclude-checks", "positive_data_acceptance"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    tested = int(re.search(r"Tested: (\d+)", result.stdout).group(1))
    cases = int(re.search(r"(\d+) generated", result.stdout).group(1))
    operations = sum(len(ops) for ops in httpx.get(f"{stack.url}/openapi.json").json()["paths"].values())
    assert operations >= 30 and tested == operations and cases >= 500, result.stdout[-3000:]
