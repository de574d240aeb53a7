"""The one call record (S2) of a finished call: its columns, in one place."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acd.calls.call import Call


def call_record(call: Call) -> dict[str, object]:
    """The columns of ``acd.store.tables.CallRecord`` for ``call``."""
    status, disposition = call.disposition_now()
    media = {
        party.role if i < 2 else f"{party.role}{i}": asdict(party.media.stats)
        for i, party in enumerate(call.parties)
        if party.media is not None
    }
    return {
        "call_id": call.id,
        "caller": call.caller_number,
        "callee": call.callee,
        "source": call.source,
        "started_at": call.started_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at or datetime.now(UTC),
        "status": status,
        "disposition": disposition,
        "ended_by": call.ended_by,
        "end_reason": call.end_reason,
        "detail": json.dumps(call.variables) if call.variables else None,
        "media": json.dumps(media) if media else None,
    }
