"""Callbacks on a server built with fakes (B1, B2, B4): a waiting caller asks
for one and keeps their place; the agent is rung first, then the customer."""

from __future__ import annotations

from acd_fakes import FakeServer, invite, until

from acd.domain import AgentState
from acd.domain.callback_list import CallbackRequest
from acd.telephony.access import Caller
from acd.telephony.inbound import InboundInvite
from sip.transport import Target

PHONE = Target("udp", "127.0.0.1", 5999)


def request(server: FakeServer, joined_at: float) -> CallbackRequest:
    return server.jono.callbacks.new_request(
        queue="sales", number="+358401234567", caller="+358401234567", joined_at=joined_at,
    )


def state(server: FakeServer, agent: str) -> AgentState:
    return server.jono.centre.engine.agent_snapshot(agent).state


async def test_the_agent_is_rung_first_then_the_customer_and_they_talk(server: FakeServer) -> None:
    jono = server.jono
    jono.commands.login("bob")
    wanted = request(server, jono.clock.now())
    await jono.callbacks.add(wanted)
    agent = await server.legs.next_outgoing()
    assert agent.uris == ["sip:bob@127.0.0.1:5072"]
    assert ("X-Jono-Callback", wanted.id) in agent.headers
    assert agent.from_uri == "sip:+358401234567@jono"  # the number to call back
    agent.answer()
    customer = await server.legs.next_outgoing(2)
    assert customer.uris == ["sip:+358401234567@127.0.0.1:5070"]
    assert state(server, "bob") is AgentState.ON_CALL
    customer.answer()
    [call] = jono.registry.of_user("bob")
    assert call.peer is not None
    customer.bye()
    assert agent.hung_up
    stored = server.store.callbacks.requests
    await until(lambda: wanted.id in stored and stored[wanted.id].status == "done")
    assert [a.outcome for a in stored[wanted.id].attempts] == ["answered"]
    kinds = [r["kind"] for r in server.store.rows if r["kind"].startswith("callback")]
    assert kinds == ["callback_requested", "callback_completed"]
    assert state(server, "bob") is AgentState.WRAP_UP


async def test_no_answer_is_tried_again_then_given_up(server: FakeServer) -> None:
    jono = server.jono
    jono.commands.login("bob")
    wanted = request(server, jono.clock.now())
    await jono.callbacks.add(wanted)
    for attempt in (1, 2):
        agent = await server.legs.next_outgoing(2 * attempt - 1)
        agent.answer()
        customer = await server.legs.next_outgoing(2 * attempt)
        customer.fail(480)
        assert agent.hung_up
        await until(lambda: state(server, "bob") is not AgentState.ON_CALL)
    stored = server.store.callbacks.requests
    await until(lambda: stored[wanted.id].status == "failed")
    assert [a.outcome for a in stored[wanted.id].attempts] == ["unreachable", "unreachable"]
    assert server.jono.centre.engine.agent_snapshot("bob").unanswered_in_a_row == 0


async def test_a_waiting_caller_asks_for_a_callback_and_keeps_their_place(
    server: FakeServer,
) -> None:
    jono = server.jono
    jono.inbound.number(InboundInvite(
        "number", invite("9000", caller="alice"), object(), PHONE, Caller("user", "alice"), "9000",
    ))
    caller = server.legs.incoming_legs[-1]
    await until(lambda: caller.answered)
    engine = jono.centre.engine
    await until(lambda: engine.position_of(caller.call_id) == 1)
    caller.info_digit("9")  # the callback key
    await until(lambda: engine.position_of(caller.call_id) is None)
    caller.info_digit("2")  # not her own number (her extension): she keys another in
    for digit in "0401234567#":
        caller.info_digit(digit)
    await until(lambda: caller.what()[-1] == "bye", timeout=15)
    [stored] = server.store.callbacks.requests.values()
    assert (stored.number, stored.queue, stored.status) == ("+358401234567", "sales", "pending")
    snap = engine.queue_snapshot("sales", jono.clock.now())
    assert [w.call_id for w in snap.waiting] == [stored.id]
    assert abs(snap.waiting[0].joined_at - stored.joined_at) < 0.01


async def test_open_requests_come_back_after_a_restart(server: FakeServer) -> None:
    jono = server.jono
    early = request(server, 100.0)
    late = request(server, 200.0)
    late.claimed_by, late.claimed_until = "bob", jono.clock.now() + 60  # open on the list
    server.store.callbacks.save(late)
    server.store.callbacks.save(early)
    assert jono.callbacks.restore() == 2
    snap = jono.centre.engine.queue_snapshot("sales", jono.clock.now())
    assert [w.call_id for w in snap.waiting] == [early.id, late.id]
    assert jono.callback_list.view(jono.callbacks.requests[late.id])["claimed_by"] is None


async def test_a_caller_confirms_their_own_number(server: FakeServer) -> None:
    jono = server.jono
    jono.inbound.number(InboundInvite(
        "number", invite("9000", caller="alice"), object(), PHONE, Caller("user", "alice"), "9000",
    ))
    caller = server.legs.incoming_legs[-1]
    await until(lambda: caller.answered)
    await until(lambda: jono.centre.engine.position_of(caller.call_id) == 1)
    caller.info_digit("9")
    await until(lambda: jono.centre.engine.position_of(caller.call_id) is None)
    caller.info_digit("1")  # yes, call me back at this one
    await until(lambda: caller.what()[-1] == "bye", timeout=15)
    [stored] = server.store.callbacks.requests.values()
    assert stored.number == "1001"

