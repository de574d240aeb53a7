"""The middleware: nothing answers without sign-in; cross-site and bad-Host requests refused."""

from __future__ import annotations

import json

import pytest
from starlette.routing import Mount, Route
from webauth_site import ORIGIN, signed_in

PUBLIC = {"/login", "/healthz"}


async def test_every_protected_route_without_a_session_is_401(site, client_for):
    client = client_for()
    checked = 0
    for route in site.app.routes:
        if isinstance(route, Mount) or not isinstance(route, Route) or route.path in PUBLIC:
            continue
        if route.path == "/logout":
            continue  # without a session: back to the sign-in page (below)
        path = route.path.replace("{agent}", "bob").replace("{token_id}", "0123456789ab")
        for method in sorted(route.methods or ()):
            response = await client.request(
                method, path, headers={"accept": "application/json", "origin": ORIGIN}
            )
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"] == 'Bearer realm="jono"'
            checked += 1
    assert checked >= 8


async def test_event_stream_without_a_session_is_401_not_a_redirect(client_for):
    response = await client_for().get("/api/events", headers={"accept": "text/event-stream"})
    assert response.status_code == 401
    assert json.loads(response.text) == {"error": "sign-in required"}


async def test_a_browser_asking_for_a_page_is_sent_to_sign_in(client_for):
    response = await client_for().get("/?tab=calls", headers={"accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/%3Ftab%3Dcalls"


async def test_public_routes_answer_without_sign_in(client_for):
    assert (await client_for().get("/healthz")).text == "ok"
    assert (await client_for().get("/login")).status_code == 200


async def test_signed_in_event_stream_flows(client_for):
    client = client_for()
    await signed_in(client, "alice")
    response = await client.get("/api/events", headers={"accept": "text/event-stream"})
    assert response.status_code == 200
    assert response.text.startswith("event: hello")


async def test_cross_site_text_plain_post_is_refused(site, client_for):
    client = client_for()
    await signed_in(client, "alice")
    response = await client.post(
        "/api/agents/alice/state",
        content=b'{"state": "logged_out"}',
        headers={"content-type": "text/plain", "origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.json() == {"error": "cross-site request refused"}
    assert site.states == {}


@pytest.mark.parametrize(
    "headers",
    [
        {"referer": "https://evil.example/page"},  # no Origin: Referer decides
        {"origin": "null"},
        {},  # neither: refused
        {"origin": "http://localhost.evil.example"},
    ],
)
async def test_post_without_a_same_site_origin_is_refused(site, client_for, headers):
    client = client_for()
    token = await signed_in(client, "alice")
    response = await client.post(
        "/api/agents/alice/state",
        json={"state": "ready"},
        headers={**headers, "x-csrf-token": token},
    )
    assert response.status_code == 403
    assert site.states == {}


async def test_same_site_post_needs_the_session_csrf_token(site, client_for):
    client = client_for()
    token = await signed_in(client, "alice")
    url = "/api/agents/alice/state"
    missing = await client.post(url, json={"state": "ready"}, headers={"origin": ORIGIN})
    assert missing.status_code == 403
    wrong = await client.post(
        url, json={"state": "ready"}, headers={"origin": ORIGIN, "x-csrf-token": "x" * 43}
    )
    assert wrong.status_code == 403
    assert site.states == {}
    right = await client.post(
        url, json={"state": "ready"}, headers={"origin": ORIGIN, "x-csrf-token": token}
    )
    assert right.status_code == 200
    assert site.states == {"alice": "ready"}
    by_referer = await client.post(
        url,
        json={"state": "paused"},
        headers={"referer": f"{ORIGIN}/desk", "x-csrf-token": token},
    )
    assert by_referer.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "", "127.0.0.1:x"])
@pytest.mark.parametrize("path", ["/healthz", "/login", "/api/queues"])
async def test_a_host_not_in_the_allow_list_is_refused(client_for, host, path):
    response = await client_for().get(path, headers={"host": host})
    assert response.status_code == 400
    assert response.text == "Invalid host header"


async def test_allowed_host_with_a_port_is_served(client_for):
    response = await client_for().get("/healthz", headers={"host": "127.0.0.1:8080"})
    assert response.status_code == 200


async def test_forwarded_host_counts_only_from_a_trusted_proxy(client_for):
    response = await client_for("192.0.2.9").get(
        "/healthz", headers={"host": "localhost", "x-forwarded-host": "evil.example"}
    )
    assert response.status_code == 200  # ignored: the peer is no proxy


async def test_sign_out_without_a_session_goes_to_the_sign_in_page(client_for):
    response = await client_for().post("/logout", headers={"origin": ORIGIN})
    assert response.status_code == 303 and response.headers["location"] == "/login"
