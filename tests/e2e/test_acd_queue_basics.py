"""Queues on the real server: feature codes, the HTTP API, a caller reaching
an agent through a queue (issue 4; SPEC D1, S1, Q1)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from peers.audio import dominant_frequency, write_tone
from peers.jono import JonoServer, StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from peers.webapi import api_token, set_password, wait_http, web_base

pytestmark = pytest.mark.e2e

PASSWORDS = {"alice": "alicepw", "bob": "bobpw", "carol": "carolpw"}
OPS_PASSWORD = "ops-web-password"


def acd_config(queue: dict[str, Any], *, extra_users: int = 0) -> dict[str, Any]:
    """alice (caller), bob and carol (agents), plus dave1.. callers; 5000 -> queue:q;
    ops: an admin on the web (the API is closed to everyone else)."""
    config = base_config(trunk=False)
    for i in range(1, extra_users + 1):
        config["users"][f"dave{i}"] = {"extension": f"110{i}", "password": f"dave{i}pw"}
    config["users"]["ops"] = {"extension": "1999", "password": "opspw", "roles": ["admin"]}
    config["queues"] = {"q": {"ring_time": 2, **queue}}
    config["numbers"] = {"5000": {"destination": "queue:q"}}
    return config


API_TOKENS: dict[int, str] = {}  # per server (by id): the admin's bearer token


def api(server: JonoServer) -> httpx.Client:
    """The JSON API as an integration uses it: the admin's bearer token (``ops``
    of acd_config; issued at the first use on a server started another way)."""
    if id(server) not in API_TOKENS:
        wait_http(server)
        set_password(server, "ops", OPS_PASSWORD, quick=True)
        API_TOKENS[id(server)] = api_token(server, "ops", OPS_PASSWORD)
    return httpx.Client(
        base_url=web_base(server), timeout=5.0, trust_env=False,
        headers={"authorization": f"Bearer {API_TOKENS[id(server)]}"},
    )


def start_acd(jono: StartJono, config: dict[str, Any]) -> JonoServer:
    """Start Jono, wait for its web API (SIP answers OPTIONS a little earlier) and
    get the admin a token."""
    server = jono(config)
    api(server).close()
    return server


def phone(server: JonoServer, tmp_path: Path, name: str, user: str | None = None) -> PjsuaPhone:
    user = user or name
    p = PjsuaPhone(tmp_path, name)
    password = PASSWORDS.get(user) or f"{user}pw"
    code = p.register(user, password, server.address)
    assert code == 200, f"{name}: REGISTER ended with {code}\n{p.history}"
    return p


def set_state(server: JonoServer, agent: str, state: str, **extra: Any) -> dict[str, Any]:
    with api(server) as client:
        reply = client.post(f"/api/agents/{agent}/state", json={"state": state, **extra})
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def agent_state(server: JonoServer, agent: str) -> str:
    with api(server) as client:
        state: str = client.get(f"/api/agents/{agent}/state").json()["state"]
    return state


def wait_for(check: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_agent_logs_in_with_feature_code_and_caller_reaches_agent(
    jono: StartJono, tmp_path: Path
) -> None:
    server = start_acd(jono, acd_config({"members": ["bob"]}))
    tone = write_tone(tmp_path / "a440.wav", 440, 4)
    heard_by_bob = tmp_path / "heard_by_bob.wav"

    with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "alice") as alice:
        bob.call(server.uri("*21"))
        bob.wait_state("CONFIRMED")
        assert bob.wait_state("DISCONNECTED", timeout=8)["code"] == 200
        assert agent_state(server, "bob") == "ready"

        bob.auto_answer(200)
        bob.record(heard_by_bob)
        alice.play(tone)
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        incoming = bob.wait_incoming()
        bob.wait_state("CONFIRMED")
        wait_for(lambda: agent_state(server, "bob") == "on_call", what="bob on call")
        bob.wait_rtp(20)
        time.sleep(2.0)
        alice.hangup()
        bob.wait_state("DISCONNECTED")
        bob.stop_record()
        wait_for(lambda: agent_state(server, "bob") == "ready", what="bob ready again")

    assert "1001" in incoming["from"], incoming
    assert abs(dominant_frequency(heard_by_bob) - 440) < 20


def test_supervisor_logs_agent_in_and_out_and_events_stream(
    jono: StartJono, tmp_path: Path
) -> None:
    server = start_acd(jono, acd_config({"members": ["bob", "carol"]}))
    with api(server) as client:
        with client.stream("GET", "/api/events") as events:
            assert client.post("/api/agents/bob/state", json={"state": "ready"}).status_code == 200
            assert (
                client.post(
                    "/api/agents/bob/state", json={"state": "paused", "reason": "lunch"}
                ).json()["pause_reason"]
                == "lunch"
            )
            seen: list[dict[str, Any]] = []
            for line in events.iter_lines():  # a snapshot first, then events as they happen
                if line.startswith("data: ") and json.loads(line[6:])["type"] == "agent_state":
                    seen.append(json.loads(line[6:]))
                if len(seen) >= 2:
                    break
        queues = client.get("/api/queues").json()
        bad = client.post("/api/agents/bob/state", json={"state": "dancing"})
        missing = client.get("/api/agents/nobody/state")
        logout = client.post("/api/agents/bob/state", json={"state": "logged_out"}).json()

    assert [(e["type"], e["new"]) for e in seen] == [
        ("agent_state", "ready"),
        ("agent_state", "paused"),
    ]
    assert queues[0]["id"] == "q"
    assert queues[0]["agents"] == {"paused": ["bob"]}
    assert bad.status_code == 400
    assert missing.status_code == 404
    assert logout["state"] == "logged_out"


def test_login_code_from_a_non_member_is_refused(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(jono, acd_config({"members": ["bob"]}))
    with phone(server, tmp_path, "carol") as carol:
        carol.call(server.uri("*21"))
        assert carol.wait_state("DISCONNECTED")["code"] == 403
    assert agent_state(server, "carol") == "logged_out"
