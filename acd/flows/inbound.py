"""New calls from phones and trunks, into the call flows (N1, P4, S4).

The inbound dispatch hands over an identified INVITE: a user's extension
(or the echo code) becomes the flow ``user:NAME`` (``echo``), a dial plan
number runs its destination. Each becomes one :class:`~acd.calls.call.Call`
driven by a :class:`~acd.flows.session.FlowSession` in its own task.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

import structlog

from acd.calls.call import Call
from acd.calls.dialer import Attempt, Dialer, DialResult
from acd.calls.party import Party
from acd.calls.ports import LegFactory, RecordSink
from acd.calls.registry import CallRegistry
from acd.calls.status import Outcome
from acd.config import Dialplan, Number
from acd.config.types import Destination
from acd.flows.runner import FlowRunner
from acd.flows.session import CallerGone, CallerInfo, FlowSession
from acd.flows.transfer import Transfers
from acd.logs import info_enabled
from acd.telephony.inbound import InboundInvite
from acd.telephony.outbound import OutboundRules
from media.api import MediaEngineApi
from media.prompts import PromptLibrary
from sip.errors import SipError

Spawn = Callable[[Coroutine[Any, Any, None]], None]

log = structlog.stdlib.get_logger("jono.calls")


class InboundCalls:
    def __init__(
        self,
        *,
        legs: LegFactory,
        media: MediaEngineApi,
        dialer: Dialer,
        registry: CallRegistry[Call],
        records: RecordSink,
        spawn: Spawn,
        transfers: Transfers | None = None,
    ) -> None:
        self.legs = legs
        self.transfers = transfers
        self.media = media
        self.dialer = dialer
        self.registry = registry
        self.records = records
        self.spawn = spawn
        self.plan: Dialplan | None = None
        self.runner: FlowRunner | None = None
        self.prompts: PromptLibrary | None = None
        self.outbound: OutboundRules | None = None
        # Calls not yet answered by anyone, by (caller, dialled): a call that
        # comes back with the same pair and fewer hops left is a loop.
        self.setups: dict[tuple[str, str], tuple[int, Call]] = {}

    def configure(self, plan: Dialplan, runner: FlowRunner, prompts: PromptLibrary) -> None:
        """The plan new calls start on; calls in progress keep theirs (S3)."""
        self.plan, self.runner, self.prompts = plan, runner, prompts
        self.outbound = OutboundRules(plan, runner.trunks)

    # -- handlers of acd.telephony.inbound ------------------------------------
    def extension(self, invite: InboundInvite) -> None:
        """A user's extension or name (P4), or the echo code."""
        if self._looped(invite):
            return
        plan = self._plan()
        runner = self.runner
        assert runner is not None
        trunk = plan.trunks.get(invite.caller.name) if invite.caller.kind == "trunk" else None
        if trunk is not None and not trunk.may_reach_extensions:
            # Trunk reach: outside callers come in through the plan's numbers
            # (menus, opening hours), not straight to an extension.
            self._refuse(invite, 404, "Not In Service", "not_in_service")
            return
        user = runner.directory.user_for(invite.dialled)
        if user is None:
            self._start(invite, Destination(kind="echo"), None, plan.server.language)
            return
        info = self.caller_info(invite)
        direct = runner.forward(user, "always") is None
        if direct and runner.media_mode(info.source, user) == "passthrough":
            self._direct(invite, info, user, runner)
        else:
            self._start(invite, Destination(kind="user", target=user), None, plan.server.language)

    def number(self, invite: InboundInvite) -> None:
        """A dial plan number: its destination as a call flow (N1)."""
        if self._looped(invite):
            return
        plan = self._plan()
        trunk = plan.trunks.get(invite.caller.name) if invite.caller.kind == "trunk" else None
        number = plan.find_number(invite.dialled, trunk.normalise if trunk else None)
        if number is None and invite.caller.kind == "user":
            self._call_out(invite)
            return
        # N1: an internal-only number is not reachable from a trunk (trunk reach).
        if number is None or (trunk is not None and not trunk.may_reach_number(number)):
            # S4: a number that is not (or no longer) in service gets a clear answer.
            self._refuse(invite, 404, "Not In Service", "not_in_service")
            return
        self._start(invite, number.destination, number, number.language or plan.server.language)

    def _call_out(self, invite: InboundInvite) -> None:
        """A user dials a number out: the plan's rules decide (P2)."""
        assert self.outbound is not None and self.runner is not None
        user = invite.caller.name
        decision = self.outbound.decide(user, invite.dialled)
        if decision is None:
            self._refuse(invite, 404, "Not Found", "not_in_service")
            return
        if not decision.allowed or decision.route is None:
            log.info("call out refused", user=user, number=decision.number,
                     reason=decision.reason)
            self._refuse(invite, decision.status, decision.reason.title(), "refused")
            return
        info = replace(self.caller_info(invite), presented=decision.caller_id)
        call = self._call(invite, info, live=True, callee=decision.number)
        call.external = "outbound"
        prompts, plan = self.prompts, self._plan()
        assert prompts is not None
        session = FlowSession(
            call, caller=info, prompts=prompts, dialer=self.dialer,
            language=plan.server.language,
        )
        log.info("call out", call_id=call.id, user=user, number=decision.number,
                 why=decision.reason, trunk=decision.route.trunk)
        runner = self.runner
        self.spawn(runner.run(session, None, first=runner.call_out(session, decision.route)))

    # -- calls -----------------------------------------------------------------
    def caller_info(self, invite: InboundInvite) -> CallerInfo:
        plan = self._plan()
        caller = invite.caller
        source = f"{caller.kind}:{caller.name}"
        from_ = invite.request.from_
        if caller.kind == "user":
            user = plan.users[caller.name]
            return CallerInfo(
                source, user.extension, user.display_name or from_.display, invite.dialled,
                user=caller.name,
            )
        try:
            number = from_.sip_uri.user or "anonymous"
        except SipError:
            number = "anonymous"
        return CallerInfo(source, number, from_.display, invite.dialled)

    def feature_flow(
        self, invite: InboundInvite, run: Callable[[FlowSession], Awaitable[None]], *,
        callee: str,
    ) -> None:
        """A feature code a user dialled that talks with them (the voicemail
        menu, forwarding on and off): ``run`` drives the call."""
        plan, prompts = self._plan(), self.prompts
        assert prompts is not None
        info = self.caller_info(invite)
        call = self._call(invite, info, live=True, callee=callee, engages=False)
        call.note = "feature_code"
        user = plan.users.get(info.user or "")
        language = user.languages[0] if user is not None and user.languages else (
            plan.server.language
        )
        session = FlowSession(
            call, caller=info, prompts=prompts, dialer=self.dialer, language=language
        )
        self.spawn(self._feature(session, run))

    @staticmethod
    async def _feature(session: FlowSession, run: Callable[[FlowSession], Awaitable[None]]) -> None:
        call = session.call
        structlog.contextvars.bind_contextvars(
            call_id=call.id, caller=call.caller_number, callee=call.callee,
        )
        log.info("call in", source=session.caller.source, kind="feature")
        try:
            await run(session)
        except CallerGone:
            pass
        except Exception:
            log.exception("feature flow failed")
            session.hangup("error", status=500)
        if not session.gone.is_set():
            session.hangup("flow end")

    def refuse(self, invite: InboundInvite, status: int, reason: str, disposition: str) -> None:
        self._refuse(invite, status, reason, disposition)

    def _call(
        self, invite: InboundInvite, info: CallerInfo, *, live: bool, callee: str | None = None,
        engages: bool = True,
    ) -> Call:
        """The caller's call. Its record names the caller and callee one way (S2):
        a user by name, anyone else by E.164 number (the trunk's rules)."""
        leg = self.legs.incoming(invite.request, invite.txn, invite.source)
        plan = self._plan()
        trunk = plan.trunks.get(invite.caller.name) if invite.caller.kind == "trunk" else None
        caller = info.user or (trunk.normalise.normalise(info.number) if trunk else info.number)
        if callee is None:
            user = self.runner.directory.user_for(invite.dialled) if self.runner else None
            callee = user or (trunk.normalise.normalise(invite.dialled) if trunk else invite.dialled)
        call = Call(
            Party("caller", leg, user=info.user),
            incoming=leg,
            media=self.media,
            registry=self.registry if live else None,
            records=self.records,
            source=info.source,
            caller_number=caller,
            caller_name=info.display,
            callee=callee,
            external="inbound" if invite.caller.kind == "trunk" else None,
            engages=engages,
        )
        if live:
            self._remember_setup(invite, call)
            if self.transfers is not None:
                call.on_refer = self.transfers.refer
        return call

    def _looped(self, invite: InboundInvite) -> bool:
        """RFC 3261 §16.3 step 4: our own call, forwarded out, came back in."""
        key = _setup_key(invite)
        earlier = self.setups.get(key)
        if earlier is None:
            return False
        hops, call = earlier
        if call.ended or call.connected_at is not None or invite.request_hops() >= hops:
            return False
        log.warning("call loop: refused", call_id=invite.request.call_id, caller=key[0],
                    dialled=key[1], first=call.id)
        self._refuse(invite, 482, "Loop Detected", "failed")
        return True

    def _remember_setup(self, invite: InboundInvite, call: Call) -> None:
        key = _setup_key(invite)
        self.setups[key] = (invite.request_hops(), call)

        def forget(ended: Call) -> None:
            if self.setups.get(key, (0, None))[1] is ended:
                del self.setups[key]

        call.on_end.append(forget)

    def _refuse(self, invite: InboundInvite, status: int, reason: str, disposition: str) -> None:
        info = self.caller_info(invite)
        log.info(
            "call refused", call_id=invite.request.call_id, source=info.source,
            caller=info.number, callee=invite.dialled, status=status, reason=reason,
        )
        call = self._call(invite, info, live=False)
        call.reject(status, reason, disposition=disposition)

    def _start(
        self, invite: InboundInvite, destination: Destination, number: Number | None, language: str
    ) -> None:
        runner, prompts = self.runner, self.prompts
        assert runner is not None and prompts is not None
        info = self.caller_info(invite)
        call = self._call(invite, info, live=True)
        session = FlowSession(
            call, caller=info, prompts=prompts, dialer=self.dialer, language=language,
            number=number,
        )
        self.spawn(self._run(runner, session, destination, invite.kind))

    @staticmethod
    async def _run(
        runner: FlowRunner, session: FlowSession, destination: Destination, kind: str
    ) -> None:
        # Every line this call's flow logs carries its id, caller and callee.
        call = session.call
        structlog.contextvars.bind_contextvars(
            call_id=call.id, caller=call.caller_number, callee=call.callee,
        )
        log.info("call in", source=session.caller.source, kind=kind)
        await runner.run(session, destination)

    def _direct(
        self, invite: InboundInvite, info: CallerInfo, user: str, runner: FlowRunner
    ) -> None:
        """A user's extension with media passed through, the commonest call:
        dialled straight from here, no task unless the user does not answer."""
        call = self._call(invite, info, live=True)
        dial = runner.user_dial(call, info, None, user, passthrough=True)
        if info_enabled():
            log.info("call in", call_id=call.id, source=info.source, caller=call.caller_number,
                     callee=call.callee, kind="extension", route=f"user:{user}")
        direct = _Direct(self, call, info, user, runner)
        if not dial.targets:
            direct.resume(DialResult(Outcome.UNREACHABLE, 480))
            return
        attempt = self.dialer.dial(dial, direct)
        call.on_end.append(lambda ended: attempt.cancel())

    def _plan(self) -> Dialplan:
        if self.plan is None:
            raise RuntimeError("InboundCalls used before configure()")
        return self.plan


class _Direct:
    """Dial listener of a direct call: connects on answer; anything else
    continues as the ``user:`` destination of the call flows would (P4)."""

    def __init__(
        self, calls: InboundCalls, call: Call, info: CallerInfo, user: str, runner: FlowRunner
    ) -> None:
        self.calls = calls
        self.call = call
        self.info = info
        self.user = user
        self.runner = runner

    def ringing(self, attempt: Attempt, sdp: bytes | None) -> None:
        self.call.ring(sdp)

    def answered(self, attempt: Attempt, party: Party) -> bool:
        if self.call.ended:
            return False
        self.call.agent_to_agent = self.runner.between_agents(self.call, party.user)
        self.call.connect(party)
        return True

    def failed(self, attempt: Attempt, result: DialResult) -> None:
        if not self.call.ended:
            self.resume(result)

    def resume(self, result: DialResult) -> None:
        calls, runner = self.calls, self.runner
        assert calls.prompts is not None and calls.plan is not None
        session = FlowSession(
            self.call, caller=self.info, prompts=calls.prompts, dialer=calls.dialer,
            language=calls.plan.server.language,
        )
        first = runner.unanswered(session, self.user, result.outcome, result.status)
        calls.spawn(runner.run(session, None, first=first))


def _setup_key(invite: InboundInvite) -> tuple[str, str]:
    try:
        caller = invite.request.from_.sip_uri.user or ""
    except SipError:
        caller = ""
    return caller, invite.dialled

