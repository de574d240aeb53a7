"""Call forwarding (P4): always, on busy, on no answer - the plan's, or the user's own.

A user's own forwarding (set with the feature codes or on the desktop) wins
over the dial plan's for the same case; clearing it gives the plan's back.
Targets are destinations as the plan writes them: ``user:NAME``,
``number:+358...`` (through the trunk, only where the plan's outbound rules
let that user call the number) or ``voicemail:NAME``.

Users' own settings are kept in the store and read once at start-up into
memory (the call path never waits for the disk); a change is written
through from a worker thread.
"""

from __future__ import annotations

import asyncio

import structlog

from acd.calls.mailbox import FORWARD_KINDS, CallSettings, Mailboxes
from acd.config import Dialplan, User
from acd.config.types import Destination
from acd.telephony.outbound import OutboundRules

log = structlog.stdlib.get_logger("jono.flows")


class Forwarding:
    def __init__(self, mailboxes: Mailboxes) -> None:
        self.mailboxes = mailboxes
        self.own: dict[str, CallSettings] = {}

    def load(self, users: list[str]) -> None:
        """Read the users' own settings (at start-up, before calls come in)."""
        for user in users:
            try:
                settings = self.mailboxes.settings(user)
            except Exception:
                log.exception("call settings unreadable", user=user)
                continue
            if settings != CallSettings():
                self.own[user] = settings

    def destination(self, name: str, user: User, kind: str) -> Destination | None:
        """Where ``kind`` (always, busy, no_answer) calls for ``name`` go, if anywhere."""
        if kind not in FORWARD_KINDS:
            raise ValueError(f"forwarding kind {kind!r} must be one of {FORWARD_KINDS}")
        own = self.own.get(name)
        text = own.forward(kind) if own is not None else None
        if text:
            try:
                return Destination.parse(text)
            except ValueError:
                log.warning("own forwarding unusable: the plan's applies", user=name, to=text)
        found: Destination | None = getattr(user, f"forward_{kind}")
        return found

    async def set(self, user: str, kind: str, destination: Destination | None) -> None:
        """The user's own forwarding for ``kind``; None clears it."""
        changes: dict[str, str | None] = {
            f"forward_{kind}": str(destination) if destination else None
        }
        updated = await asyncio.to_thread(self.mailboxes.update_settings, user, **changes)
        self.own[user] = updated
        log.info("forwarding set", user=user, kind=kind, to=str(destination or "off"))

    def resolve(
        self, plan: Dialplan, outbound: OutboundRules, user: str, dialled: str
    ) -> Destination | None:
        """What a user keyed in after the forwarding code, with their rights:
        nothing or the voicemail code is their own voicemail, an extension is
        that user, anything else a number they may call out to."""
        if dialled in ("", plan.feature_codes.voicemail):
            return Destination(kind="voicemail", target=user) if plan.users[user].voicemail else None
        for name, other in plan.users.items():
            if dialled in (other.extension, name):
                return Destination(kind="user", target=name) if name != user else None
        decision = outbound.decide(user, dialled)
        if decision is None or not decision.allowed:
            return None
        return Destination(kind="number", target=decision.number)
