"""Call-out from the agent desktop (O1-O5): ring the agent, then the destination.

Theory of operation
-------------------
One :class:`CallOut` per agent at a time, through
:class:`~acd.calls.originate.Originated` (the agent's devices ring first;
when the agent answers they hear ringback while Jono dials the destination).
Its status, published on the event hub as ``callout`` events, moves::

    initiated -> connecting -> ringing -> talking -> ended(outcome)

``initiated`` is O3: the ACD had just given the agent a queue call (their
phone rings for it, or they are on it). That call goes first; the call-out
waits and starts once the agent is done with queue work (the queue call's
wrap-up is cut short). Otherwise it starts at once.

The call-out is the agent's work from the click on: it is engaged in the
engine under its own id (``callout-N``), so no queue call is offered while
the agent's phone rings for it. Calling out while paused ends the pause
(O4), and in wrap-up ends the wrap-up; when the call-out ends, an agent who
answered their phone gets wrap-up as after a queue call (O5, answered by
the destination or not): the longest wrap-up of the queues they are logged
in to. Calls to another user (O6) are internal: no wrap-up.

Calls out through the trunk follow the plan's rules for users' calls out
(acd.telephony.outbound: class of service, blocked and emergency numbers),
as from the agent's phone. Caller ID (N3): the agent's own ``caller_id``
from the plan, else the trunk's, as from the phone; the agent may pick
instead a group number they may present (``allow_member_presentation`` on
a number whose destination is a queue they are a member of).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from dataclasses import dataclass

import structlog

from acd.calls.call import Call
from acd.calls.dialer import Dial, Dialer
from acd.calls.originate import Originated, OriginateRequest
from acd.calls.ports import RecordSink
from acd.calls.registry import CallRegistry
from acd.calls.status import Outcome
from acd.config import Dialplan
from acd.contact.agents import AgentCommands
from acd.contact.centre import ContactCentre
from acd.domain import AcdError, AgentSnapshot, AgentState
from acd.telephony.outbound import Decision, OutboundRules
from acd.telephony.trunks import TrunkRoutes
from media.engine import MediaEngine

log = structlog.stdlib.get_logger("jono.acd")

HOST = "jono"
AGENT_RING_S = 30.0
DESTINATION_RING_S = 60.0
_NUMBER = re.compile(r"^\+?[0-9]{2,20}$")
_ids = itertools.count(1)


class CallOutError(Exception):
    """Why a call-out cannot start; ``status`` is the HTTP answer that fits."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Where a call-out goes: a user of the plan (internal) or a number out."""

    number: str  # as dialled: an extension or a phone number
    label: str  # what the desktop shows: a name, or the number
    user: str | None = None  # internal: the user called


class CallOut:
    def __init__(self, agent: str, target: Target, caller_id: str | None, at: float) -> None:
        self.id = f"callout-{next(_ids)}"
        self.agent = agent
        self.target = target
        self.caller_id = caller_id
        self.status = "initiated"
        self.outcome: str | None = None
        self.since = at
        self.originated: Originated | None = None
        self.agent_answered = False
        self.engaged = False
        self.wrap_up = 0.0  # O5: seconds of wrap-up given when it ended

    @property
    def ended(self) -> bool:
        return self.status == "ended"

    def view(self) -> dict[str, object]:
        return {
            "id": self.id, "status": self.status, "outcome": self.outcome,
            "number": self.target.number, "label": self.target.label,
            "internal": self.target.user is not None, "caller_id": self.caller_id,
            "since": self.since, "wrap_up": self.wrap_up,
        }


class Callouts:
    def __init__(
        self,
        centre: ContactCentre,
        commands: AgentCommands,
        *,
        dialer: Dialer,
        media: MediaEngine,
        registry: CallRegistry[Call],
        records: RecordSink | None,
    ) -> None:
        self.centre = centre
        self.commands = commands
        self.dialer = dialer
        self.media = media
        self.registry = registry
        self.records = records
        self._by_agent: dict[str, CallOut] = {}  # the current (or last) call-out
        centre.hub.add_listener(self._on_event)

    # -- what the desktop asks ---------------------------------------------------------
    def current(self, agent: str) -> CallOut | None:
        return self._by_agent.get(agent)

    def start(
        self, agent: str, dialled: str, caller_id: str | None = None, *, label: str | None = None
    ) -> CallOut:
        """Start a call-out (or, O3, queue it behind the queue call); raises CallOutError.
        ``label``: the name the desktop picked the number by (shown, never dialled)."""
        plan = self._plan()
        if agent not in plan.users:
            raise CallOutError(f"no user {agent!r}", 404)
        busy = self._by_agent.get(agent)
        if busy is not None and not busy.ended:
            raise CallOutError("a call-out is already in progress: cancel it first", 409)
        target = self.resolve(dialled)
        if label and target.user is None:
            # Shown on the agent's phone too (From display name): no quotes, no controls.
            clean = re.sub(r'[\x00-\x1f\x7f"\\<>]', "", label).strip()[:60]
            target = Target(number=target.number, label=clean or target.number)
        if target.user == agent:
            raise CallOutError("that is your own number", 400)
        shown = self._caller_id(agent, target, caller_id)
        if target.user is None:
            self._decide(agent, target)  # refused here, before anything rings
        if self.centre.directory is None or not self.centre.directory.targets(agent):
            raise CallOutError("no phone to ring for you: register a phone or softphone", 409)
        snap = self._snapshot(agent)
        if snap is not None and _other_call(snap, self.registry.of_user(agent)):
            raise CallOutError("you are on a call", 409)
        callout = CallOut(agent, target, shown, self.centre.now())
        self._by_agent[agent] = callout
        log.info("call-out", agent=agent, number=target.number, internal=target.user is not None)
        if snap is not None and _queue_work(snap):
            self._publish(callout)  # O3: "outgoing call initiated"; the queue call first
        else:
            self._launch(callout)
        return callout

    def cancel(self, agent: str) -> bool:
        """Cancel while initiated or connecting; hang up once talking. False: none active."""
        callout = self._by_agent.get(agent)
        if callout is None or callout.ended:
            return False
        if callout.originated is None:
            self._finish(callout, Outcome.CANCELLED)
        else:
            callout.originated.cancel()
        return True

    def resolve(self, dialled: str) -> Target:
        """A user's name or extension (internal), else a phone number out."""
        plan = self._plan()
        text = re.sub(r"[\s().-]", "", dialled or "")
        for name, user in plan.users.items():
            if text in (name, user.extension):
                return Target(number=user.extension, label=user.display_name or name, user=name)
        if not _NUMBER.fullmatch(text):
            raise CallOutError(f"{dialled!r} is not a user, an extension or a phone number")
        return Target(number=text, label=text)

    def caller_ids(self, agent: str) -> list[str]:
        """N3: the numbers ``agent`` may show: their own ``caller_id`` first, then
        the group numbers of their queues that allow member presentation."""
        plan = self._plan()
        own = plan.users[agent].caller_id if agent in plan.users else None
        groups = [
            key for key, number in plan.numbers.items()
            if number.allow_member_presentation and number.destination.kind == "queue"
            and number.destination.target in plan.queues
            and agent in plan.queues[number.destination.target].members
        ]
        return [own, *(g for g in groups if g != own)] if own else groups

    def default_caller_id(self, agent: str) -> str | None:
        """What a call out shows unless the agent picks: as from their phone."""
        plan = self._plan()
        return plan.users[agent].caller_id if agent in plan.users else None

    # -- steps ------------------------------------------------------------------------
    def _launch(self, callout: CallOut) -> None:
        if callout.ended or callout.engaged:
            return
        agent = callout.agent
        kind = "internal" if callout.target.user is not None else "outbound"
        callout.engaged = True  # first: the engine's events below come back through _on_event
        self.centre.engaged(agent, callout.id, kind)
        snap = self._snapshot(agent)
        if snap is not None and snap.state in (AgentState.PAUSED, AgentState.WRAP_UP):
            self.commands.ready(agent)  # O4 (and the end of a wrap-up): busy with this now
        try:
            request = self._request(callout)
        except CallOutError as err:
            log.info("call-out failed", agent=agent, error=str(err))
            self._finish(callout, Outcome.UNREACHABLE)
            return
        callout.originated = Originated(
            request, dialer=self.dialer, media=self.media, registry=self.registry,
            records=self.records,
            on_status=lambda status, outcome: self._status(callout, status, outcome),
        )
        callout.originated.start()

    def _request(self, callout: CallOut) -> OriginateRequest:
        plan = self._plan()
        directory = self.centre.directory
        assert directory is not None
        agent = plan.users[callout.agent]
        target = callout.target
        first = Dial(
            targets=tuple(directory.targets(callout.agent)),
            from_uri=f"sip:{target.number}@{HOST}", from_display=f"Call-out: {target.label}",
            to_uri=f"sip:{agent.extension}@{HOST}", ring_timeout=AGENT_RING_S,
        )
        if target.user is not None:
            callee = plan.users[target.user]
            then = Dial(
                targets=tuple(directory.targets(target.user)),
                from_uri=f"sip:{agent.extension}@{HOST}",
                from_display=agent.display_name, to_uri=f"sip:{callee.extension}@{HOST}",
                ring_timeout=float(callee.no_answer_timeout), user=target.user,
            )
            if not then.targets:
                raise CallOutError(f"{target.label} has no reachable phone")
            external = None
        else:
            decision = self._decide(callout.agent, target)
            route = decision.route
            assert route is not None
            then = Dial(
                targets=(route.dial_target(),),
                from_uri=route.from_uri(agent.extension, presented=callout.caller_id),
                to_uri=route.uri, credentials=route.credentials, ring_timeout=DESTINATION_RING_S,
            )
            external = "outbound"
        return OriginateRequest(
            user=callout.agent, user_number=agent.extension, first=first, then=then,
            external=external,
        )

    def _status(self, callout: CallOut, status: str, outcome: Outcome | None) -> None:
        if callout.ended:
            return
        if status == "ringing":
            callout.agent_answered = True
        if status == "ended":
            # After the call itself has ended (Originated reports some outcomes
            # first): the engine then sees this work end last (O5 wrap-up).
            asyncio.get_running_loop().call_soon(
                self._finish, callout, outcome or Outcome.NO_ANSWER
            )
            return
        callout.status = status
        callout.since = self.centre.now()
        self._publish(callout)

    def _finish(self, callout: CallOut, outcome: Outcome) -> None:
        if callout.ended:
            return
        callout.status = "ended"
        callout.outcome = outcome.value
        callout.since = self.centre.now()
        log.info("call-out ended", agent=callout.agent, outcome=outcome.value)
        if callout.engaged:
            callout.wrap_up = self._wrap_up(callout) if callout.agent_answered else 0.0
            self.centre.released(callout.agent, callout.id, callout.wrap_up)
        self._publish(callout)

    def _wrap_up(self, callout: CallOut) -> float:
        """O5: the longest wrap-up of the agent's queues; none after an internal call."""
        plan = self.centre.plan
        snap = self._snapshot(callout.agent)
        if callout.target.user is not None or plan is None or snap is None:
            return 0.0
        return float(max((plan.queues[q].wrap_up for q in snap.queues if q in plan.queues),
                         default=0))

    def _on_event(self, event: dict[str, object]) -> None:
        """O3: a call-out waiting for a queue call starts once that call is over."""
        if event.get("type") != "agent_state":
            return
        callout = self._by_agent.get(str(event.get("agent")))
        if callout is None or callout.originated is not None or callout.engaged or callout.ended:
            return
        snap = self._snapshot(callout.agent)
        if snap is not None and not _queue_work(snap):
            asyncio.get_running_loop().call_soon(self._launch, callout)

    # -- helpers ------------------------------------------------------------------------
    def _caller_id(self, agent: str, target: Target, wanted: str | None) -> str | None:
        if target.user is not None:
            return None
        if wanted:
            if wanted not in self.caller_ids(agent):
                raise CallOutError(f"you may not present {wanted!r} as your number", 403)
            return wanted
        return self.default_caller_id(agent)

    def _decide(self, agent: str, target: Target) -> Decision:
        """The plan's rules for this user's call out (class of service, P2)."""
        plan = self._plan()
        decision = OutboundRules(plan, TrunkRoutes(plan)).decide(agent, target.number)
        if decision is None:
            raise CallOutError(f"{target.number!r} is not a phone number")
        if not decision.allowed or decision.route is None:
            raise CallOutError(f"{decision.reason}: {decision.number}", decision.status)
        return decision

    def _publish(self, callout: CallOut) -> None:
        self.centre.hub.publish(
            {"type": "callout", "agent": callout.agent, "at": self.centre.now(), **callout.view()}
        )

    def _snapshot(self, agent: str) -> AgentSnapshot | None:
        try:
            return self.centre.engine.agent_snapshot(agent)
        except AcdError:
            return None

    def _plan(self) -> Dialplan:
        plan = self.centre.plan
        if plan is None:
            raise CallOutError("no dial plan loaded", 503)
        return plan


def _queue_work(snap: AgentSnapshot) -> bool:
    """Is the ACD giving the agent a queue call (ringing, or talking)?"""
    return snap.state is AgentState.RESERVED or (
        snap.state is AgentState.ON_CALL and snap.call_id is not None
    )


def _other_call(snap: AgentSnapshot, calls: list[Call]) -> bool:
    """On a call that is not queue work (a direct or internal call)."""
    return bool(calls) and not _queue_work(snap)
