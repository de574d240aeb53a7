"""The real web app of a server built with fakes (acd_fakes), and signed-in httpx clients.

Users: ada (admin), sue (supervisor of sales), bob (agent: sales),
carol (agent: sales, support), dan (agent: support), zed (no web roles).
"""

from __future__ import annotations

from pathlib import Path

import httpx
from acd_fakes import FakeServer
from acd_plans import tone_file
from webauth_site import form_token

from acd.web.auth import PasswordHasher
from acd.web.auth.passwords import FAST_TEST_PARAMETERS
from acd.web.workplace import Web, build_web

ORIGIN = "http://localhost"
PASSWORDS = {
    "ada": "ada-web-pass-1",
    "sue": "sue-web-pass-22",
    "bob": "bob-web-pass-333",
    "carol": "carol-web-pass-4",
    "dan": "dan-web-pass-55",
    "zed": "zed-web-pass-666",
}


def static(user: str, port: int) -> str:
    return f'devices: [{{kind: static, contact: "sip:{user}@127.0.0.1:{port}"}}]'


PLAN = f"""
server:
  listen: "127.0.0.1:5060"
  desktop: {{pause_reasons: [lunch, coffee], service_level: 20}}
users:
  ada: {{extension: "1000", password: a, roles: [admin], {static("ada", 5080)}}}
  sue: {{extension: "1001", password: a, roles: [agent, supervisor], supervises: [sales],
        display_name: Sue Supervisor, {static("sue", 5081)}}}
  bob: {{extension: "1002", password: a, display_name: Bob Agent, {static("bob", 5072)}}}
  carol: {{extension: "1003", password: a, {static("carol", 5073)}}}
  dan: {{extension: "1004", password: a, {static("dan", 5074)}}}
  zed: {{extension: "1005", password: a, roles: [], {static("zed", 5075)}}}
trunks:
  provider:
    inbound_sources: ["127.0.0.1"]
    outbound: {{gateway: "127.0.0.1:5070", caller_id: "+35891234567"}}
menus:
  ask:
    prompt: hello
    collect: {{variable: customer, max_digits: 4, then: "queue:sales"}}
announcements:
  hello: {{file: "HELLO_WAV"}}
numbers:
  "+35891234567": {{destination: "queue:sales", allow_member_presentation: true}}
  "+35891234568": {{destination: "menu:ask", allow_member_presentation: true}}
  "+35891230000": {{destination: "queue:support"}}
  "9000": {{destination: "queue:sales", internal_only: true}}
queues:
  sales: {{members: [bob, carol, sue], ring_time: 5, wrap_up: 3}}
  support: {{members: [carol, dan], wrap_up: 7}}
"""


class WebServer:
    def __init__(self, tmp_path: Path, plan: str = PLAN) -> None:
        hello = tone_file(tmp_path / "hello.wav", seconds=0.1)
        self.fake = FakeServer(tmp_path, plan.replace("HELLO_WAV", str(hello)))
        self.jono = self.fake.jono
        self.legs = self.fake.legs
        self.store = self.fake.store
        hasher = PasswordHasher(FAST_TEST_PARAMETERS)
        self.web: Web = build_web(self.jono, hasher=hasher)
        passwords = self.web.accounts._passwords  # type: ignore[attr-defined]
        for user, password in PASSWORDS.items():
            passwords[user] = hasher.hash(password)

    @property
    def app(self):  # type: ignore[no-untyped-def]
        return self.web.app

    def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.web.app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url=ORIGIN)

    async def signed_in(self, user: str) -> httpx.AsyncClient:
        """A client with ``user``'s session, sending Origin and the CSRF token as a page does."""
        client = self.client()
        page = await client.get("/login")
        reply = await client.post(
            "/login",
            data={"user": user, "password": PASSWORDS[user], "next": "/",
                  "csrf_token": form_token(page.text)},
            headers={"origin": ORIGIN},
        )
        assert reply.status_code == 303, reply.text
        me = (await client.get("/api/me")).json()
        client.headers.update({"origin": ORIGIN, "x-csrf-token": me["csrf_token"]})
        return client

    async def close(self) -> None:
        await self.fake.close()
