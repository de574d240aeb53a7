"""POST /api/phone/token: the browser phone's SIP credentials come from the web
session (issue 15) and from nothing else: not from an API token, not without
the CSRF token, not after sign-out."""

from __future__ import annotations

from jono_web import ORIGIN, WebServer


async def test_a_signed_in_page_gets_short_lived_sip_credentials_of_its_user(
    web: WebServer,
) -> None:
    bob = await web.signed_in("bob")
    reply = await bob.post("/api/phone/token")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["user"] == "bob" and body["auth_user"].startswith("bob~")
    assert body["server"] == "ws://localhost/sip" and body["aor"] == "sip:bob@localhost"
    assert 60 <= body["expires_in"] <= 900
    assert reply.headers["cache-control"] == "no-store"
    # The token is what SIP digest looks up: it names bob, with the secret as password.
    token = web.jono.phone_tokens.lookup(body["auth_user"], web.jono.clock.now())
    assert token is not None and token.user == "bob" and token.secret == body["secret"]


async def test_no_credentials_without_a_session_csrf_token_or_for_an_api_token(
    web: WebServer,
) -> None:
    anonymous = web.client()
    assert (await anonymous.post("/api/phone/token", headers={"origin": ORIGIN})).status_code == 401
    bob = await web.signed_in("bob")
    no_csrf = await bob.post("/api/phone/token", headers={"x-csrf-token": "wrong"})
    assert no_csrf.status_code == 403
    issued = await bob.post("/api/auth/tokens", json={"name": "script", "role": "agent"})
    assert issued.status_code in (200, 201), issued.text
    script = web.client()
    script.headers["authorization"] = f"Bearer {issued.json()['token']}"
    refused = await script.post("/api/phone/token")
    assert refused.status_code == 403
    assert "signed-in page" in refused.json()["error"]


async def test_signing_out_ends_the_sessions_phone_credentials(web: WebServer) -> None:
    bob = await web.signed_in("bob")
    body = (await bob.post("/api/phone/token")).json()
    now = web.jono.clock.now()
    assert web.jono.phone_tokens.lookup(body["auth_user"], now) is not None
    out = await bob.post("/logout", data={"csrf_token": bob.headers["x-csrf-token"]})
    assert out.status_code == 303
    assert web.jono.phone_tokens.lookup(body["auth_user"], now) is None


async def test_the_sip_websocket_path_is_public_like_the_sip_ports(web: WebServer) -> None:
    assert "/sip" in web.web.auth.settings.public_paths
    # Everything else of the phone is closed: its page and its files need a session.
    client = web.client()
    page = await client.get("/phone", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/phone"
