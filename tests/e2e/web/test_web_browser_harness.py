"""The browser harness itself: a missing browser fails with how to install it; flags are right."""

from __future__ import annotations

from pathlib import Path

import pytest
from peers import browser


def test_missing_chromium_fails_with_the_install_command(monkeypatch):
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        browser.require_chromium()


def test_chromium_stays_off_the_network_and_fake_media_is_opt_in(tmp_path: Path):
    for flag in ("--disable-background-networking", "--disable-component-update", "--no-sandbox"):
        assert flag in browser.CHROMIUM_ARGS
    assert not any("fake" in a for a in browser.CHROMIUM_ARGS)
    wav = tmp_path / "tone.wav"
    wav.write_bytes(b"RIFF")
    args = browser.fake_media_args(wav)
    assert args[-1] == f"--use-file-for-fake-audio-capture={wav}"
    with pytest.raises(FileNotFoundError):
        browser.fake_media_args(tmp_path / "missing.wav")


def test_fake_microphone_is_live_in_the_page(open_browser, screenshots):
    """What issue 15 builds on: getUserMedia answers at once with a live audio track."""
    from signin_site import serve

    site = serve()
    try:
        context = open_browser(fake_media=True)
        page = screenshots.wrap(context.new_page())
        page.goto(f"{site.base_url}/healthz")  # a secure context (loopback), any page
        state = page.evaluate(
            """async () => {
                const s = await navigator.mediaDevices.getUserMedia({audio: true});
                const t = s.getAudioTracks()[0];
                const r = [t.kind, t.readyState];
                t.stop();
                return r;
            }"""
        )
        assert state == ["audio", "live"]
    finally:
        site.stop()
