"""Dial plans for the application's unit tests."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def tone_file(path: Path, hz: float = 440.0, seconds: float = 0.2) -> Path:
    t = np.arange(int(8000 * seconds)) / 8000
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm.tobytes())
    return path


def office(
    tmp_path: Path, *, media: str = "anchor", extra: str = "",
    reach: str = "public_numbers_and_extensions",
) -> str:
    """Three users on static contacts, a trunk, a menu, a queue."""
    hello = tone_file(tmp_path / "hello.wav")
    return f"""
server: {{listen: "127.0.0.1:5060", media: {media}}}
users:
  alice:
    extension: "1001"
    password: a
    display_name: Alice
    devices: [{{kind: static, contact: "sip:alice@127.0.0.1:5071"}}]
  bob:
    extension: "1002"
    password: b
    devices: [{{kind: static, contact: "sip:bob@127.0.0.1:5072"}}]
    forward_busy: "user:carol"
    no_answer_timeout: 1
  carol:
    extension: "1003"
    password: c
    devices: [{{kind: static, contact: "sip:carol@127.0.0.1:5073"}}]
trunks:
  provider:
    inbound_sources: ["127.0.0.1"]
    reach: {reach}
    outbound: {{gateway: "127.0.0.1:5070", caller_id: "+35891234567"}}
announcements:
  hello: {{file: "{hello}"}}
menus:
  main:
    prompt: hello
    options: {{"1": "user:bob", "2": "number:0401234567"}}
    timeout: 2
    retries: 0
    final: hangup
numbers:
  "+35891234567": {{destination: "menu:main"}}
  "9000": {{destination: "queue:sales", internal_only: true}}
queues:
  sales:
    members: [bob]
    ring_time: 5
    wrap_up: 2
    callback: {{key: "9", attempts: 2, retry_after: 0, ring_time: 5}}
{extra}"""
