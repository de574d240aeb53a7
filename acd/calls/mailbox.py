"""Users' mailboxes and the call settings they change themselves (P4).

A mailbox holds voice messages (new until heard, then saved until deleted)
and an optional greeting the user recorded. A user's own settings - call
forwarding set with feature codes or on the desktop, a voicemail PIN set on
the web - override what the dial plan says; unset, the plan's hold.

:class:`Mailboxes` is what the application needs; ``acd.store.mailboxes``
keeps it in the database (called from worker threads: the event loop never
waits for the disk) and :class:`MemoryMailboxes` in memory (unit tests).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

NEW = "new"
SAVED = "saved"
FORWARD_KINDS = ("always", "busy", "no_answer")


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceMessage:
    id: str
    mailbox: str
    caller: str  # a user's name or a number (as call records name them)
    caller_name: str | None
    received_at: datetime
    seconds: float
    status: str = NEW
    call_id: str | None = None
    content_type: str = ""
    audio: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallSettings:
    """A user's own forwarding (destinations as ``kind:target`` text) and PIN hash."""

    forward_always: str | None = None
    forward_busy: str | None = None
    forward_no_answer: str | None = None
    voicemail_pin: str | None = None

    def forward(self, kind: str) -> str | None:
        return getattr(self, f"forward_{kind}")  # type: ignore[no-any-return]


def new_message_id() -> str:
    return uuid.uuid4().hex


def hash_pin(pin: str, salt: str | None = None) -> str:
    """A PIN as stored: ``sha256$salt$hex`` (a PIN is short; the hash only keeps
    it out of plain sight in the database and backups)."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.sha256(f"{salt}:{pin}".encode()).hexdigest()
    return f"sha256${salt}${digest}"


def pin_matches(stored: str, pin: str) -> bool:
    parts = stored.split("$")
    if len(parts) != 3 or parts[0] != "sha256":
        return False
    return hmac.compare_digest(hash_pin(pin, parts[1]), stored)


class Mailboxes(Protocol):
    def add_message(self, message: VoiceMessage) -> None: ...

    def messages(self, mailbox: str, *, audio: bool = False) -> list[VoiceMessage]:
        """New ones first (oldest first within each status)."""
        ...

    def message(self, message_id: str) -> VoiceMessage | None: ...

    def set_status(self, message_id: str, status: str) -> None: ...

    def delete(self, message_id: str) -> None: ...

    def counts(self, mailbox: str) -> tuple[int, int]:
        """(new, saved)."""
        ...

    def greeting(self, mailbox: str) -> bytes | None: ...

    def set_greeting(self, mailbox: str, audio: bytes, content_type: str) -> None: ...

    def settings(self, user: str) -> CallSettings: ...

    def update_settings(self, user: str, **changes: str | None) -> CallSettings: ...


def ordered(messages: list[VoiceMessage]) -> list[VoiceMessage]:
    return sorted(messages, key=lambda m: (m.status != NEW, m.received_at))


class MemoryMailboxes:
    """Mailboxes in memory (unit tests); thread-safe like the SQL one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, VoiceMessage] = {}
        self._greetings: dict[str, bytes] = {}
        self._settings: dict[str, CallSettings] = {}

    def add_message(self, message: VoiceMessage) -> None:
        with self._lock:
            self._messages[message.id] = message

    def messages(self, mailbox: str, *, audio: bool = False) -> list[VoiceMessage]:
        with self._lock:
            found = [m for m in self._messages.values() if m.mailbox == mailbox]
        return ordered(found if audio else [replace(m, audio=b"") for m in found])

    def message(self, message_id: str) -> VoiceMessage | None:
        with self._lock:
            return self._messages.get(message_id)

    def set_status(self, message_id: str, status: str) -> None:
        with self._lock:
            found = self._messages.get(message_id)
            if found is not None:
                self._messages[message_id] = replace(found, status=status)

    def delete(self, message_id: str) -> None:
        with self._lock:
            self._messages.pop(message_id, None)

    def counts(self, mailbox: str) -> tuple[int, int]:
        with self._lock:
            statuses = [m.status for m in self._messages.values() if m.mailbox == mailbox]
        return statuses.count(NEW), statuses.count(SAVED)

    def greeting(self, mailbox: str) -> bytes | None:
        with self._lock:
            return self._greetings.get(mailbox)

    def set_greeting(self, mailbox: str, audio: bytes, content_type: str) -> None:
        with self._lock:
            self._greetings[mailbox] = audio

    def settings(self, user: str) -> CallSettings:
        with self._lock:
            return self._settings.get(user, CallSettings())

    def update_settings(self, user: str, **changes: str | None) -> CallSettings:
        with self._lock:
            updated = replace(self._settings.get(user, CallSettings()), **changes)
            self._settings[user] = updated
            return updated


def now_utc() -> datetime:
    return datetime.now(UTC)
