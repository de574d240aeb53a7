"""Originate: Jono places a call between a user and a destination (O1, O2).

The two-step call-out of click-to-call and of callback dial-out: Jono rings
the user's devices first (the party that "calls"); when the user answers,
the user hears ringback while Jono dials the destination; when the
destination answers, the two talk. The user may cancel while connecting.
Each step is reported through ``on_status``: ``connecting`` (the user's
phone rings), ``ringing`` (the destination rings), ``talking``, and
``ended`` with the outcome (answered, busy, no_answer, rejected,
unreachable, cancelled).

The result is one :class:`~acd.calls.call.Call` whose first party is the
user (``source`` ``originate:USER``), registered like any other call, so
the ACD sees the user busy (D11 on call outbound/internal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from acd.calls.call import Call
from acd.calls.dialer import Attempt, Dial, Dialer, DialResult
from acd.calls.media import play_ringback
from acd.calls.party import Party
from acd.calls.ports import RecordSink
from acd.calls.registry import CallRegistry
from acd.calls.status import Outcome
from media.api import MediaEngineApi

Status = Callable[[str, Outcome | None], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class OriginateRequest:
    user: str
    user_number: str  # shown in the call record as the caller
    first: Dial  # rings the user's devices
    then: Dial  # the destination
    external: str | None = None  # "outbound" when the destination is a number out


class Originated:
    """One originate in progress; :meth:`cancel` stops it at any step."""

    def __init__(
        self,
        request: OriginateRequest,
        *,
        dialer: Dialer,
        media: MediaEngineApi,
        registry: CallRegistry[Call] | None,
        records: RecordSink | None,
        on_status: Status,
    ) -> None:
        self.request = request
        self.dialer = dialer
        self.media = media
        self.registry = registry
        self.records = records
        self.on_status = on_status
        self.call: Call | None = None
        self.outcome: Outcome | None = None
        self._attempt: Attempt | None = None
        self._first = _First(self)
        self._then = _Then(self)

    def start(self) -> None:
        self.on_status("connecting", None)
        first = replace(self.request.first, role="caller", user=self.request.user)
        self._attempt = self.dialer.dial(first, self._first)

    def cancel(self) -> None:
        if self.outcome is not None:
            return
        if self._attempt is not None and not self._attempt.finished:
            self._attempt.cancel()
        if self.call is not None:
            self.call.end("caller", "cancel")

    def _ended(self, outcome: Outcome) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.on_status("ended", outcome)

    # -- steps ------------------------------------------------------------------
    def _user_answered(self, party: Party) -> bool:
        request = self.request
        call = Call(
            party, media=self.media, registry=self.registry, records=self.records,
            source=f"originate:{request.user}", caller_number=request.user_number,
            callee=request.then.to_uri, external=request.external,
        )
        call.answered_by_first_party()
        call.on_end.append(lambda ended: self._ended(_outcome_of(ended)))
        self.call = call
        if party.media is not None:
            play_ringback(party.media)
        self.on_status("ringing", None)
        self._attempt = self.dialer.dial(self.request.then, self._then)
        return True

    def _destination_answered(self, party: Party) -> bool:
        call = self.call
        if call is None or call.ended:
            return False
        call.connect(party)
        self.on_status("talking", None)
        return True

    def _destination_failed(self, result: DialResult) -> None:
        if self.call is not None and not self.call.ended:
            self.call.status = result.status
            self.call.disposition = result.outcome.value
            self._ended(result.outcome)
            self.call.end("jono", result.outcome.value)


def _outcome_of(call: Call) -> Outcome:
    if call.peer is not None:
        return Outcome.ANSWERED
    return Outcome.CANCELLED if call.end_reason == "cancel" else Outcome.NO_ANSWER


class _First:
    def __init__(self, originated: Originated) -> None:
        self.originated = originated

    def ringing(self, attempt: Attempt, sdp: bytes | None) -> None:
        pass

    def answered(self, attempt: Attempt, party: Party) -> bool:
        return self.originated._user_answered(party)

    def failed(self, attempt: Attempt, result: DialResult) -> None:
        self.originated._ended(result.outcome)


class _Then:
    def __init__(self, originated: Originated) -> None:
        self.originated = originated

    def ringing(self, attempt: Attempt, sdp: bytes | None) -> None:
        pass

    def answered(self, attempt: Attempt, party: Party) -> bool:
        return self.originated._destination_answered(party)

    def failed(self, attempt: Attempt, result: DialResult) -> None:
        self.originated._destination_failed(result)
