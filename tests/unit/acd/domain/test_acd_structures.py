"""The ordered structures under the engine, checked against plain models."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.domain.agent_state import TRANSITIONS, AgentState, next_state
from acd.domain.errors import IllegalTransition
from acd.domain.ready_index import ReadyIndex
from acd.domain.timers import Deadlines
from acd.domain.waiting import WaitingList, wait_key

EVENTS = sorted({event for _, event in TRANSITIONS})


@pytest.mark.parametrize("state", list(AgentState))
@pytest.mark.parametrize("event", EVENTS)
def test_transitions_outside_the_table_raise(state: AgentState, event: str) -> None:
    if (state, event) in TRANSITIONS:
        assert next_state(state, event) is TRANSITIONS[(state, event)]
    else:
        with pytest.raises(IllegalTransition, match=f"agent in state '{state.value}' cannot"):
            next_state(state, event)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 2), st.integers(0, 20)),
        min_size=1,
        max_size=60,
    )
)
def test_waiting_list_keeps_priority_then_join_order(ops: list[tuple[bool, int, int]]) -> None:
    waiting = WaitingList()
    model: dict[tuple[int, float, int], str] = {}
    for seq, (add, priority, joined) in enumerate(ops):
        if add or not model:
            key = wait_key(priority, float(joined), seq)
            waiting.add(key, f"c{seq}")
            model[key] = f"c{seq}"
        else:
            key = sorted(model)[joined % len(model)]
            waiting.remove(key)
            del model[key]
        expected = [model[k] for k in sorted(model)]
        assert list(waiting) == expected
        for position, key in enumerate(sorted(model), start=1):
            assert waiting.position(key) == position


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 9), st.integers(1, 4), st.integers(0, 50)),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 5),
)
def test_ready_index_offers_best_tier_then_longest_idle(
    ops: list[tuple[bool, int, int, int]], count: int
) -> None:
    index = ReadyIndex(random_order=False)
    model: dict[str, tuple[int, float, str]] = {}
    for add, agent, tier, idle in ops:
        agent_id = f"a{agent}"
        if add and agent_id not in model:
            index.add(agent_id, tier, float(idle))
            model[agent_id] = (tier, float(idle), agent_id)
        elif not add:
            index.remove(agent_id)
            model.pop(agent_id, None)
        expected = [a for *_, a in sorted(model.values())][:count]
        assert index.pick(count, lambda a: True, random.Random(0)) == expected
        assert len(index) == len(model)


def test_random_index_picks_only_the_best_tier_first() -> None:
    index = ReadyIndex(random_order=True)
    for i in range(10):
        index.add(f"good{i}", 1, 0.0)
        index.add(f"bad{i}", 2, 0.0)
    rng = random.Random(3)
    for _ in range(50):
        picked = index.pick(10, lambda a: True, rng)
        assert sorted(picked) == sorted(f"good{i}" for i in range(10))


def test_deadlines_skip_cancelled_timers_and_fire_cool_offs_first() -> None:
    deadlines = Deadlines()
    ring = deadlines.add("ring_timeout", "o1", 5.0)
    retry = deadlines.add("retry", "c1", 5.0)
    dead = deadlines.add("max_wait", "c2", 1.0)
    dead.cancel()
    assert deadlines.next_at() == 5.0
    assert deadlines.pop_due(4.0) is None
    assert deadlines.pop_due(5.0) is retry
    assert deadlines.pop_due(5.0) is ring
    assert deadlines.next_at() is None


def test_domain_imports_only_the_standard_library_and_itself() -> None:
    import ast
    import sys
    from pathlib import Path

    import acd.domain

    root = Path(acd.domain.__file__).parent
    banned = {"asyncio", "socket", "threading", "time", "os", "subprocess"}
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert name.startswith("acd.domain") or top in sys.stdlib_module_names, (
                    f"{path.name} imports {name}"
                )
                assert top not in banned, f"{path.name} imports {name}: no I/O, no clock"
