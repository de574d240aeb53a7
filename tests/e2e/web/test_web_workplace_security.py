"""The real Jono's web is closed (issue 12): sign-in in Chromium, the same answer
for a wrong password and an unknown user, 401 for every API route without a
session, cross-site POSTs refused, an agent cannot steer another agent, a
supervisor can (from the wallboard)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from peers.jono import StartJono
from peers.webapi import signed_in, web_base
from web_jono import WEB_PASSWORDS, sign_in, start_web, wait_until, web_config

pytestmark = pytest.mark.e2e

API_ROUTES = [
    ("GET", "/"), ("GET", "/wallboard"), ("GET", "/api/me"), ("GET", "/api/snapshot"),
    ("GET", "/api/events"), ("GET", "/api/queues"), ("GET", "/api/queues/sales/callers"),
    ("GET", "/api/agents"), ("GET", "/api/agents/bob/state"), ("POST", "/api/agents/bob/state"),
    ("GET", "/api/contacts?q=a"), ("GET", "/api/desk/caller-ids"), ("POST", "/api/desk/callout"),
    ("DELETE", "/api/desk/callout"), ("POST", "/api/desk/hangup"), ("GET", "/api/desk/calls"),
    ("POST", "/api/reload"), ("GET", "/api/media"), ("GET", "/api/auth/tokens"),
    ("POST", "/api/auth/tokens"), ("DELETE", "/api/auth/tokens/0123456789ab"),
    ("GET", "/static/desk/desk.js"), ("GET", "/static/vendor/manifest.json"),
]


def agent_state(base: str, page, agent: str) -> str:  # type: ignore[no-untyped-def]
    return str(page.request.get(f"{base}/api/agents/{agent}/state").json()["state"])


def test_sign_in_and_a_wrong_password_looks_like_an_unknown_user(
    jono: StartJono, tmp_path: Path, page, screenshots  # type: ignore[no-untyped-def]
) -> None:
    server = start_web(jono, web_config(tmp_path))
    base = web_base(server)
    seen = []
    for user, password in (("bob", "not-bobs-password"), ("mallory", "not-bobs-password")):
        page.goto(f"{base}/login")
        page.fill("#user", user)
        page.fill("#password", password)
        with page.expect_navigation():
            page.click("button[type=submit]")
        seen.append((page.url, page.locator("#message").inner_text(),
                     page.locator("main").inner_text().replace(user, "USER"),
                     page.input_value("#password")))
    assert seen[0] == seen[1] and seen[0][1] == "Wrong user name or password."
    assert "login failed: user='mallory' source=127.0.0.1 reason=unknown_user" in server.log_text()
    assert "not-bobs-password" not in server.log_text()  # secrets never logged
    sign_in(page, server, "bob")
    assert page.url == f"{base}/"
    assert page.locator("#status h2").inner_text().startswith("Bob Agent")
    assert page.locator("#connection").inner_text() == "● Live"
    screenshots.take(page.raw, "desk-signed-in")


def test_every_api_route_without_a_session_is_401(jono: StartJono, tmp_path: Path) -> None:
    server = start_web(jono, web_config(tmp_path))
    base = web_base(server)
    with httpx.Client(base_url=base, trust_env=False, timeout=5) as client:
        for method, path in API_ROUTES:
            reply = client.request(method, path, headers={"origin": base})
            assert reply.status_code == 401, (method, path, reply.status_code)
        assert client.get("/healthz").text == "ok"
        assert client.get("/login").status_code == 200
        assert client.get("/healthz", headers={"host": "attacker.example"}).status_code == 400


def test_a_cross_site_post_is_refused_and_an_agent_cannot_steer_another(
    jono: StartJono, tmp_path: Path, page, screenshots  # type: ignore[no-untyped-def]
) -> None:
    server = start_web(jono, web_config(tmp_path))
    base = web_base(server)
    sign_in(page, server, "bob")
    # Another site's page posts to Jono while bob is signed in: a plain form
    # (text/plain, no preflight) and a no-cors fetch with credentials.
    evil = (f'<form id=f method=post enctype="text/plain" action="{base}/api/agents/bob/state">'
            '<input name=\'{"state": "ready", "x": "\' value=\'"}\'></form>'
            f'<script>fetch("{base}/api/reload", {{method: "POST", mode: "no-cors",'
            ' credentials: "include", body: "x"}); document.getElementById("f").submit();'
            "</script>")
    page.context.route("http://evil.example/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body=evil))
    with page.expect_navigation():
        page.goto("http://evil.example/page.html")
    assert page.url.startswith(f"{base}/api/agents/bob/state")
    assert "sign-in required" in page.content() or "cross-site" in page.content()
    screenshots.take(page.raw, "cross-site-post-refused")
    page.goto(f"{base}/")
    page.wait_for_selector("body[data-ready=yes]")
    assert agent_state(base, page, "bob") == "logged_out"
    assert "reloaded" not in server.log_text()
    # From bob's own page, with his CSRF token: carol is not his to change.
    status = page.evaluate("""async () => {
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const r = await fetch("/api/agents/carol/state", {method: "POST",
            headers: {"Content-Type": "application/json", "X-CSRF-Token": token},
            body: JSON.stringify({state: "ready"})});
        return r.status; }""")
    assert status == 403
    admin = signed_in(server, "alice", WEB_PASSWORDS["alice"])
    try:
        assert admin.get("/api/agents/carol/state").json()["state"] == "logged_out"
    finally:
        admin.close()


def test_a_supervisor_logs_an_agent_in_from_the_wallboard(
    jono: StartJono, tmp_path: Path, open_browser, screenshots  # type: ignore[no-untyped-def]
) -> None:
    server = start_web(jono, web_config(tmp_path))
    base = web_base(server)
    board = screenshots.wrap(open_browser().pages[0])
    board.set_viewport_size({"width": 1600, "height": 900})
    sign_in(board, server, "alice", "/wallboard")
    assert board.url == f"{base}/wallboard"
    card = board.locator('.agent[data-agent="carol"]')
    assert card.locator(".state").inner_text() == "Logged out"
    card.click()
    board.locator('#panel-queues li[data-queue="sales"] button').click()
    wait_until(lambda: card.get_attribute("data-state") == "ready", what="carol ready")
    assert card.locator(".state").inner_text() == "Ready"
    state = board.request.get(f"{base}/api/agents/carol/state").json()
    assert state["queues"] == ["sales"]  # not support: only the queue clicked
    screenshots.take(board.raw, "wallboard-supervisor-logged-carol-in")
