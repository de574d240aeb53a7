"""Call-out from the desktop (O1-O5, N3) on a server built with fakes: the
agent's phone first, then the destination; what the agent's state does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from acd_fakes import FakeServer, invite, until

from acd.contact.callout import CallOutError
from acd.domain import AgentState
from acd.telephony.access import Caller
from acd.telephony.inbound import InboundInvite
from sip.transport import Target

PLAN = """
server: {listen: "127.0.0.1:5060"}
users:
  alice: {extension: "1001", password: a, devices: [{kind: static, contact: "sip:alice@127.0.0.1:5071"}]}
  bob: {extension: "1002", password: b, display_name: Bob, caller_id: "+35891234599",
        devices: [{kind: static, contact: "sip:bob@127.0.0.1:5072"}]}
  carol: {extension: "1003", password: c, display_name: Carol, dial: internal,
          devices: [{kind: static, contact: "sip:carol@127.0.0.1:5073"}]}
  dan: {extension: "1004", password: d, devices: [{kind: static, contact: "sip:dan@127.0.0.1:5074"}]}
  nophone: {extension: "1009", password: x}
trunks:
  provider:
    inbound_sources: ["127.0.0.1"]
    outbound: {gateway: "127.0.0.1:5070", caller_id: "+35891234567"}
announcements:
  hello: {text: hello}
menus:
  main: {prompt: hello, options: {"1": "queue:sales"}}
numbers:
  "+35891234599": {destination: "queue:sales", allow_member_presentation: true}
  "+35891234500": {destination: "queue:other", allow_member_presentation: true}
  "+35891230000": {destination: "menu:main", allow_member_presentation: true}
  "9000": {destination: "queue:sales", internal_only: true}
outbound: {default_class: national, blocked_prefixes: ["+358700"]}
queues:
  sales: {members: [bob, carol, dan], ring_time: 5, wrap_up: 2}
  other: {members: [carol, dan], wrap_up: 9}
"""
PHONE = Target("udp", "127.0.0.1", 5999)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[FakeServer]:
    srv = FakeServer(tmp_path, PLAN)
    yield srv
    await srv.close()


def state(server: FakeServer, agent: str) -> AgentState:
    return server.jono.centre.engine.agent_snapshot(agent).state


def statuses(server: FakeServer) -> list[tuple[str, Any]]:
    """Subscribe to call-out events; the list fills as they are published."""
    seen: list[tuple[str, Any]] = []
    server.jono.centre.hub.add_listener(
        lambda e: seen.append((e["status"], e["outcome"])) if e["type"] == "callout" else None
    )
    return seen


def caller_dials_queue(server: FakeServer, user: str = "alice") -> None:
    request = invite("9000", caller=user)
    server.jono.inbound.number(
        InboundInvite("number", request, object(), PHONE, Caller("user", user), "9000", None)  # type: ignore[arg-type]
    )


async def test_the_agent_rings_first_then_the_number_and_wrap_up_follows(server: FakeServer) -> None:
    jono = server.jono
    seen = statuses(server)
    jono.commands.login("bob")
    jono.callouts.start("bob", "040 123 4567")
    assert state(server, "bob") is AgentState.ON_CALL  # busy from the click: no queue offers
    agent = await server.legs.next_outgoing()
    assert agent.uris == ["sip:bob@127.0.0.1:5072"]
    assert agent.from_uri == "sip:0401234567@jono" and agent.from_display == "Call-out: 0401234567"
    agent.answer()
    out = await server.legs.next_outgoing(2)
    assert out.uris == ["sip:+358401234567@127.0.0.1:5070"]
    assert out.from_uri == "sip:+35891234599@127.0.0.1"  # N3: bob's caller_id, a group number
    out.answer()
    out.bye()
    await until(lambda: seen[-1][0] == "ended")
    assert seen == [
        ("connecting", None), ("ringing", None), ("talking", None), ("ended", "answered"),
    ]
    await until(lambda: state(server, "bob") is AgentState.WRAP_UP)  # O5
    [record] = server.store.cdrs
    assert record["source"] == "originate:bob" and record["disposition"] == "answered"


async def test_wrap_up_follows_an_unanswered_call_out_too(server: FakeServer) -> None:
    seen = statuses(server)
    server.jono.commands.login("bob")
    server.jono.callouts.start("bob", "0401234567")
    (await server.legs.next_outgoing()).answer()
    (await server.legs.next_outgoing(2)).fail(486)
    await until(lambda: seen[-1] == ("ended", "busy"))
    await until(lambda: state(server, "bob") is AgentState.WRAP_UP)


async def test_cancel_while_connecting_rings_nothing_and_gives_no_wrap_up(server: FakeServer) -> None:
    seen = statuses(server)
    server.jono.commands.login("bob")
    server.jono.callouts.start("bob", "0401234567")
    agent = await server.legs.next_outgoing()
    assert server.jono.callouts.cancel("bob")
    assert agent.cancelled
    await until(lambda: seen[-1] == ("ended", "cancelled"))
    assert len(server.legs.outgoing_legs) == 1  # the number was never dialled
    await until(lambda: state(server, "bob") is AgentState.READY)


async def test_calling_out_while_paused_ends_the_pause(server: FakeServer) -> None:  # O4
    server.jono.commands.login("bob")
    server.jono.commands.pause("bob", "lunch")
    server.jono.callouts.start("bob", "0401234567")
    snap = server.jono.centre.engine.agent_snapshot("bob")
    assert (snap.state, snap.pause_reason, snap.call_kind) == (AgentState.ON_CALL, None, "outbound")


async def test_a_queue_call_assigned_just_before_goes_first(server: FakeServer) -> None:  # O3
    seen = statuses(server)
    jono = server.jono
    jono.commands.login("bob")
    caller_dials_queue(server)
    offer = await server.legs.next_outgoing()
    assert state(server, "bob") is AgentState.RESERVED
    callout = jono.callouts.start("bob", "0401234567")
    assert callout.status == "initiated" and seen == [("initiated", None)]
    assert state(server, "bob") is AgentState.RESERVED  # the queue call still rings
    offer.answer()
    assert state(server, "bob") is AgentState.ON_CALL
    await asyncio.sleep(0.05)
    assert len(server.legs.outgoing_legs) == 1  # not yet: bob is on the queue call
    server.legs.incoming_legs[-1].bye()  # the queue call ends
    agent = await server.legs.next_outgoing(2)  # now the call-out rings bob
    assert agent.uris == ["sip:bob@127.0.0.1:5072"]
    assert seen[-1] == ("connecting", None)
    assert state(server, "bob") is AgentState.ON_CALL  # the wrap-up was cut short


async def test_a_call_to_a_colleague_is_internal_and_has_no_wrap_up(server: FakeServer) -> None:
    seen = statuses(server)
    jono = server.jono
    jono.commands.login("bob")
    callout = jono.callouts.start("bob", "carol")
    assert callout.target.user == "carol" and callout.caller_id is None
    (await server.legs.next_outgoing()).answer()
    carol = await server.legs.next_outgoing(2)
    assert carol.uris == ["sip:carol@127.0.0.1:5073"] and carol.from_uri == "sip:1002@jono"
    carol.answer()
    assert jono.centre.engine.agent_snapshot("bob").call_kind == "internal"
    carol.bye()
    await until(lambda: seen[-1] == ("ended", "answered"))
    await until(lambda: state(server, "bob") is AgentState.READY)


async def test_caller_ids_are_the_own_one_and_the_group_numbers_a_member_may_present(
    server: FakeServer,
) -> None:
    callouts = server.jono.callouts
    assert callouts.caller_ids("bob") == ["+35891234599"]
    assert callouts.default_caller_id("bob") == "+35891234599"
    # dan has no caller_id of his own: the trunk's, unless he picks a group number
    assert callouts.caller_ids("dan") == ["+35891234599", "+35891234500"]
    assert callouts.default_caller_id("dan") is None
    assert callouts.caller_ids("alice") == []  # the menu's number is no group's own (N3)
    with pytest.raises(CallOutError, match="may not present"):
        callouts.start("bob", "0401234567", caller_id="+35891234500")
    callouts.start("dan", "0401234567", caller_id="+35891234500")
    (await server.legs.next_outgoing()).answer()
    out = await server.legs.next_outgoing(2)
    assert out.from_uri == "sip:+35891234500@127.0.0.1"


async def test_calls_out_follow_the_plans_class_of_service(server: FakeServer) -> None:
    callouts = server.jono.callouts
    with pytest.raises(CallOutError, match="calls out not allowed") as err:
        callouts.start("carol", "0401234567")  # carol: dial internal
    assert err.value.status == 403
    with pytest.raises(CallOutError, match="international calls not allowed"):
        callouts.start("dan", "+46701234567")
    with pytest.raises(CallOutError, match="number blocked"):
        callouts.start("dan", "0700123456")
    callouts.start("dan", "112")  # emergency: always
    await server.legs.next_outgoing()
    assert server.jono.callouts.current("carol") is None  # refused before anything rang


async def test_refusals_say_why(server: FakeServer) -> None:
    callouts = server.jono.callouts
    with pytest.raises(CallOutError, match="not a user, an extension or a phone number"):
        callouts.start("bob", "dial 123")
    with pytest.raises(CallOutError, match="calls out not allowed"):
        callouts.start("carol", "0401234567")
    with pytest.raises(CallOutError, match="no phone to ring"):
        callouts.start("nophone", "0401234567")
    with pytest.raises(CallOutError, match="your own number"):
        callouts.start("bob", "1002")
    callouts.start("bob", "0401234567")
    with pytest.raises(CallOutError, match="already in progress") as err:
        callouts.start("bob", "0401234567")
    assert err.value.status == 409


async def test_the_contacts_name_is_shown_but_never_reaches_a_header_raw(
    server: FakeServer,
) -> None:
    callout = server.jono.callouts.start("bob", "0401234567", label='Acme "Oy"\r\nVia: x <sip:y>')
    assert callout.target.label == "Acme OyVia: x sip:y"
    agent = await server.legs.next_outgoing()
    assert agent.from_display == "Call-out: Acme OyVia: x sip:y"
