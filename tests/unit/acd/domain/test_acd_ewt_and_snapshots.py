"""Q3 estimated waiting time, announcements, S1 snapshots, config validation."""

from __future__ import annotations

import pytest
from acd_domain_helpers import engine_with, members, of
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.domain import (
    AgentState,
    ConfigError,
    MemberConfig,
    QueueConfig,
    Ring,
    announcement_for,
    estimate_wait,
)
from acd.domain.ewt import HISTORY, HandleTimes


def test_one_busy_agent_and_no_history_gives_half_the_default_handle_time() -> None:
    assert estimate_wait(position=1, serving=1, ready=0, aht=180.0) == 90.0
    assert estimate_wait(position=2, serving=1, ready=0, aht=180.0) == 270.0


def test_callers_within_the_ready_agents_wait_nothing() -> None:
    assert estimate_wait(position=2, serving=3, ready=2, aht=100.0) == 0.0


def test_nobody_serving_means_no_estimate() -> None:
    assert estimate_wait(position=1, serving=0, ready=0, aht=100.0) is None


@settings(max_examples=200, deadline=None)
@given(
    position=st.integers(1, 500),
    serving=st.integers(1, 50),
    ready=st.integers(0, 50),
    aht=st.floats(1.0, 3600.0),
)
def test_estimate_grows_with_position_and_shrinks_with_agents(
    position: int, serving: int, ready: int, aht: float
) -> None:
    here = estimate_wait(position=position, serving=serving, ready=ready, aht=aht)
    behind = estimate_wait(position=position + 1, serving=serving, ready=ready, aht=aht)
    more_agents = estimate_wait(position=position, serving=serving + 1, ready=ready, aht=aht)
    assert here is not None and behind is not None and more_agents is not None
    assert 0.0 <= here <= behind
    assert more_agents <= here + 1e-9


def test_handle_times_average_the_last_window_or_use_the_default() -> None:
    times = HandleTimes()
    assert times.average(120.0) == 120.0
    times.add(60.0)
    times.add(100.0)
    assert times.average(120.0) == 80.0
    for _ in range(HISTORY):
        times.add(10.0)
    assert times.average(120.0) == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, ("less_than_minute",)),
        (59.9, ("less_than_minute",)),
        (60.0, ("minutes", 1)),
        (61.0, ("minutes", 2)),
        (1800.0, ("minutes", 30)),
        (1801.0, ("more_than", 30)),
    ],
)
def test_announcement_rounds_minutes_up(seconds: float, expected: tuple[object, ...]) -> None:
    assert announcement_for(seconds) == expected


def test_ewt_for_a_caller_uses_recent_handle_times() -> None:
    q = QueueConfig(members=members("a"), default_handle_time=100.0)
    engine = engine_with({"q": q}, login=["a"])
    ring = of(Ring, engine.caller_joined("c1", "q", 0.0))[0]
    engine.offer_answered(ring.offer_id, "mobile", 0.0)
    engine.caller_joined("c2", "q", 0.0)
    assert engine.ewt_for("c2", 1.0) == 50.0  # one busy agent, no history
    engine.call_ended("c1", 300.0)  # history: 300 s; c2 now rings
    engine.caller_joined("c3", "q", 301.0)
    assert engine.ewt_for("c3", 301.0) == 150.0


def test_queue_snapshot_lists_callers_in_order_and_agents_by_state() -> None:
    q = QueueConfig(members=members("a", "b", "c"))
    engine = engine_with({"q": q}, login=["a", "b"])
    engine.agent_pause("b", "lunch", 0.0)
    engine.caller_joined("c1", "q", 1.0)
    engine.caller_joined("c2", "q", 2.0)
    snap = engine.queue_snapshot("q", 12.0)
    assert [(w.call_id, w.position, w.wait, w.ringing) for w in snap.waiting] == [
        ("c1", 1, 11.0, 1),
        ("c2", 2, 10.0, 0),
    ]
    assert snap.longest_wait == 11.0
    assert snap.agents == {AgentState.RESERVED: ("a",), AgentState.PAUSED: ("b",)}
    assert snap.ewt is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ring_time": -5}, "ring_time -5 must be > 0"),
        ({"strategy": "roundrobin"}, "strategy 'roundrobin' must be one of"),
        ({"ring_at_once": 0}, "ring_at_once 0 must be >= 1"),
        ({"overflow": {"full": "x"}}, "overflow reason 'full' must be one of"),
        ({"exit_key": "99"}, "exit_key '99' must be one DTMF digit"),
    ],
)
def test_bad_queue_settings_name_the_field_and_value(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        QueueConfig(**kwargs)  # type: ignore[arg-type]


def test_member_level_must_be_one_to_nine() -> None:
    with pytest.raises(ConfigError, match="member level 10 must be 1..9"):
        MemberConfig(level=10)
