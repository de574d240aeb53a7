"""Issue 10: the hop count is carried down and a call looping back is refused;
an INVITE without an offer is answered with ours (RFC 3261 §13.2.1)."""

from __future__ import annotations

from pathlib import Path

from acd_fakes import FakeServer, invite, sdp, until
from acd_plans import office

from sip.transport import Target

TRUNK = Target("udp", "127.0.0.1", 5999)


def dial(server: FakeServer, number: str, **kw: object) -> None:
    jono = server.jono
    jono.dispatch.on_request(jono.ua, invite(number, **kw), object(), TRUNK)  # type: ignore[arg-type]


async def test_a_forwarded_call_carries_the_hop_count_down(server: FakeServer) -> None:
    dial(server, "1002", hops=10)
    bob = await server.legs.next_outgoing()
    assert bob.max_forwards == 9


async def test_the_same_call_coming_back_with_fewer_hops_is_a_loop(server: FakeServer) -> None:
    dial(server, "1002", hops=70)
    await server.legs.next_outgoing()
    dial(server, "1002", hops=60)  # our own call, forwarded out, came back
    assert server.legs.incoming_legs[-1].sent == [("reject", 482)]
    dial(server, "1003", hops=60)  # another number is no loop
    assert await server.legs.next_outgoing(2)


async def test_an_offerless_invite_gets_our_offer_and_the_answer_in_the_ack(
    server: FakeServer,
) -> None:
    dial(server, "+35891234567", body=b"")  # the menu answers
    caller = server.legs.incoming_legs[-1]
    await until(lambda: caller.answered)
    offer = caller.sent[-1][1]
    assert isinstance(offer, bytes) and b"m=audio" in offer
    caller.ack(sdp(45500))
    [call] = list(server.jono.registry)
    assert call.caller.media is not None and call.caller.media.codec is not None


async def test_passed_through_late_offer_the_callees_offer_and_the_callers_answer(
    tmp_path: Path,
) -> None:
    server = FakeServer(tmp_path, office(tmp_path, media="passthrough"))
    try:
        dial(server, "1002", body=b"")
        bob = await server.legs.next_outgoing()
        assert bob.sdp is None  # no offer out either
        bob.answer(sdp(45600), needs_answer=True)
        caller = server.legs.incoming_legs[-1]
        assert caller.sent[-1] == ("answer", sdp(45600))  # the callee's offer
        caller.ack(sdp(45700))
        assert bob.acked == [sdp(45700)]  # the caller's answer in our ACK
    finally:
        await server.close()
