"""Distribution of callers to agents: D2-D8, D12, Q5-Q7, priorities."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from acd_domain_helpers import engine_with, members, of

from acd.domain import (
    AcdEngine,
    AgentConfig,
    AgentState,
    Bridge,
    CancelRing,
    Decision,
    Device,
    MemberConfig,
    Overflow,
    QueueConfig,
    QueueEvent,
    Ring,
)


def ring_of(decisions: Sequence[Decision]) -> Ring:
    rings = of(Ring, decisions)
    assert len(rings) == 1, rings
    return rings[0]


def test_caller_rings_the_ready_agent_on_join() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))}, login=["a"])
    out = engine.caller_joined("c1", "q", 1.0)
    ring = ring_of(out)
    assert (ring.call_id, ring.agent_id, ring.devices, ring.ring_time) == (
        "c1",
        "a",
        ("mobile",),
        20.0,
    )
    assert engine.agent_snapshot("a").state is AgentState.RESERVED
    kinds = [e.kind for e in of(QueueEvent, out)]
    assert kinds == ["entered", "offered"]


def test_answer_bridges_the_call_and_records_wait() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))})
    engine.caller_joined("c1", "q", 0.0)
    out = engine.agent_login("a", None, 5.0)
    ring = ring_of(out)
    out = engine.offer_answered(ring.offer_id, "mobile", 7.0)
    assert of(Bridge, out) == [
        Bridge(call_id="c1", agent_id="a", offer_id=ring.offer_id, device_id="mobile")
    ]
    answered = [e for e in of(QueueEvent, out) if e.kind == "answered"]
    assert answered[0].data["wait"] == 7.0
    assert engine.agent_snapshot("a").state is AgentState.ON_CALL
    assert engine.position_of("c1") is None


def test_second_agent_rings_after_first_times_out() -> None:
    q = QueueConfig(
        strategy="sequential",
        ring_time=15.0,
        members={"a": MemberConfig(order=1), "b": MemberConfig(order=2)},
    )
    engine = engine_with({"q": q}, login=["a", "b"])
    first = ring_of(engine.caller_joined("c1", "q", 0.0))
    assert first.agent_id == "a"
    assert engine.next_deadline() == 15.0
    assert engine.tick(14.9) == []
    out = engine.tick(15.0)
    assert CancelRing(offer_id=first.offer_id, reason="ring_timeout") in out
    assert ring_of(out).agent_id == "b"
    assert [e.kind for e in of(QueueEvent, out)] == ["no_answer", "offered"]


def test_sequential_rings_in_order_and_unordered_members_ring_last() -> None:
    q = QueueConfig(
        strategy="sequential",
        ring_time=10.0,
        retry_after=1000.0,
        members={"x": MemberConfig(), "b": MemberConfig(order=2), "a": MemberConfig(order=1)},
    )
    engine = engine_with({"q": q}, login=["x", "b", "a"])
    order = [ring_of(engine.caller_joined("c", "q", 0.0)).agent_id]
    for t in (10.0, 20.0):
        order.append(ring_of(engine.tick(t)).agent_id)
    assert order == ["a", "b", "x"]


def test_skills_offers_the_best_level_first() -> None:
    q = QueueConfig(strategy="skills", members=members("a", "b", "c", a=5, b=1, c=3))
    engine = engine_with({"q": q}, login=["a", "b", "c"])
    assert ring_of(engine.caller_joined("c1", "q", 0.0)).agent_id == "b"
    assert ring_of(engine.caller_joined("c2", "q", 0.0)).agent_id == "c"
    assert ring_of(engine.caller_joined("c3", "q", 0.0)).agent_id == "a"


def test_longest_idle_agent_gets_the_call_among_equals() -> None:
    q = QueueConfig(strategy="skills", members=members("a", "b", "c"))
    engine = engine_with({"q": q})
    engine.agent_login("b", None, 1.0)
    engine.agent_login("a", None, 2.0)
    engine.agent_login("c", None, 3.0)
    assert ring_of(engine.caller_joined("c1", "q", 4.0)).agent_id == "b"
    assert ring_of(engine.caller_joined("c2", "q", 4.0)).agent_id == "a"


def test_idle_time_restarts_at_the_end_of_a_call_not_at_a_failed_offer() -> None:
    q = QueueConfig(strategy="longest_idle", members=members("a", "b"), retry_after=0.0)
    engine = engine_with({"q": q})
    engine.agent_login("a", None, 0.0)
    engine.agent_login("b", None, 1.0)
    ring = ring_of(engine.caller_joined("c1", "q", 2.0))
    assert ring.agent_id == "a"
    engine.offer_answered(ring.offer_id, "mobile", 3.0)
    engine.call_ended("c1", 10.0)  # a idle since 10, b since 1
    ring = ring_of(engine.caller_joined("c2", "q", 11.0))
    assert ring.agent_id == "b"
    engine.offer_failed(ring.offer_id, None, "rejected", 12.0)  # b keeps idle since 1
    assert engine.agent_snapshot("b").idle_since == 1.0


def test_random_among_equals_spreads_calls_and_is_reproducible() -> None:
    q = QueueConfig(strategy="random", members=members(*"abcdef"))

    def first_choices(seed: int) -> list[str]:
        chosen = []
        for i in range(40):
            engine = engine_with({"q": q}, login="abcdef", seed=seed + i)
            chosen.append(ring_of(engine.caller_joined("c", "q", 0.0)).agent_id)
        return chosen

    assert first_choices(7) == first_choices(7)
    assert len(set(first_choices(7))) >= 4


def test_ring_at_once_two_rings_two_agents_and_first_answer_cancels_the_other() -> None:
    q = QueueConfig(strategy="skills", ring_at_once=2, members=members("a", "b", "c", c=9))
    engine = engine_with({"q": q}, login=["a", "b", "c"])
    out = engine.caller_joined("c1", "q", 0.0)
    rings = of(Ring, out)
    assert sorted(r.agent_id for r in rings) == ["a", "b"]
    by_agent = {r.agent_id: r for r in rings}
    out = engine.offer_answered(by_agent["b"].offer_id, "mobile", 2.0)
    assert CancelRing(offer_id=by_agent["a"].offer_id, reason="answered_elsewhere") in out
    assert engine.agent_snapshot("a").state is AgentState.READY
    assert engine.agent_snapshot("a").unanswered_in_a_row == 0
    assert engine.agent_snapshot("b").state is AgentState.ON_CALL


def test_ring_all_rings_every_ready_agent_and_adds_agents_who_free_up() -> None:
    q = QueueConfig(ring_at_once=None, members=members("a", "b", "c"))
    engine = engine_with({"q": q}, login=["a", "b"])
    out = engine.caller_joined("c1", "q", 0.0)
    assert sorted(r.agent_id for r in of(Ring, out)) == ["a", "b"]
    assert ring_of(engine.agent_login("c", None, 1.0)).call_id == "c1"


def test_offer_rings_every_reachable_device_of_the_kinds_the_queue_rings() -> None:
    agent = AgentConfig(
        devices=(
            Device(id="desk", kind="desk"),
            Device(id="soft", kind="softphone"),
            Device(id="web", kind="browser"),
            Device(id="gsm", kind="mobile"),
        )
    )
    q = QueueConfig(members=members("a"), device_kinds=frozenset({"desk", "browser", "mobile"}))
    engine = engine_with({"q": q}, {"a": agent})
    for device in ("desk", "soft", "web"):
        engine.device_registered("a", device, 0.0)
    engine.device_unregistered("a", "web", 0.0)
    engine.agent_login("a", None, 0.0)
    assert ring_of(engine.caller_joined("c1", "q", 1.0)).devices == ("desk", "gsm")


def test_agent_without_a_registered_device_is_not_rung_until_it_registers() -> None:
    agent = AgentConfig(devices=(Device(id="desk", kind="desk"),))
    engine = engine_with({"q": QueueConfig(members=members("a"))}, {"a": agent}, login=["a"])
    assert of(Ring, engine.caller_joined("c1", "q", 0.0)) == []
    ring = ring_of(engine.device_registered("a", "desk", 1.0))
    assert ring.devices == ("desk",)


@pytest.mark.parametrize("blocks", [True, False])
def test_presence_busy_blocks_offers_only_when_the_queue_says_so(blocks: bool) -> None:
    q = QueueConfig(members=members("a"), presence_blocks=blocks)
    engine = engine_with({"q": q}, login=["a"])
    engine.agent_presence("a", True, 0.0)
    rang = of(Ring, engine.caller_joined("c1", "q", 1.0))
    assert bool(rang) is not blocks
    if blocks:
        assert ring_of(engine.agent_presence("a", False, 2.0)).call_id == "c1"


def test_rejected_caller_returns_to_the_same_position() -> None:
    q = QueueConfig(members=members("a"))
    engine = engine_with({"q": q}, login=["a"])
    ring = ring_of(engine.caller_joined("c1", "q", 0.0))
    engine.caller_joined("c2", "q", 1.0)
    engine.caller_joined("c3", "q", 2.0)
    out = engine.offer_failed(ring.offer_id, "mobile", "rejected", 3.0)
    assert [e.kind for e in of(QueueEvent, out)][0] == "rejected"
    assert [engine.position_of(c) for c in ("c1", "c2", "c3")] == [1, 2, 3]
    # The agent is not offered c1 again at once: c2 rings instead.
    assert ring_of(out).call_id == "c2"


def test_rejecting_agent_gets_the_same_call_again_after_retry_after() -> None:
    q = QueueConfig(members=members("a"), retry_after=5.0)
    engine = engine_with({"q": q}, login=["a"])
    ring = ring_of(engine.caller_joined("c1", "q", 0.0))
    out = engine.offer_failed(ring.offer_id, None, "no_answer", 1.0)
    assert of(Ring, out) == []
    assert engine.next_deadline() == 6.0
    assert ring_of(engine.tick(6.0)).call_id == "c1"


def test_other_agent_gets_the_call_before_the_one_who_rejected() -> None:
    q = QueueConfig(strategy="skills", members=members("a", "b", a=1, b=2))
    engine = engine_with({"q": q}, login=["a", "b"])
    ring = ring_of(engine.caller_joined("c1", "q", 0.0))
    assert ring.agent_id == "a"
    assert ring_of(engine.offer_failed(ring.offer_id, None, "rejected", 1.0)).agent_id == "b"


def test_callers_are_served_fifo_with_priority_first() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))})
    engine.caller_joined("c1", "q", 0.0)
    engine.caller_joined("c2", "q", 1.0)
    engine.caller_joined("vip", "q", 2.0, priority=5)
    assert [engine.position_of(c) for c in ("vip", "c1", "c2")] == [1, 2, 3]
    assert ring_of(engine.agent_login("a", None, 3.0)).call_id == "vip"


def test_free_agent_serves_the_higher_priority_queue_then_the_longest_wait() -> None:
    queues = {
        "low": QueueConfig(priority=0, members=members("a")),
        "high": QueueConfig(priority=1, members=members("a")),
        "low2": QueueConfig(priority=0, members=members("a")),
    }
    engine = engine_with(queues)
    engine.caller_joined("old-low", "low", 0.0)
    engine.caller_joined("older-low2", "low2", -5.0)
    engine.caller_joined("new-high", "high", 10.0)
    first = ring_of(engine.agent_login("a", None, 11.0))
    assert first.call_id == "new-high"
    engine.offer_answered(first.offer_id, "mobile", 12.0)
    assert ring_of(engine.call_ended("new-high", 13.0)).call_id == "older-low2"


def test_agent_is_never_offered_two_calls_at_once() -> None:
    queues = {"q1": QueueConfig(members=members("a")), "q2": QueueConfig(members=members("a"))}
    engine = engine_with(queues, login=["a"])
    assert len(of(Ring, engine.caller_joined("c1", "q1", 0.0))) == 1
    assert of(Ring, engine.caller_joined("c2", "q2", 0.0)) == []


def test_max_callers_overflows_the_new_caller() -> None:
    q = QueueConfig(members=members("a"), max_callers=1, overflow={"max_callers": "vm"})
    engine = engine_with({"q": q})
    assert of(Overflow, engine.caller_joined("c1", "q", 0.0)) == []
    out = engine.caller_joined("c2", "q", 1.0)
    assert of(Overflow, out) == [
        Overflow(call_id="c2", queue_id="q", reason="max_callers", destination="vm")
    ]
    assert [e.kind for e in of(QueueEvent, out)] == ["entered", "overflowed"]
    assert engine.position_of("c2") is None


def test_max_wait_overflows_and_cancels_the_ring() -> None:
    q = QueueConfig(
        members=members("a"), max_wait=30.0, ring_time=60.0, overflow={"max_wait": "menu"}
    )
    engine = engine_with({"q": q}, login=["a"])
    ring = ring_of(engine.caller_joined("c1", "q", 0.0))
    out = engine.tick(30.0)
    assert CancelRing(offer_id=ring.offer_id, reason="max_wait") in out
    assert of(Overflow, out)[0].destination == "menu"
    assert engine.agent_snapshot("a").state is AgentState.READY


def test_no_agents_logged_in_overflows_on_join_when_a_destination_is_set() -> None:
    q = QueueConfig(members=members("a"), overflow={"no_agents_logged_in": "closed"})
    engine = engine_with({"q": q})
    out = engine.caller_joined("c1", "q", 0.0)
    assert of(Overflow, out)[0].reason == "no_agents_logged_in"


def test_caller_waits_when_no_agents_logged_in_and_no_destination_is_set() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))})
    assert of(Overflow, engine.caller_joined("c1", "q", 0.0)) == []
    assert engine.position_of("c1") == 1


def test_no_agents_available_overflows_when_everyone_is_paused() -> None:
    q = QueueConfig(members=members("a"), overflow={"no_agents_available": "vm"})
    engine = engine_with({"q": q}, login=["a"])
    engine.agent_pause("a", "lunch", 0.0)
    out = engine.caller_joined("c1", "q", 1.0)
    assert of(Overflow, out)[0].reason == "no_agents_available"


def test_waiting_callers_overflow_when_the_last_agent_logs_out() -> None:
    q = QueueConfig(members=members("a"), overflow={"no_agents_logged_in": "vm"})
    engine = engine_with({"q": q}, login=["a"])
    engine.agent_pause("a", "x", 0.0)
    engine.caller_joined("c1", "q", 1.0)
    out = engine.agent_logout("a", 2.0)
    assert of(Overflow, out)[0].call_id == "c1"


def test_ring_attempts_exhausted_overflows_the_caller() -> None:
    q = QueueConfig(
        members=members("a", "b"),
        ring_attempts=2,
        retry_after=0.0,
        overflow={"ring_attempts": "vm"},
    )
    engine = engine_with({"q": q}, login=["a", "b"])
    first = ring_of(engine.caller_joined("c1", "q", 0.0))
    second = ring_of(engine.offer_failed(first.offer_id, None, "no_answer", 1.0))
    out = engine.offer_failed(second.offer_id, None, "rejected", 2.0)
    assert of(Overflow, out) == [
        Overflow(call_id="c1", queue_id="q", reason="ring_attempts", destination="vm")
    ]


def test_exit_key_takes_the_caller_out_and_other_digits_do_nothing() -> None:
    q = QueueConfig(members=members("a"), exit_key="9", overflow={"exit_key": "callback"})
    engine = engine_with({"q": q})
    engine.caller_joined("c1", "q", 0.0)
    assert engine.caller_pressed("c1", "1", 1.0) == []
    out = engine.caller_pressed("c1", "9", 2.0)
    assert of(Overflow, out)[0].destination == "callback"
    event = of(QueueEvent, out)[0]
    assert (event.kind, event.data["wait"], event.data["position"]) == ("exited_by_key", 2.0, 1)


def test_abandon_records_position_and_wait() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))})
    engine.caller_joined("c1", "q", 0.0)
    engine.caller_joined("c2", "q", 1.0)
    out = engine.caller_left("c2", 11.0)
    event = of(QueueEvent, out)[0]
    assert (event.kind, event.data["position"], event.data["wait"]) == ("abandoned", 2, 10.0)


def test_caller_leaving_while_ringing_cancels_the_ring_and_frees_the_agent() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))}, login=["a"])
    ring = ring_of(engine.caller_joined("c1", "q", 0.0))
    engine.caller_joined("c2", "q", 1.0)
    out = engine.caller_left("c1", 2.0)
    assert CancelRing(offer_id=ring.offer_id, reason="caller_left") in out
    assert ring_of(out).call_id == "c2"


def test_late_answer_to_a_timed_out_offer_is_told_to_hang_up() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"), ring_time=5.0)}, login=["a"])
    ring = ring_of(engine.caller_joined("c1", "q", 0.0))
    engine.tick(5.0)
    assert engine.offer_answered(ring.offer_id, "mobile", 5.1) == [
        CancelRing(offer_id=ring.offer_id, reason="stale_offer")
    ]


def test_calls_in_progress_keep_their_settings_after_a_reload() -> None:
    agents = {"a": AgentConfig(devices=(Device(id="m", kind="mobile"),))}
    engine = AcdEngine(rng=random.Random(1))
    engine.configure({"q": QueueConfig(members=members("a"), ring_time=10.0)}, agents, 0.0)
    engine.caller_joined("old", "q", 0.0)
    engine.configure({"q": QueueConfig(members=members("a"), ring_time=30.0)}, agents, 1.0)
    engine.caller_joined("new", "q", 2.0)
    ring = ring_of(engine.agent_login("a", None, 3.0))
    assert (ring.call_id, ring.ring_time) == ("old", 10.0)


def test_removing_a_queue_sends_its_callers_out() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))})
    engine.caller_joined("c1", "q", 0.0)
    out = engine.configure({}, {"a": AgentConfig()}, 1.0)
    assert of(Overflow, out)[0].reason == "queue_removed"


def test_agent_held_by_another_node_is_skipped() -> None:
    class Shared:
        def try_reserve(self, agent_id: str) -> bool:
            return agent_id != "a"

        def release(self, agent_id: str) -> None:
            pass

    engine = AcdEngine(repository=Shared(), rng=random.Random(1))
    q = QueueConfig(members=members("a", "b", a=1, b=2))
    engine.configure(
        {"q": q},
        {
            "a": AgentConfig(devices=(Device(id="m", kind="mobile"),)),
            "b": AgentConfig(devices=(Device(id="m", kind="mobile"),)),
        },
        0,
    )
    engine.agent_login("a", None, 0.0)
    engine.agent_login("b", None, 0.0)
    assert ring_of(engine.caller_joined("c1", "q", 1.0)).agent_id == "b"
