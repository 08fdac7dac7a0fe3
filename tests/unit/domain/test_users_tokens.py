"""Token versions: a logout or a password change revokes every earlier token; the admin email cannot be squatted."""

from gamevault.domain import users

ACCOUNT = {"user_id": "u1", "email": "a@x.test", "display_name": "A", "role": "buyer", "password_hash": "h1",
           "registered_at": "2026-12-01T00:00:00Z", "version": 1}


def test_logout_and_password_change_raise_the_token_version_once():
    out = users.revoke_tokens(ACCOUNT, {"email": "a@x.test", "seen_version": 0})
    assert out.state["token_version"] == 1 and out.reply["token_version"] == 1
    again = users.revoke_tokens(out.state, {"email": "a@x.test", "seen_version": 0})  # a replay
    assert again.state is None and again.reply["token_version"] == 1
    changed = users.change_password(out.state, {"email": "a@x.test", "password_hash": "h2"})
    assert changed.state["token_version"] == 2 and changed.state["password_hash"] == "h2"
    assert "password_hash" not in changed.reply


def test_a_profile_change_keeps_the_tokens_and_is_an_event():
    out = users.update_profile(ACCOUNT, {"email": "a@x.test", "display_name": "Ana", "at": "2026-12-01T01:00:00Z"})
    assert out.state["display_name"] == "Ana" and out.state.get("token_version", 0) == 0
    assert out.events == [(users.PROFILE_CHANGED, {"user_id": "u1", "display_name": "Ana",
                                                    "at": "2026-12-01T01:00:00Z"})]


def test_the_admin_bootstrap_takes_a_squatted_admin_email_over():
    squat = users.register(ACCOUNT, {"user_id": "admin-id", "email": "a@x.test", "role": "admin",
                                     "password_hash": "operator", "bootstrap": True})
    assert squat.state["role"] == "admin" and squat.state["password_hash"] == "operator"
    assert squat.state["token_version"] == 1  # the squatter's tokens stop working
    plain = users.register(ACCOUNT, {"user_id": "other", "email": "a@x.test", "role": "admin",
                                     "password_hash": "x"})
    assert plain.error[0] == "conflict"  # without the bootstrap flag (only the platform sends it): refused
