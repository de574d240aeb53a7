"""SIP over TCP against the real server with its default limits (issue 10
item 5): idle connections and half-sent messages are closed, one address
gets at most 100 connections, and a connection that registered is kept.

Raw sockets; each test uses its own loopback addresses. Defaults: idle 30 s,
message 10 s, 100 connections per address (sip.tcp_guard.TcpLimits).
"""

from __future__ import annotations

import select
import socket
import time
import uuid

from peers.jono import JonoServer, StartJono, base_config

from sip.auth import answer_challenge
from sip.message import Response
from sip.parser import StreamParser
from sip.tcp_guard import TcpLimits

LIMITS = TcpLimits()


def connect(server: JonoServer, source: str) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=2, source_address=(source, 0))


def closed_by_server(sock: socket.socket) -> bool:
    """True if the server has closed ``sock`` (EOF or reset); never blocks."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    if not poller.poll(0):
        return False
    try:
        while True:
            sock.setblocking(False)
            data = sock.recv(65535)
            if not data:
                return True
    except BlockingIOError:
        return False
    except ConnectionError:
        return True


def wait_closed(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closes ``sock``, or None if it stays open that long."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if closed_by_server(sock):
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def request(method: str, server: JonoServer, sock: socket.socket, auth: str = "", cseq: int = 1,
            call_id: str = "c1") -> bytes:
    host, port = sock.getsockname()
    return (
        f"{method} sip:{server.address};transport=tcp SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP {host}:{port};branch=z9hG4bK{uuid.uuid4().hex[:12]}\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=tcp1\r\nTo: <sip:alice@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
        f"Contact: <sip:alice@{host}:{port};transport=tcp>\r\nExpires: 3600\r\n"
        f"{auth}Content-Length: 0\r\n\r\n"
    ).encode()


def read_response(sock: socket.socket) -> Response:
    parser = StreamParser()
    sock.setblocking(True)
    sock.settimeout(2)
    while True:
        parser.feed(sock.recv(65535))
        while (message := parser.next_message()) is not None:
            if isinstance(message, Response) and message.status != 100:
                return message


def test_one_address_gets_at_most_100_connections_and_a_half_sent_message_is_cut(
    jono: StartJono,
) -> None:
    server = jono(base_config(trunk=False))
    flood = [connect(server, "127.0.0.21") for _ in range(LIMITS.max_per_source + 1)]
    slow = connect(server, "127.0.0.22")
    try:
        time.sleep(0.5)
        refused = [i for i, s in enumerate(flood) if closed_by_server(s)]
        assert refused == [LIMITS.max_per_source]  # the 101st, only
        assert not closed_by_server(connect(server, "127.0.0.23"))  # another address is served
        slow.sendall(request("OPTIONS", server, slow)[:40])  # and never the rest
        after = wait_closed(slow, LIMITS.message_timeout + 3)
        assert after is not None and after >= LIMITS.message_timeout - 1
        assert not any(closed_by_server(s) for s in flood[:3])  # idle ones: not yet (30 s)
    finally:
        for sock in (*flood, slow):
            sock.close()


def test_idle_connections_are_closed_and_a_registered_one_is_kept(jono: StartJono) -> None:
    server = jono(base_config(trunk=False))
    idle = connect(server, "127.0.0.31")
    options = connect(server, "127.0.0.32")
    registered = connect(server, "127.0.0.33")
    try:
        options.sendall(request("OPTIONS", server, options))
        assert read_response(options).status == 200
        registered.sendall(request("REGISTER", server, registered))
        challenge = read_response(registered).headers.get("WWW-Authenticate")
        assert challenge is not None
        value = answer_challenge(challenge, "REGISTER", f"sip:{server.address};transport=tcp",
                                 "alice", "alicepw", "cn")
        registered.sendall(request("REGISTER", server, registered, f"Authorization: {value}\r\n", 2))
        assert read_response(registered).status == 200
        started = time.monotonic()
        closed_at: dict[str, float] = {}
        while time.monotonic() - started < LIMITS.idle_timeout + 5 and len(closed_at) < 3:
            for name, sock in (("idle", idle), ("options", options), ("registered", registered)):
                if name not in closed_at and closed_by_server(sock):
                    closed_at[name] = time.monotonic() - started
            time.sleep(0.2)
        assert set(closed_at) == {"idle", "options"}, closed_at  # its binding lives an hour
        assert min(closed_at.values()) >= LIMITS.idle_timeout - 2, closed_at
    finally:
        for sock in (idle, options, registered):
            sock.close()

