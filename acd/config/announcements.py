"""``announcements:`` - reusable prompts by name: a file, or text for TTS (N7)."""

from __future__ import annotations

from pydantic import Field

from acd.config.base import Model
from acd.config.types import HANGUP, Destination


class Announcement(Model):
    file: str | None = Field(default=None, description="audio file, relative to the config file")
    text: str | None = Field(default=None, description="text-to-speech fallback")
    language: str | None = None
    then: Destination | None = Field(default=HANGUP, description="after playing")
