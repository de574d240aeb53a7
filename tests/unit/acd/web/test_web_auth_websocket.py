"""WebSockets: no handshake without sign-in, none from another site's page."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from webauth_site import ORIGIN, PASSWORDS, form_token


def _handshake(client: TestClient, **headers: str) -> dict[str, str]:
    """TestClient's WebSocket sends Host "testserver" and no cookies: give it ours."""
    session = client.cookies.get("jono_session")
    cookie = {"cookie": f"jono_session={session}"} if session else {}
    return {"host": "localhost", **cookie, **headers}


def _signed_in_client(site) -> TestClient:
    client = TestClient(site.app, base_url=ORIGIN)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"user": "bob", "password": PASSWORDS["bob"], "csrf_token": form_token(page.text)},
        headers={"origin": ORIGIN},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return client


def test_websocket_from_our_own_page_is_accepted(site):
    client = _signed_in_client(site)
    with client.websocket_connect("/ws", headers=_handshake(client, origin=ORIGIN)) as ws:
        assert ws.receive_json() == {"user": "bob"}


@pytest.mark.parametrize("headers", [{"origin": "https://evil.example"}, {}])
def test_websocket_from_another_site_is_refused(site, headers):
    client = _signed_in_client(site)
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws", headers=headers),
    ):
        pass
    assert refused.value.code == 1008


def test_websocket_without_sign_in_is_refused(site):
    client = TestClient(site.app, base_url=ORIGIN)
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws", headers=_handshake(client, origin=ORIGIN)),
    ):
        pass
    assert refused.value.code == 1008
