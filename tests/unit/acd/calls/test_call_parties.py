"""Parties come and go on one call (O7): hold and resume from a phone, a blind
transfer by REFER, the transferor's outcome in sipfrag NOTIFYs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from acd_fakes import FakeIncoming, FakeOutgoing, FakeServer, invite, until
from acd_plans import office

from acd.calls.call import Call, CallState
from sip.transport import Target

TRUNK = Target("udp", "127.0.0.1", 5999)


async def call_bob(server: FakeServer) -> tuple[FakeIncoming, FakeOutgoing, Call]:
    jono = server.jono
    jono.dispatch.on_request(jono.ua, invite("1002"), object(), TRUNK)
    bob = await server.legs.next_outgoing()
    bob.answer()
    caller = server.legs.incoming_legs[-1]
    await until(lambda: bool(server.jono.registry.of_user("bob")))
    [call] = server.jono.registry.of_user("bob")
    return caller, bob, call


async def test_a_hold_offer_parks_the_other_party_on_music_until_resume(
    server: FakeServer,
) -> None:
    caller, bob, call = await call_bob(server)
    them, agent = call.parties
    assert them.media is not None and agent.media is not None
    assert them.media.peer is agent.media
    bob.hold()
    assert call.holding(agent)
    assert them.media.peer is None and them.media.playback is not None  # music
    assert ("reinvite-answer", 200) in bob.sent
    bob.resume()
    assert not call.holding(agent)
    assert them.media.peer is agent.media and them.media.playback is None
    caller.bye()
    [record] = server.store.cdrs
    assert call.hold_seconds > 0
    assert record["disposition"] == "answered"


async def test_refer_to_another_user_rings_them_then_the_transferor_leaves(
    server: FakeServer,
) -> None:
    caller, bob, call = await call_bob(server)
    bob.refer("<sip:1003@127.0.0.1>")
    carol = await server.legs.next_outgoing(2)
    assert "carol" in carol.uris[0]
    assert bob.notifies() == [b"SIP/2.0 100 Trying\r\n"]
    carol.ring()
    assert bob.notifies()[-1] == b"SIP/2.0 180 Ringing\r\n"
    carol.answer()
    assert bob.notifies()[-1] == b"SIP/2.0 200 OK\r\n"
    assert bob.hung_up  # BYE once the final NOTIFY was answered (or failed)
    assert [p.user for p in call.parties] == [None, "carol"]
    assert call.state is CallState.CONNECTED
    assert server.jono.registry.of_user("bob") == []
    bob.bye()  # the transferor's own BYE crossing ours changes nothing
    assert not call.ended
    carol.bye()
    assert call.ended and caller.what()[-1] == "bye"


async def test_busy_transfer_target_forwards_as_the_plan_says(server: FakeServer) -> None:
    """P4: bob forwards on busy to carol; a transfer to bob that finds him busy goes on."""
    caller, bob, call = await call_bob(server)
    bob.refer("<sip:1002@127.0.0.1>")  # bob transfers the caller to himself: busy
    again = await server.legs.next_outgoing(2)
    again.fail(486)
    carol = await server.legs.next_outgoing(3)
    assert "carol" in carol.uris[0]
    assert bob.notifies()[-1] == b"SIP/2.0 200 OK\r\n"
    carol.answer()
    await until(lambda: [p.user for p in call.parties] == [None, "carol"])


async def test_refused_transfer_target_is_declined_and_the_call_goes_on(
    server: FakeServer,
) -> None:
    caller, bob, call = await call_bob(server)
    bob.refer("<sip:*99@127.0.0.1>")  # not a user, a queue, a plan number, nor a number
    assert ("refer-declined", 404) in bob.sent
    assert len(call.parties) == 2 and not call.ended


async def test_failed_transfer_gives_the_caller_back_to_the_transferor(
    server: FakeServer,
) -> None:
    caller, bob, call = await call_bob(server)
    them, agent = call.parties
    bob.refer("<sip:1001@127.0.0.1>")
    alice = await server.legs.next_outgoing(2)
    assert them.media is not None and them.media.playback is not None  # ringback
    alice.fail(480)
    assert bob.notifies()[-1] == b"SIP/2.0 480 Temporarily Unavailable\r\n"
    assert agent.media is not None and them.media.peer is agent.media
    assert call.parties == [them, agent]


@pytest.fixture
async def passthrough(tmp_path: Path) -> AsyncIterator[FakeServer]:
    server = FakeServer(tmp_path, office(tmp_path, media="passthrough"))
    yield server
    await server.close()


async def test_transfer_of_a_passed_through_call_is_declined_488(
    passthrough: FakeServer,
) -> None:
    caller, bob, call = await call_bob(passthrough)
    bob.refer("<sip:1003@127.0.0.1>")
    assert ("refer-declined", 488) in bob.sent


async def test_between_agents_only_the_caller_holds_and_nobody_transfers(
    server: FakeServer,
) -> None:
    """O6: on a direct call between agents the called agent may not hold (403,
    the bridge stays) and REFER is declined 403; the caller may hold."""
    caller, bob, call = await call_bob(server)
    call.agent_to_agent = True
    them, agent = call.parties
    assert them.media is not None and agent.media is not None
    bob.hold()
    assert ("reinvite-answer", 403) in bob.sent
    assert not call.holding(agent) and them.media.peer is agent.media
    bob.refer("<sip:1003@127.0.0.1>")
    assert ("refer-declined", 403) in bob.sent
    caller.hold()
    assert call.holding(them)
    assert agent.media.playback is not None  # the called agent hears music


async def test_a_call_is_between_agents_only_when_every_party_answers_queues(
    server: FakeServer,
) -> None:
    runner = server.jono.transfers.runner
    assert runner is not None
    call = type("C", (), {})()
    call.external = None
    call.parties = [type("P", (), {"user": "bob"})(), type("P", (), {"user": "carol"})()]
    assert not runner.between_agents(call)  # carol is in no queue
    call.parties[1].user = "bob"
    assert runner.between_agents(call)
    call.external = "inbound"
    assert not runner.between_agents(call)
