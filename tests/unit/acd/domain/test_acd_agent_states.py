"""Agent states and their changes: D1, D9, D10, D11."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from acd_domain_helpers import engine_with, members, of

from acd.domain import (
    AcdEngine,
    AcdError,
    AgentConfig,
    AgentState,
    AgentStateChanged,
    CancelRing,
    Decision,
    Device,
    IllegalTransition,
    LoggedOut,
    QueueConfig,
    Ring,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)

S = AgentState


def answer_first_ring(engine: AcdEngine, decisions: Sequence[Decision], now: float) -> str:
    rings = of(Ring, decisions)
    assert len(rings) == 1
    engine.offer_answered(rings[0].offer_id, rings[0].devices[0], now)
    return rings[0].call_id


def test_every_state_change_is_an_event_with_time_and_reason() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"), wrap_up=20.0)})
    changes = of(AgentStateChanged, engine.agent_login("a", None, 1.0))
    out = engine.caller_joined("c1", "q", 2.0)
    changes += of(AgentStateChanged, out)
    ring = of(Ring, out)[0]
    changes += of(AgentStateChanged, engine.offer_answered(ring.offer_id, "mobile", 3.0))
    changes += of(AgentStateChanged, engine.call_ended("c1", 4.0))
    changes += of(AgentStateChanged, engine.tick(24.0))
    changes += of(AgentStateChanged, engine.agent_pause("a", "lunch", 25.0))
    changes += of(AgentStateChanged, engine.agent_unpause("a", 26.0))
    changes += of(AgentStateChanged, engine.agent_logout("a", 27.0))
    assert [(c.old, c.new, c.reason, c.at) for c in changes] == [
        (S.LOGGED_OUT, S.READY, "login", 1.0),
        (S.READY, S.RESERVED, "offered", 2.0),
        (S.RESERVED, S.ON_CALL, "answered", 3.0),
        (S.ON_CALL, S.WRAP_UP, "call_ended", 4.0),
        (S.WRAP_UP, S.READY, "wrap_up_over", 24.0),
        (S.READY, S.PAUSED, "pause", 25.0),
        (S.PAUSED, S.READY, "unpause", 26.0),
        (S.READY, S.LOGGED_OUT, "logout", 27.0),
    ]


def test_agent_in_wrap_up_gets_no_call_until_wrap_up_is_over() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"), wrap_up=20.0)}, login=["a"])
    answer_first_ring(engine, engine.caller_joined("c1", "q", 0.0), 1.0)
    engine.call_ended("c1", 10.0)
    assert of(Ring, engine.caller_joined("c2", "q", 11.0)) == []
    assert engine.next_deadline() == 30.0
    assert of(Ring, engine.tick(29.9)) == []
    assert of(Ring, engine.tick(30.0))[0].call_id == "c2"


def test_agent_can_end_wrap_up_early() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"), wrap_up=20.0)}, login=["a"])
    answer_first_ring(engine, engine.caller_joined("c1", "q", 0.0), 1.0)
    engine.call_ended("c1", 10.0)
    engine.caller_joined("c2", "q", 11.0)
    assert of(Ring, engine.end_wrap_up("a", 12.0))[0].call_id == "c2"
    assert engine.agent_snapshot("a").idle_since == 12.0


def test_pausing_during_wrap_up_extends_it_until_unpause() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"), wrap_up=20.0)}, login=["a"])
    answer_first_ring(engine, engine.caller_joined("c1", "q", 0.0), 1.0)
    engine.call_ended("c1", 10.0)
    engine.agent_pause("a", "notes", 15.0)
    engine.caller_joined("c2", "q", 16.0)
    assert engine.tick(100.0) == []
    assert engine.agent_snapshot("a").pause_reason == "notes"
    assert of(Ring, engine.agent_unpause("a", 101.0))[0].call_id == "c2"


def test_pause_asked_for_during_a_call_applies_when_it_ends_and_skips_wrap_up() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"), wrap_up=20.0)}, login=["a"])
    answer_first_ring(engine, engine.caller_joined("c1", "q", 0.0), 1.0)
    assert engine.agent_pause("a", "break", 2.0) == []
    changes = of(AgentStateChanged, engine.call_ended("c1", 3.0))
    assert [(c.old, c.new) for c in changes] == [(S.ON_CALL, S.PAUSED)]
    assert engine.agent_snapshot("a").pause_reason == "break"


def test_logout_during_a_call_applies_when_the_call_ends() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))}, login=["a"])
    answer_first_ring(engine, engine.caller_joined("c1", "q", 0.0), 1.0)
    assert engine.agent_logout("a", 2.0) == []
    assert engine.agent_snapshot("a").state is S.ON_CALL
    engine.call_ended("c1", 3.0)
    assert engine.agent_snapshot("a").state is S.LOGGED_OUT


def test_pausing_while_ringing_cancels_the_offer_and_the_caller_keeps_its_place() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a", "b"))}, login=["a"])
    ring = of(Ring, engine.caller_joined("c1", "q", 0.0))[0]
    out = engine.agent_pause("a", "oops", 1.0)
    assert CancelRing(offer_id=ring.offer_id, reason="agent_paused") in out
    assert engine.position_of("c1") == 1
    assert of(Ring, engine.agent_login("b", None, 2.0))[0].call_id == "c1"


@pytest.mark.parametrize("failure", ["no_answer", "rejected"])
def test_agent_is_logged_out_after_n_unanswered_offers_in_a_row(failure: str) -> None:
    q = QueueConfig(members=members("a"), auto_logout_after=3, retry_after=0.0)
    engine = engine_with({"q": q}, login=["a"])
    out = engine.caller_joined("c1", "q", 0.0)
    for i in range(3):
        ring = of(Ring, out)[0]
        out = engine.offer_failed(ring.offer_id, None, failure, float(i + 1))
    assert of(LoggedOut, out) == [LoggedOut(agent_id="a", reason="auto_logout", at=3.0)]
    assert engine.agent_snapshot("a").state is S.LOGGED_OUT
    assert engine.position_of("c1") == 1


def test_an_answer_resets_the_unanswered_count() -> None:
    q = QueueConfig(members=members("a"), auto_logout_after=2, retry_after=0.0)
    engine = engine_with({"q": q}, login=["a"])
    ring = of(Ring, engine.caller_joined("c1", "q", 0.0))[0]
    out = engine.offer_failed(ring.offer_id, None, "no_answer", 1.0)
    answer_first_ring(engine, out, 2.0)
    engine.call_ended("c1", 3.0)
    ring = of(Ring, engine.caller_joined("c2", "q", 4.0))[0]
    out = engine.offer_failed(ring.offer_id, None, "no_answer", 5.0)
    assert of(LoggedOut, out) == []
    assert engine.agent_snapshot("a").unanswered_in_a_row == 1


def test_unreachable_offers_are_counted_apart_and_never_log_out() -> None:
    q = QueueConfig(members=members("a"), auto_logout_after=1, retry_after=0.0)
    engine = engine_with({"q": q}, login=["a"])
    out = engine.caller_joined("c1", "q", 0.0)
    for i in range(3):
        out = engine.offer_failed(of(Ring, out)[0].offer_id, None, "unreachable", i + 1.0)
    snap = engine.agent_snapshot("a")
    assert (snap.state, snap.unreachable_in_a_row, snap.unanswered_in_a_row) == (
        S.RESERVED,
        3,
        0,
    )


def test_agent_logged_in_to_some_queues_gets_calls_only_from_those() -> None:
    queues = {"q1": QueueConfig(members=members("a")), "q2": QueueConfig(members=members("a"))}
    engine = engine_with(queues)
    engine.agent_login("a", ["q2"], 0.0)
    assert of(Ring, engine.caller_joined("c1", "q1", 1.0)) == []
    assert of(Ring, engine.caller_joined("c2", "q2", 1.0))[0].call_id == "c2"
    assert engine.agent_snapshot("a").queues == frozenset({"q2"})


def test_supervisor_logs_an_agent_out_of_one_queue_only() -> None:
    queues = {"q1": QueueConfig(members=members("a")), "q2": QueueConfig(members=members("a"))}
    engine = engine_with(queues, login=["a"])
    engine.agent_logout("a", 0.0, queues=["q1"])
    assert engine.agent_snapshot("a").state is S.READY
    assert of(Ring, engine.caller_joined("c1", "q1", 1.0)) == []


def test_illegal_transitions_raise() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))})
    with pytest.raises(IllegalTransition):
        engine.agent_pause("a", "x", 0.0)
    engine.agent_login("a", None, 0.0)
    with pytest.raises(IllegalTransition):
        engine.end_wrap_up("a", 1.0)


def test_leaving_the_ringing_queue_cancels_the_offer_and_frees_the_agent() -> None:
    queues = {"q1": QueueConfig(members=members("a")), "q2": QueueConfig(members=members("a"))}
    engine = engine_with(queues, login=["a"])
    ring = of(Ring, engine.caller_joined("c1", "q1", 0.0))[0]
    engine.caller_joined("c2", "q2", 1.0)
    out = engine.agent_logout("a", 2.0, queues=["q1"])
    assert CancelRing(offer_id=ring.offer_id, reason="agent_logged_out") in out
    assert of(Ring, out)[0].call_id == "c2"
    assert engine.position_of("c1") == 1


def test_agent_removed_from_config_during_a_call_is_logged_out_when_it_ends() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a", "b"))}, login=["a"])
    answer_first_ring(engine, engine.caller_joined("c1", "q", 0.0), 1.0)
    engine.configure({"q": QueueConfig(members=members("b"))}, {"b": AgentConfig()}, 2.0)
    assert engine.agent_snapshot("a").state is S.ON_CALL
    changes = of(AgentStateChanged, engine.call_ended("c1", 3.0))
    assert [(c.old, c.new, c.reason) for c in changes] == [
        (S.ON_CALL, S.LOGGED_OUT, "removed_from_config")
    ]
    with pytest.raises(UnknownAgent):
        engine.agent_snapshot("a")


def test_reload_changes_the_strategy_for_the_next_offer() -> None:
    agents = {a: AgentConfig(devices=(Device(id="m", kind="mobile"),)) for a in "ab"}
    engine = engine_with({"q": QueueConfig(members=members("a", "b", a=1, b=2))}, agents)
    engine.agent_login("a", None, 0.0)
    engine.agent_login("b", None, 0.0)
    engine.configure({"q": QueueConfig(members=members("a", "b", a=2, b=1))}, agents, 1.0)
    assert of(Ring, engine.caller_joined("c1", "q", 2.0))[0].agent_id == "b"


def test_events_naming_unknown_things_raise() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))}, login=["a"])
    with pytest.raises(UnknownQueue):
        engine.caller_joined("c1", "nope", 0.0)
    with pytest.raises(UnknownAgent):
        engine.agent_login("zed", None, 0.0)
    with pytest.raises(UnknownCall):
        engine.call_ended("c9", 0.0)
    ring = of(Ring, engine.caller_joined("c1", "q", 0.0))[0]
    with pytest.raises(AcdError, match="already queued"):
        engine.caller_joined("c1", "q", 0.0)
    with pytest.raises(AcdError, match="did not ring device 'desk'"):
        engine.offer_answered(ring.offer_id, "desk", 1.0)
