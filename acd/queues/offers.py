"""One offer of a queued call to one agent: all the agent's chosen devices
ring at once (D7, forked INVITE), first answer wins, the rest are cancelled.

Several offers of one call may ring at once (D5); the engine decides which
one wins (``offer_answered``) and cancels the others (``CancelRing``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from acd.bridge import SdpProblem, answer_locally
from acd.domain import Ring
from acd.queues.mapping import REGISTERED
from acd.routing import target_of_uri
from media.leg import MediaLeg
from sip.leg_events import Answered, Ended, Failed, Info, LegEvent, ReInvite, Ringing
from sip.legs import OutgoingCall
from sip.transport import Target

if TYPE_CHECKING:
    from acd.queues.caller import QueuedCall
    from acd.queues.service import QueueService

log = logging.getLogger("jono.queues")


def failure_reason(status: int) -> str:
    """A final SIP status of an offer -> the engine's failure reason (D10, D12)."""
    if status in (486, 600, 603):
        return "rejected"
    if status in (408, 487):
        return "no_answer"
    return "unreachable"  # 480, 503, 404, no registration, ...


class AgentOffer:
    def __init__(self, service: QueueService, ring: Ring, call: QueuedCall) -> None:
        self.service = service
        self.ring = ring
        self.call = call
        self.id = ring.offer_id
        self.outgoing: OutgoingCall | None = None
        self.leg: MediaLeg | None = None
        self.cancelled = False
        self.answered = False
        self.bridged = False
        self._device_of: dict[str, str] = {}

    def start(self) -> None:
        self.service.spawn(self._start())

    async def _start(self) -> None:
        targets = self.service.devices.targets(self.ring.agent_id, self.ring.devices)
        if not targets:
            # D7: no registration (or no route) for any device of the offer.
            self.service.offer_failed(self, "unreachable")
            return
        leg = await self.service.server.media.open_leg()
        if self.cancelled or self.call.session.gone.is_set():
            leg.close()
            return
        self.leg = leg
        self._device_of = {uri: device for uri, _, device in targets}
        from_uri, from_display, to_uri, headers = self.call.offer_identity(self.ring.agent_id)
        outgoing = OutgoingCall(
            self.service.server.ua,
            [(uri, target) for uri, target, _ in targets],
            from_uri=from_uri,
            from_display=from_display,
            to_uri=to_uri,
            sdp=leg.make_offer(),
            headers=headers,
        )
        self.outgoing = outgoing
        outgoing.listener = self._on_event
        outgoing.start()

    def cancel(self) -> None:
        """Stop ringing (or hang up an answer that came too late)."""
        if self.cancelled:
            return
        self.cancelled = True
        if self.outgoing is not None:
            self.outgoing.hangup()
        self.call.agent_ringing(self.id, False)
        self._close_leg()

    def _close_leg(self) -> None:
        if self.leg is not None and not self.bridged:
            leg, self.leg = self.leg, None
            leg.close()

    def _on_event(self, event: LegEvent) -> None:
        outgoing = self.outgoing
        assert outgoing is not None
        if isinstance(event, Ringing):
            if not self.cancelled:
                self.call.agent_ringing(self.id, True)
        elif isinstance(event, Answered):
            if self.cancelled or self.leg is None:
                outgoing.hangup()
                return
            try:
                self.leg.apply_answer(event.sdp or b"")
            except SdpProblem as err:
                log.info("agent %s answer unusable: %s", self.ring.agent_id, err)
                outgoing.hangup()
                self.service.offer_failed(self, "unreachable")
                return
            self.answered = True
            self.call.agent_ringing(self.id, False)
            device = self._device_of.get(event.target, self.ring.devices[0])
            self.service.offer_answered(self, device)
        elif isinstance(event, Failed):
            self.call.agent_ringing(self.id, False)
            if not self.cancelled:
                self.service.offer_failed(self, failure_reason(event.status))
            self._close_leg()
        elif isinstance(event, Ended):
            # The agent hung up: the call is over for the caller too.
            session = self.call.session
            session.ended_by = session.ended_by or "agent"
            session.hangup("agent")
        elif isinstance(event, ReInvite) and self.leg is not None:
            answer_locally(outgoing, self.leg, event)
        elif isinstance(event, Info) and self.bridged:
            self.call.session.incoming.send_info(event.body, event.content_type)


class AgentDevices:
    """Where an agent's engine devices (see :mod:`acd.queues.mapping`) ring."""

    def __init__(self, service: QueueService) -> None:
        self.service = service

    def targets(self, agent_id: str, devices: Sequence[str]) -> list[tuple[str, Target, str]]:
        server: Any = self.service.server
        user = server.dialplan.users.get(agent_id)
        if user is None:
            return []
        out: list[tuple[str, Target, str]] = []
        for device in devices:
            if device == REGISTERED:
                for binding in server.location.lookup(agent_id, time.time()):
                    source = binding.source
                    if isinstance(source, Target) and binding.prefers_source():
                        out.append((binding.contact, source, device))
                    else:
                        try:
                            out.append((binding.contact, target_of_uri(binding.contact), device))
                        except Exception:
                            continue
                continue
            kinds = [str(d.kind) for d in user.devices]
            index = int(device.removeprefix("static").removeprefix("mobile"))
            if index >= len(kinds):
                continue
            conf = user.devices[index]
            if conf.kind == "static" and conf.contact:
                out.append((conf.contact, target_of_uri(conf.contact), device))
            elif conf.kind == "mobile" and conf.number and conf.trunk:
                mobile = server.router.via_trunk(conf.number, conf.trunk)
                if mobile is not None:
                    out.append((mobile[0], mobile[1], device))
        return out

    def has_registration(self, agent_id: str, now: float) -> bool:
        return bool(self.service.server.location.lookup(agent_id, now))
