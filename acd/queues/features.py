"""Agents' feature codes dialled from their phones (D1): log in (*21), log
out (*22), pause (*23), unpause (*24); numbers come from ``feature_codes``.

The call is answered, a short confirmation prompt plays, and Jono hangs up.
A code the agent may not use (not a member of any queue) gets 403.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from acd.bridge import open_answering_leg
from sip.leg_events import Cancelled, Ended, LegEvent
from sip.legs import IncomingCall

if TYPE_CHECKING:
    from acd.access import Caller
    from acd.queues.service import QueueService
    from sip.message import Request
    from sip.transport import Target

log = logging.getLogger("jono.queues")

CONFIRMATION = {"login": "welcome", "unpause": "welcome", "logout": "goodbye", "pause": "goodbye"}


class FeatureCodes:
    def __init__(self, service: QueueService) -> None:
        self.service = service

    def action_for(self, dialled: str) -> str | None:
        codes = getattr(self.service.dialplan, "feature_codes", None)
        if codes is None:
            return None
        for action in ("login", "logout", "pause", "unpause"):
            if dialled == getattr(codes, action, None):
                return action
        return None

    def handle(
        self, request: Request, txn: object, source: Target, caller: Caller, dialled: str
    ) -> bool:
        action = self.action_for(dialled)
        if action is None or caller.kind != "user":
            return False
        service = self.service
        server = service.server
        if not self.perform(caller.name, action):
            server.ua.respond(txn, request, 403, "Not A Queue Member")
            return True
        incoming = IncomingCall(server.ua, request, txn, source)
        service.spawn(self._confirm(incoming, action))
        return True

    def perform(self, agent_id: str, action: str, reason: str = "feature_code") -> bool:
        """Log in/out, pause, unpause ``agent_id``; False when the ACD refused."""
        service = self.service
        engine = service.engine
        if action == "login":
            queues = getattr(service.dialplan, "queues", {})
            if not any(agent_id in q.members for q in queues.values()):
                return False
            service.sync_registration(agent_id)
            return service.run(lambda now: engine.agent_login(agent_id, None, now))
        if action == "logout":
            return service.run(lambda now: engine.agent_logout(agent_id, now))
        if action == "pause":
            return service.run(lambda now: engine.agent_pause(agent_id, reason, now))
        return service.run(lambda now: engine.agent_unpause(agent_id, now))

    async def _confirm(self, incoming: IncomingCall, action: str) -> None:
        server = self.service.server
        opened = await open_answering_leg(server.media, incoming)
        if opened is None:
            return
        leg, answer = opened
        done = asyncio.get_running_loop().create_future()

        def finish(_: object = None) -> None:
            if not done.done():
                done.set_result(None)

        def on_event(event: LegEvent) -> None:
            if isinstance(event, Ended | Cancelled):
                finish()

        incoming.listener = on_event
        if incoming.finalised:
            leg.close()
            return
        incoming.answer(answer)
        language = server.dialplan.server.language
        try:
            pcm = server.prompts.pcm(language, CONFIRMATION[action])
            leg.play([pcm], lambda completed: finish(), interruptible=False)
        except Exception:
            log.exception("feature code prompt failed")
            finish()
        try:
            await asyncio.wait_for(done, 10)
        except TimeoutError:
            pass
        incoming.hangup()
        leg.close()
