"""IVR menus and digit collection on the real server (issue 5; SPEC N6).

Prompts are short tones, so the caller's recording tells which prompts
played: menu 500 Hz, invalid-input 1700 Hz, timeout 2300 Hz. The caller is
a pjsua2 phone (RFC 4733 telephone-events) or SIPp (SIP INFO
application/dtmf-relay) calling from the trunk; menu choices ring user
``uas``, a SIPp UAS whose received INVITE shows the headers Jono sent.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from peers.audio import write_tone
from peers.dialplan_helpers import cdr_details, dialplan_config, tone_prompt, tones_heard
from peers.jono import JonoServer, StartJono
from peers.pjsua_client import PjsuaPhone
from peers.sipp import run_sipp, sipp_uas
from test_acd_queue_caller import _at_8k, piecewise_match

pytestmark = pytest.mark.e2e

DID = "+35891234567"
MENU_HZ, INVALID_HZ, TIMEOUT_HZ = 500.0, 1700.0, 2300.0
TONES = [MENU_HZ, INVALID_HZ, TIMEOUT_HZ]
SYSTEM_PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


def _menu_config(tmp_path: Path, uas_contact: str, **menu: Any) -> dict[str, Any]:
    prompts = tmp_path / "prompts"
    return dialplan_config(
        uas_contact=uas_contact,
        numbers={DID: {"destination": "menu:main"}},
        announcements={
            "welcome": {"file": tone_prompt(prompts, "welcome", MENU_HZ, 0.6)},
            "invalid": {"file": tone_prompt(prompts, "invalid", INVALID_HZ, 0.6)},
            "no_key": {"file": tone_prompt(prompts, "no_key", TIMEOUT_HZ, 0.6)},
        },
        menus={
            "main": {
                "prompt": "welcome",
                "invalid_prompt": "invalid",
                "timeout_prompt": "no_key",
                "timeout": 1.0,
                "retries": 1,
                **menu,
            }
        },
    )


def _caller_leg_until_hangup(
    server: JonoServer, tmp_path: Path, keys: list[str], heard: Path
) -> list[Any]:
    """pjsua calls the menu, presses ``keys`` (one per prompt), waits for the
    far end to hang up; the phone's events."""
    with PjsuaPhone(tmp_path, "caller") as phone:
        phone.record(heard)
        phone.call(server.uri(DID))
        assert phone.wait_state("CONFIRMED")["code"] == 200, phone.history
        for key in keys:
            time.sleep(0.3)  # into the prompt
            phone.dtmf(key)
            time.sleep(1.0)  # the invalid-input prompt, then the menu again
        phone.wait_state("DISCONNECTED", timeout=10)
        phone.stop_record()
        return list(phone.history)


def test_rfc4733_key_picks_the_menu_option(jono: StartJono, tmp_path: Path) -> None:
    with sipp_uas("uas_bye_callee", workdir=tmp_path / "uas") as uas:
        server = jono(_menu_config(tmp_path, uas.contact, options={"1": "user:uas"}))
        _caller_leg_until_hangup(server, tmp_path, ["1"], tmp_path / "heard.wav")
        callee = uas.wait_calls(1)

    assert len(callee.received(method="INVITE")) == 1, callee.describe()
    assert callee.successful == 1, callee.describe()


def test_sip_info_digit_picks_the_menu_option(jono: StartJono, tmp_path: Path) -> None:
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        server = jono(_menu_config(tmp_path, uas.contact, options={"2": "user:uas"}))
        caller = run_sipp(
            "dp_uac_info_digit", server.address, workdir=tmp_path / "uac", service=DID,
            keys={"caller": "+358401111111", "digit": "2"}, extra=["-d", "500"], timeout_s=8,
        )  # fmt: skip
        callee = uas.wait_calls(1)

    flow = f"--- caller ---\n{caller.describe()}\n--- callee ---\n{callee.describe()}"
    assert caller.ok, flow
    assert len(caller.received(status=200)) >= 2, flow  # INVITE and INFO answered
    invites = callee.received(method="INVITE")
    assert len(invites) == 1 and callee.successful == 1, flow
    # The choice travels with the call (N6 call variables).
    assert invites[0].header("x-jono-menu-main") == "2", flow


def test_no_key_plays_the_timeout_prompt_then_goes_to_the_final_destination(
    jono: StartJono, tmp_path: Path
) -> None:
    heard = tmp_path / "heard.wav"
    with sipp_uas("uas_bye_callee", workdir=tmp_path / "uas") as uas:
        server = jono(
            _menu_config(tmp_path, uas.contact, options={"1": "hangup"}, final="user:uas")
        )
        _caller_leg_until_hangup(server, tmp_path, [], heard)
        callee = uas.wait_calls(1)

    assert len(callee.received(method="INVITE")) == 1, callee.describe()
    assert tones_heard(heard, TONES) == {MENU_HZ, TIMEOUT_HZ}


def test_wrong_key_plays_the_invalid_prompt_then_goes_to_the_final_destination(
    jono: StartJono, tmp_path: Path
) -> None:
    heard = tmp_path / "heard.wav"
    with sipp_uas("uas_bye_callee", workdir=tmp_path / "uas") as uas:
        server = jono(
            _menu_config(
                tmp_path, uas.contact, options={"1": "hangup"}, final="user:uas", retries=1
            )
        )
        # Wrong key twice: invalid prompt after the first, final after the last retry.
        _caller_leg_until_hangup(server, tmp_path, ["9", "9"], heard)
        callee = uas.wait_calls(1)

    assert len(callee.received(method="INVITE")) == 1, callee.describe()
    assert tones_heard(heard, TONES) == {MENU_HZ, INVALID_HZ}


def test_collected_digits_reach_the_agent_and_the_call_record(
    jono: StartJono, tmp_path: Path
) -> None:
    collect = {"variable": "customer", "max_digits": 6, "then": "user:uas"}
    with sipp_uas("uas_bye_callee", workdir=tmp_path / "uas") as uas:
        server = jono(_menu_config(tmp_path, uas.contact, collect=collect))
        with PjsuaPhone(tmp_path, "caller") as phone:
            phone.call(server.uri(DID))
            assert phone.wait_state("CONFIRMED")["code"] == 200, phone.history
            # pjsua sends telephone-events only while its stream has audio to send.
            phone.play(write_tone(tmp_path / "voice.wav", 200, 4))
            phone.wait_rtp(5)
            phone.dtmf("123456#")
            phone.wait_state("DISCONNECTED", timeout=10)
        callee = uas.wait_calls(1)

    invites = callee.received(method="INVITE")
    assert len(invites) == 1, callee.describe()
    assert invites[0].header("x-jono-customer") == "123456", callee.describe()
    assert {"customer": "123456"} in [
        {k: v for k, v in d.items() if k == "customer"} for d in cdr_details(server)
    ]




def test_a_language_menu_switches_the_system_prompts(jono: StartJono, tmp_path: Path) -> None:
    """N7: a caller who picks "svenska" hears the system prompts in Swedish
    from then on (here "no input" after the Swedish menu's timeout)."""
    config = _menu_config(tmp_path, "127.0.0.1:9", options={"2": "menu:svenska"})
    config["menus"]["svenska"] = {
        "prompt": "welcome", "language": "sv", "timeout": 0.5, "retries": 1, "final": "hangup",
    }
    server = jono(config)
    heard = tmp_path / "heard.wav"
    _caller_leg_until_hangup(server, tmp_path, ["2"], heard)

    recording = _at_8k(heard)
    swedish = piecewise_match(recording, _at_8k(SYSTEM_PROMPTS / "sv" / "no_input.wav"))
    english = piecewise_match(recording, _at_8k(SYSTEM_PROMPTS / "en" / "no_input.wav"))
    assert swedish > 0.8 and swedish > english + 0.2, (swedish, english)
