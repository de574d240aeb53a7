"""The browser phone end to end (issue 15): Chromium with SIP.js over Jono's
WebSocket, WebRTC media terminated by Jono, pjsua2 phones on the other side.

- the signed-in user's browser registers; a pjsua2 caller enters a queue;
  the browser rings, answers; pjsua2 hears the browser's tone (decoded
  frequency) and the page hears the caller's (WebAudio analyser, getStats);
  the page hangs up and the caller is disconnected;
- the browser calls a pjsua2 extension, both hear each other, the far end
  hangs up and the page goes idle;
- the socket closing removes the browser's registration.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from peers.audio import dominant_frequency, write_tone
from peers.jono import StartJono
from peers.pjsua_client import PjsuaPhone
from peers.webapi import set_password, wait_http
from phone_page import (
    WEBRTC_ARGS,
    heard_in_page,
    sign_in,
    wait_call_state,
    wait_for,
    write_tone_48k,
)

pytestmark = pytest.mark.e2e

BROWSER_TONE = 440.0
PHONE_TONE = 1000.0
WEB_PASSWORD = "alice-web-pass-1"  # her sign-in; her SIP password never reaches the page


def _config() -> dict[str, Any]:
    return {
        "server": {"realm": "jono", "media": "anchor"},
        "users": {
            "alice": {"extension": "1001", "password": "alicepw", "roles": ["agent"],
                      "devices": [{"kind": "phone"}, {"kind": "browser"}]},
            "bob": {"extension": "1002", "password": "bobpw"},
            "carol": {"extension": "1003", "password": "carolpw"},
        },
        "queues": {"support": {"members": ["alice"], "ring_time": 20,
                               "device_kinds": ["browser"]}},
        "numbers": {"5000": {"destination": "queue:support"}},
    }


def _http(server: Any) -> str:
    return f"http://{server.config['server']['http']}"


def _start(jono: StartJono) -> Any:
    server = jono(_config())
    wait_http(server)
    set_password(server, "alice", WEB_PASSWORD, quick=True)
    return server


def _browser(open_browser: Any, screenshots: Any, tmp_path: Path) -> Any:
    tone = write_tone_48k(tmp_path / "browser-440.wav", BROWSER_TONE)
    context = open_browser(fake_audio=tone, extra_args=WEBRTC_ARGS)
    return screenshots.wrap(context.pages[0] if context.pages else context.new_page())


def test_queue_call_rings_the_browser_which_answers_and_both_hear(
    jono: StartJono, open_browser: Any, screenshots: Any, tmp_path: Path,
) -> None:
    server = _start(jono)
    page = _browser(open_browser, screenshots, tmp_path)
    sign_in(page, _http(server), "alice", WEB_PASSWORD)
    screenshots.take(page.raw, "registered")
    heard_by_caller = tmp_path / "heard_by_caller.wav"
    with PjsuaPhone(tmp_path, "caller") as caller:
        assert caller.register("carol", "carolpw", server.address) == 200
        # alice logs in to her queues with the feature code, from the browser.
        page.fill("[data-testid=phone-number]", "*21")
        page.click("[data-testid=phone-dial]")
        wait_call_state(page, "idle", timeout_s=15)
        caller.play(write_tone(tmp_path / "caller-1000.wav", PHONE_TONE, 8))
        caller.record(heard_by_caller)
        caller.call(server.uri("5000"))
        wait_call_state(page, "ringing", timeout_s=15)
        assert "carol" in page.text_content("[data-testid=phone-caller]") or "1003" in (
            page.text_content("[data-testid=phone-caller]") or "")
        screenshots.take(page.raw, "ringing")
        page.click("[data-testid=phone-answer]")
        wait_call_state(page, "talking")
        assert caller.wait_state("CONFIRMED", timeout=10)["code"] == 200
        caller.wait_rtp(50, timeout=10)
        time.sleep(2.0)
        in_page = heard_in_page(page)
        screenshots.take(page.raw, "talking")
        page.click("[data-testid=phone-hangup]")
        wait_call_state(page, "idle")
        caller.wait_state("DISCONNECTED", timeout=10)
        caller.stop_record()
    assert in_page["packets"] > 50, in_page
    assert abs(in_page["frequency"] - PHONE_TONE) < 15, in_page
    assert abs(dominant_frequency(heard_by_caller) - BROWSER_TONE) < 15


def test_browser_calls_a_pjsua_extension_and_the_far_end_hangs_up(
    jono: StartJono, open_browser: Any, screenshots: Any, tmp_path: Path,
) -> None:
    server = _start(jono)
    page = _browser(open_browser, screenshots, tmp_path)
    sign_in(page, _http(server), "alice", WEB_PASSWORD)
    heard_by_bob = tmp_path / "heard_by_bob.wav"
    with PjsuaPhone(tmp_path, "bob") as bob:
        assert bob.register("bob", "bobpw", server.address) == 200
        bob.play(write_tone(tmp_path / "bob-1000.wav", PHONE_TONE, 8))
        bob.record(heard_by_bob)
        bob.auto_answer(200)
        page.fill("[data-testid=phone-number]", "1002")
        page.click("[data-testid=phone-dial]")
        bob.wait_incoming(timeout=10)
        wait_call_state(page, "talking", timeout_s=10)
        bob.wait_rtp(50, timeout=10)
        time.sleep(2.0)
        in_page = heard_in_page(page)
        # A digit from the keypad reaches the far end as an RFC 4733 event.
        page.click("[data-testid=phone-keypad] button[data-key='5']")
        digit = bob.wait_event("dtmf", timeout=5)
        bob.hangup()
        wait_call_state(page, "idle", timeout_s=10)
        bob.stop_record()
    assert digit["digit"] == "5"
    assert in_page["packets"] > 50, in_page
    assert abs(in_page["frequency"] - PHONE_TONE) < 15, in_page
    assert abs(dominant_frequency(heard_by_bob) - BROWSER_TONE) < 15


def test_closing_the_page_removes_the_browsers_registration(
    jono: StartJono, open_browser: Any, screenshots: Any, tmp_path: Path,
) -> None:
    server = _start(jono)
    page = _browser(open_browser, screenshots, tmp_path)
    sign_in(page, _http(server), "alice", WEB_PASSWORD)
    wait_for(lambda: "registration added" in server.log_text(), what="registration in the log")
    page.raw.context.close()
    wait_for(lambda: "registration removed" in server.log_text(), timeout_s=10,
             what="registration removed after the socket closed")


def test_a_tcp_phone_calls_a_user_whose_desk_phone_and_browser_ring_and_the_browser_wins(
    jono: StartJono, open_browser: Any, screenshots: Any, tmp_path: Path,
) -> None:
    """D7: alice's desk phone (pjsua2, UDP) and her browser ring together for a
    direct call from carol's phone over TCP; the browser answers, the desk phone
    stops ringing, both ends hear each other, carol hangs up."""
    server = _start(jono)
    page = _browser(open_browser, screenshots, tmp_path)
    sign_in(page, _http(server), "alice", WEB_PASSWORD)
    heard_by_carol = tmp_path / "heard_by_carol.wav"
    with PjsuaPhone(tmp_path, "desk") as desk, PjsuaPhone(tmp_path, "carol") as carol:
        assert desk.register("alice", "alicepw", server.address) == 200
        assert carol.register("carol", "carolpw", server.address, transport="tcp") == 200
        carol.play(write_tone(tmp_path / "carol-1000.wav", PHONE_TONE, 8))
        carol.record(heard_by_carol)
        carol.call(server.uri("1001", "tcp"))
        desk.wait_incoming(timeout=10)
        wait_call_state(page, "ringing", timeout_s=10)
        screenshots.take(page.raw, "ringing-with-the-desk-phone")
        page.click("[data-testid=phone-answer]")
        wait_call_state(page, "talking")
        desk.wait_state("DISCONNECTED", timeout=10)  # CANCELled: the browser answered first
        assert carol.wait_state("CONFIRMED", timeout=10)["code"] == 200
        carol.wait_rtp(50, timeout=10)
        time.sleep(2.0)
        in_page = heard_in_page(page)
        carol.hangup()
        wait_call_state(page, "idle", timeout_s=10)
        carol.stop_record()
    assert in_page["packets"] > 50, in_page
    assert abs(in_page["frequency"] - PHONE_TONE) < 15, in_page
    assert abs(dominant_frequency(heard_by_carol) - BROWSER_TONE) < 15
