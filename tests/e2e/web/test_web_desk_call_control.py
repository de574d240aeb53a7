"""Call control on the agent desktop with real phones (issue 14, O6, O7): hold
and resume, recording start/stop, consult then cancel, consult then complete
(the caller and the consulted colleague hear each other), blind transfer to a
queue answered by its agent, and O6 on a direct call between two agents."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from peers.audio import dominant_frequency, write_tone
from peers.jono import StartJono
from peers.webapi import api_token, web_base
from web_jono import WEB_PASSWORDS, phone, registered, sign_in, start_web, wait_until, web_config

pytestmark = pytest.mark.e2e


def control_status(page: Any) -> str:
    return str(page.locator("#control-status").get_attribute("data-status"))


def wait_control(page: Any, status: str, timeout: float = 10.0) -> None:
    wait_until(lambda: control_status(page) == status, timeout, what=f"desk shows {status}")


def take_queue_call(page: Any, server: Any, bob: Any, dave: Any) -> None:
    """bob signs in, gets ready and answers dave's call to the sales queue."""
    sign_in(page, server, "bob")
    registered(server, page, "bob")
    page.click("#ready")
    wait_until(lambda: page.locator("#state").inner_text() == "Ready", what="ready")
    dave.call(server.uri("5000"))
    bob.wait_incoming(timeout=10)
    bob.answer()
    page.wait_for_selector("#call-control:not([hidden])")
    dave.wait_rtp(20)


def test_hold_record_consult_cancel_then_consult_complete_from_the_desktop(
    jono: StartJono, tmp_path: Path, page, open_browser, screenshots  # type: ignore[no-untyped-def]
) -> None:
    server = start_web(jono, web_config(tmp_path))
    with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "dave") as dave, \
            phone(server, tmp_path, "carol") as carol:
        dave.play(write_tone(tmp_path / "dave.wav", 440, 30))
        carol.play(write_tone(tmp_path / "carol.wav", 880, 30))
        bob.play(write_tone(tmp_path / "bob.wav", 660, 30))
        take_queue_call(page, server, bob, dave)

        page.click("#hold")
        wait_control(page, "hold/held")
        assert page.locator("#hold").inner_text() == "Resume"
        held = tmp_path / "dave_on_hold.wav"
        dave.record(held)
        time.sleep(2.5)
        dave.stop_record()
        screenshots.take(page.raw, "desk-hold")
        page.click("#hold")
        wait_control(page, "hold/resumed")
        held_for = page.locator("#call-hold").inner_text()  # hold time shown, apart from talk
        assert held_for in ("0:02", "0:03", "0:04"), held_for

        page.click("#record")
        wait_control(page, "record/on")
        time.sleep(1.5)
        page.click("#record")
        wait_control(page, "record/off")

        page.fill("#transfer-to", "1003")
        page.click("#consult")
        wait_control(page, "consult/ringing")
        carol.wait_incoming(timeout=10)
        carol.answer()
        wait_control(page, "consult/talking")
        assert page.locator("#control-status").inner_text() == (
            "Talking with Carol Agent (1003); the caller is on hold.")
        page.wait_for_selector("#consult-cancel:not([hidden])")
        screenshots.take(page.raw, "desk-consulting")
        page.click("#consult-cancel")
        wait_control(page, "consult/cancelled")
        carol.wait_state("DISCONNECTED", timeout=5)

        page.click("#consult")  # the target is still typed in
        call = carol.wait_incoming(timeout=10)
        carol.answer()
        wait_control(page, "consult/talking")
        page.click("#consult-complete")
        bob.wait_state("DISCONNECTED", timeout=5)
        heard_by_dave, heard_by_carol = tmp_path / "dave_heard.wav", tmp_path / "carol_heard.wav"
        dave.record(heard_by_dave)
        carol.record(heard_by_carol)
        time.sleep(3.0)
        dave.stop_record()
        carol.stop_record()
        dave.hangup()
        carol.wait_state("DISCONNECTED", timeout=5, call=int(call["call"]))
        # The supervisor (alice: sales) finds the recording on the wallboard and plays it;
        # the server keeps an audit line of that playback.
        board = screenshots.wrap(open_browser().pages[0])
        sign_in(board, server, "alice", "/wallboard")
        row = board.locator("#recordings tbody tr").first
        row.wait_for(timeout=10_000)
        assert "sales" in row.inner_text() and "bob" in row.inner_text()
        recording_id = row.get_attribute("data-recording")
        audio = board.request.get(f"{web_base(server)}/api/recordings/{recording_id}/audio")
        assert audio.ok and audio.body()[:4] == b"OggS"
        audit = board.request.get(
            f"{web_base(server)}/api/recordings/{recording_id}/playbacks").json()
        assert [p["user"] for p in audit["playbacks"]] == ["alice"]
        assert page.request.get(  # an agent may not play it
            f"{web_base(server)}/api/recordings/{recording_id}/audio").status == 404
        screenshots.take(board.raw, "wallboard-recordings")
    # Music on hold, not the agent's 660 Hz tone nor silence; then the transfer's two ends.
    assert abs(dominant_frequency(held) - 660) > 30
    assert abs(dominant_frequency(heard_by_dave) - 880) < 20
    assert abs(dominant_frequency(heard_by_carol) - 440) < 20


def test_blind_transfer_to_a_queue_from_the_desktop_reaches_its_agent(
    jono: StartJono, tmp_path: Path, page, screenshots  # type: ignore[no-untyped-def]
) -> None:
    server = start_web(jono, web_config(tmp_path))
    token = api_token(server, "alice", WEB_PASSWORDS["alice"])
    with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "dave") as dave, \
            phone(server, tmp_path, "carol") as carol:
        dave.play(write_tone(tmp_path / "dave.wav", 440, 30))
        carol.play(write_tone(tmp_path / "carol.wav", 880, 30))
        bob.play(write_tone(tmp_path / "bob.wav", 660, 30))
        take_queue_call(page, server, bob, dave)
        with httpx.Client(base_url=web_base(server),
                          headers={"authorization": f"Bearer {token}"}) as admin:
            reply = admin.post("/api/agents/carol/state", json={"state": "ready"})
            assert reply.status_code == 200, reply.text
        page.fill("#transfer-to", "support")
        page.click("#transfer")
        wait_control(page, "transfer/done")
        bob.wait_state("DISCONNECTED", timeout=5)
        carol.wait_incoming(timeout=10)  # support's agent is offered the caller
        carol.answer()
        heard = tmp_path / "carol_heard.wav"
        carol.record(heard)
        time.sleep(3.0)
        carol.stop_record()
        dave.hangup()
    assert abs(dominant_frequency(heard) - 440) < 20


def test_a_direct_call_between_agents_offers_no_transfer_on_the_desktop(
    jono: StartJono, tmp_path: Path, page, screenshots  # type: ignore[no-untyped-def]
) -> None:
    server = start_web(jono, web_config(tmp_path))
    token = api_token(server, "alice", WEB_PASSWORDS["alice"])
    with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "carol") as carol:
        sign_in(page, server, "bob")
        registered(server, page, "bob")
        page.click("#ready")
        wait_until(lambda: page.locator("#state").inner_text() == "Ready", what="ready")
        with httpx.Client(base_url=web_base(server),
                          headers={"authorization": f"Bearer {token}"}) as admin:
            assert admin.post("/api/agents/carol/state", json={"state": "ready"}).status_code == 200
            bob.call(server.uri("1003"))  # bob calls carol; both answer sales (O6)
            carol.wait_incoming(timeout=10)
            carol.answer()
            page.wait_for_selector("#call-control:not([hidden])")
            wait_until(lambda: page.locator("#transfer-form").is_hidden(), what="no transfer")
            assert page.locator("#state").inner_text() == "On call (internal)"
            wait_until(lambda: admin.get("/api/agents/carol/state").json()["state"] == "on_call",
                       what="carol on call")
        screenshots.take(page.raw, "desk-agent-to-agent")
        status = page.evaluate("""async () => (await fetch('/api/desk/consult', {
            method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json',
                      'X-CSRF-Token': document.querySelector('meta[name="csrf-token"]').content},
            body: JSON.stringify({to: 'support'})})).status""")
        assert status == 403
        page.click("#hold")  # bob called: he may hold
        wait_control(page, "hold/held")
        bob.hangup()
        carol.wait_state("DISCONNECTED", timeout=5)
        # P4 on the desktop: bob forwards his calls when busy to carol, then stops.
        page.select_option("#forwarding-kind", "busy")
        page.fill("#forwarding-to", "1003")
        page.click("#forwarding-set")
        wait_until(lambda: page.locator('#forwarding dd[data-kind="busy"]').inner_text()
                   == "user:carol", what="forwarding shown")
        page.fill("#forwarding-to", "1002")  # not to himself
        page.click("#forwarding-set")
        wait_until(lambda: "may not forward" in page.locator("#forwarding-message").inner_text(),
                   what="refusal shown")
        page.click("#forwarding-off")
        wait_until(lambda: page.locator('#forwarding dd[data-kind="busy"]').inner_text() == "off",
                   what="forwarding off")
