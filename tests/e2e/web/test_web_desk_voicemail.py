"""Voicemail on the agent desktop (issue 14, P4), in Debian's Chromium against
the real Jono: dave calls bob, who does not answer; dave leaves a 600 Hz
message; bob's desktop lists it as new, plays it (the Ogg/Opus the page's
player fetches, decoded here: 600 Hz), after which it is saved; bob deletes
it and sets his own PIN for *97."""

from __future__ import annotations

import io
import time
from pathlib import Path

import av
import numpy as np
import pytest
from peers.audio import write_tone
from peers.jono import StartJono
from web_jono import phone, registered, sign_in, start_web, wait_until, web_base, web_config

pytestmark = pytest.mark.e2e

TONE_HZ = 600


def dominant_hz(ogg: bytes) -> float:
    """The strongest frequency in an Ogg/Opus recording (PyAV decodes it)."""
    with av.open(io.BytesIO(ogg)) as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray().reshape(-1) if f.format.is_planar is False
                  else f.to_ndarray()[0] for f in container.decode(stream)]
        rate = stream.rate
    samples = np.concatenate(frames).astype(np.float64)[rate // 2:]  # after the first 0.5 s
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def test_a_message_is_listed_played_and_deleted_on_the_desktop(
    jono: StartJono, tmp_path: Path, page, screenshots  # type: ignore[no-untyped-def]
) -> None:
    config = web_config(tmp_path)
    config["server"]["media"] = "anchor"
    bob = config["users"]["bob"]
    bob.update(voicemail={"pin": "4321"}, forward_no_answer="voicemail:bob", no_answer_timeout=2)
    server = start_web(jono, config)
    with phone(server, tmp_path, "bob") as bob_phone, phone(server, tmp_path, "dave") as dave:
        sign_in(page, server, "bob")
        registered(server, page, "bob")
        assert page.locator("#voicemail-empty").is_visible()

        # dave calls bob, who does not answer: after 2 s of ringing, bob's mailbox.
        dave.play(write_tone(tmp_path / "dave.wav", TONE_HZ, 30))
        dave.call(server.uri("1002"))
        bob_phone.wait_incoming()
        dave.wait_state("CONFIRMED", timeout=8)
        time.sleep(1.0)
        dave.dtmf("#")  # skips the greeting: the tone, then recording
        time.sleep(3.0)
        dave.hangup()  # hanging up keeps what was said
        dave.wait_state("DISCONNECTED")

    item = page.locator("#voicemail li[data-status=new]")

    def listed() -> bool:  # the message is stored once the recording is compressed
        page.reload()
        page.wait_for_selector("body[data-ready=yes]")
        return item.count() == 1

    wait_until(listed, timeout=15, what="the new message on the desktop")
    assert "1004" in item.inner_text() or "dave" in item.inner_text().lower()
    screenshots.take(page.raw, "desk-voicemail")

    audio = item.locator("audio").get_attribute("src")
    assert audio is not None
    played = page.request.get(f"{web_base(server)}{audio}")
    assert played.ok and played.headers["content-type"].startswith("audio/ogg"), played.status
    assert abs(dominant_hz(played.body()) - TONE_HZ) < 20

    page.reload()
    page.wait_for_selector("#voicemail li[data-status=saved]")  # heard: no longer new
    page.locator("#voicemail li button.delete").click()
    page.wait_for_selector("#voicemail-empty:not([hidden])")
    assert page.locator("#voicemail li").count() == 0

    page.fill("#pin", "2468")
    page.click("#pin-set")
    wait_until(lambda: page.locator("#pin-message").inner_text() == "PIN set.",
               what="the PIN set")
