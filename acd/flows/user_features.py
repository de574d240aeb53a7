"""Feature codes users dial for themselves (P4): ``*97`` their mailbox, ``*72``
forward every call (``*72`` + an extension or a number; alone, or with the
voicemail code: to their voicemail), ``*73`` stop forwarding. The codes come
from ``feature_codes``; a forwarding target the user may not call is refused
with 403, a user without a mailbox dialling ``*97`` gets 404."""

from __future__ import annotations

import structlog

from acd.config.types import Destination
from acd.flows.forwarding import Forwarding
from acd.flows.inbound import InboundCalls
from acd.flows.mailbox_menu import MailboxMenu
from acd.flows.session import FlowSession
from acd.telephony.inbound import InboundInvite

log = structlog.stdlib.get_logger("jono.flows")

USER_FEATURES = ("voicemail", "forward_on", "forward_off")


class UserFeatures:
    def __init__(self, inbound: InboundCalls, menu: MailboxMenu, forwarding: Forwarding) -> None:
        self.inbound = inbound
        self.menu = menu
        self.forwarding = forwarding

    def handle(self, invite: InboundInvite) -> None:
        plan = self.inbound.plan
        assert plan is not None and self.inbound.outbound is not None
        name, feature = invite.caller.name, invite.feature
        user = plan.users[name]
        if feature == "voicemail":
            if user.voicemail is None:
                self.inbound.refuse(invite, 404, "No Mailbox", "rejected")
                return
            own = self.forwarding.own.get(name)
            pin = own.voicemail_pin if own is not None else None

            async def mailbox(session: FlowSession) -> None:
                await self.menu.run(session, name, user, pin)

            self.inbound.feature_flow(invite, mailbox, callee="voicemail")
            return
        destination: Destination | None = None
        if feature == "forward_on":
            keyed = invite.dialled[len(plan.feature_codes.forward_on):]
            destination = self.forwarding.resolve(plan, self.inbound.outbound, name, keyed)
            if destination is None:
                log.info("forwarding refused", user=name, to=keyed)
                self.inbound.refuse(invite, 403, "Forwarding Not Allowed", "refused")
                return

        async def forward(session: FlowSession) -> None:
            await session.ready()
            await self.forwarding.set(name, "always", destination)
            await session.play(["forwarding_on" if destination else "forwarding_off"])
            session.hangup("feature code")

        self.inbound.feature_flow(invite, forward, callee=invite.dialled)
