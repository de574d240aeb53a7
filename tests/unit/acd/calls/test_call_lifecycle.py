"""A call ends once, whichever side ends it and why, and writes one record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from acd_fakes import FakeIncoming, FakeOutgoing, FakeServer, invite, sdp, until
from acd_plans import office

from acd.calls.call import CallState, IllegalCallTransition
from sip.transport import Target

TRUNK = Target("udp", "127.0.0.1", 5999)


async def call_bob(server: FakeServer) -> tuple[FakeIncoming, FakeOutgoing]:
    """A trunk caller dials bob's extension; bob's phone answers."""
    jono = server.jono
    jono.dispatch.on_request(jono.ua, invite("1002"), object(), TRUNK)
    bob = await server.legs.next_outgoing()
    caller = server.legs.incoming_legs[-1]
    bob.ring()
    bob.answer()
    return caller, bob


async def test_the_callee_ending_for_any_reason_hangs_up_the_caller_with_that_reason(
    server: FakeServer,
) -> None:
    caller, bob = await call_bob(server)
    assert caller.what() == ["ring", "answer"]
    bob.end("no ACK")
    assert caller.what()[-1] == "bye"
    [record] = server.store.cdrs
    assert (record["ended_by"], record["end_reason"], record["disposition"]) == (
        "callee", "no ACK", "answered",
    )
    assert set(json.loads(record["media"])) == {"caller", "callee"}


async def test_the_caller_hanging_up_hangs_up_the_callee_and_writes_one_record(
    server: FakeServer,
) -> None:
    caller, bob = await call_bob(server)
    caller.bye()
    caller.bye()  # a second BYE changes nothing
    assert bob.hung_up
    assert [(r["ended_by"], r["end_reason"]) for r in server.store.cdrs] == [("caller", "bye")]
    assert not server.jono.media.legs  # both media legs closed


async def test_a_caller_who_gives_up_while_it_rings_cancels_the_callee(
    server: FakeServer,
) -> None:
    jono = server.jono
    jono.dispatch.on_request(jono.ua, invite("1002"), object(), TRUNK)
    bob = await server.legs.next_outgoing()
    server.legs.incoming_legs[-1].cancel()
    await until(lambda: bob.cancelled)
    [record] = server.store.cdrs
    assert (record["status"], record["disposition"], record["end_reason"]) == (
        487, "abandoned", "cancel",
    )


async def test_the_registry_knows_who_is_on_the_call_until_it_ends(server: FakeServer) -> None:
    caller, bob = await call_bob(server)
    [call] = server.jono.registry.of_user("bob")
    assert call.state is CallState.CONNECTED
    assert server.jono.registry.get(call.id) is call
    caller.bye()
    assert server.jono.registry.of_user("bob") == []
    assert len(server.jono.registry) == 0
    with pytest.raises(IllegalCallTransition):
        call.connect(call.parties[1])


async def test_media_passes_through_untouched_when_the_plan_says_so(tmp_path: Path) -> None:
    server = FakeServer(tmp_path, office(tmp_path, media="passthrough"))
    try:
        offer = sdp(40400)
        jono = server.jono
        jono.dispatch.on_request(jono.ua, invite("1002", body=offer), object(), TRUNK)
        bob = await server.legs.next_outgoing()
        assert bob.sdp == offer
        bob.answer(sdp(40500))
        caller = server.legs.incoming_legs[-1]
        assert caller.sent[-1] == ("answer", sdp(40500))
        assert not jono.media.legs
    finally:
        await server.close()
