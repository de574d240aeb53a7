"""The callback list (B5): a request, its attempts, and where requests are kept.

Plain records, no I/O: the store implements ``CallbackRepository``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# B5: unhandled (pending), re-queued (after an unanswered attempt), being
# called now, and the closed ones.
OPEN = ("pending", "requeued", "calling")
CLOSED = ("done", "failed", "expired", "cancelled")


@dataclass
class Attempt:
    at: float
    agent: str | None
    outcome: str  # answered, no_answer, busy, rejected, unreachable, agent_no_answer
    note: str | None = None


@dataclass
class CallbackRequest:
    id: str
    queue: str
    number: str  # to call, E.164
    caller: str  # the number the caller called from
    joined_at: float  # when the caller entered the queue: their place
    requested_at: float
    expires_at: float
    caller_name: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    window: str | None = None
    eligible_at: float | None = None
    status: str = "pending"
    attempts: list[Attempt] = field(default_factory=list)
    handler: str | None = None  # the agent who tried last
    note: str | None = None  # the latest log text
    claimed_by: str | None = None
    claimed_until: float | None = None
    closed_at: float | None = None

    @property
    def open(self) -> bool:
        return self.status in OPEN


class CallbackRepository(Protocol):
    """Requests in the store (acd.store.callbacks); writes return when durable."""

    def save(self, request: CallbackRequest) -> None: ...

    def open_requests(self) -> list[CallbackRequest]: ...

    def get(self, request_id: str) -> CallbackRequest | None: ...

    def listing(
        self, *, queues: list[str] | None = None, statuses: list[str] | None = None,
        limit: int = 500, closed_since: float | None = None,
    ) -> list[CallbackRequest]:
        """Oldest place first; ``closed_since``: open ones and those closed since then."""
        ...


class MemoryCallbacks:
    """In memory, for tests."""

    def __init__(self) -> None:
        self.requests: dict[str, CallbackRequest] = {}

    def save(self, request: CallbackRequest) -> None:
        self.requests[request.id] = request

    def open_requests(self) -> list[CallbackRequest]:
        return sorted((r for r in self.requests.values() if r.open), key=lambda r: r.joined_at)

    def get(self, request_id: str) -> CallbackRequest | None:
        return self.requests.get(request_id)

    def listing(
        self, *, queues: list[str] | None = None, statuses: list[str] | None = None,
        limit: int = 500, closed_since: float | None = None,
    ) -> list[CallbackRequest]:
        found = [
            r for r in self.requests.values()
            if (queues is None or r.queue in queues) and (statuses is None or r.status in statuses)
            and (closed_since is None or r.open or (r.closed_at or 0) >= closed_since)
        ]
        return sorted(found, key=lambda r: r.joined_at)[:limit]
