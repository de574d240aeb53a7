"""Queue events to store rows and SSE payloads; the report's figures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from acd.contact.events import EventHub, event_json, store_row
from acd.domain import AgentState, AgentStateChanged, QueueEvent
from acd.report import figures, main
from acd.store import Store


def test_abandoned_event_row_keeps_position_and_wait() -> None:
    event = QueueEvent(
        kind="abandoned",
        call_id="c1",
        queue_id="sales",
        agent_id=None,
        at=1000.0,
        data={"position": 3, "wait": 12.5},
    )
    row = store_row(event)
    assert row["kind"] == "abandoned" and row["queue_id"] == "sales"
    assert row["position"] == 3 and row["wait"] == 12.5
    assert row["at"] == datetime.fromtimestamp(1000.0, UTC)
    assert row["detail"] is None


def test_overflow_event_row_keeps_reason_and_destination() -> None:
    event = QueueEvent(
        kind="overflowed",
        call_id="c1",
        queue_id="sales",
        agent_id=None,
        at=1.0,
        data={"reason": "max_wait", "destination": "user:dave", "position": 1, "wait": 60.0},
    )
    row = store_row(event)
    assert row["reason"] == "max_wait"
    assert row["detail"] == '{"destination": "user:dave"}'


def test_agent_state_change_is_a_row_and_an_sse_event() -> None:
    change = AgentStateChanged(
        agent_id="bob", old=AgentState.READY, new=AgentState.PAUSED, reason="lunch", at=5.0
    )
    assert store_row(change)["kind"] == "agent_state"
    assert event_json(change) == {
        "type": "agent_state",
        "agent": "bob",
        "old": "ready",
        "new": "paused",
        "reason": "lunch",
        "at": 5.0,
    }


async def test_hub_drops_the_oldest_event_for_a_slow_subscriber() -> None:
    hub = EventHub()
    q = hub.subscribe()
    for i in range(1001):
        hub.publish({"n": i})
    assert q.qsize() == 1000
    assert (await asyncio.wait_for(q.get(), 1))["n"] == 1
    hub.unsubscribe(q)
    hub.publish({"n": -1})
    assert q.qsize() == 999


def test_service_level_counts_answers_within_the_threshold() -> None:
    rows = [
        ("entered", "sales", None),
        ("answered", "sales", 10.0),
        ("answered", "sales", 30.0),
        ("abandoned", "sales", 5.0),
        ("overflowed", "sales", 60.0),
        ("answered", "tech", 1.0),
        ("agent_state", None, None),
    ]
    result = figures(rows, 20.0)
    sales = result["sales"]
    assert (sales.answered, sales.abandoned, sales.overflowed) == (2, 1, 1)
    assert sales.service_level == pytest.approx(1 / 3)
    assert sales.average_wait == pytest.approx(20.0)
    assert result["tech"].service_level == 1.0


def test_report_reads_the_store_for_a_time_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'jono.db'}"
    store = Store(url)
    now = datetime.now(UTC)
    for minutes, kind, wait in [
        (-90, "answered", 5.0),
        (-10, "answered", 25.0),
        (-5, "abandoned", 40.0),
    ]:
        store.add_queue_event(
            at=now + timedelta(minutes=minutes),
            kind=kind,
            queue_id="sales",
            call_id="c",
            agent_id=None,
            wait=wait,
            position=1,
            reason=None,
            detail=None,
        )
    store.writer.flush()
    store.close()
    start = (now - timedelta(minutes=30)).isoformat()
    assert main(["--db", url, "--from", start, "--service-level", "30"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("sales"))
    assert line.split()[1:6] == ["1", "1", "0", "50.0%", "25.0s"]
