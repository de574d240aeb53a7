"""The agent desktop with real phones (issue 12; D1, D9, D11, N6, O1-O5): a queue
call offered with the caller's number and the digits collected in the menu,
taken on the agent's pjsua2 phone, wrap-up counting down; click-to-call
ringing the agent first and then the number, both hearing each other;
cancel while connecting; O3 and O4."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from peers.audio import dominant_frequency, write_tone
from peers.jono import StartJono
from peers.pjsua_client import PhoneError, PjsuaPhone
from web_jono import (
    DID,
    OUTSIDE,
    SALES_DID,
    phone,
    registered,
    sign_in,
    start_web,
    wait_until,
    web_config,
)

pytestmark = pytest.mark.e2e


def state_text(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.locator("#state").inner_text())


def wait_state(page, text: str, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    wait_until(lambda: state_text(page) == text, timeout, what=f"desk state {text!r}")


def callout_status(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.locator("#callout-status").get_attribute("data-status"))


def call_out(page, number: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#callout-query", number)
    page.click("#callout-call")


def test_a_queue_call_is_offered_taken_and_wrapped_up_on_the_desktop(
    jono: StartJono, tmp_path: Path, page, screenshots  # type: ignore[no-untyped-def]
) -> None:
    server = start_web(jono, web_config(tmp_path, wrap_up=3))
    with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "dave") as dave:
        sign_in(page, server, "bob")
        registered(server, page, "bob")
        page.click("#ready")
        wait_state(page, "Ready")
        dave.call(server.uri(DID))  # the menu asks for a customer number, then sales
        dave.wait_state("CONFIRMED")
        # pjsua sends telephone-events only while its stream has audio to send.
        dave.play(write_tone(tmp_path / "voice.wav", 200, 4))
        dave.wait_rtp(10)  # the menu's prompt is playing: media flows both ways
        dave.dtmf("4711")
        bob.wait_incoming(timeout=10)  # the phone rings as the desktop shows the offer
        page.wait_for_selector("#offer:not([hidden])")
        assert page.locator("#offer-number").inner_text() == "1004"
        assert page.locator("#offer-queue").inner_text() == "sales"
        assert page.locator('#offer-digits dd[data-variable="customer"]').inner_text() == "4711"
        assert state_text(page) == "Ringing"
        screenshots.take(page.raw, "desk-offer")
        bob.answer()
        page.wait_for_selector("#call:not([hidden])")
        assert page.locator("#call-number").inner_text() == "1004"
        assert page.locator("#call-queue").inner_text() == "sales"
        assert page.locator('#call-digits dd[data-variable="customer"]').inner_text() == "4711"
        wait_until(lambda: page.locator("#call-timer").inner_text() not in ("", "0:00"),
                   what="the call timer running")
        screenshots.take(page.raw, "desk-on-call")
        dave.hangup()
        bob.wait_state("DISCONNECTED")
        page.wait_for_selector("#wrapup:not([hidden])")
        assert state_text(page) == "Wrap-up"
        left = page.locator("#wrapup-left").inner_text()
        assert left in ("0:01", "0:02", "0:03"), left
        screenshots.take(page.raw, "desk-wrap-up")
        wait_state(page, "Ready", timeout=6)  # wrap-up over by itself
        row = page.locator('#recent tr[data-direction="inbound"]').first
        row.wait_for(timeout=5000)
        assert "1004" in row.inner_text() and "sales" in row.inner_text()
        screenshots.take(page.raw, "desk-ready-again")


def test_click_to_call_rings_the_agent_first_then_the_number_and_both_hear(
    jono: StartJono, tmp_path: Path, page, screenshots  # type: ignore[no-untyped-def]
) -> None:
    with PjsuaPhone(tmp_path, "outside") as outside:
        server = start_web(jono, web_config(tmp_path, outside_port=outside.port))
        bob_tone, outside_tone = write_tone(tmp_path / "a440.wav", 440, 6), write_tone(
            tmp_path / "a660.wav", 660, 6)
        heard_by_bob, heard_outside = tmp_path / "bob_heard.wav", tmp_path / "outside_heard.wav"
        with phone(server, tmp_path, "bob") as bob:
            bob.play(bob_tone)
            bob.record(heard_by_bob)
            outside.play(outside_tone)
            outside.record(heard_outside)
            sign_in(page, server, "bob")
            registered(server, page, "bob")
            page.click("#ready")
            wait_state(page, "Ready")
            page.fill("#callout-query", "outside")  # search the contacts (O1)
            page.locator('#callout-results button[data-number="0401234567"]').click()
            assert page.input_value("#callout-callerid") == SALES_DID  # N3: bob's, sales' own
            page.click("#callout-call")
            incoming = bob.wait_incoming(timeout=10)  # the agent's phone first (O2)
            assert OUTSIDE in incoming["from"]
            wait_until(lambda: callout_status(page) == "connecting", what="connecting")
            with pytest.raises(PhoneError):
                outside.wait_incoming(timeout=1.0)  # nothing out until bob answers
            assert state_text(page) == "On call (outbound)"
            screenshots.take(page.raw, "callout-connecting")
            bob.answer()
            far = outside.wait_incoming(timeout=10)
            assert SALES_DID in far["from"]  # the call leaves with the group number (N3)
            wait_until(lambda: callout_status(page) == "ringing", what="ringing")
            outside.answer()
            wait_until(lambda: callout_status(page) == "talking", what="talking")
            page.wait_for_selector("#call:not([hidden])")
            bob.wait_rtp(50)
            outside.wait_rtp(50)
            time.sleep(2.0)
            screenshots.take(page.raw, "callout-talking")
            page.click("#hangup")
            bob.wait_state("DISCONNECTED")
            outside.wait_state("DISCONNECTED")
            bob.stop_record()
            outside.stop_record()
            wait_until(lambda: callout_status(page) == "ended", what="ended")
            assert "ended (answered)" in page.locator("#callout-status").inner_text()
            wait_state(page, "Wrap-up")  # O5: after outbound calls too
            screenshots.take(page.raw, "callout-wrap-up")
    assert abs(dominant_frequency(heard_by_bob) - 660) < 20
    assert abs(dominant_frequency(heard_outside) - 440) < 20


def test_cancel_while_connecting_leaves_nothing_ringing_and_calling_out_ends_a_pause(
    jono: StartJono, tmp_path: Path, page, screenshots  # type: ignore[no-untyped-def]
) -> None:
    with PjsuaPhone(tmp_path, "outside") as outside:
        server = start_web(jono, web_config(tmp_path, outside_port=outside.port))
        with phone(server, tmp_path, "bob") as bob:
            sign_in(page, server, "bob")
            registered(server, page, "bob")
            page.click("#ready")
            wait_state(page, "Ready")
            page.select_option("#pause-reason", "lunch")
            page.click("#pause")
            wait_state(page, "Paused: lunch")
            call_out(page, OUTSIDE)
            wait_state(page, "On call (outbound)")  # O4: the pause ended
            bob.wait_incoming(timeout=10)
            wait_until(lambda: callout_status(page) == "connecting", what="connecting")
            page.click("#callout-cancel")
            assert bob.wait_state("DISCONNECTED", timeout=5)["code"] in (487, 0)
            wait_until(lambda: callout_status(page) == "ended", what="ended")
            assert "ended (cancelled)" in page.locator("#callout-status").inner_text()
            with pytest.raises(PhoneError):
                outside.wait_incoming(timeout=1.0)
            wait_state(page, "Ready")  # bob never talked: no wrap-up
            screenshots.take(page.raw, "callout-cancelled")


def test_a_queue_call_assigned_just_before_goes_first_then_the_call_out(
    jono: StartJono, tmp_path: Path, page, screenshots  # type: ignore[no-untyped-def]
) -> None:
    with PjsuaPhone(tmp_path, "outside") as outside:
        server = start_web(jono, web_config(tmp_path, outside_port=outside.port, wrap_up=10))
        with phone(server, tmp_path, "bob") as bob, phone(server, tmp_path, "dave") as dave:
            sign_in(page, server, "bob")
            registered(server, page, "bob")
            page.click("#ready")
            wait_state(page, "Ready")
            dave.call(server.uri("5000"))
            bob.wait_incoming(timeout=10)
            page.wait_for_selector("#offer:not([hidden])")
            call_out(page, OUTSIDE)  # O3: a queue call was assigned just before
            wait_until(lambda: callout_status(page) == "initiated", what="initiated")
            assert "Outgoing call initiated" in page.locator("#callout-status").inner_text()
            screenshots.take(page.raw, "callout-initiated-queue-call-first")
            bob.answer()  # the queue call
            page.wait_for_selector("#call:not([hidden])")
            assert page.locator("#call-queue").inner_text() == "sales"
            time.sleep(1.0)
            assert callout_status(page) == "initiated"
            dave.hangup()  # the queue call ends: the call-out goes on
            bob.wait_state("DISCONNECTED")
            bob.wait_incoming(timeout=10)  # bob's phone rings for the call-out
            wait_until(lambda: callout_status(page) == "connecting", what="connecting")
            assert state_text(page) == "On call (outbound)"  # the wrap-up was cut short
            bob.answer()
            outside.wait_incoming(timeout=10)
            outside.answer()
            wait_until(lambda: callout_status(page) == "talking", what="talking")
            screenshots.take(page.raw, "callout-after-queue-call")
            page.click("#hangup")
            outside.wait_state("DISCONNECTED")
