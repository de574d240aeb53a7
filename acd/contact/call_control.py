"""Call control from the agent desktop (O7): hold, resume, blind transfer,
consult (then complete or cancel) and recording on the call the agent is on.

The desktop does what a phone does with re-INVITE and REFER, through the same
:class:`~acd.calls.call.Call` operations and :class:`~acd.flows.transfer.Transfers`:

* **hold/resume**: the other party hears the call's music on hold.
* **transfer** (blind): to a user, a queue (the caller keeps the digits and
  enters with that queue's priority), a plan number or an external number
  where the agent's outbound rules allow; a user who does not answer gives
  the caller back to the agent with the reason.
* **consult**: the caller is held, Jono rings the target; answered, the agent
  talks with it. **complete**: the agent leaves, caller and target talk.
  **cancel**: the target is hung up and the agent has the caller back.
* **record**: start, pause, resume, stop (``acd.calls.recording``).

O6: on a call between agents nothing is transferred or consulted, and only
the agent who called holds or records. Each step is published on the event
hub as a ``call_control`` event (agent, call, op, status, message) and kept
as the agent's ``control`` view until the call ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from acd.calls.call import Call
from acd.calls.dialer import Attempt, DialResult
from acd.calls.party import Party
from acd.calls.recording import Recordings
from acd.calls.registry import CallRegistry
from acd.calls.status import outcome_of
from acd.config import Destination
from acd.contact.centre import ContactCentre
from acd.flows.transfer import Transfers

log = structlog.stdlib.get_logger("jono.calls")


class ControlError(Exception):
    """An operation the desktop cannot do now; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Consult:
    call: Call
    agent: Party
    caller: Party
    target: str
    attempt: Attempt | None = None
    party: Party | None = None


class CallControl:
    def __init__(
        self, centre: ContactCentre, registry: CallRegistry[Call], transfers: Transfers,
        recordings: Recordings,
    ) -> None:
        self.centre = centre
        self.registry = registry
        self.transfers = transfers
        self.recordings = recordings
        self._consults: dict[str, _Consult] = {}
        self._views: dict[str, dict[str, Any]] = {}

    def _label(self, destination: Destination) -> str:
        """What the desktop shows for a consulted target: a user by name and extension."""
        plan = self.transfers.plan
        if destination.kind == "user" and plan is not None and destination.target in plan.users:
            conf = plan.users[destination.target]
            return f"{conf.display_name or destination.target} ({conf.extension})"
        return destination.target or str(destination)

    # -- what the desktop shows ---------------------------------------------------
    def view(self, user: str) -> dict[str, Any] | None:
        """The agent's call-control state: held, recording, consulting, last step."""
        found = self._mine(user, required=False)
        last = self._views.get(user)
        if found is None:
            # Off the call (transferred, hung up): the last step stays shown.
            return None if last is None else {"call_id": None, "last": last}
        call, party = found
        recording = self.recordings.recording(call)
        consult = self._consults.get(user)
        return {
            "call_id": call.id,
            "held": call.holding(party),
            "hold_seconds": round(call.hold_seconds, 1),
            "recording": None if recording is None else ("paused" if recording.paused else "on"),
            "consulting": None if consult is None else {
                "target": consult.target, "answered": consult.party is not None,
            },
            "agent_to_agent": call.agent_to_agent,
            "may_transfer": not call.agent_to_agent,
            "last": last if last is not None and last.get("call_id") == call.id else None,
        }

    def _publish(self, user: str, call: Call, op: str, status: str, message: str = "") -> None:
        event = {
            "type": "call_control", "agent": user, "at": self.centre.now(), "call_id": call.id,
            "op": op, "status": status, "message": message,
        }
        self._views[user] = event
        log.info("call control", agent=user, call_id=call.id, op=op, status=status,
                 message=message)
        self.centre.hub.publish(event)

    def _mine(self, user: str, *, required: bool = True) -> tuple[Call, Party] | None:
        for call in self.registry.of_user(user):
            if call.ended:
                continue
            party = next((p for p in call.parties if p.user == user), None)
            if party is not None:
                return call, party
        if required:
            raise ControlError("you are not on a call")
        return None

    def _call(self, user: str) -> tuple[Call, Party]:
        found = self._mine(user)
        assert found is not None
        return found

    def _only_the_caller(self, call: Call, party: Party, what: str) -> None:
        if call.agent_to_agent and party is not call.caller:
            raise ControlError(f"only the agent who called may {what} (O6)", 403)

    # -- hold -------------------------------------------------------------------
    def hold(self, user: str) -> dict[str, Any]:
        call, party = self._call(user)
        self._only_the_caller(call, party, "hold")
        if not call.hold(party):
            raise ControlError("the call is already held")
        self._publish(user, call, "hold", "held")
        return self.view(user) or {}

    def resume(self, user: str) -> dict[str, Any]:
        call, party = self._call(user)
        if user in self._consults:
            raise ControlError("complete or cancel the consultation first")
        if not call.resume(party):
            raise ControlError("the call is not held")
        self._publish(user, call, "hold", "resumed")
        return self.view(user) or {}

    # -- blind transfer -----------------------------------------------------------
    def transfer(self, user: str, target: str) -> dict[str, Any]:
        call, party = self._call(user)
        if call.agent_to_agent:
            raise ControlError("no transfer on a call between agents (O6)", 403)
        if user in self._consults:
            raise ControlError("complete or cancel the consultation first")
        other = call.partner(party)
        if other is None or other.media is None or party.media is None:
            raise ControlError("this call cannot be transferred", 409)
        resolved = self.transfers.resolve(user, target.strip())
        if resolved.destination is None:
            raise ControlError(f"cannot transfer to {target!r}: {resolved.reason}",
                               404 if resolved.status == 404 else 403)
        if call.holding(party):
            call.resume(party)
        self._publish(user, call, "transfer", "trying", str(resolved.destination))
        self.transfers.blind(call, party, other, resolved.destination,
                             _DeskProgress(self, user, call, str(resolved.destination)))
        return {"call_id": call.id, "to": str(resolved.destination)}

    # -- consult -----------------------------------------------------------------
    def consult(self, user: str, target: str) -> dict[str, Any]:
        call, party = self._call(user)
        if call.agent_to_agent:
            raise ControlError("no consultation on a call between agents (O6)", 403)
        if user in self._consults:
            raise ControlError("already consulting")
        other = call.partner(party)
        if other is None or other.media is None or party.media is None:
            raise ControlError("this call cannot be consulted on", 409)
        resolved = self.transfers.resolve(user, target.strip())
        destination = resolved.destination
        if destination is None:
            raise ControlError(f"cannot call {target!r}: {resolved.reason}",
                               404 if resolved.status == 404 else 403)
        dial = self.transfers.dial_for(call, party, destination)
        if dial is None:
            raise ControlError("consult a user or a number (a queue takes a blind transfer)", 400)
        if not call.holding(party):
            call.hold(party)
        consult = _Consult(call, party, other, self._label(destination))
        self._consults[user] = consult
        consult.attempt = self.transfers.dialer.dial(dial, _ConsultListener(self, user, consult))
        call.on_end.append(lambda _call: self._consult_over(user, consult))
        call.on_party_left.append(lambda _call, party: self._left(user, consult, party))
        self._publish(user, call, "consult", "ringing", consult.target)
        return self.view(user) or {}

    def complete(self, user: str) -> dict[str, Any]:
        consult = self._consults.get(user)
        if consult is None or consult.party is None:
            raise ControlError("no answered consultation to complete")
        call, target, caller = consult.call, consult.party, consult.caller
        del self._consults[user]
        self._publish(user, call, "consult", "completed", consult.target)
        call.remove(consult.agent)  # the agent leaves; its hold ends
        if caller.media is not None and target.media is not None and not call.ended:
            call.engine.bridge(caller.media, target.media)
        return {"call_id": call.id, "to": consult.target}

    def cancel(self, user: str) -> dict[str, Any]:
        consult = self._consults.pop(user, None)
        if consult is None:
            raise ControlError("not consulting")
        if consult.attempt is not None and consult.party is None:
            consult.attempt.cancel()
        if consult.party is not None:
            consult.call.remove(consult.party)
        consult.call.resume(consult.agent)
        self._publish(user, consult.call, "consult", "cancelled", consult.target)
        return self.view(user) or {}

    def _left(self, user: str, consult: _Consult, party: Party) -> None:
        """Someone hung up during a consultation: the agent hanging up completes
        the transfer when the target talks (else the caller is left: the call
        ends); the target hanging up gives the caller back to the agent."""
        if self._consults.get(user) is not consult:
            return
        call = consult.call
        if party is consult.agent:
            del self._consults[user]
            if consult.party is None:
                if consult.attempt is not None:
                    consult.attempt.cancel()
                call.end(party.role, "agent left while consulting")
                return
            target, caller = consult.party, consult.caller
            if caller.media is not None and target.media is not None and not call.ended:
                call.engine.bridge(caller.media, target.media)
            self._publish(user, call, "consult", "completed", consult.target)
        elif party is consult.party:
            del self._consults[user]
            call.resume(consult.agent)
            self._publish(user, call, "consult", "failed",
                          f"{consult.target} hung up; the caller is back with you")

    def _consult_over(self, user: str, consult: _Consult) -> None:
        if self._consults.get(user) is consult:
            del self._consults[user]
            if consult.attempt is not None and consult.party is None:
                consult.attempt.cancel()

    # -- recording ------------------------------------------------------------------
    def record(self, user: str, action: str, *, announce: bool = False) -> dict[str, Any]:
        """``announce``: the caller first hears that the call is recorded."""
        call, party = self._call(user)
        self._only_the_caller(call, party, "record")
        prompts, plan = self.transfers.prompts, self.transfers.plan
        announcement = None
        if announce and action == "start" and prompts is not None and plan is not None:
            announcement = prompts.pcm(plan.server.language, "call_recorded")
        done = {
            "start": lambda: self.recordings.start(call, by=user, queue=call.queue,
                                                   announcement=announcement),
            "pause": lambda: self.recordings.pause(call),
            "resume": lambda: self.recordings.resume(call),
            "stop": lambda: self.recordings.stop(call),
        }.get(action)
        if done is None:
            raise ControlError("action is one of start, pause, resume, stop", 400)
        if not done():
            raise ControlError(f"cannot {action} the recording now")
        self._publish(user, call, "record", {"start": "on", "pause": "paused",
                                              "resume": "on", "stop": "off"}[action])
        return self.view(user) or {}


class _DeskProgress:
    """A blind transfer's progress, reported to the desktop (in place of NOTIFYs)."""

    def __init__(self, control: CallControl, user: str, call: Call, target: str) -> None:
        self.control, self.user, self.call, self.target = control, user, call, target

    def progress(self, status: int, reason: str | None = None) -> None:
        if status == 180:
            self.control._publish(self.user, self.call, "transfer", "ringing", self.target)

    def final(self, status: int, reason: str | None = None, then: Any = None) -> None:
        if status < 300:
            self.control._publish(self.user, self.call, "transfer", "done", self.target)
        else:
            text = reason or outcome_of(status).value.replace("_", " ")
            self.control._publish(self.user, self.call, "transfer", "failed",
                                  f"{self.target}: {status} {text}; the caller is back with you")
        if then is not None:
            then()


class _ConsultListener:
    """The consulted party's dial: answered, it talks with the agent."""

    def __init__(self, control: CallControl, user: str, consult: _Consult) -> None:
        self.control, self.user, self.consult = control, user, consult

    def ringing(self, attempt: Attempt, sdp: bytes | None) -> None:
        pass

    def answered(self, attempt: Attempt, party: Party) -> bool:
        consult, call = self.consult, self.consult.call
        if call.ended or self.control._consults.get(self.user) is not consult:
            return False
        consult.party = party
        call.connect(party, bridge=False)
        if consult.agent.media is not None and party.media is not None:
            call.engine.bridge(consult.agent.media, party.media)
        self.control._publish(self.user, call, "consult", "talking", consult.target)
        return True

    def failed(self, attempt: Attempt, result: DialResult) -> None:
        consult, call = self.consult, self.consult.call
        if self.control._consults.get(self.user) is not consult:
            return
        del self.control._consults[self.user]
        if not call.ended:
            call.resume(consult.agent)
            text = result.outcome.value.replace("_", " ")
            self.control._publish(
                self.user, call, "consult", "failed",
                f"{consult.target}: {result.status} {text}; the caller is back with you",
            )
