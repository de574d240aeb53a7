"""Originate (O2): the user's phone rings first, then the destination."""

from __future__ import annotations

from acd_fakes import FakeServer, sdp

from acd.calls.dialer import Dial
from acd.calls.originate import Originated, OriginateRequest
from acd.calls.status import Outcome
from acd.domain import AgentState


def originate(server: FakeServer, statuses: list[tuple[str, Outcome | None]]) -> Originated:
    jono = server.jono
    directory = jono.dispatch.plan.directory  # type: ignore[union-attr]
    route = jono.inbound.runner.trunks.outbound("0401234567")  # type: ignore[union-attr]
    assert route is not None
    request = OriginateRequest(
        user="bob", user_number="1002",
        first=Dial(targets=tuple(directory.targets("bob")), from_uri="sip:0401234567@jono",
                   to_uri="sip:1002@jono"),
        then=Dial(targets=(route.dial_target(),), from_uri=route.from_uri("1002"),
                  to_uri=route.uri),
        external="outbound",
    )
    originated = Originated(
        request, dialer=jono.dialer, media=jono.media, registry=jono.registry,
        records=jono.store, on_status=lambda s, o: statuses.append((s, o)),
    )
    originated.start()
    return originated


async def test_the_user_answers_hears_ringing_and_then_talks_with_the_destination(
    server: FakeServer,
) -> None:
    server.jono.commands.login("bob")
    statuses: list[tuple[str, Outcome | None]] = []
    originate(server, statuses)
    bob = await server.legs.next_outgoing()
    assert bob.uris == ["sip:bob@127.0.0.1:5072"]
    bob.answer(sdp(46000))
    [call] = server.jono.registry.of_user("bob")
    assert call.caller.media is not None and call.caller.media.playback is not None  # ringback
    snap = server.jono.centre.engine.agent_snapshot("bob")
    assert (snap.state, snap.call_kind) == (AgentState.ON_CALL, "outbound")
    out = await server.legs.next_outgoing(2)
    assert out.uris == ["sip:+358401234567@127.0.0.1:5070"]
    out.answer(sdp(46100))
    assert call.peer is not None and call.caller.media.playback is None
    out.bye()
    assert bob.hung_up
    assert statuses == [
        ("connecting", None), ("ringing", None), ("talking", None), ("ended", Outcome.ANSWERED),
    ]
    assert server.jono.centre.engine.agent_snapshot("bob").state is AgentState.READY


async def test_cancel_while_connecting_leaves_nothing_ringing(server: FakeServer) -> None:
    statuses: list[tuple[str, Outcome | None]] = []
    originated = originate(server, statuses)
    bob = await server.legs.next_outgoing()
    bob.answer()
    out = await server.legs.next_outgoing(2)
    originated.cancel()
    assert out.cancelled and bob.hung_up
    assert statuses[-1] == ("ended", Outcome.CANCELLED)
    assert not server.jono.registry.of_user("bob")


async def test_a_busy_destination_ends_the_call_with_busy(server: FakeServer) -> None:
    statuses: list[tuple[str, Outcome | None]] = []
    originate(server, statuses)
    (await server.legs.next_outgoing()).answer()
    (await server.legs.next_outgoing(2)).fail(486)
    assert statuses[-1] == ("ended", Outcome.BUSY)
    [record] = server.store.cdrs
    assert (record["source"], record["disposition"], record["status"]) == (
        "originate:bob", "busy", 486,
    )
