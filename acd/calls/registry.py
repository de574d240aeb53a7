"""Every live call, findable by id and by the users on it.

"Which call is agent X on?" has one answer here. The registry also tells an
observer (the contact centre) when a user joins or leaves a call, so a
direct call keeps an agent busy for the ACD (D11) — except parties the ACD
placed itself (queue offers), which it already tracks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Generic, Protocol, TypeVar

from acd.calls.party import Party


class LiveCall(Protocol):
    """What the registry reads of a call (acd.calls.call.Call)."""

    @property
    def id(self) -> str: ...

    @property
    def parties(self) -> Sequence[Party]: ...

    @property
    def engages(self) -> bool: ...

    @property
    def kind(self) -> str: ...


Call = TypeVar("Call", bound=LiveCall)


class UserActivity(Protocol):
    def engaged(self, user: str, call_id: str, kind: str) -> None:
        """``user`` is busy with call ``call_id`` (``kind``: inbound, outbound, internal)."""

    def released(self, user: str, call_id: str) -> None: ...


class CallRegistry(Generic[Call]):
    def __init__(self, observer: UserActivity | None = None) -> None:
        self.observer = observer
        self._calls: dict[str, Call] = {}
        self.started: dict[str, int] = {}  # calls registered so far, by kind (metrics)
        self._by_user: dict[str, dict[str, Call]] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(list(self._calls.values()))

    def by_kind(self) -> dict[str, int]:
        """Calls in progress, by kind (inbound, outbound, internal)."""
        counts: dict[str, int] = {}
        for call in self._calls.values():
            counts[call.kind] = counts.get(call.kind, 0) + 1
        return counts

    def get(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    def of_user(self, user: str) -> list[Call]:
        """The calls ``user`` is on (as caller, callee or agent)."""
        return list(self._by_user.get(user, {}).values())

    def find_leg(self, leg: object) -> tuple[Call, Party] | None:
        """The call and party whose SIP leg is ``leg`` (the dialog a Replaces names)."""
        for call in self._calls.values():
            for party in call.parties:
                if party.leg is leg:
                    return call, party
        return None

    def add(self, call: Call) -> None:
        self._calls[call.id] = call
        self.started[call.kind] = self.started.get(call.kind, 0) + 1
        for party in call.parties:
            self.joined(call, party)

    def remove(self, call: Call) -> None:
        if self._calls.pop(call.id, None) is None:
            return
        for party in call.parties:
            self.left(call, party)

    def joined(self, call: Call, party: Party) -> None:
        user = party.user
        if user is None or call.id not in self._calls:
            return
        calls = self._by_user.setdefault(user, {})
        first = call.id not in calls
        calls[call.id] = call
        if first and call.engages and not party.managed and self.observer is not None:
            self.observer.engaged(user, call.id, call.kind)

    def left(self, call: Call, party: Party) -> None:
        user = party.user
        if user is None:
            return
        calls = self._by_user.get(user)
        if calls is None or calls.pop(call.id, None) is None:
            return
        if not calls:
            del self._by_user[user]
        if call.engages and not party.managed and self.observer is not None:
            self.observer.released(user, call.id)
