"""Resolve prompt references of a dial plan to audio (N7).

A prompt reference is, in this order: a named announcement from the dial
plan (its own audio file, or its text spoken by espeak-ng when no recording
exists), an audio file path, or a system prompt name from the prompt library
(``welcome``, ``closed``, ...).  Everything is decoded once, when the dial
plan is loaded, so a call never waits for the disk or for TTS.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import structlog

from acd.config import Announcement, Dialplan
from acd.config.types import Destination
from media.codecs import Pcm
from media.prompt_words import ESPEAK_VOICES
from media.prompts import PromptLibrary, decode_file

log = structlog.stdlib.get_logger("jono.announcements")

def speak(text: str, language: str, cache_dir: Path) -> Path | None:
    """Render ``text`` with espeak-ng into a cached 8 kHz WAV; None without espeak-ng."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return None
    voice = ESPEAK_VOICES.get(language, ESPEAK_VOICES["en"])
    digest = hashlib.sha256(f"{voice}\0{text}".encode()).hexdigest()[:20]
    out = cache_dir / f"tts-{digest}.wav"
    if not out.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp.wav")
        subprocess.run([espeak, "-v", voice, "-w", str(tmp), text], check=True,
                       capture_output=True, timeout=30)
        tmp.replace(out)
    return out


class Announcements:
    def __init__(self, dialplan: Dialplan, library: PromptLibrary, cache_dir: Path) -> None:
        self.library = library
        self.default_language = dialplan.server.language
        self._named: dict[str, Pcm] = {}
        self._files: dict[str, Pcm] = {}
        for name, ann in dialplan.announcements.items():
            pcm = self._load(ann, cache_dir)
            if pcm is not None:
                self._named[name] = pcm
        self.dialplan = dialplan

    def _load(self, ann: Announcement, cache_dir: Path) -> Pcm | None:
        if ann.file:
            try:
                return decode_file(Path(ann.file))
            except Exception:
                log.exception("announcement file unreadable", file=ann.file)
        if ann.text:
            path = speak(ann.text, ann.language or self.default_language, cache_dir)
            if path is not None:
                return decode_file(path)
            log.warning("no espeak-ng to speak an announcement", text=ann.text)
        return None

    def then(self, name: str) -> Destination | None:
        ann = self.dialplan.announcements.get(name)
        return ann.then if ann is not None else None

    def pcm(self, reference: str, language: str) -> Pcm:
        """Audio for a prompt reference (announcement, file or system prompt)."""
        if reference in self._named:
            return self._named[reference]
        if "/" in reference or reference.endswith((".wav", ".mp3", ".ogg")):
            pcm = self._files.get(reference)
            if pcm is None:
                pcm = self._files[reference] = decode_file(Path(reference))
            return pcm
        return self.library.pcm(language, reference)
