"""The callback list on the agent desktop (issue 13, B5), in Debian's Chromium
against the real Jono and pjsua2 phones: requests appear live as callers ask
for them; columns sort; an item one agent opens is locked for the other; the
agent's call rings their phone first, then the customer's; a note is required
after the call; "no answer" puts the item back in line with its note."""

from __future__ import annotations

from pathlib import Path

import pytest
from peers.callbacks import ask_for_callback
from peers.jono import StartJono
from peers.webapi import signed_in
from web_jono import (
    WEB_PASSWORDS,
    phone,
    registered,
    sign_in,
    start_web,
    wait_until,
    web_config,
)

pytestmark = pytest.mark.e2e


def rows(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The list's numbers, top to bottom, as shown."""
    return [str(t).split()[0] for t in page.locator("#cb-table tbody .cb-number").all_inner_texts()]


def row(page, number: str):  # type: ignore[no-untyped-def]
    return page.locator("#cb-table tbody tr", has=page.locator(".cb-number", has_text=number))


def test_agents_work_the_callback_list_live(
    jono: StartJono, tmp_path: Path, page, open_browser, screenshots  # type: ignore[no-untyped-def]
) -> None:
    config = web_config(tmp_path)
    config["queues"]["sales"]["callback"] = {
        "key": "1", "attempts": 2, "retry_after": 0, "ring_time": 6,
    }
    server = start_web(jono, config)
    carol_page = screenshots.wrap(open_browser().pages[0])
    with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "dave") as dave, \
            phone(server, tmp_path, "alice") as alice:
        sign_in(page, server, "bob")
        sign_in(carol_page, server, "carol")
        registered(server, page, "bob")
        assert page.locator("#callbacks-card").is_visible()
        assert page.locator("#cb-empty").is_visible()

        # Nobody is ready: dave asks for a callback at his own number (1004); the
        # request shows on both desktops without a reload.
        page.evaluate("window.__sameDocument = true")
        ask_for_callback(server, dave, "1")
        page.wait_for_selector("#cb-table tbody tr[data-status=pending]", timeout=10_000)
        carol_page.wait_for_selector("#cb-table tbody tr[data-status=pending]", timeout=10_000)
        assert rows(page) == ["1004"]
        assert page.evaluate("window.__sameDocument") is True  # live, not reloaded
        assert row(page, "1004").locator(".cb-status").inner_text().startswith("Unhandled")
        ask_for_callback(server, alice, "1")  # a second one (1001), later
        wait_until(lambda: rows(page) == ["1004", "1001"], what="both requests, oldest first")

        # Sorting: by number, then the other way round.
        page.click("#cb-table th[data-sort=number] button")
        wait_until(lambda: rows(page) == ["1001", "1004"], what="sorted by number")
        assert page.get_attribute("#cb-table th[data-sort=number]", "aria-sort") == "ascending"
        page.click("#cb-table th[data-sort=number] button")
        wait_until(lambda: rows(page) == ["1004", "1001"], what="sorted by number, descending")
        screenshots.take(page.raw, "callback-list")

        # bob opens dave's request: carol sees it locked and cannot open it.
        row(page, "1004").locator("button.cb-claim").click()
        page.wait_for_selector("#cb-work:not([hidden])")
        assert page.locator("#cb-work-number").inner_text() == "1004"
        lock = row(carol_page, "1004").locator(".lock")
        lock.wait_for(timeout=10_000)
        assert lock.inner_text() == "🔒 Open by bob"
        assert row(carol_page, "1004").locator("button.cb-claim").count() == 0
        assert row(carol_page, "1001").locator("button.cb-claim").count() == 1
        screenshots.take(carol_page.raw, "callback-list-locked")

        # Click to call: bob's phone rings first; he answers; then dave's, who is busy.
        page.click("#cb-call")
        bob.wait_incoming(timeout=10)
        bob.answer()
        dave.wait_incoming(timeout=10)
        dave.answer(486)
        page.wait_for_selector("#cb-note-form:not([hidden])")
        wait_until(lambda: "Call ended (busy)" in page.locator("#cb-work-status").inner_text(),
                   what="the call's end on the desktop")
        screenshots.take(page.raw, "callback-note-owed")

        # The note is required: without it nothing changes, and bob cannot open the next item.
        page.click("#cb-noanswer")
        assert "Write a short description" in page.locator("#cb-message").inner_text()
        assert row(page, "1004").get_attribute("data-claimed") == "bob"
        assert row(page, "1001").locator("button.cb-claim").is_disabled()
        page.fill("#cb-note", "Line busy, will try after lunch")
        page.click("#cb-noanswer")

        # Back in line with its note and handler; free for carol again.
        requeued = row(carol_page, "1004")
        wait_until(lambda: requeued.get_attribute("data-status") == "requeued",
                   what="the request re-queued on carol's desktop")
        assert requeued.locator(".cb-note").inner_text() == "Line busy, will try after lunch"
        assert "Re-queued" in requeued.locator(".cb-status").inner_text()
        assert requeued.locator("button.cb-claim").count() == 1
        assert page.locator("#cb-work").is_hidden()
        screenshots.take(carol_page.raw, "callback-requeued")

    # Supervisors of the queue re-assign and close items; an agent may not.
    alice_api = signed_in(server, "alice", WEB_PASSWORDS["alice"])
    bob_api = signed_in(server, "bob", WEB_PASSWORDS["bob"])
    try:
        ids = {r["number"]: r["id"] for r in alice_api.get("/api/callbacks").json()["requests"]}
        refused = bob_api.post(f"/api/callbacks/{ids['1001']}/assign", json={"agent": "bob"})
        assert refused.status_code == 403, refused.text
        given = alice_api.post(f"/api/callbacks/{ids['1001']}/assign", json={"agent": "carol"})
        assert given.status_code == 200 and given.json()["claimed_by"] == "carol", given.text
        row(carol_page, "1001").locator(".lock.mine").wait_for(timeout=10_000)
        assert carol_page.locator("#cb-work-number").inner_text().startswith("1001")
        closed = alice_api.post(f"/api/callbacks/{ids['1004']}/close",
                                json={"note": "customer called in herself"})
        assert closed.status_code == 200 and closed.json()["status"] == "cancelled", closed.text
        wait_until(lambda: rows(page) == ["1001"], what="the closed request off the open list")
        page.select_option("#cb-status", "cancelled")
        assert rows(page) == ["1004"]
        assert row(page, "1004").locator(".cb-note").inner_text() == (
            "closed by alice: customer called in herself")
    finally:
        alice_api.close()
        bob_api.close()
