"""SIP over WebSocket (RFC 7118) through the real web server (uvicorn + Starlette)
into a real UserAgent: subprotocol, one SIP message per WebSocket message,
answers over the same socket whatever the Via says, CRLF keep-alive, the TCP
limits (size, idle, per source), clean-up when the socket closes, and a fuzz
of message framing that never harms the connection or the server."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import websockets
from sip_peers import Answerer
from starlette.applications import Starlette

from acd.web import sip_socket
from acd.web.http import HttpServer
from sip.message import Request, make_response
from sip.parser import MAX_MESSAGE
from sip.tcp_guard import TcpLimits
from sip.transport import Target
from sip.ua import UserAgent

LIMITS = TcpLimits(idle_timeout=0.4, message_timeout=0.2, max_per_source=3)


class Registrar(Answerer):
    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        if request.method == "REGISTER":
            contact = request.headers.get("Contact") or ""
            ua.send_response(txn, make_response(
                request, 200, to_tag="reg", headers=[("Contact", f"{contact};expires=2")]
            ))  # fmt: skip
            return
        super().on_request(ua, request, txn, source)


@dataclass
class Site:
    ua: UserAgent
    url: str
    closed: list[Target]


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    ua = UserAgent(Registrar(), public_host="127.0.0.1", tcp_limits=LIMITS)
    for _ in range(5):
        try:
            await ua.start("127.0.0.1", 0)
            break
        except OSError:
            ua.close()
            ua = UserAgent(Registrar(), public_host="127.0.0.1", tcp_limits=LIMITS)
    transports = {}
    app = Starlette(routes=[sip_socket.route(transports)])
    http = HttpServer(app, "127.0.0.1", 0)
    assert await http.start()
    port = http.address[1]
    transports["ws"] = ua.add_websocket("ws", port)
    closed: list[Target] = []
    ua.flow_closed.append(closed.append)
    yield Site(ua, f"ws://127.0.0.1:{port}/sip", closed)
    ua.close()
    await http.close()


def _request(method: str, extra: str = "", body: str = "") -> str:
    """As a browser sends it: Via WSS with an .invalid host (RFC 7118 §5.2)."""
    return (
        f"{method} sip:jono@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK{uuid.uuid4().hex[:10]}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:alice@127.0.0.1>;tag={uuid.uuid4().hex[:8]}\r\n"
        "To: <sip:alice@127.0.0.1>\r\n"
        f"Call-ID: {uuid.uuid4().hex}\r\n"
        f"CSeq: 1 {method}\r\n"
        "Contact: <sip:a8s7d6f@df7jal23ls0d.invalid;transport=ws>\r\n"
        f"{extra}Content-Length: {len(body.encode())}\r\n\r\n{body}"
    )


async def _recv(ws: websockets.ClientConnection, within: float = 2.0) -> str:
    data = await asyncio.wait_for(ws.recv(), within)
    return data if isinstance(data, str) else data.decode()


async def _closed_within(ws: websockets.ClientConnection, within: float) -> int | None:
    """The close code if the server closes within ``within`` seconds, else None."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), within)
    except TimeoutError:
        return None
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else 1006


async def test_a_socket_without_the_sip_subprotocol_is_refused(site: Site) -> None:
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(site.url):
            pass


async def test_request_with_an_invalid_via_host_is_answered_over_the_same_socket(
    site: Site,
) -> None:
    async with websockets.connect(site.url, subprotocols=["sip"]) as ws:
        assert ws.subprotocol == "sip"
        await ws.send(_request("OPTIONS"))
        answer = await _recv(ws)
        assert answer.startswith("SIP/2.0 200")
        assert "Via: SIP/2.0/WSS df7jal23ls0d.invalid;" in answer
        assert ";received=127.0.0.1" in answer


async def test_our_via_and_contact_over_websocket_name_ws_and_the_web_port(site: Site) -> None:
    port = int(site.url.split(":")[2].split("/")[0])
    assert site.ua.via("ws").startswith(f"SIP/2.0/WS 127.0.0.1:{port};")
    assert site.ua.contact("ws") == f"<sip:jono@127.0.0.1:{port};transport=ws>"


async def test_crlf_ping_gets_a_crlf_pong(site: Site) -> None:
    async with websockets.connect(site.url, subprotocols=["sip"]) as ws:
        await ws.send("\r\n\r\n")
        assert await _recv(ws) == "\r\n"


async def test_binary_messages_carry_sip_too(site: Site) -> None:
    async with websockets.connect(site.url, subprotocols=["sip"]) as ws:
        await ws.send(_request("OPTIONS").encode())
        assert (await _recv(ws)).startswith("SIP/2.0 200")


async def test_a_malformed_message_gets_400_and_the_socket_stays_usable(site: Site) -> None:
    async with websockets.connect(site.url, subprotocols=["sip"]) as ws:
        await ws.send(_request("OPTIONS").replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS"))
        assert (await _recv(ws)).startswith("SIP/2.0 400")
        await ws.send(_request("OPTIONS"))
        assert (await _recv(ws)).startswith("SIP/2.0 200")


async def test_a_message_over_the_size_bound_closes_the_socket_with_1009(site: Site) -> None:
    async with websockets.connect(site.url, subprotocols=["sip"], max_size=None) as ws:
        await ws.send(_request("OPTIONS", extra="X-Pad: " + "a" * MAX_MESSAGE + "\r\n"))
        assert await _closed_within(ws, 2.0) == 1009


async def test_an_idle_socket_is_closed_and_its_flow_reported(site: Site) -> None:
    async with websockets.connect(site.url, subprotocols=["sip"]) as ws:
        assert await _closed_within(ws, 0.2) is None
        assert await _closed_within(ws, 1.0) == 1008
    for _ in range(50):
        if site.closed:
            break
        await asyncio.sleep(0.01)
    assert [t.transport for t in site.closed] == ["ws"]


async def test_crlf_pings_alone_do_not_keep_a_socket_open(site: Site) -> None:
    async with websockets.connect(site.url, subprotocols=["sip"]) as ws:
        pongs = 0
        try:
            for _ in range(10):
                await ws.send("\r\n\r\n")
                pongs += await _recv(ws) == "\r\n"
                await asyncio.sleep(0.1)
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1008
        else:
            raise AssertionError("pings kept an idle socket open for 1 s (idle_timeout 0.4 s)")
        assert pongs >= 3


async def test_a_socket_that_registered_stays_open_while_its_binding_lives(site: Site) -> None:
    async with websockets.connect(site.url, subprotocols=["sip"]) as ws:
        await ws.send(_request("REGISTER"))
        assert (await _recv(ws)).startswith("SIP/2.0 200")
        assert await _closed_within(ws, 1.0) is None  # > idle_timeout, < expires=2
        assert await _closed_within(ws, 2.0) == 1008  # the binding expired, then idle


async def test_one_source_gets_at_most_max_per_source_sockets(site: Site) -> None:
    sockets = [await websockets.connect(site.url, subprotocols=["sip"]) for _ in range(4)]
    try:
        codes = [await _closed_within(ws, 0.1) for ws in sockets]
        assert codes == [None, None, None, 1008]
    finally:
        for ws in sockets:
            await ws.close()


@pytest.mark.parametrize("seed", range(4))
async def test_fuzzed_messages_never_harm_the_socket_or_the_server(site: Site, seed: int) -> None:
    """Truncated, spliced, doubled and byte-flipped SIP messages: each is answered
    (400) or dropped, and a good request after them still gets its 200."""
    rng = random.Random(seed)
    good = _request("INVITE", extra="Content-Type: application/sdp\r\n", body="v=0\r\n")
    async with websockets.connect(site.url, subprotocols=["sip"]) as ws:
        for _ in range(40):
            data = bytearray(good.encode())
            action = rng.randrange(4)
            if action == 0:
                data = data[: rng.randrange(len(data))]
            elif action == 1:
                data = data + bytes(data)  # two messages in one WebSocket message (§5.1: MUST NOT)
            elif action == 2:
                for _ in range(rng.randrange(1, 8)):
                    data[rng.randrange(len(data))] = rng.randrange(256)
            else:
                cut = rng.randrange(len(data))
                data = data[:cut] + b"\r\n\r\n" + data[cut:]
            await ws.send(bytes(data))
        await ws.send(_request("OPTIONS"))
        while True:
            answer = await _recv(ws, 3.0)
            if answer.startswith("SIP/2.0 200") and "CSeq: 1 OPTIONS" in answer:
                break


async def test_sockets_whose_client_port_is_unknown_keep_flows_of_their_own() -> None:
    """Behind a trusted proxy the auth middleware gives the forwarded address
    without a port (0): two browsers behind one address are still two flows,
    each answered over its own socket."""
    ua = UserAgent(Registrar(), public_host="127.0.0.1", tcp_limits=LIMITS)
    await ua.start("127.0.0.1", 0)
    transports: dict = {}
    inner = Starlette(routes=[sip_socket.route(transports)])

    async def forwarded(scope, receive, send):  # type: ignore[no-untyped-def]
        await inner({**scope, "client": ("198.51.100.7", 0)}, receive, send)

    http = HttpServer(forwarded, "127.0.0.1", 0)
    assert await http.start()
    port = http.address[1]
    transports["ws"] = ua.add_websocket("ws", port)
    url = f"ws://127.0.0.1:{port}/sip"
    try:
        async with websockets.connect(url, subprotocols=["sip"]) as first, \
                websockets.connect(url, subprotocols=["sip"]) as second:
            for ws in (first, second, first):
                await ws.send(_request("OPTIONS"))
                assert (await _recv(ws)).startswith("SIP/2.0 200")
            peers = list(transports["ws"].connections)
            assert len(peers) == 2 and all(p.host == "198.51.100.7" for p in peers)
            assert len({p.port for p in peers}) == 2
    finally:
        ua.close()
        await http.close()


async def test_a_wss_page_behind_a_proxy_that_ends_tls_reaches_the_plain_ws_transport() -> None:
    """The auth middleware marks a socket wss when a trusted proxy says https;
    Jono itself serves ws: the socket is still SIP, on the transport there is."""
    ua = UserAgent(Registrar(), public_host="127.0.0.1", tcp_limits=LIMITS)
    await ua.start("127.0.0.1", 0)
    transports: dict = {}
    inner = Starlette(routes=[sip_socket.route(transports)])

    async def proxied(scope, receive, send):  # type: ignore[no-untyped-def]
        await inner({**scope, "scheme": "wss"}, receive, send)

    http = HttpServer(proxied, "127.0.0.1", 0)
    assert await http.start()
    port = http.address[1]
    transports["ws"] = ua.add_websocket("ws", port)
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/sip", subprotocols=["sip"]) as ws:
            await ws.send(_request("OPTIONS"))
            assert (await _recv(ws)).startswith("SIP/2.0 200")
    finally:
        ua.close()
        await http.close()
