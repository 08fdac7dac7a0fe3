"""GU through the gateway: registration, tokens, profiles, and their error paths."""

import time
import uuid

import httpx
import jwt

from tests.support.api import Api

PROBLEM = "application/problem+json"


def problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("https://")
    return body


def test_register_login_profiles(api):
    email = f"Mixed.Case-{uuid.uuid4().hex[:6]}@GameVault.test"
    r = api.http.post("/users", json={"email": email, "password": "s3cret-pass", "display_name": "Ana",
                                      "role": "seller"})
    assert r.status_code == 201, r.text
    me = r.json()
    assert me["email"] == email.lower() and me["role"] == "seller" and r.headers["location"].endswith(me["id"])
    token = api.login(email.lower(), "s3cret-pass")
    own = api.http.get("/users/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert own == me
    public = api.http.get(f"/users/{me['id']}").json()
    assert public == {k: v for k, v in me.items() if k != "email"}  # a public profile never shows the email


def test_duplicate_email_is_409(api):
    user = api.register()
    r = api.http.post("/users", json={"email": user.email.upper(), "password": "another-pass",
                                      "display_name": "Copy", "role": "buyer"})
    problem(r, 409)


def test_registration_cannot_grant_admin_or_unknown_fields(api):
    base = {"email": f"x{uuid.uuid4().hex[:6]}@gamevault.test", "password": "password-123", "display_name": "X"}
    assert "role" in str(problem(api.http.post("/users", json={**base, "role": "admin"}), 422)["errors"])
    problem(api.http.post("/users", json={**base, "is_admin": True}), 422)
    problem(api.http.post("/users", json={**base, "password": "short"}), 422)
    problem(api.http.post("/users", json={**base, "email": "not-an-email"}), 422)
    problem(api.http.post("/users", content=b"{broken", headers={"content-type": "application/json"}), 422)


def test_bad_credentials_are_401_with_the_same_answer(api):
    user = api.register()
    wrong = problem(api.http.post("/auth/token", data={"username": user.email, "password": "nope-nope"}), 401)
    nobody = problem(api.http.post("/auth/token", data={"username": "ghost@gamevault.test", "password": "x"}), 401)
    assert wrong["detail"] == nobody["detail"]


def test_protected_routes_need_a_valid_token(api, stack):
    problem(api.http.get("/users/me"), 401)
    problem(api.http.get("/users/me", headers={"Authorization": "Bearer not.a.jwt"}), 401)
    user = api.register()
    claims = jwt.decode(user.token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    problem(api.http.get("/users/me", headers={"Authorization": f"Bearer {unsigned}"}), 401)
    other_key = jwt.encode({**claims, "role": "admin"}, "k" * 40, algorithm="HS256")
    problem(api.http.get("/users/me", headers={"Authorization": f"Bearer {other_key}"}), 401)
    expired = jwt.encode({**claims, "exp": int(time.time()) - 3600}, "k" * 40, algorithm="HS256")
    problem(api.http.get("/users/me", headers={"Authorization": f"Bearer {expired}"}), 401)
    r = api.http.get("/users/me")
    assert r.headers["www-authenticate"] == "Bearer"


def test_unknown_profile_is_404(api):
    problem(api.http.get(f"/users/{uuid.uuid4()}"), 404)


def test_admin_exists_from_the_environment(api):
    from tests.support.stack import ADMIN

    token = api.login(*ADMIN)
    me = api.http.get("/users/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "admin" and me["email"] == ADMIN[0]


def test_password_guessing_is_throttled(api):
    user = api.register()
    statuses = [api.http.post("/auth/token", data={"username": user.email, "password": f"guess-{n}"}).status_code
                for n in range(14)]
    first = statuses.index(429)  # the budget (10 failures a minute per IP and per account) runs out ...
    assert 1 <= first <= 10 and set(statuses[:first]) == {401}
    assert set(statuses[first:]) == {429}  # ... and stays out
    r = api.http.post("/auth/token", data={"username": user.email, "password": user.password})
    body = problem(r, 429)  # even the right password waits: the account is being guessed
    assert int(r.headers["retry-after"]) >= 1 and "failed logins" in body["detail"]


def test_forwarded_for_headers_do_not_buy_fresh_budgets(api):
    """Without GAMEVAULT_TRUSTED_PROXIES no X-Forwarded-For is believed: rotating it changes nothing."""
    user = api.register()
    statuses = [api.http.post("/auth/token", data={"username": user.email, "password": f"guess-{n}"},
                              headers={"X-Forwarded-For": f"203.0.113.{n}", "Forwarded": f"for=198.51.100.{n}"}
                              ).status_code for n in range(14)]
    assert statuses.count(429) >= 4 and set(statuses) == {401, 429}


def test_guessing_from_one_source_does_not_lock_the_owner_out_from_another(stack):
    user = Api(stack.url)
    owner = user.register()
    user.close()
    attacker = httpx.Client(base_url=stack.url + "/api/v1", transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    home = httpx.Client(base_url=stack.url + "/api/v1", transport=httpx.HTTPTransport(local_address="127.0.0.3"))
    try:
        guesses = [attacker.post("/auth/token", data={"username": owner.email, "password": f"guess-{n}"}).status_code
                   for n in range(13)]
        assert guesses[-1] == 429  # the guessing source is throttled ...
        r = home.post("/auth/token", data={"username": owner.email, "password": owner.password})
        assert r.status_code == 200, r.text  # ... and the owner, elsewhere, is not
    finally:
        attacker.close()
        home.close()


def test_logout_and_a_password_change_revoke_earlier_tokens(api):
    user = api.register()
    first, second = user.headers, {"Authorization": f"Bearer {api.login(user.email, user.password)}"}
    assert api.http.get("/users/me", headers=first).status_code == 200
    assert api.http.post("/auth/logout", headers=first).status_code == 204
    for headers in (first, second):  # every token issued before the logout
        problem(api.http.get("/users/me", headers=headers), 401)
    fresh = {"Authorization": f"Bearer {api.login(user.email, user.password)}"}
    assert api.http.get("/users/me", headers=fresh).status_code == 200

    wrong = api.http.post("/users/me/password", headers=fresh,
                          json={"current_password": "not-my-password", "new_password": "brand-new-pass-1"})
    problem(wrong, 401)
    r = api.http.post("/users/me/password", headers=fresh,
                      json={"current_password": user.password, "new_password": "brand-new-pass-1"})
    assert r.status_code == 204, r.text
    problem(api.http.get("/users/me", headers=fresh), 401)
    problem(api.http.post("/auth/token", data={"username": user.email, "password": user.password}), 401)
    newest = {"Authorization": f"Bearer {api.login(user.email, 'brand-new-pass-1')}"}
    renamed = api.http.patch("/users/me", headers=newest, json={"display_name": "Ana Quispe"})
    assert renamed.status_code == 200 and renamed.json()["display_name"] == "Ana Quispe"
    assert api.http.get(f"/users/{user.id}").json()["display_name"] == "Ana Quispe"
    assert api.http.get("/users/me", headers=newest).status_code == 200  # a rename keeps the tokens
    problem(api.http.patch("/users/me", headers=newest, json={"display_name": "x", "role": "admin"}), 422)


def test_the_admin_email_cannot_be_squatted(isolated):
    stack = isolated()
    squatter_email, operator_password = f"boss-{uuid.uuid4().hex[:6]}@gamevault.test", "operator-pass-987"
    first = stack.start_worker(GAMEVAULT_ADMIN_EMAIL="", GAMEVAULT_ADMIN_PASSWORD="")
    api = Api(stack.url)
    try:
        squatter = api.register("buyer", email=squatter_email, password="squatter-pass-1")
        first.stop()
        stack.start_worker(GAMEVAULT_ADMIN_EMAIL=squatter_email, GAMEVAULT_ADMIN_PASSWORD=operator_password)

        def admin_token() -> str | None:
            r = api.http.post("/auth/token", data={"username": squatter_email, "password": operator_password})
            return r.json()["access_token"] if r.status_code == 200 else None

        deadline = time.monotonic() + 30
        while (token := admin_token()) is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert token, "the operator's admin password never worked"
        me = api.http.get("/users/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["role"] == "admin"
        problem(api.http.get("/users/me", headers=squatter.headers), 401)  # the squatter's token is revoked
        problem(api.http.post("/auth/token", data={"username": squatter_email, "password": "squatter-pass-1"}), 401)
    finally:
        api.close()
