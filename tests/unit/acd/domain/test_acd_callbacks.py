"""Callback requests keep the caller's place (B1-B6): order, windows, one dial
per request, never more dials than free agents, retries and validity."""

from __future__ import annotations

import random

from acd_domain_helpers import engine_with, members, of

from acd.domain import (
    AcdError,
    AgentState,
    Bridge,
    CancelRing,
    Overflow,
    QueueConfig,
    QueueEvent,
    Ring,
)

S = AgentState
Q = {"q": QueueConfig(members=members("a", "b"))}


def test_a_request_is_served_at_its_callers_original_place() -> None:
    engine = engine_with(Q)
    engine.caller_joined("early", "q", 1.0)
    # The caller who joined at 2.0 asked for a callback at 30.0 and hung up.
    engine.callback_requested("cb", "q", joined_at=2.0, now=30.0)
    engine.caller_joined("late", "q", 3.0)
    assert [engine.position_of(c) for c in ("early", "cb", "late")] == [1, 2, 3]
    rings = of(Ring, engine.agent_login("a", None, 31.0))
    assert [r.call_id for r in rings] == ["early"]
    engine.offer_answered(rings[0].offer_id, rings[0].devices[0], 32.0)
    rings = of(Ring, engine.agent_login("b", None, 33.0))
    assert [(r.call_id, r.channel) for r in rings] == [("cb", "callback")]


def test_the_ewt_of_callers_behind_counts_the_request() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"))}, login=["a"])
    ring = of(Ring, engine.caller_joined("talking", "q", 1.0))[0]
    engine.offer_answered(ring.offer_id, ring.devices[0], 2.0)  # a is busy now
    engine.caller_joined("behind", "q", 5.0)
    before = engine.ewt_for("behind", 6.0)
    engine.callback_requested("cb", "q", joined_at=3.0, now=6.0)
    assert engine.position_of("behind") == 2
    after = engine.ewt_for("behind", 6.0)
    assert before is not None and after is not None and after > before


def test_a_chosen_window_holds_the_request_until_it_opens() -> None:
    engine = engine_with(Q, login=["a"])
    out = engine.callback_requested("cb", "q", joined_at=1.0, now=1.0, eligible_at=100.0)
    assert of(Ring, out) == []  # the agent is free, but the window opens at 100
    ring = of(Ring, engine.caller_joined("later", "q", 2.0))[0]
    assert ring.call_id == "later"
    engine.offer_answered(ring.offer_id, ring.devices[0], 3.0)
    assert of(Ring, engine.agent_login("b", None, 50.0)) == []  # not yet
    opened = of(Ring, engine.tick(100.0))
    assert [(r.call_id, r.agent_id) for r in opened] == [("cb", "b")]


def test_an_unanswered_attempt_goes_back_to_its_place_and_frees_the_agent() -> None:
    engine = engine_with(Q, login=["a"])
    ring = of(Ring, engine.callback_requested("cb", "q", joined_at=1.0, now=1.0))[0]
    engine.offer_answered(ring.offer_id, ring.devices[0], 2.0)  # agent first
    assert engine.agent_snapshot("a").call_kind == "outbound"
    engine.caller_joined("later", "q", 3.0)
    out = engine.callback_retry("cb", eligible_at=60.0, now=10.0)
    assert [(e.kind, e.data["outcome"]) for e in of(QueueEvent, out)
            if e.kind == "callback_attempt"] == [("callback_attempt", "no_answer")]
    assert engine.position_of("cb") == 1  # still ahead of "later"
    rings = of(Ring, out)
    assert [r.call_id for r in rings] == ["later"]  # the agent takes the next
    snap = engine.agent_snapshot("a")
    assert (snap.state, snap.unanswered_in_a_row) == (S.RESERVED, 0)


def test_customer_first_no_answer_cancels_the_reservation_without_counting_it() -> None:
    engine = engine_with(Q, login=["a"])
    ring = of(Ring, engine.callback_requested("cb", "q", joined_at=1.0, now=1.0))[0]
    out = engine.callback_retry("cb", eligible_at=60.0, now=20.0)
    assert CancelRing(offer_id=ring.offer_id, reason="callback_retry") in out
    assert engine.agent_snapshot("a").state is S.READY
    assert engine.agent_snapshot("a").unanswered_in_a_row == 0


def test_completed_requests_close_and_the_agent_wraps_up() -> None:
    engine = engine_with({"q": QueueConfig(members=members("a"), wrap_up=5.0)}, login=["a"])
    ring = of(Ring, engine.callback_requested("cb", "q", joined_at=1.0, now=1.0))[0]
    assert of(Bridge, engine.offer_answered(ring.offer_id, ring.devices[0], 2.0))
    out = engine.callback_closed("cb", "completed", 60.0)
    assert [e.kind for e in of(QueueEvent, out)] == ["callback_completed"]
    assert engine.agent_snapshot("a").state is S.WRAP_UP


def test_a_request_expires_at_the_end_of_its_validity_unless_being_called() -> None:
    engine = engine_with(Q)
    engine.callback_requested("old", "q", joined_at=1.0, now=1.0, expires_at=50.0)
    out = engine.tick(50.0)
    assert [e.kind for e in of(QueueEvent, out)] == ["callback_expired"]
    assert [(o.call_id, o.reason) for o in of(Overflow, out)] == [("old", "callback_expired")]
    assert engine.position_of("old") is None


def test_no_agents_logged_in_does_not_overflow_a_request() -> None:
    cfg = QueueConfig(members=members("a"), overflow={"no_agents_logged_in": "hangup"})
    engine = engine_with({"q": cfg})
    out = engine.callback_requested("cb", "q", joined_at=1.0, now=1.0)
    assert of(Overflow, out) == []
    assert engine.position_of("cb") == 1


def test_thousands_of_requests_never_get_two_dials_or_more_dials_than_free_agents() -> None:
    """A simulation with races: agents come and go, attempts succeed, fail,
    retry; at every step each request has at most one offer and every offer
    holds its own agent."""
    rng = random.Random(7)
    agents = [f"a{i}" for i in range(30)]
    engine = engine_with({"q": QueueConfig(members=members(*agents))})
    now = 0.0
    open_requests: set[str] = set()
    offers: dict[str, Ring] = {}
    bridged: set[str] = set()

    def take(decisions: list[object]) -> None:
        for d in decisions:
            if isinstance(d, Ring):
                assert d.call_id not in {r.call_id for r in offers.values()}, "two dials"
                offers[d.offer_id] = d
            elif isinstance(d, CancelRing):
                offers.pop(d.offer_id, None)
            elif isinstance(d, Overflow):
                open_requests.discard(d.call_id)

    for n in range(3000):
        now += rng.uniform(0.01, 0.5)
        roll = rng.random()
        if roll < 0.35:
            rid = f"cb{n}"
            open_requests.add(rid)
            take(engine.callback_requested(rid, "q", joined_at=now - rng.uniform(0, 100),
                                           now=now, expires_at=now + 400))
        elif roll < 0.45:
            agent = rng.choice(agents)
            if engine.agent_snapshot(agent).state is S.LOGGED_OUT:
                take(engine.agent_login(agent, None, now))
            elif engine.agent_snapshot(agent).state is S.READY:
                take(engine.agent_logout(agent, now))
        elif roll < 0.70 and offers:
            offer_id = rng.choice(sorted(offers))
            ring = offers.pop(offer_id)
            out = engine.offer_answered(offer_id, ring.devices[0], now)
            take(out)
            if of(Bridge, out):
                bridged.add(ring.call_id)
        elif roll < 0.85 and bridged:
            rid = rng.choice(sorted(bridged))
            bridged.discard(rid)
            if rng.random() < 0.5:
                take(engine.callback_retry(rid, eligible_at=now + 5, now=now))
            else:
                open_requests.discard(rid)
                take(engine.callback_closed(rid, "completed", now))
        else:
            take(engine.tick(now))
        free = sum(1 for a in agents if engine.agent_snapshot(a).state is S.READY)
        reserved = {engine.agent_snapshot(a).offer_id for a in agents} - {None}
        assert reserved == set(offers), "every ringing offer holds exactly its own agent"
        assert len({r.agent_id for r in offers.values()}) == len(offers)
        assert free + len(offers) <= len(agents)


# -- B5: the callback list ----------------------------------------------------------


def test_a_claimed_request_keeps_its_place_but_is_not_dialled_until_released() -> None:
    engine = engine_with(Q)
    engine.callback_requested("cb", "q", joined_at=1.0, now=1.0)
    engine.callback_claimed("cb", until=200.0, now=2.0)
    assert engine.position_of("cb") == 1
    assert of(Ring, engine.agent_login("a", None, 3.0)) == []  # a is free, cb is claimed
    rings = of(Ring, engine.callback_released("cb", now=10.0))
    assert [(r.call_id, r.agent_id) for r in rings] == [("cb", "a")]


def test_a_claim_that_runs_out_gives_the_request_back_to_automatic_dialling() -> None:
    engine = engine_with(Q, login=["a"])
    engine.callback_requested("cb", "q", joined_at=1.0, now=1.0, eligible_at=500.0)
    engine.callback_claimed("cb", until=100.0, now=2.0)
    engine.callback_claimed("cb", until=150.0, now=90.0)  # renewed before it ran out
    assert of(Ring, engine.tick(100.0)) == []
    assert [r.call_id for r in of(Ring, engine.tick(150.0))] == ["cb"]


def test_an_unanswered_call_from_the_list_retries_later_at_the_same_place() -> None:
    engine = engine_with(Q, login=["a"])
    ring = of(Ring, engine.caller_joined("on the line", "q", 0.5))[0]
    engine.offer_answered(ring.offer_id, ring.devices[0], 0.6)  # a takes this one
    engine.callback_requested("cb", "q", joined_at=1.0, now=1.0)
    engine.caller_joined("later", "q", 2.0)
    engine.callback_claimed("cb", until=300.0, now=3.0)
    assert of(Ring, engine.callback_released("cb", now=60.0, eligible_at=360.0)) == []
    assert engine.position_of("cb") == 1
    out = engine.agent_login("b", None, 61.0)
    assert [r.call_id for r in of(Ring, out)] == ["later"]


def test_a_request_being_dialled_cannot_be_claimed() -> None:
    engine = engine_with(Q, login=["a"])
    engine.callback_requested("cb", "q", joined_at=1.0, now=1.0)  # a is rung at once
    try:
        engine.callback_claimed("cb", until=100.0, now=2.0)
    except AcdError as exc:
        assert "being called now" in str(exc)
    else:
        raise AssertionError("a request being dialled was claimed")


def test_closing_a_claimed_request_from_the_list_takes_it_out_of_line() -> None:
    engine = engine_with(Q)
    engine.callback_requested("cb", "q", joined_at=1.0, now=1.0)
    engine.callback_claimed("cb", until=100.0, now=2.0)
    out = engine.callback_closed("cb", "completed", now=50.0)
    assert [e.kind for e in of(QueueEvent, out)] == ["callback_completed"]
    assert of(Ring, engine.agent_login("a", None, 120.0)) == []
