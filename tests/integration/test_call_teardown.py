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
from sip.legs import OutgoingCall
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
