"""What the web workplace reads back from the records (S2): an agent's recent
calls, and today's queue events for the wallboard's "today" figures."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from acd.store.accounts import aware
from acd.store.tables import CallRecord, QueueEventRow

MISSED_KINDS = ("no_answer", "rejected")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecentCall:
    """One line of an agent's call history."""

    call_id: str
    at: datetime
    direction: str  # inbound, outbound, missed
    number: str  # the other party
    queue: str | None
    answered: bool
    seconds: float | None  # talk time, when answered and over
    disposition: str | None


def _user_part(uri: str) -> str:
    """``sip:+35840123@gw:5060`` -> ``+35840123``; other text as it is."""
    if uri.startswith(("sip:", "sips:")):
        return uri.split(":", 1)[1].split("@", 1)[0]
    return uri


def recent_calls(
    sessions: sessionmaker[Session], user: str, extension: str, limit: int = 20
) -> list[RecentCall]:
    """``user``'s latest calls, newest first: calls taken (inbound), made (outbound:
    from a phone or the desktop), and missed (a queue offer or a direct call
    that rang and was not answered)."""
    with sessions() as session:
        mine = or_(
            CallRecord.agent == user,
            CallRecord.source.in_((f"user:{user}", f"originate:{user}")),
            and_(CallRecord.callee.in_((extension, user)), CallRecord.answered_at.is_(None)),
        )
        records = list(
            session.scalars(
                select(CallRecord).where(mine).order_by(CallRecord.started_at.desc()).limit(limit)
            )
        )
        offers = list(
            session.execute(
                select(QueueEventRow.call_id, QueueEventRow.at, QueueEventRow.queue_id)
                .where(QueueEventRow.agent_id == user, QueueEventRow.kind.in_(MISSED_KINDS))
                .order_by(QueueEventRow.at.desc())
                .limit(limit)
            )
        )
        ids = {r.call_id for r in records} | {o.call_id for o in offers if o.call_id}
        queues: dict[str | None, str | None] = {
            call_id: queue
            for call_id, queue in session.execute(
                select(QueueEventRow.call_id, QueueEventRow.queue_id).where(
                    QueueEventRow.call_id.in_(ids), QueueEventRow.kind == "entered"
                )
            )
        }
        callers: dict[str, str] = {
            call_id: caller
            for call_id, caller in session.execute(
                select(CallRecord.call_id, CallRecord.caller).where(CallRecord.call_id.in_(ids))
            )
        }
    out = [_from_record(r, user, queues.get(r.call_id)) for r in records]
    for call_id, at, queue in offers:
        when = aware(at)
        if call_id is None or when is None:
            continue
        out.append(
            RecentCall(
                call_id=call_id, at=when, direction="missed",
                number=callers.get(call_id, "unknown"), queue=queue, answered=False,
                seconds=None, disposition="not answered",
            )
        )
    out.sort(key=lambda c: c.at, reverse=True)
    return out[:limit]


def _from_record(row: CallRecord, user: str, queue: str | None) -> RecentCall:
    started = aware(row.started_at)
    answered = aware(row.answered_at)
    ended = aware(row.ended_at)
    assert started is not None
    outbound = row.source in (f"user:{user}", f"originate:{user}")
    if outbound:
        direction, number = "outbound", _user_part(row.callee)
    elif row.agent == user:
        direction, number = "inbound", row.caller
    else:
        direction, number = "missed", row.caller
    seconds = (ended - answered).total_seconds() if answered and ended else None
    return RecentCall(
        call_id=row.call_id, at=started, direction=direction, number=number, queue=queue,
        answered=answered is not None, seconds=seconds, disposition=row.disposition,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueStep:
    kind: str
    queue: str | None
    agent: str | None
    wait: float | None


def queue_steps_since(sessions: sessionmaker[Session], since: datetime) -> list[QueueStep]:
    """Queue events from ``since`` on (the wallboard's figures for today)."""
    with sessions() as session:
        rows: Iterable[tuple[str, str | None, str | None, float | None]] = session.execute(
            select(
                QueueEventRow.kind, QueueEventRow.queue_id, QueueEventRow.agent_id,
                QueueEventRow.wait,
            ).where(QueueEventRow.at >= since, QueueEventRow.kind != "agent_state")
        )
        return [QueueStep(kind=k, queue=q, agent=a, wait=w) for k, q, a, w in rows]
