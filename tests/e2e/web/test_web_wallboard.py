"""The supervisor wallboard, live (issue 12; S1, D1): a caller waiting and then
answered, agents' states changing, a pause ended by the supervisor, all
without reloading the page; 64 agents readable on one 1080p screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from peers.jono import StartJono
from web_jono import phone, registered, sign_in, start_web, wait_until, web_config

pytestmark = pytest.mark.e2e


def card_state(board, agent: str) -> str:  # type: ignore[no-untyped-def]
    return str(board.locator(f'.agent[data-agent="{agent}"] .state').inner_text())


def wait_card(board, agent: str, text: str) -> None:  # type: ignore[no-untyped-def]
    wait_until(lambda: card_state(board, agent) == text, what=f"{agent} shown as {text!r}")


def test_the_wallboard_follows_callers_and_agents_without_reload(
    jono: StartJono, tmp_path: Path, open_browser, screenshots  # type: ignore[no-untyped-def]
) -> None:
    server = start_web(jono, web_config(tmp_path, agents=62, wrap_up=2))
    board = screenshots.wrap(open_browser().pages[0])
    board.set_viewport_size({"width": 1920, "height": 1080})
    desk = screenshots.wrap(open_browser().pages[0])
    with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "dave") as dave:
        sign_in(board, server, "alice", "/wallboard")
        board.evaluate("window.__sameDocument = true")
        cards = board.locator(".agent")
        assert cards.count() == 64  # bob, carol and agent01..62 (members of alice's queue)
        for box in (cards.nth(i).bounding_box() for i in range(64)):
            assert box is not None and box["y"] + box["height"] <= 1080  # all on one screen
        size = board.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.agent .name')).fontSize)")
        assert size >= 14
        screenshots.take(board.raw, "wallboard-64-agents")

        sign_in(desk, server, "bob")
        registered(server, desk, "bob")
        desk.click("#ready")
        wait_card(board, "bob", "Ready")
        desk.select_option("#pause-reason", "meeting")
        desk.click("#pause")
        wait_card(board, "bob", "Paused: meeting")

        dave.call(server.uri("5000"))  # sales, with bob paused: the caller waits
        sales = board.locator('.queue[data-queue="sales"]')
        wait_until(lambda: sales.locator(".waiting strong").inner_text() == "1", what="waiting 1")
        row = board.locator("#calls tbody tr").first
        wait_until(lambda: row.get_attribute("data-state") == "waiting", what="a waiting row")
        assert "1004" in row.inner_text() and "sales" in row.inner_text()
        screenshots.take(board.raw, "wallboard-caller-waiting")

        board.locator('.agent[data-agent="bob"]').click()  # the supervisor ends the pause
        board.click("#panel-ready")
        board.keyboard.press("Escape")
        wait_card(board, "bob", "Ringing")
        bob.wait_incoming(timeout=10)
        bob.answer()
        wait_card(board, "bob", "On call (inbound)")
        wait_until(lambda: sales.locator(".waiting strong").inner_text() == "0", what="waiting 0")
        talking = board.locator('#calls tbody tr[data-state="talking"]')
        talking.wait_for(timeout=5000)
        assert "Bob Agent" in talking.inner_text() and "1004" in talking.inner_text()
        assert "☎ 1004 · sales" in board.locator('.agent[data-agent="bob"] .call').inner_text()
        screenshots.take(board.raw, "wallboard-call-answered")

        dave.hangup()
        wait_card(board, "bob", "Wrap-up")
        wait_card(board, "bob", "Ready")
        assert sales.locator(".answered").inner_text() == "1"
        assert sales.locator(".sl").inner_text() == "100%"
        assert board.locator('.agent[data-agent="bob"] .handled').inner_text() == "1 today"
        assert board.locator("#calls tbody tr").count() == 0
        assert board.evaluate("window.__sameDocument") is True  # never reloaded
        screenshots.take(board.raw, "wallboard-after-the-call")
