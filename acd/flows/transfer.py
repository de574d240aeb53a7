"""Transfers (O7): where a party's REFER sends the one it talks with.

Theory of operation
-------------------
A phone transfers with REFER (RFC 3515) in the call's dialog; the call
hands it to :meth:`Transfers.refer`. Jono is the transferee's agent here:
it never forwards the REFER, it carries it out itself, and reports the
outcome to the transferor with the NOTIFYs of the implicit subscription.

* **Blind** (a plain Refer-To): the target is what the transferor dialled,
  resolved with the transferor's rights: a user, a queue (by name or by a
  plan number), a plan number's destination, or a number out through the
  trunk only where the plan's outbound rules let that user call it (P2).

  - A user or a number: Jono rings it while the transferee hears ringback
    and the transferor stays on the call. Answered: the transferor leaves
    (NOTIFY 200, then BYE) and the two talk. Not answered: the user's own
    forwarding for busy/no answer takes the caller on (the transfer has
    succeeded); without one the transferor gets the failure (NOTIFY 486,
    480, ...) and the transferee is back with them.
  - Anything else (a queue, a menu, an announcement): Jono takes the
    caller at once (NOTIFY 200); the caller's flow goes on there, with the
    digits collected so far and, in a queue, that queue's priority.

* **Attended** (Refer-To with Replaces, RFC 3891): the transferor called the
  target through Jono first (the consultation). The Replaces names that
  consultation's dialog as Jono sees it (to-tag is Jono's tag); the target
  leaves the consultation and joins the transferee, both of the
  transferor's legs end.

A transfer needs anchored media (Jono bridges the parties); a call whose
media passes through is declined with 488. O6: on a call between two
agents transfers are not offered (403).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from acd.calls.call import Call
from acd.calls.dialer import Attempt, Dial, Dialer, DialResult
from acd.calls.media import play_ringback
from acd.calls.party import Party
from acd.calls.registry import CallRegistry
from acd.calls.status import Outcome, is_busy
from acd.config import Dialplan
from acd.config.types import Destination
from acd.flows.runner import FlowRunner, outbound_dial
from acd.flows.session import CallerInfo, FlowSession
from acd.telephony.outbound import OutboundRules
from media.prompts import PromptLibrary
from sip.leg_events import Refer
from sip.refer import Replaces

log = structlog.stdlib.get_logger("jono.calls")

Spawn = Callable[[Coroutine[Any, Any, None]], None]
FindDialog = Callable[[str, str, str], object | None]


class Progress(Protocol):
    """Where a transfer reports how it goes: the REFER's NOTIFYs
    (:class:`sip.refer.ReferNotifier`) or the agent desktop."""

    def progress(self, status: int, reason: str | None = None) -> None: ...

    def final(
        self, status: int, reason: str | None = None, then: Callable[[], None] | None = None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Target:
    """What a blind transfer resolved to, or why it cannot be done."""

    destination: Destination | None
    status: int = 200
    reason: str = ""


class Transfers:
    def __init__(
        self, *, dialer: Dialer, registry: CallRegistry[Call], find_dialog: FindDialog,
        spawn: Spawn,
    ) -> None:
        self.dialer = dialer
        self.registry = registry
        self.find_dialog = find_dialog
        self.spawn = spawn
        self.plan: Dialplan | None = None
        self.runner: FlowRunner | None = None
        self.prompts: PromptLibrary | None = None
        self.outbound: OutboundRules | None = None

    def configure(self, plan: Dialplan, runner: FlowRunner, prompts: PromptLibrary) -> None:
        self.plan, self.runner, self.prompts = plan, runner, prompts
        self.outbound = OutboundRules(plan, runner.trunks)

    # -- the call's REFER handler (acd.calls.call.ReferHandler) -----------------
    def refer(self, call: Call, party: Party, event: Refer) -> None:
        leg = party.leg
        other = call.partner(party)
        if call.agent_to_agent:
            leg.decline_refer(event, 403, "No Transfer Between Agents")  # O6
            return
        if other is None or other.media is None or party.media is None:
            leg.decline_refer(event, 488, "Transfer Needs Anchored Media")
            return
        replaces = event.refer_to.replaces
        log.info(
            "transfer asked", call_id=call.id, by=party.user or party.role,
            to=event.refer_to.uri, attended=replaces is not None,
        )
        if replaces is not None:
            self._attended(call, party, other, event, replaces)
            return
        target = self.resolve(party.user, event.refer_to.user or "")
        if target.destination is None:
            log.info("transfer refused", call_id=call.id, status=target.status,
                     reason=target.reason)
            leg.decline_refer(event, target.status, target.reason)
            return
        notifier = leg.accept_refer(event)
        self.blind(call, party, other, target.destination, notifier)

    def resolve(self, user: str | None, dialled: str) -> Target:
        """A blind transfer's target, with the transferor's rights."""
        plan, runner = self.plan, self.runner
        if plan is None or runner is None or not dialled:
            return Target(None, 404, "Not Found")
        found = runner.directory.user_for(dialled)
        if found is not None:
            return Target(Destination(kind="user", target=found))
        if dialled in plan.queues:
            return Target(Destination(kind="queue", target=dialled))
        number = plan.find_number(dialled)
        if number is not None:
            return Target(number.destination)
        if user is None or self.outbound is None:
            return Target(None, 404, "Not Found")
        decision = self.outbound.decide(user, dialled)
        if decision is None:
            return Target(None, 404, "Not Found")
        if not decision.allowed:
            return Target(None, decision.status, decision.reason.title())
        return Target(Destination(kind="number", target=decision.number))

    # -- blind ----------------------------------------------------------------
    def blind(
        self, call: Call, transferor: Party, transferee: Party, destination: Destination,
        notifier: Progress,
    ) -> None:
        """Carry out a blind transfer whose target is known (from a REFER or the desktop)."""
        dial = self.dial_for(call, transferee, destination)
        if dial is None:
            self.hand_over(call, transferor, destination, notifier)
            return
        _Ringing(self, call, transferor, transferee, destination, notifier, dial).start()

    def dial_for(self, call: Call, transferee: Party, destination: Destination) -> Dial | None:
        runner, plan = self.runner, self.plan
        assert runner is not None and plan is not None
        info = self.caller_info(call, transferee, str(destination))
        if destination.kind == "user" and destination.target is not None:
            dial = runner.user_dial(call, info, None, destination.target, passthrough=False)
            return dial if dial.targets else None
        if destination.kind == "number" and destination.target is not None:
            route = runner.trunks.outbound(destination.target, plan.outbound.trunk)
            if route is not None:
                return outbound_dial(call, info, route)
        return None

    def hand_over(
        self, call: Call, transferor: Party, destination: Destination,
        notifier: Progress | None,
    ) -> None:
        """The transferor leaves and the caller's flow goes on at ``destination``."""
        self.drop(call, transferor, notifier)
        if call.ended:
            return
        if call.on_handover is not None:
            call.on_handover(str(destination))
            return
        runner, prompts, plan = self.runner, self.prompts, self.plan
        assert runner is not None and prompts is not None and plan is not None
        caller = call.caller
        session = FlowSession(
            call, caller=self.caller_info(call, caller, str(destination)), prompts=prompts,
            dialer=self.dialer, language=plan.server.language,
        )
        self.spawn(runner.run(session, destination))

    def drop(self, call: Call, transferor: Party, notifier: Progress | None) -> None:
        """The transferor leaves: the final NOTIFY says 200, then its leg gets BYE."""
        call.remove(transferor, hang_up=False)
        if transferor.media is not None:
            transferor.media.close()
        if notifier is None:
            transferor.leg.hangup()
        else:
            notifier.final(200, then=transferor.leg.hangup)

    def caller_info(self, call: Call, party: Party, dialled: str) -> CallerInfo:
        """How ``party`` is shown to whoever the transfer rings."""
        plan = self.plan
        user = plan.users.get(party.user) if plan is not None and party.user else None
        if user is not None and party.user is not None:
            return CallerInfo(
                f"user:{party.user}", user.extension, user.display_name, dialled, user=party.user,
            )
        return CallerInfo(call.source, call.caller_number, call.caller_name, dialled)

    # -- attended (Replaces) ------------------------------------------------------
    def _attended(
        self, call: Call, transferor: Party, transferee: Party, event: Refer, replaces: Replaces
    ) -> None:
        # RFC 3891 §3: "the to-tag parameter is compared to the local tag, and
        # the from-tag parameter is compared to the remote tag".
        owner = self.find_dialog(replaces.call_id, replaces.to_tag, replaces.from_tag)
        found = self.registry.find_leg(owner) if owner is not None else None
        notifier = transferor.leg.accept_refer(event)
        if found is None or found[0] is call:
            # "If no match is found, the UAS rejects the INVITE and returns a
            # 481 Call/Transaction Does Not Exist response": the referenced
            # request's outcome, reported to the transferor.
            notifier.final(481)
            return
        consult, leg_party = found
        target = consult.partner(leg_party)
        if target is None or target.media is None or consult.agent_to_agent:
            notifier.final(488 if target is not None and target.media is None else 603)
            return
        consult.release(target)
        self.drop(call, transferor, notifier)
        call.connect(target)
        log.info("attended transfer", call_id=call.id, consultation=consult.id,
                 target=target.user or target.role)
        consult.end("jono", "transferred")


class _Ringing:
    """A blind transfer to a user or a number: ring it while the transferor waits."""

    def __init__(
        self, transfers: Transfers, call: Call, transferor: Party, transferee: Party,
        destination: Destination, notifier: Progress, dial: Dial,
    ) -> None:
        self.transfers = transfers
        self.call = call
        self.transferor = transferor
        self.transferee = transferee
        self.destination = destination
        self.notifier = notifier
        self.dial = dial
        self.attempt: Attempt | None = None

    def start(self) -> None:
        call, transferee = self.call, self.transferee
        if transferee.media is not None:
            call.engine.unbridge(transferee.media)
            play_ringback(transferee.media)
        self.attempt = self.transfers.dialer.dial(self.dial, self)
        call.on_end.append(self._call_ended)
        call.on_party_left.append(self._party_left)

    def _call_ended(self, call: Call) -> None:
        if self.attempt is not None:
            self.attempt.cancel()

    def _party_left(self, call: Call, party: Party) -> None:
        if party is self.transferee and self.attempt is not None:
            self.attempt.cancel()

    def _stop_listening(self) -> None:
        if self._call_ended in self.call.on_end:
            self.call.on_end.remove(self._call_ended)
        if self._party_left in self.call.on_party_left:
            self.call.on_party_left.remove(self._party_left)

    # -- acd.calls.dialer.DialListener -------------------------------------------
    def ringing(self, attempt: Attempt, sdp: bytes | None) -> None:
        self.notifier.progress(180)

    def answered(self, attempt: Attempt, party: Party) -> bool:
        self._stop_listening()
        call = self.call
        if call.ended or self.transferee not in call.parties:
            return False
        self.transfers.drop(call, self.transferor, self.notifier)
        call.connect(party)
        log.info("transfer answered", call_id=call.id, to=str(self.destination))
        return True

    def failed(self, attempt: Attempt, result: DialResult) -> None:
        self._stop_listening()
        call = self.call
        if call.ended:
            return
        forward = self._forwarding(result.outcome)
        if forward is not None:
            log.info("transfer forwarded", call_id=call.id, to=str(forward))
            self.transfers.hand_over(call, self.transferor, forward, self.notifier)
            return
        log.info("transfer failed", call_id=call.id, to=str(self.destination),
                 status=result.status)
        status = result.status if result.status >= 400 and result.status != 487 else 480
        self.notifier.final(status)
        transferor, transferee = self.transferor, self.transferee
        if transferor not in call.parties or transferee not in call.parties:
            return
        if call.holding(transferor):
            call.play_moh(transferee)
        elif transferor.media is not None and transferee.media is not None:
            call.engine.bridge(transferor.media, transferee.media)

    def _forwarding(self, outcome: Outcome) -> Destination | None:
        """P4: a user who does not answer a transfer forwards it as any call."""
        runner, name = self.transfers.runner, self.destination.target or ""
        if self.destination.kind != "user" or runner is None or name not in runner.plan.users:
            return None
        return runner.forward(name, "busy" if is_busy(outcome) else "no_answer")
