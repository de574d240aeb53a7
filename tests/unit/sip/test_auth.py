"""Digest authentication (RFC 3261 §22, RFC 2617, RFC 7616/8760)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip.auth import (
    AuthResult,
    Credentials,
    DigestAuthenticator,
    NonceCounts,
    answer_challenge,
    compute_ha1,
    digest_response,
    parse_challenges,
    parse_digest,
)
from sip.errors import SipParseError

REALM = "pbx.example.com"
SECRET = b"0123456789abcdef-test-secret"
T0 = 1_700_000_000.0
USERS = {"alice": Credentials(password="s3cret"), "bob": Credentials(password="hunter2")}


def lookup(username: str) -> Credentials | None:
    return USERS.get(username)


def make_auth(**kwargs: object) -> DigestAuthenticator:
    return DigestAuthenticator(REALM, SECRET, **kwargs)  # type: ignore[arg-type]


# -- known-answer vectors --------------------------------------------------------


def test_rfc2617_section_3_5_md5_example_gives_published_response() -> None:
    ha1 = compute_ha1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
    response = digest_response(
        "MD5",
        ha1,
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "GET",
        "/dir/index.html",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_examples_give_published_responses(
    algorithm: str, expected: str
) -> None:
    ha1 = compute_ha1(algorithm, "Mufasa", "http-auth@example.org", "Circle of Life")
    response = digest_response(
        algorithm,
        ha1,
        RFC7616_NONCE,
        "GET",
        "/dir/index.html",
        qop="auth",
        nc="00000001",
        cnonce=RFC7616_CNONCE,
    )
    assert response == expected


def test_client_answer_to_rfc7616_challenge_carries_published_sha256_response() -> None:
    challenges = [
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
        f'nonce="{RFC7616_NONCE}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, '
        f'nonce="{RFC7616_NONCE}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    ]
    value = answer_challenge(
        list(reversed(challenges)),
        "GET",
        "/dir/index.html",
        "Mufasa",
        "Circle of Life",
        RFC7616_CNONCE,
    )
    params = parse_digest(value)
    assert params["algorithm"] == "SHA-256"
    assert params["response"] == (
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )
    assert params["nc"] == "00000001"
    assert params["qop"] == "auth"
    assert params["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


def test_rfc2069_response_without_qop_matches_hand_computed_value() -> None:
    # KD(HA1, nonce ":" HA2) with MD5, RFC 2617 §3.2.2.1 compatibility case.
    import hashlib

    ha1 = hashlib.md5(b"Mufasa:testrealm@host.com:Circle Of Life").hexdigest()
    ha2 = hashlib.md5(b"GET:/dir/index.html").hexdigest()
    expected = hashlib.md5(f"{ha1}:abc:{ha2}".encode()).hexdigest()
    assert digest_response("MD5", ha1, "abc", "GET", "/dir/index.html") == expected


# -- parsing ----------------------------------------------------------------------


def test_parse_digest_handles_escapes_commas_in_quotes_and_case() -> None:
    value = (
        'Digest USERNAME="a\\"b\\\\c", Realm="x, y", nonce=abc, '
        'uri="sip:bob@example.com;transport=tcp",nc=00000001'
    )
    assert parse_digest(value) == {
        "username": 'a"b\\c',
        "realm": "x, y",
        "nonce": "abc",
        "uri": "sip:bob@example.com;transport=tcp",
        "nc": "00000001",
    }


def test_parse_digest_accepts_value_without_scheme() -> None:
    assert parse_digest('realm="r", nonce="n"') == {"realm": "r", "nonce": "n"}


@pytest.mark.parametrize(
    "value", ["Basic dXNlcjpwYXNz", 'Digest realm="unterminated', "", "Digest a=1, Digest b=2"]
)
def test_parse_digest_rejects_bad_values(value: str) -> None:
    with pytest.raises(SipParseError):
        parse_digest(value)


def test_parse_challenges_splits_joined_challenges() -> None:
    value = 'Digest realm="a", algorithm=SHA-256, Digest realm="b", algorithm=MD5'
    assert parse_challenges(value) == [
        ("Digest", {"realm": "a", "algorithm": "SHA-256"}),
        ("Digest", {"realm": "b", "algorithm": "MD5"}),
    ]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_quoted_values_survive_a_client_round_trip(username: str) -> None:
    auth = make_auth()
    [challenge, _] = auth.challenge(T0)
    value = answer_challenge(challenge, "REGISTER", "sip:x", username, "pw", "c")
    assert parse_digest(value)["username"] == username
    result = auth.verify("REGISTER", value, lambda _: Credentials(password="pw"), T0)
    assert result.ok


# -- challenges ------------------------------------------------------------------


def test_challenges_come_in_the_configured_order_with_required_params() -> None:
    # RFC 8760 §2.4: "the server MUST ... list the challenges in order of
    # preference" - the server's, here the configured order.
    auth = make_auth(algorithms=("MD5", "SHA-256"))
    values = auth.challenge(T0)
    assert len(values) == 2
    first, second = (parse_digest(v) for v in values)
    assert first["algorithm"] == "MD5"
    assert second["algorithm"] == "SHA-256"
    assert [parse_digest(v)["algorithm"] for v in make_auth().challenge(T0)] == ["SHA-256", "MD5"]
    for params in (first, second):
        assert params["realm"] == REALM
        assert params["qop"] == "auth"
        assert params["nonce"] and params["opaque"]
        assert "stale" not in params
    assert first["nonce"] == second["nonce"]


def test_challenge_marks_stale_when_asked() -> None:
    for value in make_auth().challenge(T0, stale=True):
        assert parse_digest(value)["stale"] == "true"


def test_each_challenge_has_a_fresh_nonce() -> None:
    auth = make_auth()
    assert (
        parse_digest(auth.challenge(T0)[0])["nonce"] != parse_digest(auth.challenge(T0)[0])["nonce"]
    )


def test_unsupported_algorithm_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="SHA-512"):
        make_auth(algorithms=("SHA-512",))


# -- verification ----------------------------------------------------------------


def _answer(
    auth: DigestAuthenticator,
    *,
    user: str = "alice",
    password: str = "s3cret",
    now: float = T0,
    algorithm: str = "SHA-256",
    method: str = "REGISTER",
) -> str:
    challenges = [c for c in auth.challenge(now) if f"algorithm={algorithm}" in c]
    return answer_challenge(challenges, method, "sip:pbx.example.com", user, password, "cn0")


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_client_answer_is_accepted_by_server(algorithm: str) -> None:
    auth = make_auth()
    result = auth.verify("REGISTER", _answer(auth, algorithm=algorithm), lookup, T0 + 1)
    assert result == AuthResult(ok=True, username="alice", stale=False, reason="ok")


def test_precomputed_ha1_is_used_instead_of_password() -> None:
    auth = make_auth()
    ha1 = compute_ha1("SHA-256", "alice", REALM, "s3cret")
    creds = Credentials(ha1={"SHA-256": ha1.upper()})
    result = auth.verify("REGISTER", _answer(auth), lambda _: creds, T0)
    assert result.ok
    md5_only = Credentials(ha1={"MD5": compute_ha1("MD5", "alice", REALM, "s3cret")})
    assert not auth.verify("REGISTER", _answer(auth), lambda _: md5_only, T0).ok


def test_wrong_method_fails() -> None:
    auth = make_auth()
    value = _answer(auth, method="INVITE")
    assert not auth.verify("REGISTER", value, lookup, T0).ok


def test_nonce_past_ttl_with_correct_digest_is_stale() -> None:
    auth = make_auth(nonce_ttl=300.0)
    value = _answer(auth)
    assert auth.verify("REGISTER", value, lookup, T0 + 299).ok
    result = auth.verify("REGISTER", value, lookup, T0 + 301)
    assert (result.ok, result.stale, result.username) == (False, True, "alice")


def test_stale_nonce_with_wrong_password_is_not_stale() -> None:
    auth = make_auth()
    result = auth.verify("REGISTER", _answer(auth, password="nope"), lookup, T0 + 1000)
    assert (result.ok, result.stale, result.username) == (False, False, None)


def test_tampered_nonce_is_rejected_and_not_stale() -> None:
    auth = make_auth()
    value = _answer(auth)
    nonce = parse_digest(value)["nonce"]
    flipped = nonce[:10] + ("A" if nonce[10] != "A" else "B") + nonce[11:]
    tampered = value.replace(nonce, flipped)
    result = auth.verify("REGISTER", tampered, lookup, T0)
    assert (result.ok, result.stale, result.username) == (False, False, None)
    assert "nonce" in result.reason


def test_nonce_from_another_secret_is_rejected() -> None:
    other = DigestAuthenticator(REALM, b"another-secret")
    value = _answer(other)
    assert not make_auth().verify("REGISTER", value, lookup, T0).ok


def test_wrong_realm_is_rejected() -> None:
    auth = make_auth()
    value = _answer(auth).replace(f'realm="{REALM}"', 'realm="evil.example.com"')
    result = auth.verify("REGISTER", value, lookup, T0)
    assert not result.ok and "realm" in result.reason


def test_unknown_user_and_wrong_password_are_indistinguishable() -> None:
    auth = make_auth()
    unknown = auth.verify("REGISTER", _answer(auth, user="mallory"), lookup, T0)
    wrong = auth.verify("REGISTER", _answer(auth, password="guess"), lookup, T0)
    assert unknown.reason != wrong.reason
    assert dataclasses.replace(unknown, reason="") == dataclasses.replace(wrong, reason="")
    assert unknown.ok is False and unknown.username is None and unknown.stale is False


def test_lookup_is_called_once_with_claimed_username() -> None:
    auth = make_auth()
    calls: list[str] = []

    def recording(name: str) -> Credentials | None:
        calls.append(name)
        return USERS.get(name)

    auth.verify("REGISTER", _answer(auth, user="bob", password="hunter2"), recording, T0)
    assert calls == ["bob"]


@pytest.mark.parametrize("missing", ["uri", "response", "nonce", "username", "realm"])
def test_credentials_missing_a_required_param_fail(missing: str) -> None:
    auth = make_auth()
    params = parse_digest(_answer(auth))
    del params[missing]
    value = "Digest " + ", ".join(f'{k}="{v}"' for k, v in params.items())
    result = auth.verify("REGISTER", value, lookup, T0)
    assert not result.ok and missing in result.reason


def test_missing_authorization_fails_without_stale() -> None:
    assert make_auth().verify("REGISTER", None, lookup, T0) == AuthResult(
        ok=False, username=None, stale=False, reason="no credentials"
    )


def test_md5_without_qop_from_old_client_is_accepted() -> None:
    auth = make_auth()
    nonce = parse_digest(auth.challenge(T0)[1])["nonce"]
    ha1 = compute_ha1("MD5", "alice", REALM, "s3cret")
    response = digest_response("MD5", ha1, nonce, "REGISTER", "sip:pbx.example.com")
    value = (
        f'Digest username="alice", realm="{REALM}", nonce="{nonce}", '
        f'uri="sip:pbx.example.com", response="{response}"'
    )
    assert auth.verify("REGISTER", value, lookup, T0).ok


def test_sha256_without_qop_is_rejected() -> None:
    auth = make_auth()
    nonce = parse_digest(auth.challenge(T0)[0])["nonce"]
    ha1 = compute_ha1("SHA-256", "alice", REALM, "s3cret")
    response = digest_response("SHA-256", ha1, nonce, "REGISTER", "sip:pbx.example.com")
    value = (
        f'Digest username="alice", realm="{REALM}", nonce="{nonce}", algorithm=SHA-256, '
        f'uri="sip:pbx.example.com", response="{response}"'
    )
    assert not auth.verify("REGISTER", value, lookup, T0).ok


def test_algorithm_not_offered_is_rejected() -> None:
    sha_only = make_auth(algorithms=("SHA-256",))
    md5_answer = _answer(make_auth(), algorithm="MD5")
    assert not sha_only.verify("REGISTER", md5_answer, lookup, T0).ok


def test_request_uri_mismatch_is_rejected_when_checked() -> None:
    auth = make_auth()
    value = _answer(auth)
    assert auth.verify("REGISTER", value, lookup, T0, request_uri="sip:pbx.example.com").ok
    assert not auth.verify("REGISTER", value, lookup, T0, request_uri="sip:other").ok


def test_sha256_answer_is_accepted_when_only_md5_is_offered() -> None:
    md5_only = make_auth(algorithms=("MD5",))
    assert [parse_digest(v)["algorithm"] for v in md5_only.challenge(T0)] == ["MD5"]
    assert md5_only.verify("REGISTER", _answer(make_auth(), algorithm="SHA-256"), lookup, T0).ok


# -- replays and guessing (RFC 7616 §3.4: "if the same nc value is seen twice,
# then the request is a replay") ---------------------------------------------------


def test_replayed_nonce_count_is_stale() -> None:
    auth = make_auth()
    nonce_challenge = auth.challenge(T0)[0]
    first = answer_challenge(nonce_challenge, "REGISTER", "sip:p", "alice", "s3cret", "c", 1)
    second = answer_challenge(nonce_challenge, "REGISTER", "sip:p", "alice", "s3cret", "c", 2)
    assert auth.verify("REGISTER", first, lookup, T0).ok
    assert auth.verify("REGISTER", second, lookup, T0).ok
    replay = auth.verify("REGISTER", first, lookup, T0)
    assert (replay.ok, replay.stale) == (False, True)


def test_answer_without_qop_offered_uses_rfc2069_form() -> None:
    value = answer_challenge('Digest realm="r", nonce="n"', "INVITE", "sip:b@x", "u", "p", "c")
    params = parse_digest(value)
    assert "qop" not in params and "cnonce" not in params
    assert params["algorithm"] == "MD5"
    assert params["response"] == digest_response(
        "MD5", compute_ha1("MD5", "u", "r", "p"), "n", "INVITE", "sip:b@x"
    )


def test_answer_refuses_unsupported_challenges() -> None:
    with pytest.raises(ValueError):
        answer_challenge(
            'Digest realm="r", nonce="n", algorithm=SHA-512-256', "INVITE", "sip:x", "u", "p", "c"
        )
    with pytest.raises(ValueError):
        answer_challenge('Basic realm="r"', "INVITE", "sip:x", "u", "p", "c")


def test_a_nonce_that_carried_a_wrong_digest_is_burnt_even_for_the_right_one() -> None:
    auth = make_auth()
    challenge = auth.challenge(T0)[0]
    wrong = answer_challenge(challenge, "REGISTER", "sip:p", "alice", "guess", "c", 1)
    right = answer_challenge(challenge, "REGISTER", "sip:p", "alice", "s3cret", "c", 2)
    assert not auth.verify("REGISTER", wrong, lookup, T0).ok
    result = auth.verify("REGISTER", right, lookup, T0)
    assert (result.ok, result.stale, result.username) == (False, False, None)
    assert "already failed" in result.reason


def test_unknown_user_burns_the_nonce_like_a_wrong_password() -> None:
    auth = make_auth()
    challenge = auth.challenge(T0)[0]
    unknown = answer_challenge(challenge, "REGISTER", "sip:p", "mallory", "x", "c", 1)
    assert not auth.verify("REGISTER", unknown, lookup, T0).ok
    again = answer_challenge(challenge, "REGISTER", "sip:p", "alice", "s3cret", "c", 2)
    assert "already failed" in auth.verify("REGISTER", again, lookup, T0).reason


def test_nonce_table_is_bounded_and_oldest_first_out() -> None:
    counts = NonceCounts(size=3)
    for nonce in "abcd":
        assert counts.fresh(nonce, 1)
    assert len(counts) == 3
    assert counts.fresh("a", 1)  # evicted: only the nonce's ttl limits it now
    assert not counts.fresh("d", 1)


def test_nonce_counts_are_shared_across_authenticators_that_are_given_one() -> None:
    shared = NonceCounts()
    first, second = make_auth(nonce_counts=shared), make_auth(nonce_counts=shared)
    value = answer_challenge(first.challenge(T0)[0], "REGISTER", "sip:p", "alice", "s3cret", "c")
    assert first.verify("REGISTER", value, lookup, T0).ok
    assert second.verify("REGISTER", value, lookup, T0).stale  # a reload keeps the table
