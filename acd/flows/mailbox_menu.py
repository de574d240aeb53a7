"""The mailbox owner's menu (P4), reached by dialling the voicemail code (``*97``).

    PIN (the plan's ``voicemail.pin``, or one set on the web; none: not asked)
    "You have 1 new message and 2 saved messages."
    1  listen: new messages first, then saved ones; while or after each:
         5 again   6 next   7 delete   9 save   * back
       a new message heard is saved (no longer new) unless deleted
    0  record your greeting (after the tone, # ends)
    *  end

Every change of the counts goes to message waiting at once.
"""

from __future__ import annotations

import asyncio

import structlog

from acd.calls.mailbox import NEW, SAVED, Mailboxes, pin_matches
from acd.config import User
from acd.flows.session import FlowSession
from acd.flows.voicemail import MIN_MESSAGE_S, Voicemail, beep
from media.audio_files import (
    OGG_OPUS,
    SAMPLE_RATE,
    AudioFileError,
    decode_audio,
    encode_opus,
    read_wavs,
)
from media.prompt_words import MAX_NUMBER, number_name

log = structlog.stdlib.get_logger("jono.voicemail")

PIN_TRIES = 3
CHOICE_TIMEOUT_S = 6.0
GREETING_MAX_S = 60.0


class MailboxMenu:
    def __init__(self, voicemail: Voicemail, mailboxes: Mailboxes) -> None:
        self.voicemail = voicemail
        self.mailboxes = mailboxes

    async def run(self, session: FlowSession, name: str, user: User, own_pin: str | None) -> None:
        await session.ready()
        if not await self._pin(session, user, own_pin):
            await session.play(["goodbye"])
            session.hangup("wrong PIN")
            return
        log.info("mailbox opened", mailbox=name)
        for _ in range(20):  # a bounded number of rounds of the main menu
            new, saved = await asyncio.to_thread(self.mailboxes.counts, name)
            await session.play(summary(new, saved))
            choice = await self._choice(session, "vm_main_menu")
            if choice == "1":
                await self._listen(session, name)
            elif choice == "0":
                await self._greeting(session, name)
            elif choice in ("*", "#", None):
                break
            else:
                await session.play(["invalid"])
        await session.play(["goodbye"])
        session.hangup("mailbox")

    async def _pin(self, session: FlowSession, user: User, own_pin: str | None) -> bool:
        settings = user.voicemail
        plan_pin = settings.pin if settings is not None else None
        if own_pin is None and plan_pin is None:
            return True  # the user's own authenticated phone, and no PIN set
        for _ in range(PIN_TRIES):
            session.clear_digits()
            await session.play(["vm_enter_pin"], interruptible=True)
            keyed = await session.collect(max_digits=12, timeout=8.0, terminator="#",
                                          inter_digit=4.0)
            if own_pin is not None and pin_matches(own_pin, keyed):
                return True
            if own_pin is None and keyed == plan_pin:
                return True
            await session.play(["vm_wrong_pin"])
        return False

    async def _choice(self, session: FlowSession, prompt: str) -> str | None:
        """Play ``prompt``; the key pressed during or after it (None: none)."""
        digit = await session.play([prompt], interruptible=True)
        if digit is None:
            digit = await session.collect(max_digits=1, timeout=CHOICE_TIMEOUT_S, terminator=None)
        else:
            await session.collect(max_digits=1, timeout=0.05, terminator=None)  # consume it
        return digit or None

    async def _listen(self, session: FlowSession, name: str) -> None:
        messages = await asyncio.to_thread(self.mailboxes.messages, name)
        if not messages:
            await session.play(["vm_no_messages"])
            return
        index = 0
        while index < len(messages):
            header = messages[index]
            found = await asyncio.to_thread(self.mailboxes.message, header.id)
            if found is None:
                index += 1
                continue
            try:
                pcm = decode_audio(found.audio)
            except AudioFileError:
                log.warning("message unreadable: skipped", mailbox=name, message=header.id)
                index += 1
                continue
            session.clear_digits()
            digit = await session.play([pcm], interruptible=True)
            if digit is not None:
                await session.collect(max_digits=1, timeout=0.05, terminator=None)
            else:
                digit = await self._choice(session, "vm_message_menu")
            if digit == "7":
                await asyncio.to_thread(self.mailboxes.delete, header.id)
                await self.voicemail.changed(name)
                await session.play(["vm_deleted"])
                index += 1
                continue
            if found.status == NEW:
                # Heard: no longer new (a message waits until it is deleted).
                await asyncio.to_thread(self.mailboxes.set_status, header.id, SAVED)
                await self.voicemail.changed(name)
                messages[index] = found
            if digit == "5":
                continue
            if digit == "9":
                await session.play(["vm_saved"])
            elif digit == "*":
                return
            index += 1
        await session.play(["vm_no_more_messages"])

    async def _greeting(self, session: FlowSession, name: str) -> None:
        session.clear_digits()
        await session.play(["vm_record_greeting"], interruptible=True)
        session.clear_digits()
        await session.play([beep()])
        take = await self.voicemail.record(session, max_seconds=GREETING_MAX_S, silence_seconds=5)
        if take.seconds < MIN_MESSAGE_S:
            take.path.unlink(missing_ok=True)
            await session.play(["invalid"])
            return

        def store() -> None:
            try:
                pcm = read_wavs([take.path])[: int(take.seconds * SAMPLE_RATE)]
                self.mailboxes.set_greeting(name, encode_opus(pcm), OGG_OPUS)
            finally:
                take.path.unlink(missing_ok=True)

        await asyncio.to_thread(store)
        log.info("greeting recorded", mailbox=name, seconds=round(take.seconds, 1))
        await session.play(["vm_greeting_saved"])


def summary(new: int, saved: int) -> list[str]:
    """"You have one new message and two saved messages" as prompt names."""
    if not new and not saved:
        return ["vm_no_messages"]
    parts: list[str] = ["vm_you_have"]
    if new:
        parts += [number_name(min(new, MAX_NUMBER)),
                  "vm_new_message" if new == 1 else "vm_new_messages"]
    if new and saved:
        parts.append("vm_and")
    if saved:
        parts += [number_name(min(saved, MAX_NUMBER)),
                  "vm_saved_message" if saved == 1 else "vm_saved_messages"]
    return parts
