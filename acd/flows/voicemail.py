"""Voicemail (P4): callers leave messages; the mailbox owner hears them on ``*97``.

Theory of operation
-------------------
``voicemail:NAME`` is a destination like any other (a user's forwarding on
busy or no answer usually leads there). The caller is answered and hears the
user's own greeting - recorded from the phone - or a spoken default ("the
person at extension 1 0 0 2 is not available, please leave your message
after the tone"); any key skips it. After the tone what the caller says is
recorded until they press #, stop talking for ``silence_seconds``, reach
``max_message_seconds`` or hang up; whatever was said is kept, a message
shorter than one second (or without a word) is dropped. The message is
compressed (Ogg/Opus) and kept in the store; every change of a mailbox's
counts goes to message waiting (``acd.telephony.mwi``).

The owner's side (the ``*97`` menu: PIN, counts, play, next, delete, save,
record greeting) is :mod:`acd.flows.mailbox_menu`; it records and counts
with the helpers here.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import structlog

from acd.calls.mailbox import NEW, Mailboxes, VoiceMessage, new_message_id, now_utc
from acd.config import Dialplan
from acd.flows.runner import Next
from acd.flows.session import CallerGone, FlowSession
from media.audio_files import (
    OGG_OPUS,
    SAMPLE_RATE,
    AudioFileError,
    decode_audio,
    encode_opus,
    read_wavs,
)
from media.codecs import Pcm
from media.prompt_words import number_name
from sip.subscription import MailboxCounts

log = structlog.stdlib.get_logger("jono.voicemail")

MIN_MESSAGE_S = 1.0
FRAME_S = 0.02
POLL_S = 0.25
_serial = itertools.count(1)

Notify = Callable[[str, MailboxCounts], None]


def beep(rate: int = SAMPLE_RATE) -> Pcm:
    """The tone after which the caller speaks: 1 kHz for a third of a second."""
    t = np.arange(int(rate * 0.35)) / rate
    tone = (0.35 * 32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    return np.concatenate([np.zeros(int(rate * 0.1), dtype=np.int16), tone])


def digit_names(number: str) -> list[str]:
    """An extension read digit by digit: ``"1002"`` -> one, zero, zero, two."""
    return ["zero" if d == "0" else number_name(int(d)) for d in number if d.isdigit()]


@dataclass(frozen=True, slots=True)
class Take:
    """What a recording captured: its WAV, the frames to keep, and why it ended."""

    path: Path
    keep_frames: int
    ended: str  # key, silence, max, hangup

    @property
    def seconds(self) -> float:
        return self.keep_frames * FRAME_S


class Voicemail:
    def __init__(self, mailboxes: Mailboxes, notify: Notify, spool: Path) -> None:
        self.mailboxes = mailboxes
        self.notify = notify
        self.spool = spool
        self.plan: Dialplan | None = None

    def configure(self, plan: Dialplan) -> None:
        self.plan = plan

    # -- the voicemail: destination ---------------------------------------------
    async def deposit(self, session: FlowSession, target: str | None) -> Next:
        plan = self.plan
        user = plan.users.get(target or "") if plan is not None else None
        settings = user.voicemail if user is not None else None
        if user is None or settings is None or target is None:
            session.reject(404, "No Such Mailbox")
            return None
        call = session.call
        call.note = "voicemail"
        await session.ready()
        greeting = await self._greeting(target, user.extension, session)
        session.clear_digits()
        await session.play(greeting, interruptible=True)
        session.clear_digits()
        await session.play([beep()])
        take = await self.record(
            session, max_seconds=settings.max_message_seconds,
            silence_seconds=settings.silence_seconds,
        )  # fmt: skip
        message = VoiceMessage(
            id=new_message_id(), mailbox=target, caller=call.caller_number,
            caller_name=call.caller_name, received_at=now_utc(), seconds=take.seconds,
            status=NEW, call_id=call.id, content_type=OGG_OPUS,
        )  # fmt: skip
        kept = await self.keep(take, message)
        log.info("voicemail", mailbox=target, call_id=call.id, kept=kept,
                 seconds=round(take.seconds, 1), ended=take.ended)
        if session.gone.is_set():
            return None
        if kept:
            await session.play(["vm_message_saved"])
        else:
            await session.play(["goodbye"])
        session.hangup("voicemail")
        return None

    async def _greeting(self, mailbox: str, extension: str, session: FlowSession) -> list[Pcm]:
        own = await asyncio.to_thread(self.mailboxes.greeting, mailbox)
        if own:
            try:
                return [decode_audio(own)]
            except AudioFileError:
                log.warning("greeting unreadable: the default plays", mailbox=mailbox)
        names = ["vm_person_at_extension", *digit_names(extension), "vm_not_available",
                 "vm_leave_message"]
        return [session.prompts.concat(session.language, names)]

    # -- recording what the caller says --------------------------------------------
    async def record(
        self, session: FlowSession, *, max_seconds: float, silence_seconds: float
    ) -> Take:
        """Record what the caller sends until # (or any key), silence after
        speech, ``max_seconds`` or the end of the call."""
        self.spool.mkdir(parents=True, exist_ok=True)
        path = self.spool / f"take-{next(_serial)}-{session.call_id[:32]}.wav"
        media = session.media
        recorder = media.record(str(path), "in")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        ended = "hangup"
        try:
            while True:
                try:
                    digit: str | None = await session.until(
                        asyncio.wait_for(session.digits.get(), POLL_S)
                    )
                except TimeoutError:
                    digit = None
                if digit is not None:
                    ended = "key"
                    break
                written = int(getattr(recorder, "frames_written", 0))
                voiced = int(getattr(recorder, "voiced_frames", 0))
                last = int(getattr(recorder, "last_voice_frame", written))
                quiet = (written - last) * FRAME_S
                if quiet >= silence_seconds and (voiced or written * FRAME_S >= 2 * silence_seconds):
                    ended = "silence"
                    break
                if loop.time() >= deadline:
                    ended = "max"
                    break
        except CallerGone:
            ended = "hangup"
        written = int(getattr(recorder, "frames_written", 0))
        voiced = int(getattr(recorder, "voiced_frames", 1))
        last = int(getattr(recorder, "last_voice_frame", written))
        if not media.closed:
            media.stop_recording()  # also done by the call's end: the WAV is complete
        # Silence at the end is not the message; nothing said is no message.
        keep = 0 if not voiced else (last if ended in ("silence", "hangup") else written)
        return Take(path, keep, ended)

    async def keep(self, take: Take, message: VoiceMessage) -> bool:
        """Compress and store a message (not one under a second); tell MWI."""
        try:
            counts = await asyncio.to_thread(self._store, take, message)
        except Exception:
            log.exception("voicemail not kept", mailbox=message.mailbox)
            return False
        if counts is None:
            return False
        self.notify(message.mailbox, counts)
        return True

    def _store(self, take: Take, message: VoiceMessage) -> MailboxCounts | None:
        try:
            if take.seconds < MIN_MESSAGE_S:
                return None
            pcm = read_wavs([take.path])[: take.keep_frames * int(SAMPLE_RATE * FRAME_S)]
            if len(pcm) < MIN_MESSAGE_S * SAMPLE_RATE:
                return None
            audio = encode_opus(pcm)
            self.mailboxes.add_message(replace(message, audio=audio, seconds=len(pcm) / SAMPLE_RATE))
            return counts_of(self.mailboxes, message.mailbox)
        finally:
            take.path.unlink(missing_ok=True)

    async def changed(self, mailbox: str) -> None:
        """Re-read a mailbox's counts (after a delete or save) and tell MWI."""
        counts = await asyncio.to_thread(counts_of, self.mailboxes, mailbox)
        self.notify(mailbox, counts)


def counts_of(mailboxes: Mailboxes, mailbox: str) -> MailboxCounts:
    new, saved = mailboxes.counts(mailbox)
    return MailboxCounts(new=new, old=saved)
