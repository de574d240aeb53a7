"""The real Jono for the browser tests: a plan with a supervisor (alice), agents
(bob, carol), a caller (dave), a menu that collects a customer number before
the sales queue, and a trunk whose gateway is an "outside" pjsua2 phone.

Web passwords are set with the real ``jono passwd`` (alice, bob) or written
straight into the store (the others: quicker). Pages are driven in Debian's
Chromium (fixtures in conftest.py); phones are pjsua2 processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from peers.audio import write_tone
from peers.jono import JonoServer, StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from peers.webapi import set_password, wait_http, web_base

DID = "+35891234567"  # the main number: a menu collects a customer number, then sales
SALES_DID = "+35891234500"  # sales' own number; members may present it (N3)
OUTSIDE = "0401234567"  # a number out through the trunk (+358401234567)
SIP_PASSWORDS = {"alice": "alicepw", "bob": "bobpw", "carol": "carolpw", "dave": "davepw"}
WEB_PASSWORDS = {
    "alice": "alice-web-pass-1",
    "bob": "bob-web-pass-22",
    "carol": "carol-web-pass-3",
}


def web_config(
    tmp_path: Path, *, outside_port: int = 9, agents: int = 0, wrap_up: int = 3
) -> dict[str, Any]:
    config = base_config(trunk=False)
    users = config["users"]
    users["alice"].update(roles=["agent", "supervisor", "admin"], supervises=["sales"],
                          display_name="Alice Supervisor")
    users["bob"].update(display_name="Bob Agent", caller_id=SALES_DID)
    users["carol"].update(display_name="Carol Agent")
    users["dave"] = {"extension": "1004", "password": "davepw", "roles": []}
    for i in range(1, agents + 1):
        users[f"agent{i:02d}"] = {"extension": str(2100 + i), "password": "x",
                                  "display_name": f"Agent {i:02d}",
                                  "devices": [{"kind": "static", "contact": "sip:a@127.0.0.1:9"}]}
    contacts = tmp_path / "contacts.yaml"
    contacts.write_text(f"- {{name: Outside Customer, number: '{OUTSIDE}', company: Acme Oy}}\n")
    prompt = write_tone(tmp_path / "ask.wav", 500, 0.3)
    config["server"]["desktop"] = {"pause_reasons": ["lunch", "meeting"], "contacts": str(contacts)}
    config["trunks"] = {"provider": {
        "outbound": {"gateway": f"127.0.0.1:{outside_port}", "caller_id": "+35890000000"},
        "normalise": {"country_code": "358", "national_prefix": "0"},
    }}
    config["announcements"] = {"ask": {"file": str(prompt)}}
    config["menus"] = {"ask": {"prompt": "ask", "collect": {
        "variable": "customer", "max_digits": 4, "timeout": 5, "then": "queue:sales"}}}
    config["numbers"] = {
        DID: {"destination": "menu:ask"},
        SALES_DID: {"destination": "queue:sales", "allow_member_presentation": True},
        "5000": {"destination": "queue:sales"},
    }
    members = ["bob", "carol", *(f"agent{i:02d}" for i in range(1, agents + 1))]
    config["queues"] = {
        "sales": {"members": members, "ring_time": 15, "wrap_up": wrap_up},
        "support": {"members": ["carol"]},
    }
    return config


def start_web(jono: StartJono, config: dict[str, Any]) -> JonoServer:
    server = jono(config)
    wait_http(server)
    set_password(server, "alice", WEB_PASSWORDS["alice"])  # the real command
    set_password(server, "bob", WEB_PASSWORDS["bob"])
    set_password(server, "carol", WEB_PASSWORDS["carol"], quick=True)
    return server


def phone(server: JonoServer, tmp_path: Path, user: str) -> PjsuaPhone:
    p = PjsuaPhone(tmp_path, user)
    code = p.register(user, SIP_PASSWORDS[user], server.address)
    assert code == 200, f"{user}: REGISTER ended with {code}\n{p.history}"
    return p


def sign_in(page: Any, server: JonoServer, user: str, path: str = "/") -> None:
    """Sign in through the form and wait until the page has drawn its first snapshot."""
    base = web_base(server)
    page.goto(f"{base}{path}")
    page.fill("#user", user)
    page.fill("#password", WEB_PASSWORDS[user])
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready=yes]", timeout=10_000)


def wait_until(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def registered(server: JonoServer, page: Any, user: str) -> None:
    """Jono mirrors registrations into the ACD once a second: wait until it knows."""
    base = web_base(server)

    def known() -> bool:
        reply = page.request.get(f"{base}/api/agents/{user}/state")
        return bool(reply.ok and reply.json()["registered"])

    wait_until(known, what=f"{user}'s phone registered in the ACD")
