"""Queue calls and direct calls through the contact centre, on a server built
with fakes: offers ring agents through the dialer, the ACD sees every call."""

from __future__ import annotations

from typing import Any

from acd_fakes import FakeServer, invite, until

from acd.domain import AgentState
from acd.telephony.access import Caller
from acd.telephony.inbound import InboundInvite
from sip.transport import Target

PHONE = Target("udp", "127.0.0.1", 5999)


def user_dials(server: FakeServer, user: str, dialled: str, kind: str = "number") -> None:
    """A registered user's phone calls (as if its digest was checked)."""
    handler = {"number": server.jono.inbound.number, "extension": server.jono.inbound.extension,
               "feature": server.jono.features.handle}[kind]
    feature = {"*21": "login", "*22": "logout", "*23": "pause", "*24": "unpause"}.get(dialled)
    request = invite(dialled, caller=user)
    handler(InboundInvite(kind, request, object(), PHONE, Caller("user", user), dialled, feature))  # type: ignore[arg-type]


def state(server: FakeServer, agent: str) -> tuple[AgentState, str | None]:
    snap = server.jono.centre.engine.agent_snapshot(agent)
    return snap.state, snap.call_kind


async def test_a_queue_call_rings_the_agent_and_the_agent_is_on_call_then_in_wrap_up(
    server: FakeServer,
) -> None:
    assert server.jono.commands.login("bob") is None
    user_dials(server, "alice", "9000")
    offer = await server.legs.next_outgoing()
    assert offer.uris == ["sip:bob@127.0.0.1:5072"]
    assert ("X-Jono-Queue", "sales") in offer.headers
    assert state(server, "bob") == (AgentState.RESERVED, None)
    offer.answer()
    assert state(server, "bob") == (AgentState.ON_CALL, "inbound")
    [call] = server.jono.registry.of_user("bob")
    assert call.peer is not None and call.peer.role == "agent"
    server.legs.incoming_legs[-1].bye()
    assert offer.hung_up
    await until(lambda: state(server, "bob")[0] is AgentState.WRAP_UP)
    kinds = [r["kind"] for r in server.store.rows if r["kind"] != "agent_state"]
    assert kinds == ["entered", "offered", "answered"]


async def test_an_agent_who_declines_keeps_the_caller_waiting_for_the_next_agent(
    server: FakeServer,
) -> None:
    server.jono.commands.login("bob")
    user_dials(server, "alice", "9000")
    offer = await server.legs.next_outgoing()
    offer.fail(486)
    await until(lambda: any(r["kind"] == "rejected" for r in server.store.rows))
    assert server.jono.centre.engine.position_of(server.legs.incoming_legs[-1].call_id) == 1


async def test_a_direct_call_to_an_agent_makes_the_agent_busy_and_then_ready(
    server: FakeServer,
) -> None:
    server.jono.commands.login("bob")
    user_dials(server, "alice", "1002", "extension")
    bob = await server.legs.next_outgoing()
    assert state(server, "bob") == (AgentState.READY, None)  # ringing is not busy yet
    bob.answer()
    assert state(server, "bob") == (AgentState.ON_CALL, "internal")
    user_dials(server, "carol", "9000")  # a caller waits: bob is not offered it
    await until(lambda: server.jono.centre.engine.position_of(
        server.legs.incoming_legs[-1].call_id) == 1)
    assert len(server.legs.outgoing_legs) == 1
    bob.bye()
    assert state(server, "bob")[0] is AgentState.RESERVED  # free again: offered the caller
    offer = await server.legs.next_outgoing(2)
    assert ("X-Jono-Queue", "sales") in offer.headers


async def test_the_login_code_logs_the_agent_in_and_confirms_by_voice(server: FakeServer) -> None:
    user_dials(server, "bob", "*21", "feature")
    assert state(server, "bob") == (AgentState.READY, None)  # not busy with its own code
    phone = server.legs.incoming_legs[-1]
    await until(lambda: phone.answered)
    await until(lambda: phone.what()[-1] == "bye", timeout=8)
    [record] = server.store.cdrs
    assert (record["callee"], record["end_reason"]) == ("*21", "confirmed")


async def test_a_code_the_acd_refuses_gets_403_with_the_reason(server: FakeServer) -> None:
    user_dials(server, "alice", "*21", "feature")  # alice is in no queue
    assert server.legs.incoming_legs[-1].sent == [("reject", 403)]
    assert server.jono.commands.login("alice") == (
        "alice is not a member of any queue: no queues to log in to"
    )


async def test_ready_from_logged_out_logs_in_first(server: FakeServer) -> None:
    commands = server.jono.commands
    assert commands.set_state("bob", "ready") is None
    assert state(server, "bob") == (AgentState.READY, None)
    assert commands.set_state("bob", "paused", reason="lunch") is None
    assert commands.set_state("bob", "asleep") == (
        "state 'asleep' must be one of ready, paused, logged_out"
    )
    assert commands.set_state("zed", "ready") == "no agent 'zed'"


class RecordingChannel:
    def __init__(self) -> None:
        self.rings: list[str] = []

    def ring(self, ring: Any) -> None:
        self.rings.append(ring.call_id)

    def cancel_ring(self, cancel: Any) -> None:
        pass

    def bridge(self, bridge: Any) -> None:
        pass

    def overflow(self, overflow: Any) -> None:
        pass


async def test_a_timer_that_fires_for_nothing_still_arms_the_next_one(server: FakeServer) -> None:
    """The engine's one loop timer is re-armed even when a tick decides nothing."""
    centre, engine = server.jono.centre, server.jono.centre.engine
    centre.start()
    server.jono.commands.login("bob")
    channel = RecordingChannel()
    # A deadline for a request that is gone before it fires: that tick decides nothing.
    centre.join_work("gone", channel, lambda now: engine.callback_requested(
        "gone", "sales", now, now, eligible_at=now + 0.05))
    centre.run(lambda now: engine.callback_closed("gone", "cancelled", now))
    centre.join_work("later", channel, lambda now: engine.callback_requested(
        "later", "sales", now, now, eligible_at=now + 0.3))
    await until(lambda: channel.rings == ["later"], timeout=3)
