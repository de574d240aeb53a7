"""Helpers for the dial-plan end-to-end tests (issue 5).

- ``dialplan_config``: the harness's base config plus numbers, schedules,
  menus and announcements, with short tone files as prompts so a test can
  tell by ear (FFT) which announcement played;
- ``pin_clock``: ``--schedule-time`` for the next server started in this test
  (the harness starts ``jono serve`` with ``os.environ``; pytest-xdist
  workers are separate processes, so ``monkeypatch.setenv`` is parallel-safe);
- ``reload_config`` / ``reload_broken``: rewrite the file, SIGHUP, and wait
  until the server logged that it took (or refused) the new plan;
- ``cdr_details``: the ``detail`` JSON of every call record in the store.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from .audio import read_wav, write_tone
from .jono import SCHEDULE_TIME_ENV, JonoServer, base_config

RELOADED = "reloaded "
REJECTED = "reload rejected"
UAS_EXTENSION = "2000"


def tone_prompt(directory: Path, name: str, frequency: float, seconds: float = 0.4) -> str:
    """A sine tone WAV to use as a prompt; its absolute path."""
    directory.mkdir(parents=True, exist_ok=True)
    return str(write_tone(directory / f"{name}.wav", frequency, seconds))


def dialplan_config(
    *,
    uas_contact: str | None = None,
    trunk_sources: tuple[str, ...] = ("127.0.0.1",),
    **sections: Any,
) -> dict[str, Any]:
    """``base_config`` with extra top-level sections (numbers=..., menus=..., ...).

    ``uas_contact``: ``host:port`` of a SIPp UAS that is user ``uas``
    (extension 2000, a static device). ``trunk_sources``: addresses treated
    as the provider (calls from them are not challenged; empty = no trunk).
    """
    static = f"sip:{UAS_EXTENSION}@{uas_contact}" if uas_contact else None
    config = base_config(trunk=False, static_uas=static)
    if trunk_sources:
        config["trunks"] = {"provider": {"inbound_sources": list(trunk_sources)}}
    for key, value in sections.items():
        if key == "trunks":
            config.setdefault("trunks", {}).update(value)
        else:
            config[key] = value
    return config


def pin_clock(monkeypatch: pytest.MonkeyPatch, iso: str) -> None:
    """Servers started after this see ``iso`` (with offset) as the time of day
    (the harness starts them with ``jono serve --schedule-time ISO``)."""
    monkeypatch.setenv(SCHEDULE_TIME_ENV, iso)


def _signal_and_wait(server: JonoServer, marker: str, timeout_s: float) -> None:
    before = server.log_text().count(marker)
    assert server.proc is not None
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.log_text().count(marker) > before:
            return
        time.sleep(0.05)
    raise AssertionError(
        f"no {marker!r} in the log {timeout_s} s after SIGHUP:\n{server.log_text()[-3000:]}"
    )


def reload_config(server: JonoServer, config: dict[str, Any], timeout_s: float = 10.0) -> None:
    """Write ``config`` over the server's file, SIGHUP it, wait for "reloaded"."""
    config = dict(config)
    config["server"] = {**config.get("server", {}), "listen": server.address}
    server.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    _signal_and_wait(server, RELOADED, timeout_s)


def reload_broken(server: JonoServer, text: str, timeout_s: float = 10.0) -> str:
    """Write a broken file, SIGHUP, wait for the rejection; the log lines it caused."""
    start = len(server.log_text())
    server.config_path.write_text(text)
    _signal_and_wait(server, REJECTED, timeout_s)
    return server.log_text()[start:]


def cdr_details(server: JonoServer, timeout_s: float = 5.0, *, want: int = 1) -> list[dict[str, Any]]:
    """``detail`` JSON of the call records that have one (waits for ``want`` of them)."""
    deadline = time.monotonic() + timeout_s
    details: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        if server.db_path.exists():
            with sqlite3.connect(server.db_path) as db:
                try:
                    rows = db.execute("SELECT detail FROM cdrs WHERE detail IS NOT NULL").fetchall()
                except sqlite3.OperationalError:
                    rows = []  # table not created yet
            details = [json.loads(row[0]) for row in rows]
            if len(details) >= want:
                return details
        time.sleep(0.1)
    return details


def tones_heard(path: Path, frequencies: list[float], *, share: float = 0.05) -> set[float]:
    """The tones of ``frequencies`` present in a recording.

    A tone counts when the spectrum within 15 Hz of it holds at least
    ``share`` of the energy of all candidate tones together, whatever the
    order or length of the prompts.
    """
    samples, rate = read_wav(path)
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    energy = {f: float(spectrum[np.abs(freqs - f) <= 15].sum()) for f in frequencies}
    total = sum(energy.values()) or 1.0
    return {f for f, e in energy.items() if e / total >= share}


def digest_matches(credentials: str, method: str, username: str, password: str) -> bool:
    """Whether an MD5 ``Authorization``/``Proxy-Authorization`` value is right
    for ``username``/``password`` (RFC 2617 section 3.2.2.1, with or without qop)."""
    pairs = re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', credentials)
    params = {key: quoted or bare for key, quoted, bare in pairs}
    if params.get("username") != username:
        return False

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = md5(f"{username}:{params.get('realm', '')}:{password}")
    ha2 = md5(f"{method}:{params.get('uri', '')}")
    if "qop" in params:
        tail = f"{params['nonce']}:{params['nc']}:{params['cnonce']}:{params['qop']}:{ha2}"
    else:
        tail = f"{params.get('nonce', '')}:{ha2}"
    return params.get("response") == md5(f"{ha1}:{tail}")


def wait_for_sipp_message(workdir: Path, name: str, start_line: str, timeout_s: float = 5.0) -> None:
    """Wait until SIPp run ``name`` in ``workdir`` logged a message starting with
    ``start_line`` (e.g. ``"ACK "``: the call is up)."""
    path = workdir / f"{name}_messages.log"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        if any(line.startswith(start_line) for line in text.splitlines()):
            return
        time.sleep(0.05)
    raise AssertionError(f"SIPp {name}: no {start_line!r} within {timeout_s} s in {path}")
