"""SIP over TLS against a real UserAgent (RFC 3261 §18, §26.2.1; RFC 5626 §5.3):
requests answered over the same connection, a registration called back over
it, the TCP limits (idle, slowloris, per source, handshake) on TLS too, and
framing fed in random pieces."""

from __future__ import annotations

import asyncio
import random
import ssl
import uuid
from pathlib import Path

import pytest
from sip_peers import Answerer

from acd.telephony.tls_files import make_self_signed
from sip.message import Request, make_response
from sip.parser import MAX_MESSAGE
from sip.tcp_guard import TcpLimits
from sip.tls import client_context, server_context
from sip.transport import Target
from sip.ua import UserAgent

LIMITS = TcpLimits(idle_timeout=0.3, message_timeout=0.2, max_per_source=3)


class Registrar(Answerer):
    """Answers REGISTER 200 and then sends an OPTIONS to where it came from."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[str] = []

    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        if request.method == "REGISTER":
            contact = request.headers.get("Contact") or ""
            ua.send_response(txn, make_response(
                request, 200, to_tag="reg", headers=[("Contact", f"{contact};expires=2")]
            ))  # fmt: skip
            options = Request(method="OPTIONS", uri="sip:alice@127.0.0.1")
            options.headers.add("Via", ua.via(source.transport))
            for name, value in (
                ("Max-Forwards", "70"), ("From", "<sip:jono@127.0.0.1>;tag=j1"),
                ("To", "<sip:alice@127.0.0.1>"), ("Call-ID", uuid.uuid4().hex),
                ("CSeq", "1 OPTIONS"), ("Content-Length", "0"),
            ):
                options.headers.add(name, value)
            ua.send_request(options, source, lambda r, why: self.answers.append(
                str(r.status) if r is not None else why))
            return
        super().on_request(ua, request, txn, source)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder: Path = tmp_path_factory.mktemp("tls")
    make_self_signed(folder / "c.pem", folder / "k.pem", ("127.0.0.1",))
    return str(folder / "c.pem"), str(folder / "k.pem")


async def _ua(handler: object, pair: tuple[str, str]) -> UserAgent:
    for _ in range(5):  # UDP picks the port; TCP may find it taken by a client socket
        ua = UserAgent(handler, public_host="127.0.0.1", tcp_limits=LIMITS)  # type: ignore[arg-type]
        try:
            await ua.start("127.0.0.1", 0)
            break
        except OSError:
            ua.close()
    await ua.transports.start_tls("127.0.0.1", 0, server_context(*pair), client_context())
    return ua


async def _connect(ua: UserAgent) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(
        "127.0.0.1", ua.transports.port_for("tls"), ssl=client_context(),
        server_hostname="127.0.0.1",
    )


async def _closed(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        while True:
            data = await asyncio.wait_for(reader.read(65535), within)
            if not data:
                return True
    except TimeoutError:
        return False
    except (ConnectionError, ssl.SSLError):
        return True


def _request(method: str, port: int, local_port: int, extra: str = "", body: bytes = b"") -> bytes:
    return (
        f"{method} sip:x@127.0.0.1:{port};transport=tls SIP/2.0\r\n"
        f"Via: SIP/2.0/TLS 127.0.0.1:{local_port};branch=z9hG4bK{uuid.uuid4().hex[:10]};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:alice@127.0.0.1>;tag={uuid.uuid4().hex[:8]}\r\n"
        "To: <sip:alice@127.0.0.1>\r\n"
        f"Call-ID: {uuid.uuid4().hex}\r\n"
        f"CSeq: 1 {method}\r\n"
        f"Contact: <sip:alice@127.0.0.1:{local_port};transport=tls>\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def test_options_over_tls_is_answered_over_the_same_connection(pair: tuple[str, str]) -> None:
    ua = await _ua(Answerer(), pair)
    try:
        reader, writer = await _connect(ua)
        writer.write(_request("OPTIONS", ua.port, writer.get_extra_info("sockname")[1]))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert head.startswith(b"SIP/2.0 200")
        assert b"Via: SIP/2.0/TLS 127.0.0.1:" in head
        writer.close()
    finally:
        ua.close()


async def test_our_via_and_contact_name_tls_and_its_own_port(pair: tuple[str, str]) -> None:
    ua = await _ua(Answerer(), pair)
    try:
        tls_port = ua.transports.port_for("tls")
        assert tls_port != ua.port
        assert ua.via("tls").startswith(f"SIP/2.0/TLS 127.0.0.1:{tls_port};")
        assert ua.contact("tls") == f"<sip:jono@127.0.0.1:{tls_port};transport=tls>"
    finally:
        ua.close()


async def test_registration_over_tls_is_called_back_over_the_same_connection(
    pair: tuple[str, str],
) -> None:
    registrar = Registrar()
    ua = await _ua(registrar, pair)
    try:
        reader, writer = await _connect(ua)
        writer.write(_request("REGISTER", ua.port, writer.get_extra_info("sockname")[1]))
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert first.startswith(b"SIP/2.0 200")
        request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert request.startswith(b"OPTIONS sip:alice@127.0.0.1 SIP/2.0")
        assert b"Via: SIP/2.0/TLS" in request
        # Answer it over the same connection: the client transaction sees 200.
        via = next(line for line in request.split(b"\r\n") if line.startswith(b"Via:"))
        answer = b"\r\n".join([
            b"SIP/2.0 200 OK", via, b"From: <sip:jono@127.0.0.1>;tag=j1",
            b"To: <sip:alice@127.0.0.1>;tag=a1",
            next(line for line in request.split(b"\r\n") if line.startswith(b"Call-ID:")),
            b"CSeq: 1 OPTIONS", b"Content-Length: 0", b"", b"",
        ])  # fmt: skip
        writer.write(answer)
        for _ in range(100):
            if registrar.answers:
                break
            await asyncio.sleep(0.01)
        assert registrar.answers == ["200"]
        writer.close()
    finally:
        ua.close()


async def test_idle_tls_connection_is_closed_after_the_idle_timeout(pair: tuple[str, str]) -> None:
    ua = await _ua(Answerer(), pair)
    try:
        reader, writer = await _connect(ua)
        assert not await _closed(reader, 0.2)
        assert await _closed(reader, 0.6)
        writer.close()
    finally:
        ua.close()


async def test_one_source_gets_at_most_max_per_source_tls_connections(
    pair: tuple[str, str],
) -> None:
    ua = await _ua(Answerer(), pair)
    try:
        conns = [await _connect(ua) for _ in range(4)]
        still_open = [not await _closed(reader, 0.05) for reader, _ in conns]
        assert still_open == [True, True, True, False]
        for _, writer in conns:
            writer.close()
    finally:
        ua.close()


async def test_a_handshake_never_finished_is_cut_at_the_message_deadline(
    pair: tuple[str, str],
) -> None:
    ua = await _ua(Answerer(), pair)
    try:
        # Plain TCP to the TLS port, no ClientHello: the server gives up.
        reader, writer = await asyncio.open_connection("127.0.0.1", ua.transports.port_for("tls"))
        assert await _closed(reader, 1.0)
        writer.close()
    finally:
        ua.close()


async def test_plain_sip_sent_to_the_tls_port_never_reaches_the_stack(
    pair: tuple[str, str],
) -> None:
    seen: list[str] = []

    class Recorder(Answerer):
        def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
            seen.append(request.method)

    ua = await _ua(Recorder(), pair)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", ua.transports.port_for("tls"))
        writer.write(_request("REGISTER", ua.port, 5060))
        assert await _closed(reader, 1.0)
        assert seen == []
        writer.close()
    finally:
        ua.close()


@pytest.mark.parametrize("seed", range(5))
async def test_messages_in_random_pieces_over_tls_frame_as_sent(
    pair: tuple[str, str], seed: int,
) -> None:
    """Framing over TLS: three requests and CRLF pings split at random points."""
    ua = await _ua(Answerer(), pair)
    rng = random.Random(seed)
    try:
        reader, writer = await _connect(ua)
        local = writer.get_extra_info("sockname")[1]
        data = b"\r\n\r\n".join(_request("OPTIONS", ua.port, local) for _ in range(3))
        cut = sorted(rng.sample(range(1, len(data)), 12))
        for start, end in zip([0, *cut], [*cut, len(data)], strict=True):
            writer.write(data[start:end])
            await writer.drain()
        answers = 0
        while answers < 3:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            answers += head.lstrip(b"\r\n").startswith(b"SIP/2.0 200")
        writer.close()
    finally:
        ua.close()


async def test_message_over_the_size_bound_closes_the_tls_connection(
    pair: tuple[str, str],
) -> None:
    ua = await _ua(Answerer(), pair)
    try:
        reader, writer = await _connect(ua)
        writer.write(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nX: " + b"a" * (MAX_MESSAGE + 10))
        assert await _closed(reader, 1.0)
        writer.close()
    finally:
        ua.close()
