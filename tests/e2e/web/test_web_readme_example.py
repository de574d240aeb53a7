"""The README's web workplace and callback list on the shipped
``config/example.yaml``, unchanged: ``jono passwd`` for the example agent
(bob) and supervisor (alice); bob signs in, registers his phone with the
README's password and clicks Ready; carol dials 9000 and the offer shows on
his desktop while his phone rings; he answers, the call panel shows, and
after the call the wrap-up runs; alice's wallboard shows it. Then, with bob
paused, carol asks for a callback (1, then 1); it appears on bob's callback
list; he opens it, calls (his phone first, then carol's), they talk, he
writes what happened and closes it.

Only the addresses differ from ``make run`` (tests run side by side)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from peers.audio import write_tone
from peers.callbacks import ask_for_callback
from peers.jono import JonoServer, StartJono
from peers.pjsua_client import PjsuaPhone
from peers.webapi import set_password, wait_http, web_base
from web_jono import registered, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[3]
EXAMPLE = ROOT / "config" / "example.yaml"
README = ROOT / "README.md"
WEB_PASSWORDS = {"alice": "alice-web-password", "bob": "bob-web-password"}


def _sip_password(user: str) -> str:
    found = re.search(
        rf"`{user}` \((?:extension )?\d+,\s+(?:password\s+)?`([^`]+)`\)", README.read_text()
    )
    assert found is not None, f"README: no password for {user}"
    return found.group(1)


def _phone(server: JonoServer, tmp_path: Path, user: str) -> PjsuaPhone:
    phone = PjsuaPhone(tmp_path, user)
    code = phone.register(user, _sip_password(user), server.address)
    assert code == 200, f"{user}: REGISTER ended with {code}\n{phone.history}"
    return phone


def _sign_in(page: Any, server: JonoServer, user: str, path: str = "/") -> None:
    page.goto(f"{web_base(server)}{path}")
    page.fill("#user", user)
    page.fill("#password", WEB_PASSWORDS[user])
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready=yes]", timeout=10_000)


def test_the_readme_web_workplace_on_the_example_plan(
    jono: StartJono, tmp_path: Path, page, open_browser, screenshots  # type: ignore[no-untyped-def]
) -> None:
    plan: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    server = jono(plan, plan=EXAMPLE)
    wait_http(server)
    assert "nobody can sign in to the web yet" in server.log_text()  # the first-run hint
    for user in ("alice", "bob"):  # `jono passwd config/example.yaml USER`, the real command
        set_password(server, user, WEB_PASSWORDS[user])
    board = screenshots.wrap(open_browser().pages[0])
    with _phone(server, tmp_path, "bob") as bob, _phone(server, tmp_path, "carol") as carol:
        bob.play(write_tone(tmp_path / "bob.wav", 880, 60, amplitude=0.05))
        _sign_in(page, server, "bob")
        _sign_in(board, server, "alice", "/wallboard")
        registered(server, page, "bob")
        page.click("#ready")
        wait_until(lambda: page.locator("#state").inner_text() == "Ready", what="bob ready")

        # "From carol's softphone dial 9000": the offer on the desktop, the phone ringing.
        carol.call(server.uri("9000"))
        carol.wait_state("CONFIRMED")
        bob.wait_incoming(timeout=20)
        page.wait_for_selector("#offer:not([hidden])")
        assert page.locator("#offer-number").inner_text() == "1003"
        assert page.locator("#offer-queue").inner_text() == "sales"
        bob.answer()
        page.wait_for_selector("#call:not([hidden])")
        agent = board.locator('.agent[data-agent="bob"]')
        wait_until(lambda: agent.get_attribute("data-state") == "on_call",
                   what="bob on the call on the wallboard")
        screenshots.take(board.raw, "example-wallboard")
        carol.hangup()
        wait_until(lambda: page.locator("#state").inner_text() == "Wrap-up",
                   what="wrap-up after the call")
        assert page.locator("#wrapup").is_visible()

        # A callback: bob pauses; carol asks to be called back at her own number.
        page.click("#pause")
        wait_until(lambda: page.locator("#state").inner_text().startswith("Paused"),
                   what="bob paused")
        ask_for_callback(server, carol, "1", number="9000", key="1")
        row = page.locator("#cb-table tbody tr[data-status=pending]")
        row.wait_for(timeout=10_000)
        assert row.locator(".cb-number").inner_text().startswith("1003")
        row.locator("button.cb-claim").click()
        page.click("#cb-call")
        bob.wait_incoming(timeout=10)
        bob.answer()
        carol.wait_incoming(timeout=20)  # once bob has answered
        carol.answer()
        carol.wait_state("CONFIRMED")
        carol.wait_rtp(20)
        screenshots.take(page.raw, "example-callback-call")
        carol.hangup()
        page.wait_for_selector("#cb-note-form:not([hidden])")
        wait_until(lambda: "Call ended (answered)" in page.locator("#cb-work-status").inner_text(),
                   what="the callback's end on the desktop")
        page.fill("#cb-note", "Wanted the opening hours; told her")
        page.click("#cb-done")
        page.select_option("#cb-status", "done")
        done = page.locator("#cb-table tbody tr[data-status=done]")
        done.wait_for(timeout=10_000)
        assert done.locator(".cb-note").inner_text() == "Wanted the opening hours; told her"
