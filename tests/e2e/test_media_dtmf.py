"""Issue 3, media engine: DTMF reaches the server as digits and drives a menu.

The menu prompt is a 600 Hz tone; option 2 is an announcement of a 1500 Hz
tone, then hang-up. Hearing 1500 Hz after 600 Hz, then the server's BYE,
shows the digit arrived: without it the menu would replay its prompt, then
hang up without ever playing 1500 Hz.
- pjsua2 sends RFC 4733 telephone-events on the RTP leg;
- SIPp sends SIP INFO application/dtmf-relay "Signal=2" (no RTP at all).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from peers.audio import read_wav, write_tone
from peers.jono import StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from peers.rtp_probe import (
    RtpCapture,
    anchored,
    decode_stream,
    window_frequencies,
    write_listener_scenario,
)
from peers.sipp import run_sipp

pytestmark = pytest.mark.e2e

MENU_TONE, OPTION_TONE = 600.0, 1500.0
MENU_NUMBER = "7100"


def _menu_config(tmp_path: Path, *, trunk: bool) -> dict[str, Any]:
    config, _ = anchored(base_config(trunk=trunk))
    welcome = write_tone(tmp_path / "welcome.wav", MENU_TONE, 3)
    option = write_tone(tmp_path / "option2.wav", OPTION_TONE, 1.5)
    config["announcements"] = {
        "welcome": {"file": str(welcome)},
        "option2": {"file": str(option), "then": "hangup"},
    }
    config["menus"] = {
        "main": {
            "prompt": "welcome",
            "options": {"1": "user:bob", "2": "announcement:option2"},
            "timeout": 3,
            "retries": 1,
        }
    }
    config["numbers"] = {MENU_NUMBER: {"destination": "menu:main"}}
    return config


def _assert_option_2_played(tones: list[float]) -> None:
    """The menu tone was heard, then the option's tone (windows of 0.2 s)."""
    menu = [i for i, f in enumerate(tones) if abs(f - MENU_TONE) < 30]
    option = [i for i, f in enumerate(tones) if abs(f - OPTION_TONE) < 30]
    assert menu, f"menu prompt never heard: {tones}"
    assert len(option) >= 5, f"option 2 never played: {tones}"  # >= 1 s of it
    assert min(option) > min(menu), tones


def test_rfc4733_digit_from_pjsua_selects_menu_option(jono: StartJono, tmp_path: Path) -> None:
    server = jono(_menu_config(tmp_path, trunk=False))
    heard = tmp_path / "heard.wav"

    with PjsuaPhone(tmp_path, "alice") as alice:
        assert alice.register("alice", "alicepw", server.address) == 200, alice.history
        alice.record(heard)
        alice.call(server.uri(MENU_NUMBER))
        assert alice.wait_state("CONFIRMED")["code"] == 200, alice.history
        alice.wait_rtp(10)  # the menu prompt is playing
        alice.dtmf("2")
        # Option 2: the announcement, "goodbye", then the server hangs up.
        alice.wait_state("DISCONNECTED", timeout=15)
        alice.stop_record()

    samples, _ = read_wav(heard)
    _assert_option_2_played(window_frequencies(samples))


def test_sip_info_digit_from_sipp_selects_menu_option(jono: StartJono, tmp_path: Path) -> None:
    server = jono(_menu_config(tmp_path, trunk=True))

    with RtpCapture() as ear:
        result = run_sipp(
            write_listener_scenario(tmp_path, info_after_ms=500),
            server.address,
            workdir=tmp_path / "sipp",
            service=MENU_NUMBER,
            keys={"rtp_port": str(ear.port), "digit": "2"},
            timeout_s=15,
        )
        records = ear.close()

    # INFO answered 200 (RFC 6086 section 4.2), then the server's BYE after option 2.
    assert result.ok, result.describe()
    assert [t.status for t in result.received() if t.status and t.status >= 200] == [200, 200]
    assert result.received(method="BYE"), result.describe()
    _assert_option_2_played(window_frequencies(decode_stream(records, 0)))
