"""RFC 3261 §8.2 UAS checks and malformed input, against the real server
over loopback UDP/TCP (in-process, real sockets, real store)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from acd.bootstrap import Jono, Settings, build
from acd.config import load
from sip.message import Response
from sip.parser import parse_message

PLAN = """
server: {listen: "127.0.0.1:5060", realm: test}
users:
  alice: {extension: "1001", password: alicepw, display_name: Alice}
"""


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Jono]:
    (tmp_path / "plan.yaml").write_text(PLAN)
    plan = load(tmp_path / "plan.yaml")
    srv = build(plan, Settings(host="127.0.0.1", port=0, db=f"sqlite:///{tmp_path}/t.db",
                               realm="test", cache_dir=str(tmp_path / "cache"),
                               http=("127.0.0.1", 0)))
    await srv.start()
    yield srv
    await srv.close()


def _request(method: str, *, extra: str = "", branch: str = "z9hG4bKt1", to_tag: str = "",
             cseq: int = 1, call_id: str = "call-1") -> bytes:
    to = "<sip:1001@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:1001@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;branch={branch};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:tester@127.0.0.1>;tag=ft1\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"{extra}"
        "Content-Length: 0\r\n\r\n"
    ).encode()


class Phone:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)

    async def exchange(self, server: Jono, data: bytes, wait: float = 2.0) -> Response:
        loop = asyncio.get_running_loop()
        await loop.sock_sendto(self.sock, data, ("127.0.0.1", server.ua.port))
        return await self.receive(wait)

    async def receive(self, wait: float = 2.0) -> Response:
        loop = asyncio.get_running_loop()
        while True:
            raw = await asyncio.wait_for(loop.sock_recv(self.sock, 65535), wait)
            message = parse_message(raw)
            assert isinstance(message, Response)
            if message.status != 100:
                return message

    async def silence(self, wait: float = 0.5) -> bool:
        try:
            await self.receive(wait)
        except TimeoutError:
            return True
        return False


async def test_options_gets_200_with_allow(server: Jono) -> None:
    reply = await Phone().exchange(server, _request("OPTIONS"))
    assert reply.status == 200
    allow = {m.strip() for m in (reply.headers.get("Allow") or "").split(",")}
    assert {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO"} <= allow


async def test_unknown_method_gets_501(server: Jono) -> None:
    reply = await Phone().exchange(server, _request("FROBNICATE"))
    assert reply.status == 501


async def test_max_forwards_zero_gets_483(server: Jono) -> None:
    data = _request("INVITE").replace(b"Max-Forwards: 70", b"Max-Forwards: 0")
    reply = await Phone().exchange(server, data)
    assert reply.status == 483


async def test_unsupported_require_gets_420_listing_it(server: Jono) -> None:
    reply = await Phone().exchange(server, _request("INVITE", extra="Require: foo, 100rel\r\n"))
    assert reply.status == 420
    assert reply.headers.get("Unsupported") == "foo, 100rel"


async def test_merged_request_with_other_branch_gets_482(server: Jono) -> None:
    phone = Phone()
    first = await phone.exchange(server, _request("INVITE", branch="z9hG4bKa"))
    assert first.status == 401  # challenged, but the transaction is in progress
    second = await phone.exchange(server, _request("INVITE", branch="z9hG4bKb"))
    assert second.status == 482


async def test_bye_for_unknown_dialog_gets_481(server: Jono) -> None:
    reply = await Phone().exchange(server, _request("BYE", to_tag="nosuch"))
    assert reply.status == 481


async def test_retransmitted_request_gets_same_response_once(server: Jono) -> None:
    phone = Phone()
    first = await phone.exchange(server, _request("REGISTER"))
    second = await phone.exchange(server, _request("REGISTER"))
    assert first.status == second.status == 401
    assert first.headers.get("WWW-Authenticate") == second.headers.get("WWW-Authenticate")


async def test_malformed_request_gets_400_with_reason(server: Jono) -> None:
    data = _request("OPTIONS").replace(b"CSeq: 1 OPTIONS", b"CSeq: one OPTIONS")
    phone = Phone()
    loop = asyncio.get_running_loop()
    await loop.sock_sendto(phone.sock, data, ("127.0.0.1", server.ua.port))
    raw = await asyncio.wait_for(loop.sock_recv(phone.sock, 65535), 2)
    status_line = raw.split(b"\r\n", 1)[0].decode()
    assert status_line.startswith("SIP/2.0 400 ")
    assert "CSeq" in status_line


async def test_garbage_is_dropped_and_server_keeps_answering(server: Jono) -> None:
    phone = Phone()
    loop = asyncio.get_running_loop()
    await loop.sock_sendto(phone.sock, b"\x00\xffnot sip at all", ("127.0.0.1", server.ua.port))
    assert await phone.silence()
    reply = await phone.exchange(server, _request("OPTIONS", branch="z9hG4bKafter"))
    assert reply.status == 200


async def test_options_over_tcp_split_in_pieces(server: Jono) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.ua.port)
    data = _request("OPTIONS").replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP")
    for i in range(0, len(data), 7):
        writer.write(data[i : i + 7])
        await writer.drain()
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    writer.close()
    assert raw.startswith(b"SIP/2.0 200 OK")
