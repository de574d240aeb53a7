"""The real app is closed: every route but the health check and the sign-in page
needs a session or a token; who may change whose state; cross-site requests,
unknown hosts and roles from the plan."""

from __future__ import annotations

import re

import pytest
from jono_web import ORIGIN, WebServer
from starlette.routing import Mount, Route
from webauth_site import form_token

from acd.domain import AgentState

PUBLIC = {"/healthz", "/login"}


def every_route(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path) of every route of the app, path parameters filled in."""
    found = []
    for route in app.routes:
        if isinstance(route, Route):
            path = route.path.replace("{agent_id}", "bob").replace("{queue_id}", "sales")
            path = path.replace("{token_id}", "0123456789ab")
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    found.append((method, path))
        elif isinstance(route, Mount) and route.path != "/static/auth":
            found.append(("GET", f"{route.path}/style.css"))
    return found


async def test_every_route_without_a_session_gets_401_except_the_public_ones(
    web: WebServer,
) -> None:
    routes = every_route(web.app)
    assert ("GET", "/api/events") in routes and ("POST", "/api/desk/callout") in routes
    client = web.client()
    for method, path in routes:
        reply = await client.request(method, path, headers={"origin": ORIGIN})
        if path in PUBLIC:
            assert reply.status_code in (200, 400, 403), (method, path, reply.status_code)
        elif path == "/logout":
            assert reply.status_code == 303  # signing out of nothing: the sign-in page
        else:
            assert reply.status_code == 401, (method, path, reply.status_code)
            assert reply.headers["www-authenticate"].startswith("Bearer")
    page = await client.get("/wallboard", headers={"accept": "text/html"})
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=/wallboard")


async def test_an_agent_changes_only_their_own_state(web: WebServer) -> None:
    bob = await web.signed_in("bob")
    assert (await bob.post("/api/agents/bob/state", json={"state": "ready"})).status_code == 200
    refused = await bob.post("/api/agents/carol/state", json={"state": "ready"})
    assert refused.status_code == 403
    assert web.jono.commands.state("carol") is AgentState.LOGGED_OUT
    assert (await bob.get("/api/agents/carol/state")).status_code == 403
    assert (await bob.post("/api/reload")).status_code == 403
    assert (await bob.get("/api/media")).status_code == 403


async def test_a_supervisor_steers_the_agents_of_their_queues_only(web: WebServer) -> None:
    sue = await web.signed_in("sue")  # supervises sales: bob and carol
    ok = await sue.post("/api/agents/carol/state", json={"state": "ready", "queues": ["sales"]})
    assert ok.status_code == 200 and ok.json()["queues"] == ["sales"]
    other = await sue.post("/api/agents/carol/state", json={"login": ["support"]})
    assert other.status_code == 403  # carol is in support too, which sue does not supervise
    assert (await sue.post("/api/agents/dan/state", json={"state": "ready"})).status_code == 403
    web.jono.commands.login("carol", ["support"])
    out = await sue.post("/api/agents/carol/state", json={"state": "logged_out"})
    assert out.json()["queues"] == ["support"]  # out of sue's queue only
    paused = await sue.post("/api/agents/carol/state", json={"state": "paused", "reason": "coffee"})
    assert paused.json()["state"] == "paused"
    ready = await sue.post("/api/agents/carol/state", json={"state": "ready"})  # ends the pause
    assert ready.json()["state"] == "ready"


async def test_pause_reasons_come_from_the_configured_list(web: WebServer) -> None:
    bob = await web.signed_in("bob")
    await bob.post("/api/agents/bob/state", json={"state": "ready"})
    bad = await bob.post("/api/agents/bob/state", json={"state": "paused", "reason": "nap"})
    assert (bad.status_code, bad.json()["error"]) == (400, "reason must be one of lunch, coffee")
    ok = await bob.post("/api/agents/bob/state", json={"state": "paused", "reason": "lunch"})
    assert ok.json()["pause_reason"] == "lunch"


async def test_login_and_logout_of_one_queue_keep_the_state(web: WebServer) -> None:
    carol = await web.signed_in("carol")
    await carol.post("/api/agents/carol/state", json={"state": "ready", "queues": ["sales"]})
    await carol.post("/api/agents/carol/state", json={"state": "paused", "reason": "lunch"})
    joined = await carol.post("/api/agents/carol/state", json={"login": ["support"]})
    assert (joined.json()["state"], joined.json()["queues"]) == ("paused", ["sales", "support"])
    left = await carol.post("/api/agents/carol/state", json={"logout": ["sales"]})
    assert (left.json()["state"], left.json()["queues"]) == ("paused", ["support"])


async def test_admins_reload_and_see_everyone(web: WebServer) -> None:
    ada = await web.signed_in("ada")
    assert (await ada.post("/api/reload")).json() == {"ok": True, "errors": []}
    assert {q["id"] for q in (await ada.get("/api/queues")).json()} == {"sales", "support"}
    assert len((await ada.get("/api/agents")).json()) == 6


async def test_what_each_role_sees(web: WebServer) -> None:
    bob = await web.signed_in("bob")
    assert [q["id"] for q in (await bob.get("/api/queues")).json()] == ["sales"]
    assert [a["agent"] for a in (await bob.get("/api/agents")).json()] == ["bob"]
    assert (await bob.get("/api/queues/support/callers")).status_code == 404
    sue = await web.signed_in("sue")
    assert [a["agent"] for a in (await sue.get("/api/agents")).json()] == ["bob", "carol", "sue"]
    snapshot = (await sue.get("/api/snapshot")).json()
    assert [q["queue"] for q in snapshot["queues"]] == ["sales"]
    assert snapshot["pause_reasons"] == ["lunch", "coffee"]


async def test_a_cross_site_post_is_refused_even_with_the_session(web: WebServer) -> None:
    bob = await web.signed_in("bob")
    for headers in (
        {"origin": "http://evil.example", "content-type": "text/plain"},
        {"origin": "null"},
    ):
        reply = await bob.post("/api/agents/bob/state", content=b'{"state": "ready"}',
                               headers=headers)
        assert reply.status_code == 403
    no_token = await bob.post("/api/agents/bob/state", json={"state": "ready"},
                              headers={"x-csrf-token": "forged"})
    assert no_token.status_code == 403
    assert web.jono.commands.state("bob") is AgentState.LOGGED_OUT


async def test_an_unknown_host_is_refused(web: WebServer) -> None:
    reply = await web.client().get("/healthz", headers={"host": "rebind.attacker.example"})
    assert reply.status_code == 400


async def test_users_without_web_roles_cannot_sign_in_and_the_answer_is_the_same(
    web: WebServer,
) -> None:
    answers = []
    for user, password in (("zed", "zed-web-pass-666"), ("bob", "wrong-password-1"),
                           ("nobody", "wrong-password-1")):
        client = web.client()
        page = await client.get("/login")
        reply = await client.post("/login", headers={"origin": ORIGIN}, data={
            "user": user, "password": password, "csrf_token": form_token(page.text)})
        text = re.sub(r'value="[^"]*"', 'value=""', reply.text)  # the form's own token
        answers.append((reply.status_code, text))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 401


async def test_a_bearer_token_acts_for_its_owner_within_its_role(web: WebServer) -> None:
    sue = await web.signed_in("sue")
    made = await sue.post("/api/auth/tokens", json={"name": "wall TV", "role": "supervisor"})
    assert made.status_code == 201
    token = made.json()["token"]
    tv = web.client()
    tv.headers["authorization"] = f"Bearer {token}"
    assert [a["agent"] for a in (await tv.get("/api/agents")).json()] == ["bob", "carol", "sue"]
    # A token needs no CSRF token (a browser never sends it by itself) ...
    ok = await tv.post("/api/agents/bob/state", json={"state": "ready"})
    assert ok.status_code == 200
    # ... cannot mint tokens, and stops working once revoked.
    assert (await tv.post("/api/auth/tokens", json={"name": "x"})).status_code == 403
    await sue.delete(f"/api/auth/tokens/{made.json()['id']}")
    assert (await tv.get("/api/agents")).status_code == 401


@pytest.mark.parametrize("user", ["bob", "sue"])
async def test_the_pages_are_served_with_a_strict_policy(web: WebServer, user: str) -> None:
    client = await web.signed_in(user)
    desk = await client.get("/", headers={"accept": "text/html"})
    assert desk.status_code == 200
    assert "script-src 'self'" in desk.headers["content-security-policy"]
    assert 'name="csrf-token"' in desk.text and "<script>" not in desk.text
    board = await client.get("/wallboard", headers={"accept": "text/html"})
    assert board.status_code == (200 if user == "sue" else 403)
    assert (await client.get("/static/desk/desk.js")).status_code == 200
