"""The README's first hour on the shipped ``config/example.yaml``, unchanged
(issue 11): phones register from 127.0.0.1 with the README's passwords and
are challenged, not taken for the provider; alice (baresip, the README's
account line) calls bob, who sees her name; bob logs in with ``*21`` and
hears its own prompt; carol dials ``9000`` and reaches bob and hears him.

Only the addresses differ from ``make run``: tests run side by side, so the
SIP, HTTP and store locations come from the command line, as
``jono serve --listen ... --http ... --db ...`` takes them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from peers.audio import dominant_frequency, read_wav, write_tone
from peers.baresip import Baresip
from peers.jono import JonoServer, StartJono
from peers.pjsua_client import PjsuaPhone
from peers.rtp_probe import heard_segment, piecewise_correlation

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "config" / "example.yaml"
README = ROOT / "README.md"
PROMPTS = ROOT / "prompts" / "en"
BOB_TONE_HZ = 880


def _example() -> dict[str, Any]:
    plan: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return plan


def _readme_password(user: str) -> str:
    """The password the README gives for ``user`` (and the plan agrees)."""
    found = re.search(
        rf"`{user}` \((?:extension )?\d+,\s+(?:password\s+)?`([^`]+)`\)", README.read_text()
    )
    assert found is not None, f"README: no password for {user}"
    password = found.group(1)
    assert password == _example()["users"][user]["password"], f"README and plan differ on {user}"
    return password


def _readme_baresip_account() -> str:
    found = re.search(r"`(<sip:alice@127\.0\.0\.1:5060>;auth_pass=[^`\s]+)`", README.read_text())
    assert found is not None, "README: no baresip account line for alice"
    return found.group(1)


def _phone(server: JonoServer, tmp_path: Path, user: str) -> PjsuaPhone:
    phone = PjsuaPhone(tmp_path, user)
    code = phone.register(user, _readme_password(user), server.address)
    assert code == 200, f"{user}: REGISTER ended with {code}\n{phone.history}"
    return phone


def _best_prompt(heard: Path) -> tuple[str, float]:
    """Which of the feature-code prompts ``heard`` carries, and how well."""
    samples, rate = read_wav(heard)
    assert rate == 8000
    segment = heard_segment(samples, seconds=1.0, after_s=0.2)
    scores = {
        name: piecewise_correlation(read_wav(PROMPTS / f"{name}.wav")[0], segment)
        for name in ("logged_in", "logged_out", "paused", "unpaused")
    }
    best = max(scores, key=lambda name: scores[name])
    return best, scores[best]


def test_the_readme_walkthrough_on_the_example_plan(jono: StartJono, tmp_path: Path) -> None:
    server = jono(_example(), plan=EXAMPLE)
    log = server.log_text()
    # The shipped plan starts clean, but for the development TLS pair it makes and says so.
    warnings = [line for line in log.splitlines() if "warning" in line.lower()
                and "TLS: made a self-signed certificate" not in line
                and "TLS: using the self-signed development certificate" not in line]
    assert warnings == [], log

    account = _readme_baresip_account().replace("127.0.0.1:5060", server.address)
    with (
        _phone(server, tmp_path, "bob") as bob,
        _phone(server, tmp_path, "carol") as carol,
        Baresip(
            tmp_path / "alice",
            account=account,
            source_wav=write_tone(tmp_path / "alice.wav", 440, 10),
        ) as alice,
    ):
        alice.wait_registered(timeout=5)

        # "Register bob on a second phone and dial 1002 from alice."
        alice.dial("1002")
        incoming = bob.wait_incoming(timeout=8)
        assert '"Alice Supervisor"' in incoming["from"], incoming
        bob.answer(200)
        alice.wait_event("CALL_ESTABLISHED", timeout=5)
        bob.wait_state("CONFIRMED")
        alice.hangup()
        assert bob.wait_state("DISCONNECTED")["code"] == 200, bob.history

        # "On bob's phone dial *21: ... a short spoken message confirms, then
        # Jono hangs up."
        heard = tmp_path / "bob_login.wav"
        bob.call(server.uri("*21"))
        bob.wait_state("CONFIRMED")
        bob.record(heard)
        assert bob.wait_state("DISCONNECTED", timeout=10)["code"] == 200, bob.history
        bob.stop_record()  # the file is complete once the phone has let it go: read below

        # "From carol dial 9000: Bob's phones ring; when he answers, carol
        # hears him at once."
        bob.play(write_tone(tmp_path / "bob.wav", BOB_TONE_HZ, 20))
        carol.call(server.uri("9000"))
        carol.wait_state("CONFIRMED")
        bob.wait_incoming(timeout=20)
        bob.answer(200)
        bob.wait_state("CONFIRMED")
        heard_by_carol = tmp_path / "carol.wav"
        carol.record(heard_by_carol)
        time.sleep(2.0)
        carol.stop_record()
        carol.hangup()
        assert bob.wait_state("DISCONNECTED")["code"] == 200, bob.history
    prompt, score = _best_prompt(heard)
    assert (prompt, score > 0.8) == ("logged_in", True), (prompt, score)
    assert abs(dominant_frequency(heard_by_carol, skip_s=0.3) - BOB_TONE_HZ) < 20
