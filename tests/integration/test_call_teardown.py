"""A finished call is freed by reference counting: it leaves no reference
cycles for a full garbage collection to find (acd/gc_pacing.py relies on
that to keep full collections rare and short)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from acd.bootstrap import Jono, Settings, build
from acd.config import load
from sip.leg_events import Answered, LegEvent
from sip.legs import IncomingCall, OutgoingCall
from sip.message import Request
from sip.transport import Target
from sip.ua import UserAgent

PLAN = """
server: {listen: "127.0.0.1:5060", realm: test}
users:
  alice: {extension: "1001", password: alicepw}
trunks:
  local: {inbound_sources: ["127.0.0.1"]}
announcements:
  hello: {text: "Hello."}
menus:
  m: {prompt: hello, options: {"1": hangup}, timeout: 5, retries: 0, final: hangup}
numbers:
  "7000": {destination: "menu:m"}
"""

SDP = (
    b"v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40998 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)
CALL_OBJECTS = {"Call", "FlowSession", "IncomingCall", "OutgoingCall", "MediaLeg", "RtpEndpoint"}
QUEUE_OBJECTS = CALL_OBJECTS | {"QueuedCaller", "VoiceOffer", "Attempt", "Party", "Task"}


class Caller:
    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        ua.respond(txn, request, 481)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Jono]:
    (tmp_path / "plan.yaml").write_text(PLAN)
    srv = build(load(tmp_path / "plan.yaml"), Settings(
        host="127.0.0.1", port=0, db=f"sqlite:///{tmp_path}/t.db", realm="test",
        cache_dir=str(tmp_path / "cache"), http=("127.0.0.1", 0),
    ))  # fmt: skip
    await srv.start()
    yield srv
    await srv.close()


async def test_an_ended_call_leaves_no_cyclic_garbage(server: Jono) -> None:
    ua = UserAgent(Caller(), public_host="127.0.0.1")
    await ua.start("127.0.0.1", 0)
    try:
        gc.collect()
        for _ in range(3):
            answered = asyncio.get_running_loop().create_future()

            def on_event(event: LegEvent, done: asyncio.Future[None] = answered) -> None:
                if isinstance(event, Answered) and not done.done():
                    done.set_result(None)

            uri = f"sip:7000@127.0.0.1:{server.ua.port}"
            call = OutgoingCall(
                ua, [(uri, Target("udp", "127.0.0.1", server.ua.port))],
                from_uri="sip:+358401234567@127.0.0.1", to_uri=uri, sdp=SDP, listener=on_event,
            )  # fmt: skip
            call.start()
            await asyncio.wait_for(answered, 5)
            await asyncio.sleep(0.2)  # the menu prompt is playing
            call.hangup()
            del call, on_event
        for _ in range(50):
            if not server.registry:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # media legs close in their own tasks
        assert not server.registry
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            left = {type(o).__name__ for o in gc.garbage} & CALL_OBJECTS
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    finally:
        ua.close()
    assert not left, f"ended calls kept alive by reference cycles: {sorted(left)}"


class Agent:
    """An agent's phone: answers every call with a fixed SDP."""

    def __init__(self) -> None:
        self.legs: list[IncomingCall] = []

    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        leg = IncomingCall(ua, request, txn, source)
        leg.answer(SDP)
        self.legs.append(leg)


async def test_an_ended_queue_call_leaves_no_cyclic_garbage(tmp_path: Path) -> None:
    agent = Agent()
    agent_ua = UserAgent(agent, public_host="127.0.0.1")
    await agent_ua.start("127.0.0.1", 0)
    caller_ua = UserAgent(Caller(), public_host="127.0.0.1")
    await caller_ua.start("127.0.0.1", 0)
    bob = (
        '  bob: {extension: "1002", password: b, devices: '
        f'[{{kind: static, contact: "sip:bob@127.0.0.1:{agent_ua.port}"}}]}}\n'
    )
    queue = (
        '  "7100": {destination: "queue:q"}\n'
        "queues:\n  q: {members: [bob], ring_time: 5, announce_position: true,"
        " announce_every: 1}\n"
    )
    plan = PLAN.replace("users:\n", "users:\n" + bob, 1) + queue
    (tmp_path / "plan.yaml").write_text(plan)
    server = build(load(tmp_path / "plan.yaml"), Settings(
        host="127.0.0.1", port=0, db=f"sqlite:///{tmp_path}/t.db", realm="test",
        cache_dir=str(tmp_path / "cache"), http=("127.0.0.1", 0),
    ))  # fmt: skip
    await server.start()
    try:
        assert server.commands.login("bob") is None
        gc.collect()
        for n in range(3):
            answered = asyncio.get_running_loop().create_future()

            def on_event(event: LegEvent, done: asyncio.Future[None] = answered) -> None:
                if isinstance(event, Answered) and not done.done():
                    done.set_result(None)

            uri = f"sip:7100@127.0.0.1:{server.ua.port}"
            call = OutgoingCall(
                caller_ua, [(uri, Target("udp", "127.0.0.1", server.ua.port))],
                from_uri="sip:+358401234567@127.0.0.1", to_uri=uri, sdp=SDP, listener=on_event,
            )  # fmt: skip
            call.start()
            await asyncio.wait_for(answered, 5)
            for _ in range(100):  # the agent's phone answers the offer
                if len(agent.legs) > n:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            call.hangup()
            del call, on_event
            for _ in range(100):  # back to ready for the next caller
                snap = server.centre.engine.agent_snapshot("bob")
                if snap.state.value == "ready" and not server.registry:
                    break
                await asyncio.sleep(0.02)
        agent.legs.clear()
        assert not server.registry
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            left = {type(o).__name__ for o in gc.garbage} & QUEUE_OBJECTS
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    finally:
        await server.close()
        caller_ua.close()
        agent_ua.close()
    assert not left, f"ended queue calls kept alive by reference cycles: {sorted(left)}"
