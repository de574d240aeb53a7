"""SIP over TCP against a real UserAgent with short limits (issue 10 item 5):
idle and slowloris connections are closed, one source gets a bounded number
of connections, a registration flow and a dialog keep theirs."""

from __future__ import annotations

import asyncio
import uuid

from sip_peers import ANSWER, OFFER, Answerer

from sip.message import Request, make_response
from sip.tcp_guard import TcpLimits
from sip.transport import Target
from sip.ua import UserAgent

LIMITS = TcpLimits(idle_timeout=0.3, message_timeout=0.2, max_per_source=3)


class Registrar(Answerer):
    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        if request.method == "REGISTER":
            contact = request.headers.get("Contact") or ""
            ua.send_response(txn, make_response(
                request, 200, to_tag="reg", headers=[("Contact", f"{contact};expires=2")]
            ))  # fmt: skip
            return
        super().on_request(ua, request, txn, source)


async def _ua(handler: object) -> UserAgent:
    ua = UserAgent(handler, public_host="127.0.0.1", tcp_limits=LIMITS)  # type: ignore[arg-type]
    await ua.start("127.0.0.1", 0)
    return ua


async def _closed(reader: asyncio.StreamReader, within: float) -> bool:
    """True when the server closes the connection within ``within`` seconds."""
    try:
        while True:
            data = await asyncio.wait_for(reader.read(65535), within)
            if not data:
                return True
    except TimeoutError:
        return False
    except ConnectionError:
        return True


def _request(method: str, port: int, local_port: int, extra: str = "", body: bytes = b"") -> bytes:
    return (
        f"{method} sip:x@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP 127.0.0.1:{local_port};branch=z9hG4bK{uuid.uuid4().hex[:10]}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:alice@127.0.0.1>;tag={uuid.uuid4().hex[:8]}\r\n"
        "To: <sip:alice@127.0.0.1>\r\n"
        f"Call-ID: {uuid.uuid4().hex}\r\n"
        f"CSeq: 1 {method}\r\n"
        f"Contact: <sip:alice@127.0.0.1:{local_port};transport=tcp>\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def test_idle_connection_is_closed_after_the_idle_timeout() -> None:
    ua = await _ua(Answerer())
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", ua.port)
        assert not await _closed(reader, 0.2)
        assert await _closed(reader, 0.5)
        writer.close()
    finally:
        ua.close()


async def test_message_sent_too_slowly_is_cut_at_the_message_deadline() -> None:
    ua = await _ua(Answerer())
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", ua.port)
        data = _request("OPTIONS", ua.port, writer.get_extra_info("sockname")[1])
        loop = asyncio.get_running_loop()
        started = loop.time()
        closed = False
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            if await _closed(reader, 0.02):
                closed = True
                break
        assert closed
        assert loop.time() - started < LIMITS.idle_timeout  # the message deadline, not idle
    finally:
        ua.close()


async def test_one_source_gets_at_most_max_per_source_connections() -> None:
    ua = await _ua(Answerer())
    try:
        conns = [await asyncio.open_connection("127.0.0.1", ua.port) for _ in range(4)]
        still_open = [not await _closed(reader, 0.05) for reader, _ in conns]
        assert still_open == [True, True, True, False]
        for _, writer in conns:
            writer.close()
        await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", ua.port)
        assert not await _closed(reader, 0.05)  # room again once others closed
        writer.close()
    finally:
        ua.close()


async def test_connection_that_registered_stays_open_while_its_binding_lives() -> None:
    ua = await _ua(Registrar())
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", ua.port)
        writer.write(_request("REGISTER", ua.port, writer.get_extra_info("sockname")[1]))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 1)
        assert head.startswith(b"SIP/2.0 200")
        assert not await _closed(reader, 1.0)  # > idle_timeout, < expires=2
        assert await _closed(reader, 2.0)  # the binding expired, then idle
        writer.close()
    finally:
        ua.close()


async def test_connection_that_carries_a_dialog_stays_open() -> None:
    ua = await _ua(Answerer(on_call=lambda call: call.answer(ANSWER)))
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", ua.port)
        writer.write(_request(
            "INVITE", ua.port, writer.get_extra_info("sockname")[1],
            extra="Content-Type: application/sdp\r\n", body=OFFER,
        ))  # fmt: skip
        head = b""
        while b" 200 OK" not in head:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 1)
        # No ACK yet (T1 = 0.5 s here): the dialog holds the connection well
        # past the idle timeout.
        assert not await _closed(reader, 0.8)
        writer.close()
    finally:
        ua.close()
