"""Work the engine did not offer: direct, internal and outbound calls keep an
agent on_call (D11) and out of offers; afterwards it is ready (or in wrap-up)."""

from __future__ import annotations

import pytest
from acd_domain_helpers import engine_with, members, of

from acd.domain import (
    AgentState,
    AgentStateChanged,
    CancelRing,
    QueueConfig,
    QueueEvent,
    Ring,
    WorkItem,
)

S = AgentState
INTERNAL = WorkItem(id="direct-1", kind="internal")


def test_a_ready_agent_on_a_direct_call_is_on_call_internal_and_gets_no_offer() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))}, login=["a"])
    changes = of(AgentStateChanged, engine.agent_engaged("a", INTERNAL, 1.0))
    assert [(c.old, c.new, c.reason) for c in changes] == [(S.READY, S.ON_CALL, "internal_call")]
    snap = engine.agent_snapshot("a")
    assert (snap.state, snap.call_kind, snap.engaged) == (S.ON_CALL, "internal", {"direct-1"})
    assert of(Ring, engine.caller_joined("c1", "q", 2.0)) == []


def test_after_the_direct_call_the_agent_is_ready_and_takes_the_waiting_caller() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))}, login=["a"])
    engine.agent_engaged("a", INTERNAL, 1.0)
    engine.caller_joined("c1", "q", 2.0)
    out = engine.agent_released("a", "direct-1", 3.0)
    assert [(c.old, c.new) for c in of(AgentStateChanged, out)] == [
        (S.ON_CALL, S.READY),
        (S.READY, S.RESERVED),
    ]
    assert [r.call_id for r in of(Ring, out)] == ["c1"]
    assert engine.agent_snapshot("a").call_kind is None


def test_a_ringing_offer_is_withdrawn_and_the_caller_keeps_its_place() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a", "b"))}, login=["a"])
    ring = of(Ring, engine.caller_joined("c1", "q", 1.0))[0]
    out = engine.agent_engaged("a", INTERNAL, 2.0)
    assert of(CancelRing, out) == [CancelRing(offer_id=ring.offer_id, reason="agent_busy")]
    assert engine.agent_snapshot("a").state is S.ON_CALL
    assert engine.agent_snapshot("a").unanswered_in_a_row == 0
    assert not [e for e in of(QueueEvent, out) if e.kind in ("no_answer", "rejected")]
    assert engine.position_of("c1") == 1
    rings = of(Ring, engine.agent_login("b", None, 3.0))
    assert [(r.call_id, r.agent_id) for r in rings] == [("c1", "b")]


def test_wrap_up_after_an_outbound_call_when_asked() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))}, login=["a"])
    engine.agent_engaged("a", WorkItem(id="out-1", kind="outbound"), 1.0)
    out = engine.agent_released("a", "out-1", 5.0, wrap_up=10.0)
    assert [(c.old, c.new) for c in of(AgentStateChanged, out)] == [(S.ON_CALL, S.WRAP_UP)]
    later = engine.tick(15.0)
    assert [(c.old, c.new) for c in of(AgentStateChanged, later)] == [(S.WRAP_UP, S.READY)]


def test_a_pause_asked_for_during_the_call_applies_when_it_ends() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))}, login=["a"])
    engine.agent_engaged("a", INTERNAL, 1.0)
    engine.agent_pause("a", "lunch", 2.0)
    engine.agent_released("a", "direct-1", 3.0)
    snap = engine.agent_snapshot("a")
    assert (snap.state, snap.pause_reason) == (S.PAUSED, "lunch")


def test_an_agent_in_wrap_up_stays_there_and_is_on_call_when_wrap_up_ends() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"), wrap_up=10.0)}, login=["a"])
    ring = of(Ring, engine.caller_joined("c1", "q", 1.0))[0]
    engine.offer_answered(ring.offer_id, ring.devices[0], 2.0)
    engine.call_ended("c1", 3.0)
    assert engine.agent_snapshot("a").state is S.WRAP_UP
    engine.agent_engaged("a", INTERNAL, 4.0)
    assert engine.agent_snapshot("a").state is S.WRAP_UP
    out = engine.tick(13.0)
    assert [(c.old, c.new) for c in of(AgentStateChanged, out)] == [(S.WRAP_UP, S.ON_CALL)]
    engine.agent_released("a", "direct-1", 14.0)
    assert engine.agent_snapshot("a").state is S.READY


def test_logged_out_and_paused_users_keep_their_state_on_a_direct_call() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a", "b"))}, login=["b"])
    engine.agent_pause("b", "meeting", 0.5)
    assert of(AgentStateChanged, engine.agent_engaged("a", INTERNAL, 1.0)) == []
    assert of(AgentStateChanged, engine.agent_engaged("b", WorkItem(id="d2"), 1.0)) == []
    assert engine.agent_snapshot("a").state is S.LOGGED_OUT
    assert engine.agent_snapshot("b").state is S.PAUSED
    login = of(AgentStateChanged, engine.agent_login("a", None, 2.0))
    assert [(c.old, c.new) for c in login] == [(S.LOGGED_OUT, S.ON_CALL)]


def test_releasing_unknown_work_changes_nothing() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))}, login=["a"])
    assert engine.agent_released("a", "nothing", 1.0) == []
    assert engine.agent_snapshot("a").state is S.READY


@pytest.mark.parametrize("kind", ["voice-mail", ""])
def test_a_work_item_checks_its_fields(kind: str) -> None:
    with pytest.raises(ValueError):
        WorkItem(id="x" if kind else "", kind=kind or "internal")  # type: ignore[arg-type]
