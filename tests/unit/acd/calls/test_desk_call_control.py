"""Call control from the agent desktop (O7): hold, consult then complete or
cancel, blind transfer, recording; O6 on a call between agents."""

from __future__ import annotations

import pytest
from acd_fakes import FakeServer
from test_call_parties import call_bob

from acd.contact.call_control import ControlError


async def test_desk_hold_plays_music_to_the_caller_and_resume_bridges_back(
    server: FakeServer,
) -> None:
    caller, bob, call = await call_bob(server)
    control = server.jono.call_control
    seen: list[dict[str, object]] = []
    server.jono.centre.hub.add_listener(seen.append)
    them, agent = call.parties
    assert them.media is not None and agent.media is not None
    view = control.hold("bob")
    assert view["held"] and them.media.playback is not None and them.media.peer is None
    with pytest.raises(ControlError):
        control.hold("bob")
    assert not control.resume("bob")["held"]
    assert them.media.peer is agent.media
    steps = [(e["op"], e["status"]) for e in seen if e["type"] == "call_control"]
    assert steps == [("hold", "held"), ("hold", "resumed")]


async def test_consult_then_complete_joins_the_caller_to_the_target(server: FakeServer) -> None:
    caller, bob, call = await call_bob(server)
    control = server.jono.call_control
    them, agent = call.parties
    control.consult("bob", "1003")
    assert call.holding(agent) and them.media is not None and them.media.playback is not None
    carol = await server.legs.next_outgoing(2)
    carol.answer()
    view = control.view("bob")
    assert view is not None and view["consulting"] == {"target": "carol (1003)", "answered": True}
    target = call.parties[-1]
    assert agent.media is not None and agent.media.peer is target.media
    control.complete("bob")
    assert agent not in call.parties and them.media.peer is target.media
    assert not call.ended
    view = control.view("bob")
    assert view is not None and view["call_id"] is None
    last = {k: v for k, v in view["last"].items() if k != "at"}
    assert last == {"type": "call_control", "agent": "bob", "call_id": call.id,
                    "op": "consult", "status": "completed", "message": "carol (1003)"}


async def test_consult_then_cancel_returns_the_agent_to_the_caller(server: FakeServer) -> None:
    caller, bob, call = await call_bob(server)
    control = server.jono.call_control
    them, agent = call.parties
    control.consult("bob", "1003")
    carol = await server.legs.next_outgoing(2)
    carol.answer()
    view = control.cancel("bob")
    assert not view["held"] and view["consulting"] is None
    assert call.parties == [them, agent] and them.media is not None
    assert them.media.peer is agent.media


async def test_unanswered_consult_gives_the_caller_back_with_the_reason(
    server: FakeServer,
) -> None:
    caller, bob, call = await call_bob(server)
    control = server.jono.call_control
    them, agent = call.parties
    control.consult("bob", "1003")
    carol = await server.legs.next_outgoing(2)
    carol.fail(486)
    view = control.view("bob")
    assert view is not None and view["consulting"] is None and not view["held"]
    assert view["last"]["status"] == "failed" and "486" in view["last"]["message"]
    assert them.media is not None and them.media.peer is agent.media


async def test_blind_transfer_to_a_queue_hands_the_caller_over(server: FakeServer) -> None:
    caller, bob, call = await call_bob(server)
    control = server.jono.call_control
    them, agent = call.parties
    control.transfer("bob", "sales")
    assert call.parties == [them] and not call.ended
    view = control.view("bob")
    assert view is not None and view["call_id"] is None
    assert (view["last"]["op"], view["last"]["status"]) == ("transfer", "done")


async def test_desk_transfer_to_a_refused_number_is_an_error_and_the_call_goes_on(
    server: FakeServer,
) -> None:
    caller, bob, call = await call_bob(server)
    with pytest.raises(ControlError) as err:
        server.jono.call_control.transfer("bob", "*99")
    assert err.value.status == 404 and len(call.parties) == 2


async def test_desk_recording_starts_pauses_and_stops(server: FakeServer) -> None:
    caller, bob, call = await call_bob(server)
    control = server.jono.call_control
    assert control.record("bob", "start", announce=True)["recording"] == "on"
    them = call.parties[0]
    assert them.media is not None and them.media.playback is not None  # "this call is recorded"
    assert control.record("bob", "pause")["recording"] == "paused"
    assert control.record("bob", "resume")["recording"] == "on"
    assert control.record("bob", "stop")["recording"] is None
    with pytest.raises(ControlError):
        control.record("bob", "stop")


async def test_between_agents_the_desk_offers_no_transfer_and_only_the_caller_holds(
    server: FakeServer,
) -> None:
    caller, bob, call = await call_bob(server)
    call.agent_to_agent = True
    control = server.jono.call_control
    view = control.view("bob")
    assert view is not None and view["may_transfer"] is False
    for action in (lambda: control.transfer("bob", "1003"), lambda: control.consult("bob", "1003"),
                   lambda: control.hold("bob"), lambda: control.record("bob", "start")):
        with pytest.raises(ControlError) as err:
            action()
        assert err.value.status == 403


async def test_desk_blind_transfer_not_answered_gives_the_caller_back_with_the_reason(
    server: FakeServer,
) -> None:
    caller, bob, call = await call_bob(server)
    control = server.jono.call_control
    them, agent = call.parties
    control.transfer("bob", "1001")  # alice: no forwarding of her own
    alice = await server.legs.next_outgoing(2)
    alice.fail(486)
    view = control.view("bob")
    assert view is not None and view["call_id"] == call.id
    assert view["last"]["status"] == "failed" and "486" in view["last"]["message"]
    assert them.media is not None and them.media.peer is agent.media


async def test_agent_hanging_up_while_consulting_completes_the_transfer(
    server: FakeServer,
) -> None:
    caller, bob, call = await call_bob(server)
    control = server.jono.call_control
    them, agent = call.parties
    control.consult("bob", "1003")
    carol = await server.legs.next_outgoing(2)
    carol.answer()
    target = call.parties[-1]
    bob.bye()
    assert not call.ended and call.parties == [them, target]
    assert them.media is not None and them.media.peer is target.media


async def test_target_hanging_up_while_consulted_gives_the_caller_back(server: FakeServer) -> None:
    caller, bob, call = await call_bob(server)
    control = server.jono.call_control
    them, agent = call.parties
    control.consult("bob", "1003")
    carol = await server.legs.next_outgoing(2)
    carol.answer()
    carol.bye()
    assert call.parties == [them, agent] and not call.holding(agent)
    assert them.media is not None and them.media.peer is agent.media
    view = control.view("bob")
    assert view is not None and view["last"]["status"] == "failed"
