"""The JSON HTTP API against a real engine in a server built with a fake store (D1, S1),
used by a signed-in admin (who may do everything; who may do what: tests/unit/acd/web)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import httpx
from acd_fakes import FakeStore

from acd.bootstrap import Parts, Settings, build
from acd.config import load
from acd.web.app import build_app
from acd.web.auth import PasswordHasher
from acd.web.auth.passwords import FAST_TEST_PARAMETERS
from acd.web.workplace import build_web

PLAN = """
server: {listen: "127.0.0.1:5060"}
users:
  ada: {extension: "1000", password: x, roles: [admin], devices: [{kind: static, contact: "sip:a@127.0.0.1"}]}
  bob: {extension: "1002", password: x, devices: [{kind: static, contact: "sip:b@127.0.0.1"}]}
  carol: {extension: "1003", password: x, devices: [{kind: static, contact: "sip:c@127.0.0.1"}]}
queues:
  sales: {members: [bob, carol]}
  tech: {members: [carol]}
"""
ADMIN_PASSWORD = "ada-web-pass-1"


class Server:
    """The web app of a server built with fakes, with a reload that answers ``errors``."""

    def __init__(self, tmp_path: Path, errors: list[str]) -> None:
        path = tmp_path / "plan.yaml"
        path.write_text(PLAN)
        self.store = FakeStore()
        self.jono = build(
            load(path, env={}),
            Settings(host="127.0.0.1", port=0, db="", realm="jono", rtp_ports=(40000, 40100)),
            parts=Parts(store=self.store, http=False),
        )
        self.media = self.jono.media
        hasher = PasswordHasher(FAST_TEST_PARAMETERS)
        web = build_web(self.jono, hasher=hasher)
        web.accounts._passwords["ada"] = hasher.hash(ADMIN_PASSWORD)  # type: ignore[attr-defined]
        self.app = build_app(dataclasses.replace(web.services, reload=lambda: errors))


async def client(
    tmp_path: Path, errors: list[str] | None = None
) -> tuple[httpx.AsyncClient, Server]:
    server = Server(tmp_path, errors or [])
    transport = httpx.ASGITransport(app=server.app)
    http = httpx.AsyncClient(transport=transport, base_url="http://localhost")
    page = (await http.get("/login")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    signed = await http.post(
        "/login", headers={"origin": "http://localhost"},
        data={"user": "ada", "password": ADMIN_PASSWORD, "csrf_token": token.group(1)},
    )
    assert signed.status_code == 303, signed.text
    csrf = (await http.get("/api/me")).json()["csrf_token"]
    http.headers.update({"origin": "http://localhost", "x-csrf-token": csrf})
    return http, server


async def test_supervisor_logs_an_agent_into_one_queue(tmp_path: Path) -> None:
    http, server = await client(tmp_path)
    reply = await http.post("/api/agents/carol/state", json={"state": "ready", "queues": ["tech"]})
    assert reply.status_code == 200
    assert reply.json()["queues"] == ["tech"]
    queues = {q["id"]: q for q in (await http.get("/api/queues")).json()}
    assert queues["tech"]["agents"] == {"ready": ["carol"]}
    assert queues["sales"]["agents"] == {}
    assert [r["kind"] for r in server.store.rows] == ["agent_state"]


async def test_pause_with_reason_then_ready_again(tmp_path: Path) -> None:
    http, _ = await client(tmp_path)
    await http.post("/api/agents/bob/state", json={"state": "ready"})
    paused = await http.post("/api/agents/bob/state", json={"state": "paused", "reason": "lunch"})
    assert (paused.json()["state"], paused.json()["pause_reason"]) == ("paused", "lunch")
    ready = await http.post("/api/agents/bob/state", json={"state": "ready"})
    assert ready.json()["state"] == "ready"
    out = await http.post("/api/agents/bob/state", json={"state": "logged_out"})
    assert out.json()["state"] == "logged_out"


async def test_bad_requests_get_400_and_unknown_names_404(tmp_path: Path) -> None:
    http, _ = await client(tmp_path)
    assert (await http.post("/api/agents/bob/state", json={"state": "asleep"})).status_code == 400
    assert (await http.post("/api/agents/bob/state", content=b"{")).status_code == 400
    assert (
        await http.post("/api/agents/bob/state", json={"state": "ready", "queues": ["tech"]})
    ).status_code == 400  # bob is not a member of tech
    assert (await http.get("/api/agents/zed/state")).status_code == 404
    assert (await http.get("/api/queues/nope/callers")).status_code == 404
    assert (await http.get("/api/queues/sales/callers")).json() == []


async def test_reload_reports_errors_with_400(tmp_path: Path) -> None:
    http, _ = await client(tmp_path, errors=["plan.yaml:3: queues.sales.ring_time: -1"])
    reply = await http.post("/api/reload")
    assert reply.status_code == 400
    assert reply.json()["errors"] == ["plan.yaml:3: queues.sales.ring_time: -1"]
    ok, _ = await client(tmp_path)
    assert (await ok.post("/api/reload")).json() == {"ok": True, "errors": []}


async def test_presence_busy_is_shown_and_can_be_cleared(tmp_path: Path) -> None:
    http, _ = await client(tmp_path)
    await http.post("/api/agents/bob/state", json={"state": "ready"})
    busy = await http.post("/api/agents/bob/state", json={"presence": "busy"})
    assert (busy.json()["presence"], busy.json()["state"]) == ("busy", "ready")
    back = await http.post("/api/agents/bob/state", json={"presence": "available"})
    assert back.json()["presence"] == "available"
    bad = await http.post("/api/agents/bob/state", json={"presence": "purple"})
    assert bad.status_code == 400


async def test_media_figures_show_streams_and_ticker_lateness(tmp_path: Path) -> None:
    http, server = await client(tmp_path)
    server.media.ticker.recent_lateness.extend([0.001] * 98 + [0.004, 0.2])
    reply = await http.get("/api/media")
    assert reply.status_code == 200
    body = reply.json()
    assert body["legs"] == 0
    assert body["ticker"]["streams"] == 0
    assert body["ticker"]["late_p50_ms"] == 1.0
    assert body["ticker"]["late_p99_ms"] == 200.0
    assert body["ticker"]["late_max_ms"] == 200.0
