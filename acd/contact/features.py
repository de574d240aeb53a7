"""Agents' feature codes dialled from their phones (D1): log in (*21), log
out (*22), pause (*23), unpause (*24); the numbers come from ``feature_codes``.

The command goes through :class:`~acd.contact.agents.AgentCommands` (the
same rules as the API and the desktop). The call is answered, a short
confirmation plays, and Jono hangs up. A command the ACD refuses (not a
member of any queue) gets 403 with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from acd.calls.call import Call
from acd.calls.party import Party
from acd.calls.ports import LegFactory, RecordSink
from acd.calls.registry import CallRegistry
from acd.config import Dialplan
from acd.contact.agents import AgentCommands
from acd.telephony.inbound import InboundInvite, InviteHandler
from media.api import MediaEngineApi
from media.prompts import PromptLibrary

log = structlog.stdlib.get_logger("jono.acd")

Spawn = Callable[[Coroutine[Any, Any, None]], None]

# Each code's own spoken confirmation (prompts/<lang>/<name>.wav).
CONFIRMATION = {
    "login": "logged_in", "logout": "logged_out", "pause": "paused", "unpause": "unpaused",
}
CONFIRM_TIMEOUT_S = 10.0


class FeatureCodes:
    def __init__(
        self,
        commands: AgentCommands,
        *,
        legs: LegFactory,
        media: MediaEngineApi,
        registry: CallRegistry[Call],
        records: RecordSink,
        spawn: Spawn,
    ) -> None:
        self.commands = commands
        self.legs = legs
        self.media = media
        self.registry = registry
        self.records = records
        self.spawn = spawn
        self.prompts: PromptLibrary | None = None
        self.languages: dict[str, str] = {}
        self.language = "en"
        # Codes other layers carry out (the voicemail menu, forwarding: acd.flows).
        self.others: dict[str, InviteHandler] = {}

    def configure(self, plan: Dialplan, prompts: PromptLibrary) -> None:
        """Prompts in each agent's first language, else the plan's."""
        self.prompts, self.language = prompts, plan.server.language
        self.languages = {
            name: user.languages[0] for name, user in plan.users.items() if user.languages
        }

    def perform(self, agent: str, action: str) -> str | None:
        """Carry out ``action`` for ``agent``; an error text or None."""
        commands = self.commands
        if action == "login":
            return commands.login(agent)
        if action == "logout":
            return commands.logout(agent)
        if action == "pause":
            return commands.pause(agent, "feature_code")
        return commands.ready(agent)

    # -- handler of acd.telephony.inbound ("feature") ---------------------------------
    def handle(self, invite: InboundInvite) -> None:
        other = self.others.get(invite.feature or "")
        if other is not None:
            other(invite)
            return
        agent, action = invite.caller.name, invite.feature or ""
        error = self.perform(agent, action)
        leg = self.legs.incoming(invite.request, invite.txn, invite.source)
        call = Call(
            Party("caller", leg, user=agent), incoming=leg, media=self.media,
            registry=self.registry, records=self.records, source=f"user:{agent}",
            caller_number=agent, callee=invite.dialled, engages=False,
        )
        call.note = "feature_code"
        if error is not None:
            log.info("feature code refused", agent=agent, action=action, error=error)
            call.reject(403, _reason_phrase(agent, error), disposition="rejected")
            return
        log.info("feature code", agent=agent, action=action)
        self.spawn(self._confirm(call, action, self.languages.get(agent, self.language)))

    async def _confirm(self, call: Call, action: str, language: str) -> None:
        if not await call.open_caller_media():
            return
        media = call.caller.media
        assert media is not None and self.prompts is not None
        call.answer()
        if call.late_offer:
            await asyncio.wait_for(asyncio.shield(call.media_negotiated()), CONFIRM_TIMEOUT_S)
        finished = call.wait_end()
        try:
            pcm = self.prompts.pcm(language, CONFIRMATION[action])
            media.play([pcm], lambda completed: call.end("jono", "confirmed"), interruptible=False)
        except Exception:
            log.exception("feature code prompt failed")
            call.end("jono", "error")
        try:
            await asyncio.wait_for(finished, CONFIRM_TIMEOUT_S)
        except TimeoutError:
            call.end("jono", "timeout")


def _reason_phrase(agent: str, error: str) -> str:
    """The refusal as the phone shows it: "bob cannot pause now" -> "Cannot
    Pause Now"; "...: no queues to log in to" -> "No Queues To Log In To"."""
    text = error.rsplit(": ", 1)[-1].removeprefix(f"{agent} ")
    words = "".join(c if c.isascii() and (c.isalnum() or c == " ") else " " for c in text)
    return " ".join(word.capitalize() for word in words.split())[:60] or "Forbidden"
