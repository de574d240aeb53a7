"""Fixtures: the sign-in test site (``webauth_site``) and httpx clients on it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette
from webauth_site import ORIGIN, Site, build_site

from acd.web.auth import AuthSettings, ThrottleSettings


@pytest.fixture
def site() -> Site:
    return build_site(AuthSettings(throttle=ThrottleSettings(per_user=5, per_source=8)))


@pytest.fixture
def client_for(site: Site) -> Callable[..., httpx.AsyncClient]:
    """``client_for(address="127.0.0.1")``: an httpx client on the app from that peer."""

    def make(address: str = "127.0.0.1", app: Starlette | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app or site.app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url=ORIGIN)

    return make


@pytest.fixture
async def web(tmp_path):  # type: ignore[no-untyped-def]
    """The real web app of a server with fake legs and store (see jono_web.py)."""
    from jono_web import WebServer

    server = WebServer(tmp_path)
    yield server
    await server.close()
