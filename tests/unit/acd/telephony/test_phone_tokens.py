"""Browser phone credentials (issue 15): a short-lived token authenticates by
digest as its owner; expired, revoked or unknown tokens fail like a wrong
password (logged with the source, never the secret)."""

from __future__ import annotations

import logging

import pytest
from test_access import NOW, USERS, FakeUA, answer, invite

from acd.telephony.access import Access
from acd.telephony.phone_tokens import PhoneTokens


def _authenticate(access: Access, auth_name: str, secret: str, now: float = NOW) -> str | None:
    ua = FakeUA()
    access.authenticate(ua, invite(), object(), now)  # type: ignore[arg-type]
    value = answer(access, ua, auth_name, secret)
    return access.authenticate(ua, invite(value), object(), now)  # type: ignore[arg-type]


def test_a_phone_token_authenticates_as_its_owner() -> None:
    tokens = PhoneTokens(ttl=600)
    access = Access("jono", USERS, {}, phone_tokens=tokens)
    token = tokens.issue("alice", NOW, session="s1")
    assert token.auth_name.startswith("alice~")
    assert token.secret not in repr(token)
    assert _authenticate(access, token.auth_name, token.secret) == "alice"


def test_an_expired_or_revoked_token_fails_and_is_logged_without_its_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tokens = PhoneTokens(ttl=600)
    access = Access("jono", USERS, {}, phone_tokens=tokens)
    caplog.set_level(logging.INFO, logger="jono.auth")
    old = tokens.issue("alice", NOW)
    assert _authenticate(access, old.auth_name, old.secret, NOW + 601) is None
    revoked = tokens.issue("alice", NOW, session="s2")
    tokens.revoke_session("s2")
    assert tokens.lookup(revoked.auth_name, NOW) is None
    assert _authenticate(access, revoked.auth_name, revoked.secret) is None
    assert _authenticate(access, "alice~deadbeef", "guess") is None
    failures = [r.getMessage() for r in caplog.records if "auth failed" in r.getMessage()]
    assert len(failures) == 3
    assert all("source=127.0.0.1" in line for line in failures)
    assert not any(old.secret in line or revoked.secret in line for line in failures)


def test_a_token_of_a_user_no_longer_in_the_plan_is_refused() -> None:
    tokens = PhoneTokens()
    access = Access("jono", USERS, {}, phone_tokens=tokens)
    token = tokens.issue("ghost", NOW)
    assert _authenticate(access, token.auth_name, token.secret) is None


def test_the_users_own_password_still_works_beside_tokens() -> None:
    tokens = PhoneTokens()
    access = Access("jono", USERS, {}, phone_tokens=tokens)
    tokens.issue("alice", NOW)
    assert _authenticate(access, "alice", "alicepw") == "alice"
