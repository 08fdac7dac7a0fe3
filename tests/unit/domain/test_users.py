from gamevault.domain.users import REGISTERED, register


def cmd(**kw):
    base = {"user_id": "u1", "email": "a@x.test", "display_name": "A", "role": "buyer",
            "password_hash": "$argon2id$h", "registered_at": "2026-11-28T00:00:00Z"}
    return {**base, **kw}


def test_first_registration_creates_the_account_and_an_event_without_the_hash():
    decision = register(None, cmd())
    assert decision.ok and decision.state["version"] == 1
    [(type_, data)] = decision.events
    assert type_ == REGISTERED and "password_hash" not in data


def test_a_second_account_for_the_email_is_a_conflict():
    decision = register(register(None, cmd()).state, cmd(user_id="u2"))
    assert decision.error[0] == "conflict" and decision.state is None


def test_a_replayed_registration_succeeds_again_and_re_emits_the_same_event():
    first = register(None, cmd())
    again = register(first.state, cmd())
    assert again.ok and again.state is None and again.events == first.events
