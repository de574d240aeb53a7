"""Callback requests in the store (the ``CallbackRepository`` of acd.contact).

Writes are committed before they return: a request must survive ``kill -9``
the moment the caller has heard it confirmed. The contact centre calls them
from a worker thread, so the event loop never waits for the disk.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from acd.domain.callback_list import OPEN, Attempt, CallbackRequest
from acd.store.tables import CallbackRow


class SqlCallbacks:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def save(self, request: CallbackRequest) -> None:
        row = _row(request)
        with self.sessions.begin() as session:
            session.merge(row)

    def open_requests(self) -> list[CallbackRequest]:
        query = select(CallbackRow).where(CallbackRow.status.in_(OPEN)).order_by(
            CallbackRow.joined_at
        )
        with self.sessions() as session:
            return [_request(r) for r in session.scalars(query)]

    def get(self, request_id: str) -> CallbackRequest | None:
        with self.sessions() as session:
            row = session.get(CallbackRow, request_id)
            return _request(row) if row is not None else None

    def listing(
        self, *, queues: list[str] | None = None, statuses: list[str] | None = None,
        limit: int = 500, closed_since: float | None = None,
    ) -> list[CallbackRequest]:
        query = select(CallbackRow)
        if closed_since is not None:
            query = query.where(or_(
                CallbackRow.status.in_(OPEN), CallbackRow.closed_at >= closed_since
            ))
        if queues is not None:
            query = query.where(CallbackRow.queue_id.in_(queues))
        if statuses is not None:
            query = query.where(CallbackRow.status.in_(statuses))
        query = query.order_by(CallbackRow.joined_at).limit(limit)
        with self.sessions() as session:
            return [_request(r) for r in session.scalars(query)]


def _row(r: CallbackRequest) -> CallbackRow:
    return CallbackRow(
        id=r.id, queue_id=r.queue, number=r.number, caller=r.caller, caller_name=r.caller_name,
        variables=json.dumps(r.variables) if r.variables else None, joined_at=r.joined_at,
        requested_at=r.requested_at, window=r.window, eligible_at=r.eligible_at,
        expires_at=r.expires_at, status=r.status,
        attempts=json.dumps([asdict(a) for a in r.attempts]), handler=r.handler, note=r.note,
        claimed_by=r.claimed_by, claimed_until=r.claimed_until, closed_at=r.closed_at,
    )


def _request(row: CallbackRow) -> CallbackRequest:
    return CallbackRequest(
        id=row.id, queue=row.queue_id, number=row.number, caller=row.caller,
        caller_name=row.caller_name, variables=json.loads(row.variables or "{}"),
        joined_at=row.joined_at, requested_at=row.requested_at, window=row.window,
        eligible_at=row.eligible_at, expires_at=row.expires_at, status=row.status,
        attempts=[Attempt(**a) for a in json.loads(row.attempts or "[]")], handler=row.handler,
        note=row.note, claimed_by=row.claimed_by, claimed_until=row.claimed_until,
        closed_at=row.closed_at,
    )
