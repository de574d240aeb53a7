"""Registrar bindings kept in the store, so registrations survive a restart."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from acd.store.tables import BindingRow
from acd.store.writer import BackgroundWriter
from sip.registrar import Binding
from sip.transport import Target


class SqlBindingStore:
    """Registrar bindings kept in the store so they survive a restart.

    Times are wall-clock seconds, as the location service keeps them.
    """

    def __init__(self, writer: BackgroundWriter, sessions: Callable[[], Session]) -> None:
        self.writer = writer
        self.sessions = sessions

    def save(self, binding: Binding) -> None:
        source = binding.source if isinstance(binding.source, Target) else Target("udp", "", 0)
        row = dict(
            aor=binding.aor, contact=binding.contact,
            expires_at_wall=binding.expires_at, q=binding.q,
            call_id=binding.call_id, cseq=binding.cseq,
            source_transport=source.transport, source_host=source.host, source_port=source.port,
            user_agent=binding.user_agent,
        )

        def work(session: Session) -> None:
            session.merge(BindingRow(**row))

        self.writer.submit(work)

    def delete(self, aor: str, contact: str) -> None:
        def work(session: Session) -> None:
            session.execute(
                delete(BindingRow).where(BindingRow.aor == aor, BindingRow.contact == contact)
            )

        self.writer.submit(work)

    def load_all(self) -> Iterable[Binding]:
        with self.sessions() as session:
            rows = list(session.scalars(select(BindingRow)))
        for row in rows:
            yield Binding(
                aor=row.aor, contact=row.contact, expires_at=row.expires_at_wall,
                q=row.q, call_id=row.call_id, cseq=row.cseq,
                source=Target(row.source_transport, row.source_host, row.source_port),
                transport=row.source_transport, user_agent=row.user_agent,
                received_at=row.expires_at_wall,
            )
