"""The pages' live views: what the desktop and the wallboard are drawn from,
and the event stream that carries them (a snapshot first, then changes)."""

from __future__ import annotations

import asyncio
import json

from acd_fakes import invite, until
from jono_web import WebServer

from acd.domain import AgentState
from acd.web.access import Visibility
from acd.web.routers.events import Encoded
from sip.transport import Target

TRUNK = Target("udp", "127.0.0.1", 5999)


def trunk_call(web: WebServer, number: str, caller: str = "+358401112222") -> None:
    jono = web.jono
    jono.dispatch.on_request(jono.ua, invite(number, caller=caller), object(), TRUNK)


async def test_the_offer_shows_queue_caller_wait_and_the_digits_collected(web: WebServer) -> None:
    jono = web.jono
    jono.commands.login("bob")
    trunk_call(web, "+35891234568")  # a menu collects the customer number, then sales
    caller = web.legs.incoming_legs[-1]
    await until(lambda: caller.answered)
    for digit in "4711":
        caller.info_digit(digit)
    offer = await web.legs.next_outgoing()
    assert ("X-Jono-Customer", "4711") in offer.headers
    view = web.web.services.live.agent_view("bob")
    assert view is not None and view["state"] == "reserved"
    assert view["offer"]["queue"] == "sales"
    assert view["offer"]["number"] == "+358401112222"
    assert view["offer"]["digits"] == {"customer": "4711"}
    assert view["offer"]["waiting_since"] <= jono.centre.now()
    offer.answer()
    view = web.web.services.live.agent_view("bob")
    assert view is not None and view["offer"] is None
    assert view["call"]["kind"] == "queue" and view["call"]["digits"] == {"customer": "4711"}
    caller.bye()
    await until(lambda: jono.commands.state("bob") is AgentState.WRAP_UP)
    view = web.web.services.live.agent_view("bob")
    assert view is not None and view["call"] is None
    assert view["wrap_up_until"] == view["since"] + 3  # sales' wrap-up
    assert view["handled_today"] == 1
    queue = web.web.services.live.queue_view("sales")
    assert queue is not None and queue["today"]["answered"] == 1
    assert queue["today"]["service_level"] == 1.0


async def test_waiting_callers_are_in_the_queue_view(web: WebServer) -> None:
    web.jono.commands.login("bob")
    web.jono.commands.pause("bob", "lunch")
    trunk_call(web, "+35891234567", caller="+358405556666")
    await until(lambda: web.legs.incoming_legs[-1].answered)
    queue = web.web.services.live.queue_view("sales")
    assert queue is not None and queue["waiting"] == 1
    assert queue["callers"][0]["number"] == "+358405556666"
    assert queue["agents"] == {"paused": ["bob"]}


async def test_views_are_published_once_per_burst_and_only_while_someone_listens(
    web: WebServer,
) -> None:
    hub = web.jono.centre.hub
    seen: list[dict[str, object]] = []
    hub.add_listener(seen.append)
    web.jono.commands.login("carol")  # no subscriber: no views built
    await asyncio.sleep(0.01)
    assert [e["type"] for e in seen if e["type"] in ("agent", "queue")] == []
    subscription = hub.subscribe()
    seen.clear()
    web.jono.commands.pause("carol", "lunch")
    web.jono.commands.ready("carol")
    await asyncio.sleep(0.01)
    views = [(e["type"], e.get("agent") or e.get("queue")) for e in seen
             if e["type"] in ("agent", "queue")]
    assert views == [("agent", "carol"), ("queue", "sales"), ("queue", "support")]
    carol = next(e for e in seen if e["type"] == "agent")
    first = next(e for e in seen if e["type"] == "agent_state")
    assert carol["state"] == "ready" and carol["at"] == first["at"]  # stamped at the change
    hub.unsubscribe(subscription)


class EventStream:
    """``GET path`` straight through the ASGI app, its body chunks as they are sent
    (httpx's ASGI transport waits for a whole body; an event stream never ends)."""

    def __init__(self, app, path: str, cookie: str) -> None:  # type: ignore[no-untyped-def]
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self.status = 0
        self._gone = asyncio.Event()
        path, _, query = path.partition("?")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query.encode(), "root_path": "",
            "headers": [(b"host", b"localhost"), (b"cookie", cookie.encode()),
                        (b"accept", b"text/event-stream")],
            "client": ("127.0.0.1", 40000), "server": ("localhost", 80),
        }
        self.task = asyncio.ensure_future(app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, object]:
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])  # type: ignore[call-overload]
        elif message.get("body"):
            await self.chunks.put(message["body"])  # type: ignore[arg-type]

    async def next(self) -> bytes:
        return await asyncio.wait_for(self.chunks.get(), 2)

    async def close(self) -> None:
        self._gone.set()
        await asyncio.wait_for(self.task, 2)


async def test_the_stream_opens_with_a_snapshot_and_sends_only_what_may_be_seen(
    web: WebServer,
) -> None:
    bob = await web.signed_in("bob")
    cookie = "; ".join(f"{k}={v}" for k, v in bob.cookies.items())
    stream = EventStream(web.app, "/api/events?types=agent,queue", cookie)
    try:
        first = await stream.next()
        assert stream.status == 200 and b"event: snapshot" in first
        snapshot = json.loads(first.split(b"event: snapshot\ndata: ")[1].split(b"\n")[0])
        assert [a["agent"] for a in snapshot["agents"]] == ["bob"]
        assert [q["queue"] for q in snapshot["queues"]] == ["sales"]
        web.jono.commands.login("dan")  # support: not bob's
        web.jono.commands.login("bob")
        data = await stream.next()
        kinds = [line for line in data.decode().splitlines() if line.startswith("event:")]
        assert kinds == ["event: agent", "event: queue"]  # one write, bob's only
        assert b'"agent":"dan"' not in data and b'"queue":"support"' not in data
    finally:
        await stream.close()
    assert web.jono.centre.hub.subscribers == 0


def test_an_event_is_encoded_once_for_every_connection() -> None:
    encoded = Encoded(size=2)
    event = {"type": "agent", "agent": "bob"}
    first = encoded(event)
    assert encoded(event) is first
    assert first == b'event: agent\ndata: {"type":"agent","agent":"bob"}\n\n'
    encoded({"type": "queue", "queue": "a"})
    encoded({"type": "queue", "queue": "b"})
    assert encoded(event) == first  # evicted, encoded again


def test_visibility_of_events() -> None:
    sue = Visibility(frozenset({"sales"}), frozenset({"bob", "sue"}))
    assert sue.sees({"type": "queue_event", "queue": "sales"})
    assert not sue.sees({"type": "queue", "queue": "support"})
    assert sue.sees({"type": "agent", "agent": "bob"})
    assert not sue.sees({"type": "callout", "agent": "dan"})
    assert Visibility(None, None).sees({"type": "agent", "agent": "anyone"})


async def test_a_stream_ends_when_its_session_is_signed_out(web: WebServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("acd.web.routers.events.SSE_KEEPALIVE_S", 0.05)
    bob = await web.signed_in("bob")
    cookie = "; ".join(f"{k}={v}" for k, v in bob.cookies.items())
    stream = EventStream(web.app, "/api/events", cookie)
    assert b"event: snapshot" in await stream.next()
    assert (await bob.post("/logout")).status_code == 303
    await asyncio.wait_for(stream.task, 2)  # the response ends by itself
    assert web.jono.centre.hub.subscribers == 0


def test_todays_figures_start_again_at_midnight_in_the_servers_zone() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from acd.web.today import Today

    zone = ZoneInfo("Europe/Helsinki")
    today = Today("Europe/Helsinki", service_level_s=20)
    evening = datetime(2026, 11, 27, 23, 59, tzinfo=zone).timestamp()
    today.add("answered", "sales", "bob", 5.0, evening)
    today.add("abandoned", "sales", None, 30.0, evening + 1)
    assert today.queue("sales", evening + 2)["answered"] == 1
    assert today.queue("sales", evening + 2)["service_level"] == 0.5
    assert today.agent("bob", evening + 2) == 1
    after_midnight = datetime(2026, 11, 28, 0, 1, tzinfo=zone).timestamp()
    assert today.queue("sales", after_midnight)["answered"] == 0
    assert today.agent("bob", after_midnight) == 0


async def test_the_agent_view_shows_hold_and_recording_of_the_call(web: WebServer) -> None:
    jono = web.jono
    jono.commands.login("bob")
    trunk_call(web, "+35891234567")
    offer = await web.legs.next_outgoing()
    offer.answer()
    live = web.web.services.live
    view = live.agent_view("bob")
    assert view is not None and view["control"]["held"] is False
    assert view["control"]["may_transfer"] is True
    jono.call_control.hold("bob")
    jono.call_control.record("bob", "start")
    view = live.agent_view("bob")
    assert view is not None and view["control"]["held"] is True
    assert view["control"]["recording"] == "on"
    assert (view["control"]["last"]["op"], view["control"]["last"]["status"]) == ("record", "on")
