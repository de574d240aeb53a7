"""The caller's hold audio: music, ringback while an agent rings (Q1, Q4)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from acd.contact.channels.voice import QueuedCaller


class FakeMedia:
    def __init__(self) -> None:
        self.playback: object | None = None
        self.played: list[str] = []

    def play(self, items: Any, *args: Any, cache_key: str | None = None, **kw: Any) -> None:
        self.playback = object()
        self.played.append(cache_key or "pcm")


class FakeSession:
    def __init__(self) -> None:
        self.call_id = "call-1"
        self.gone = asyncio.Event()
        self.media = FakeMedia()

    def start_moh(self, class_name: str) -> None:
        self.media.playback = object()
        self.media.played.append(f"moh:{class_name}")

    def play_ringback(self) -> None:
        self.media.play([], cache_key="ringback")


def queued(ringback: bool) -> tuple[QueuedCaller, FakeSession]:
    session = FakeSession()
    settings = SimpleNamespace(ringback_while_ringing=ringback, moh_class="default")
    call = QueuedCaller(
        SimpleNamespace(), session, "sales", settings, SimpleNamespace()  # type: ignore[arg-type]
    )
    return call, session


async def test_ringback_replaces_music_while_an_agent_rings_and_music_returns() -> None:
    call, session = queued(ringback=True)
    call.resume_hold()
    call.agent_ringing("offer-1", True)
    call.agent_ringing("offer-1", False)
    assert session.media.played == ["moh:default", "ringback", "moh:default"]


async def test_music_keeps_playing_while_ringing_without_the_option() -> None:
    call, session = queued(ringback=False)
    call.resume_hold()
    call.agent_ringing("offer-1", True)
    call.agent_ringing("offer-1", False)
    assert session.media.played == ["moh:default"]


async def test_no_hold_audio_once_the_caller_is_gone() -> None:
    call, session = queued(ringback=True)
    session.gone.set()
    call.resume_hold()
    call.agent_ringing("offer-1", True)
    assert session.media.played == []
