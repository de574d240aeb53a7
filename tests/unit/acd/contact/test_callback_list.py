"""The callback list (B5) on a server built with fakes: claim locks a request
for one agent and keeps the engine from dialling it; the agent's call rings
their phone, then the customer; a note is owed before the next item;
"no answer" re-queues, "done" closes; supervisors re-assign and close."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from acd_fakes import FakeServer, until
from acd_plans import office

from acd.contact.callback_list import CallbackList, ListError
from acd.domain.callback_list import CallbackRequest


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[FakeServer]:
    plan = office(tmp_path).replace("members: [bob]", "members: [bob, carol]")
    srv = FakeServer(tmp_path, plan)
    yield srv
    await srv.close()


def the_list(server: FakeServer) -> CallbackList:
    return server.jono.callback_list


async def waiting(server: FakeServer, number: str = "+358401234567", at: float = 0.0) -> CallbackRequest:
    jono = server.jono
    request = jono.callbacks.new_request(
        queue="sales", number=number, caller=number, joined_at=at or jono.clock.now(),
        variables={"customer": "4711"},
    )
    await jono.callbacks.add(request)
    return request


def events(server: FakeServer) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    server.jono.centre.hub.add_listener(
        lambda e: seen.append(e["request"]) if e["type"] == "callback" else None
    )
    return seen


async def test_a_claimed_request_is_locked_for_others_and_not_dialled(server: FakeServer) -> None:
    seen = events(server)
    request = await waiting(server)
    view = await the_list(server).claim("bob", request.id)
    assert view["claimed_by"] == "bob" and view["status"] == "pending"
    assert seen[-1]["claimed_by"] == "bob"  # live on every page
    with pytest.raises(ListError, match="bob has this request open"):
        await the_list(server).claim("carol", request.id)
    server.jono.commands.login("carol")  # a free agent: the claim keeps the engine off it
    with pytest.raises(AssertionError):
        await server.legs.next_outgoing(timeout=0.3)
    await the_list(server).release("bob", request.id)
    agent = await server.legs.next_outgoing()  # released: dialled in its turn
    assert agent.uris == ["sip:carol@127.0.0.1:5073"]


async def test_the_agent_calls_writes_a_note_and_no_answer_requeues(server: FakeServer) -> None:
    cb = the_list(server)
    request = await waiting(server)
    other = await waiting(server, "+358409999999")
    await cb.claim("bob", request.id)
    view = await cb.call("bob", request.id)
    assert view["calling"] and view["note_owed"]
    agent = await server.legs.next_outgoing()
    assert agent.uris == ["sip:bob@127.0.0.1:5072"]  # the agent's phone first
    agent.answer()
    customer = await server.legs.next_outgoing(2)
    assert customer.uris == ["sip:+358401234567@127.0.0.1:5070"]
    customer.fail(480)
    await until(lambda: cb.view(request)["call_outcome"] == "unreachable")
    with pytest.raises(ListError, match="write what happened"):
        await cb.claim("bob", other.id)  # the note first
    with pytest.raises(ListError, match="short description"):
        await cb.finish("bob", request.id, "no_answer", "   ")
    with pytest.raises(ListError, match="bob has this request open"):
        await cb.claim("carol", request.id)
    view = await cb.finish("bob", request.id, "no_answer", "voicemail, left no message")
    assert (view["status"], view["attempts"], view["claimed_by"]) == ("requeued", 1, None)
    assert view["note"] == "voicemail, left no message" and view["handler"] == "bob"
    stored = server.store.callbacks.requests[request.id]
    assert stored.status == "requeued" and stored.attempts[-1].outcome == "unreachable"
    await cb.claim("bob", other.id)  # the note is written: the next item


async def test_done_closes_the_request_and_the_last_no_answer_fails_it(server: FakeServer) -> None:
    cb = the_list(server)
    first, second = await waiting(server), await waiting(server, "+358409999999")
    for attempt in (1, 2):
        await cb.claim("bob", first.id)
        await cb.call("bob", first.id)
        (await server.legs.next_outgoing(2 * attempt - 1)).answer()
        (await server.legs.next_outgoing(2 * attempt)).fail(486)
        await until(lambda: cb.view(first)["call_outcome"] == "busy")
        view = await cb.finish("bob", first.id, "no_answer", f"busy {attempt}")
    assert view["status"] == "failed"  # two attempts in the plan
    await cb.claim("bob", second.id)
    await cb.call("bob", second.id)
    (await server.legs.next_outgoing(5)).answer()
    customer = await server.legs.next_outgoing(6)
    customer.answer()
    with pytest.raises(ListError, match="still going on"):
        await cb.finish("bob", second.id, "done", "talking")
    customer.bye()
    await until(lambda: cb.view(second)["call_outcome"] == "answered")
    view = await cb.finish("bob", second.id, "done", "order changed to next week")
    assert view["status"] == "done"
    engine = server.jono.centre.engine
    assert engine.queue_snapshot("sales", server.jono.clock.now()).waiting == ()
    listed = await cb.listing(["sales"])
    assert {(v["id"], v["status"]) for v in listed} == {(first.id, "failed"), (second.id, "done")}


async def test_a_supervisor_reassigns_and_closes(server: FakeServer) -> None:
    cb = the_list(server)
    request, other = await waiting(server), await waiting(server, "+358409999999")
    await cb.claim("bob", request.id)
    view = await cb.assign("alice", request.id, "carol")
    assert view["claimed_by"] == "carol" and view["note"] == "assigned to carol by alice"
    with pytest.raises(ListError, match="not an agent of sales"):
        await cb.assign("alice", request.id, "alice")
    view = await cb.close("alice", other.id, "customer called in herself")
    assert view["status"] == "cancelled" and view["note"].startswith("closed by alice")
    assert [w.call_id for w in server.jono.centre.engine.queue_snapshot(
        "sales", server.jono.clock.now()).waiting] == [request.id]
