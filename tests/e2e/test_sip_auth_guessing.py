"""Password guessing against the real server (issue 10 item 6): a source
that keeps failing is refused with 403, a nonce cannot be replayed, unknown
and existing users are treated alike, and every failure is one log line
that fail2ban can read.

Raw UDP from several loopback addresses (127.0.0.x) so that per-source
and per-user limits can be told apart.
"""

from __future__ import annotations

import re
import socket
import uuid
from pathlib import Path

from peers.jono import JonoServer, StartJono, base_config

from sip.auth import answer_challenge
from sip.message import Response
from sip.parser import parse_message

FAIL2BAN_FILTER = Path(__file__).parents[2] / "docs" / "fail2ban" / "filter.d" / "jono.conf"


class Phone:
    def __init__(self, address: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.sock.settimeout(2.0)
        self.address, self.port = self.sock.getsockname()
        self.call_id = uuid.uuid4().hex
        self.cseq = 0

    def close(self) -> None:
        self.sock.close()

    def register(self, server: JonoServer, user: str, authorization: str | None = None) -> Response:
        self.cseq += 1
        auth = f"Authorization: {authorization}\r\n" if authorization else ""
        data = (
            f"REGISTER sip:{server.address} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {self.address}:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:{user}@{server.host}>;tag=t{self.call_id[:6]}\r\n"
            f"To: <sip:{user}@{server.host}>\r\n"
            f"Call-ID: {self.call_id}\r\nCSeq: {self.cseq} REGISTER\r\n"
            f"Contact: <sip:{user}@{self.address}:{self.port}>\r\nExpires: 60\r\n"
            f"{auth}Content-Length: 0\r\n\r\n"
        ).encode()
        self.sock.sendto(data, (server.host, server.port))
        while True:
            message = parse_message(self.sock.recv(65535))
            assert isinstance(message, Response)
            if message.status != 100:
                return message

    def guess(self, server: JonoServer, user: str, password: str) -> int:
        """One guess with a fresh challenge: the final status of the answer
        (or of the unauthenticated REGISTER when that is refused)."""
        first = self.register(server, user)
        challenge = first.headers.get("WWW-Authenticate")
        if first.status != 401 or challenge is None:
            return first.status
        value = answer_challenge(challenge, "REGISTER", f"sip:{server.address}", user, password, "c")
        return self.register(server, user, value).status


def test_a_source_that_keeps_guessing_is_refused_and_others_are_not(
    jono: StartJono,
) -> None:
    server = jono(base_config(trunk=False))
    attacker, other = Phone("127.0.0.1"), Phone("127.0.0.2")
    try:
        statuses = [attacker.guess(server, "alice", f"guess{i}") for i in range(12)]
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [403, 403]
        # Even the right password is not checked while the source is refused ...
        assert attacker.guess(server, "alice", "alicepw") == 403
        # ... but alice's own phone elsewhere registers (12 < 20 per-user failures).
        assert other.guess(server, "alice", "alicepw") == 200
    finally:
        attacker.close()
        other.close()


def test_unknown_and_existing_users_are_refused_alike(jono: StartJono) -> None:
    server = jono(base_config(trunk=False))
    known, unknown = Phone("127.0.0.3"), Phone("127.0.0.4")
    try:
        for_known = [known.guess(server, "alice", f"g{i}") for i in range(12)]
        for_unknown = [unknown.guess(server, "mallory", f"g{i}") for i in range(12)]
        assert for_known == for_unknown == [401] * 10 + [403, 403]
    finally:
        known.close()
        unknown.close()


def test_many_sources_guessing_one_user_are_refused_after_the_per_user_count(
    jono: StartJono,
) -> None:
    server = jono(base_config(trunk=False))
    phones = [Phone(f"127.0.0.{10 + i}") for i in range(8)]
    owner = Phone("127.0.0.9")
    try:
        assert owner.guess(server, "bob", "bobpw") == 200  # bob's own phone, logged in
        statuses = [phones[i % 8].guess(server, "bob", f"g{i}") for i in range(24)]
        assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {403}
        assert Phone("127.0.0.99").guess(server, "bob", "bobpw") == 403  # a new address
        assert owner.guess(server, "bob", "bobpw") == 200  # not locked out
        assert Phone("127.0.0.98").guess(server, "carol", "carolpw") == 200
    finally:
        for phone in (*phones, owner):
            phone.close()


def test_a_nonce_cannot_be_replayed_or_reused_after_a_wrong_guess(jono: StartJono) -> None:
    server = jono(base_config(trunk=False))
    phone = Phone("127.0.0.5")
    try:
        challenge = phone.register(server, "alice").headers.get("WWW-Authenticate")
        assert challenge is not None
        uri = f"sip:{server.address}"
        good = answer_challenge(challenge, "REGISTER", uri, "alice", "alicepw", "c", nc=1)
        assert phone.register(server, "alice", good).status == 200
        replayed = phone.register(server, "alice", good)  # same nc: a replay
        assert replayed.status == 401
        assert "stale=true" in (replayed.headers.get("WWW-Authenticate") or "")
        # A wrong guess burns its nonce: the right password on it no longer passes.
        fresh = phone.register(server, "alice").headers.get("WWW-Authenticate")
        assert fresh is not None
        wrong = answer_challenge(fresh, "REGISTER", uri, "alice", "nope", "c", nc=1)
        right = answer_challenge(fresh, "REGISTER", uri, "alice", "alicepw", "c", nc=2)
        assert phone.register(server, "alice", wrong).status == 401
        assert phone.register(server, "alice", right).status == 401
    finally:
        phone.close()


def test_every_failure_is_one_log_line_that_the_fail2ban_filter_matches(jono: StartJono) -> None:
    server = jono(base_config(trunk=False))
    phone = Phone("127.0.0.6")
    try:
        phone.guess(server, "alice", "wrong-1")
        phone.guess(server, "nobody", "wrong-2")
        assert phone.guess(server, "alice", "alicepw") == 200
    finally:
        phone.close()
    lines = [line for line in server.log_text().splitlines() if "auth failed:" in line]
    assert len(lines) == 2, server.log_text()
    assert f"source=127.0.0.6 port={phone.port} user=\"alice\" method=REGISTER" in lines[0]
    assert f"source=127.0.0.6 port={phone.port} user=\"nobody\" method=REGISTER" in lines[1]
    assert "wrong-1" not in server.log_text() and "alicepw" not in server.log_text()
    failregex = _fail2ban_regex()
    for line in lines:
        match = failregex.search(line)
        assert match is not None and match.group("host") == "127.0.0.6", line


def _fail2ban_regex() -> re.Pattern[str]:
    """The sample filter's failregex with fail2ban's <HOST> tag as a named group."""
    text = FAIL2BAN_FILTER.read_text()
    found = re.search(r"^failregex\s*=\s*(.+)$", text, re.MULTILINE)
    assert found is not None, f"no failregex in {FAIL2BAN_FILTER}"
    return re.compile(found.group(1).strip().replace("<HOST>", r"(?P<host>[0-9a-fA-F.:]+)"))
