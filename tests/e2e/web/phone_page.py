"""Drive Jono's browser phone (the agent desktop's, phone.js + SIP.js) in Debian's Chromium.

Chromium gets a fake microphone playing a tone WAV and, with
``--allow-loopback-in-peer-connection``, ICE host candidates on 127.0.0.1
(Jono's candidate is 127.0.0.1 in the tests: no traffic leaves loopback).
What the page hears is measured in the page: a WebAudio analyser on the
remote stream (the dominant frequency) and getStats' inbound RTP counters.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from peers.browser import ShotPage

WEBRTC_ARGS = ("--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required")


def write_tone_48k(path: Path, frequency: float, seconds: float = 30.0) -> Path:
    """A 48 kHz mono tone WAV for Chromium's fake microphone."""
    import wave

    rate = 48000
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.4 * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def sign_in(page: ShotPage, base_url: str, user: str, password: str) -> None:
    """Sign in to the agent desktop with the web password; the desk's browser
    phone (the plan gives ``user`` a browser device) then registers with a
    short-lived token from the session: no SIP password is typed anywhere."""
    page.goto(f"{base_url}/")
    page.fill("#user", user)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready=yes]", timeout=10_000)
    wait_registered(page)


def wait_registered(page: ShotPage, registered: bool = True, timeout_s: float = 10.0) -> None:
    page.wait_for_selector(
        f"[data-testid=phone-status][data-registered={'true' if registered else 'false'}]",
        timeout=timeout_s * 1000,
    )


def wait_call_state(page: ShotPage, state: str, timeout_s: float = 10.0) -> None:
    page.wait_for_selector(f".phone-panel[data-call={state}]", timeout=timeout_s * 1000)


def heard_in_page(page: ShotPage, listen_ms: int = 1500) -> dict[str, Any]:
    """The dominant frequency of the remote audio (WebAudio analyser) and inbound RTP stats."""
    result: dict[str, Any] = page.evaluate(
        """async (listenMs) => {
            const audio = document.getElementById("remote-audio");
            const ctx = new AudioContext();
            await ctx.resume();
            const source = ctx.createMediaStreamSource(audio.srcObject);
            const analyser = ctx.createAnalyser();
            analyser.fftSize = 16384;
            analyser.smoothingTimeConstant = 0;
            source.connect(analyser);
            await new Promise((r) => setTimeout(r, listenMs));
            const bins = new Float32Array(analyser.frequencyBinCount);
            analyser.getFloatFrequencyData(bins);
            let best = 1;
            for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
            const pc = window.jonoPhone.session.sessionDescriptionHandler.peerConnection;
            let inbound = null;
            (await pc.getStats()).forEach((s) => {
                if (s.type === "inbound-rtp" && s.kind === "audio") inbound = s;
            });
            await ctx.close();
            return {
                frequency: best * ctx.sampleRate / analyser.fftSize,
                level_db: bins[best],
                packets: inbound ? inbound.packetsReceived : 0,
                audio_level: inbound ? (inbound.audioLevel || 0) : 0,
                codec: inbound ? inbound.codecId : null,
            };
        }""",
        listen_ms,
    )
    return result


def wait_for(predicate: Any, timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
