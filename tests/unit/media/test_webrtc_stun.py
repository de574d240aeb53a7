"""WebRTC legs and STUN (issue 15): with ``server.stun_server`` a leg also
offers the server-reflexive candidate the STUN server saw (Jono behind NAT),
with its base as raddr/rport; without one, no STUN request leaves at all
(aiortc's default would ask a public STUN server on every call)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aioice import stun
from test_engine_loopback import HOST
from webrtc_peer import Browser

from media.engine import MediaEngine

NAT_ADDRESS = ("203.0.113.7", 40000)  # what the "STUN server" says it saw (TEST-NET-3)


class FakeStun(asyncio.DatagramProtocol):
    """Answers every Binding request with ``NAT_ADDRESS`` (RFC 5389 §7.3)."""

    def __init__(self) -> None:
        self.requests = 0
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = stun.parse_message(data)
        self.requests += 1
        response = stun.Message(
            message_method=stun.Method.BINDING, message_class=stun.Class.RESPONSE,
            transaction_id=request.transaction_id,
        )
        response.attributes["XOR-MAPPED-ADDRESS"] = NAT_ADDRESS
        self.transport.sendto(bytes(response), addr)


@pytest.fixture
async def stun_server():
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(FakeStun, local_addr=(HOST, 0))
    yield server, transport.get_extra_info("sockname")[:2]
    transport.close()


async def test_a_configured_stun_server_adds_a_server_reflexive_candidate(stun_server) -> None:
    server, address = stun_server
    engine = MediaEngine(HOST, (35100, 35400), stun_server=address)
    browser = Browser()
    try:
        leg = await engine.open_webrtc_leg()
        assert server.requests >= 1
        kinds = {c.type: c for c in leg.rtc.local_candidates}
        srflx = kinds["srflx"]
        assert (srflx.host, srflx.port) == NAT_ADDRESS
        assert (srflx.related_address, srflx.related_port) == (HOST, leg.local_port)
        answer = leg.local_sdp_answer(await browser.offer()).decode()
        assert f" {HOST} {leg.local_port} typ host" in answer
        assert (f" {NAT_ADDRESS[0]} {NAT_ADDRESS[1]} typ srflx raddr {HOST} "
                f"rport {leg.local_port}") in answer
        await browser.accept(answer.encode())
        deadline = asyncio.get_running_loop().time() + 5
        while not leg.rtc.connected:  # the host candidate still connects on loopback
            assert asyncio.get_running_loop().time() < deadline, "ICE did not connect"
            await asyncio.sleep(0.02)
        leg.close()
    finally:
        await browser.close()
        await engine.close()


async def test_without_a_stun_server_nothing_is_asked_of_anyone() -> None:
    engine = MediaEngine(HOST, (35500, 35800))
    try:
        leg = await engine.open_webrtc_leg()
        assert {c.type for c in leg.rtc.local_candidates} == {"host"}
        assert leg.rtc._ice._connection.stun_server is None  # not aiortc's public default
        leg.close()
    finally:
        await engine.close()
