"""Who is calling (acd/telephony/access.py): trunks by address and port, a user's
credentials beat the trunk, the throttle answers 403, failures are logged
in one line without secrets (issue 10 item 6, issue 11 point 1)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from acd.config.trunks import Trunk
from acd.config.users import User
from acd.telephony.access import Access, Caller
from sip.auth import AuthThrottle, ThrottleLimits, answer_challenge
from sip.message import Request
from sip.parser import parse_message
from sip.transport import Target

USERS = {"alice": User(extension="1001", password="alicepw")}
TRUNKS = {"provider": Trunk(inbound_sources=("127.0.0.1:5070", "203.0.113.0/24"))}
NOW = 1_000_000.0


@dataclass
class FakeUA:
    sent: list[tuple[int, tuple[tuple[str, str], ...]]] = field(default_factory=list)

    def respond(self, txn: object, request: Request, status: int, reason: str | None = None,
                headers: tuple[tuple[str, str], ...] = (), to_tag: str | None = None) -> None:
        self.sent.append((status, headers))


def invite(authorization: str | None = None, via_host: str = "127.0.0.1") -> Request:
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    message = parse_message(
        (
            "INVITE sip:1002@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {via_host}:5062;branch=z9hG4bKa1;rport=5062\r\n"
            "From: <sip:alice@127.0.0.1>;tag=1\r\nTo: <sip:1002@127.0.0.1>\r\n"
            f"Call-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n{auth}Content-Length: 0\r\n\r\n"
        ).encode()
    )
    assert isinstance(message, Request)
    return message


def answer(access: Access, ua: FakeUA, user: str, password: str) -> str:
    challenge = dict(ua.sent[-1][1])["WWW-Authenticate"]
    return answer_challenge(challenge, "INVITE", "sip:1002@127.0.0.1", user, password, "c")


def test_trunk_is_matched_by_address_and_port() -> None:
    access = Access("jono", USERS, TRUNKS)
    assert access.trunk_for(Target("udp", "127.0.0.1", 5070)) == "provider"
    assert access.trunk_for(Target("udp", "127.0.0.1", 5062)) is None
    assert access.trunk_for(Target("udp", "203.0.113.9", 5062)) == "provider"


def test_from_a_trunk_address_credentials_of_a_known_user_make_it_that_user() -> None:
    access = Access("jono", USERS, {"lo": Trunk(inbound_sources=("127.0.0.1",))})
    ua = FakeUA()
    source = Target("udp", "127.0.0.1", 5062)
    assert access.identify(ua, invite(), object(), source, NOW) == Caller("trunk", "lo")  # type: ignore[arg-type]
    access.authenticate(ua, invite(), object(), NOW, source=source)  # type: ignore[arg-type]
    value = answer(access, ua, "alice", "alicepw")
    assert access.identify(ua, invite(value), object(), source, NOW) == Caller("user", "alice")  # type: ignore[arg-type]
    stranger = value.replace('username="alice"', 'username="mallory"')
    assert access.identify(ua, invite(stranger), object(), source, NOW) == Caller("trunk", "lo")  # type: ignore[arg-type]


def test_throttled_source_gets_403_and_failures_are_logged_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    access = Access("jono", USERS, {}, throttle=AuthThrottle(ThrottleLimits(per_source=2)))
    ua = FakeUA()
    caplog.set_level(logging.INFO, logger="jono.auth")
    for guess in ("guess-1", "guess-2", "alicepw"):
        access.authenticate(ua, invite(), object(), NOW)  # type: ignore[arg-type]
        if ua.sent[-1][0] == 401:
            access.authenticate(ua, invite(answer(access, ua, "alice", guess)), object(), NOW)  # type: ignore[arg-type]
    assert [status for status, _ in ua.sent] == [401, 401, 401, 401, 403]
    failed = [r.getMessage() for r in caplog.records if "auth failed" in r.getMessage()]
    assert failed == [
        "auth failed: source=127.0.0.1 port=5062 user=\"alice\" method=INVITE "
        "reason=wrong password for 'alice'"
    ] * 2
    assert any("auth throttled: source=127.0.0.1" in r.getMessage() for r in caplog.records)
    assert not any("guess-" in r.getMessage() or "alicepw" in r.getMessage() for r in caplog.records)


def test_a_crafted_username_cannot_break_the_log_line(caplog: pytest.LogCaptureFixture) -> None:
    access = Access("jono", USERS, {})
    ua = FakeUA()
    caplog.set_level(logging.INFO, logger="jono.auth")
    access.authenticate(ua, invite(), object(), NOW)  # type: ignore[arg-type]
    crafted = 'x" port=1 user="y\u2028auth failed: source=10.9.9.9 port=1 user="z'
    access.authenticate(ua, invite(answer(access, ua, crafted, "p")), object(), NOW)  # type: ignore[arg-type]
    [line] = [r.getMessage() for r in caplog.records if "auth failed" in r.getMessage()]
    assert line.startswith("auth failed: source=127.0.0.1 port=5062 user=")
    assert line.isascii() and "\u2028" not in line and len(line.splitlines()) == 1
