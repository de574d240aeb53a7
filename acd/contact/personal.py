"""What the desktop shows and changes of a user's own calls (P4, O7): their
voicemail messages (listed, played, deleted; MWI follows), their forwarding
(always, busy, no answer; with the same rights as the ``*72`` code), and call
recordings for those allowed to hear them (each playback leaves an audit line).

The store is synchronous: every read and write runs off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from acd.calls.mailbox import FORWARD_KINDS, NEW, SAVED, Mailboxes, VoiceMessage, hash_pin
from acd.calls.recording import RecordingStore, StoredRecording
from acd.config.types import Destination
from acd.flows.forwarding import Forwarding
from acd.flows.transfer import Transfers


class PersonalError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def message_view(message: VoiceMessage) -> dict[str, Any]:
    return {
        "id": message.id, "caller": message.caller, "caller_name": message.caller_name,
        "received_at": message.received_at.timestamp(), "seconds": round(message.seconds, 1),
        "status": message.status,
    }


def recording_view(recording: StoredRecording) -> dict[str, Any]:
    return {
        "id": recording.id, "call_id": recording.call_id, "queue": recording.queue_id,
        "started_at": recording.started_at.timestamp(), "seconds": round(recording.seconds, 1),
        "started_by": recording.started_by, "content_type": recording.content_type,
    }


class Personal:
    def __init__(
        self, mailboxes: Mailboxes, changed: Callable[[str], Awaitable[None]],
        forwarding: Forwarding, transfers: Transfers, recordings: RecordingStore,
    ) -> None:
        self.mailboxes = mailboxes
        self.changed = changed  # re-reads the counts and tells MWI
        self.forwarding = forwarding
        self.transfers = transfers
        self.recordings = recordings

    # -- voicemail ------------------------------------------------------------------
    async def messages(self, user: str) -> list[dict[str, Any]]:
        found = await asyncio.to_thread(self.mailboxes.messages, user)
        return [message_view(m) for m in found]

    async def message_audio(self, user: str, message_id: str) -> tuple[str, bytes]:
        """The audio of one of the user's messages; a new one is saved once heard."""
        message = await asyncio.to_thread(self.mailboxes.message, message_id)
        if message is None or message.mailbox != user:
            raise PersonalError("no such message", 404)
        if message.status == NEW:
            await asyncio.to_thread(self.mailboxes.set_status, message_id, SAVED)
            await self.changed(user)
        return message.content_type, message.audio

    async def delete_message(self, user: str, message_id: str) -> None:
        message = await asyncio.to_thread(self.mailboxes.message, message_id)
        if message is None or message.mailbox != user:
            raise PersonalError("no such message", 404)
        await asyncio.to_thread(self.mailboxes.delete, message_id)
        await self.changed(user)

    async def set_pin(self, user: str, pin: str) -> None:
        """The user's own voicemail PIN (4-12 digits), over the plan's; kept hashed."""
        plan = self.transfers.plan
        if plan is None or user not in plan.users or plan.users[user].voicemail is None:
            raise PersonalError("you have no mailbox", 404)
        if not (pin.isdigit() and 4 <= len(pin) <= 12):
            raise PersonalError("a PIN is 4 to 12 digits")
        updated = await asyncio.to_thread(
            self.mailboxes.update_settings, user, voicemail_pin=hash_pin(pin)
        )
        self.forwarding.own[user] = updated  # the *97 menu reads the PIN from here

    # -- forwarding -----------------------------------------------------------------
    def forwarding_view(self, user: str) -> dict[str, str | None]:
        plan = self.transfers.plan
        if plan is None or user not in plan.users:
            raise PersonalError("no such user", 404)
        conf = plan.users[user]
        shown: dict[str, str | None] = {}
        for kind in FORWARD_KINDS:
            where = self.forwarding.destination(user, conf, kind)
            shown[kind] = str(where) if where is not None else None
        return shown

    async def set_forwarding(self, user: str, kind: str, dialled: str | None) -> dict[str, Any]:
        """``dialled`` as after ``*72``: an extension, a number, ``voicemail``; None: off."""
        plan, outbound = self.transfers.plan, self.transfers.outbound
        if plan is None or outbound is None or user not in plan.users:
            raise PersonalError("no such user", 404)
        if kind not in FORWARD_KINDS:
            raise PersonalError(f"kind is one of {', '.join(FORWARD_KINDS)}")
        destination: Destination | None = None
        if dialled:
            text = dialled.strip()
            if text == "voicemail":
                text = plan.feature_codes.voicemail
            destination = self.forwarding.resolve(plan, outbound, user, text)
            if destination is None:
                raise PersonalError(f"you may not forward to {dialled!r}", 403)
        await self.forwarding.set(user, kind, destination)
        return self.forwarding_view(user)

    # -- recordings -------------------------------------------------------------------
    async def recordings_of(self, call_id: str) -> list[StoredRecording]:
        return await asyncio.to_thread(self.recordings.of_call, call_id)

    async def recent_recordings(self, queues: list[str] | None) -> list[StoredRecording]:
        return await asyncio.to_thread(self.recordings.recent, queues)

    async def recording(self, recording_id: int) -> StoredRecording | None:
        return await asyncio.to_thread(self.recordings.get, recording_id)

    async def played(self, recording_id: int, user: str) -> None:
        await asyncio.to_thread(self.recordings.played, recording_id, user, "web")

    async def playbacks(self, recording_id: int) -> list[dict[str, Any]]:
        found = await asyncio.to_thread(self.recordings.playbacks, recording_id)
        return [{"user": user, "at": at.timestamp()} for user, at in found]
