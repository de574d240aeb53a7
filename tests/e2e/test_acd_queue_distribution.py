"""Distribution to agents on the real server (SPEC D2-D7, D9, D10, D12).

Agents are pjsua2 phones logged in through the HTTP API; callers are pjsua2
phones of registered users dialling 5000 (destination ``queue:q``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from peers.jono import JonoServer, StartJono
from peers.pjsua_client import PhoneError, PjsuaPhone
from test_acd_queue_basics import (
    acd_config,
    agent_state,
    api,
    phone,
    set_state,
    start_acd,
    wait_for,
)

pytestmark = pytest.mark.e2e


def _no_call(p: PjsuaPhone, seconds: float) -> bool:
    try:
        p.wait_incoming(timeout=seconds)
    except PhoneError:
        return True
    return False


def _call_reaches(
    server: JonoServer, caller: PjsuaPhone, agent: PjsuaPhone, passed_over: PjsuaPhone
) -> None:
    """The caller dials the queue: ``agent`` rings and answers, ``passed_over`` never rings."""
    agent.auto_answer(200)
    caller.call(server.uri("5000"))
    agent.wait_incoming()
    agent.wait_state("CONFIRMED")
    assert _no_call(passed_over, 0.5)
    caller.hangup()
    agent.wait_state("DISCONNECTED")


def test_skill_level_1_agent_gets_the_call_first(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(jono, acd_config({"members": {"bob": {"level": 2}, "carol": {"level": 1}}}))
    with (
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "carol") as carol,
        phone(server, tmp_path, "alice") as alice,
    ):
        set_state(server, "bob", "ready")
        set_state(server, "carol", "ready")
        _call_reaches(server, alice, agent=carol, passed_over=bob)


def test_longest_idle_agent_gets_the_call(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(jono, acd_config({"members": ["bob", "carol"]}))
    with (
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "carol") as carol,
        phone(server, tmp_path, "alice") as alice,
    ):
        set_state(server, "carol", "ready")  # idle longer than bob
        time.sleep(0.3)
        set_state(server, "bob", "ready")
        _call_reaches(server, alice, agent=carol, passed_over=bob)


def test_sequential_order_moves_to_next_agent_after_ring_time(
    jono: StartJono, tmp_path: Path
) -> None:
    server = start_acd(
        jono,
        acd_config(
            {
                "strategy": "sequential",
                "ring_time": 2,
                "members": {"carol": {"order": 2}, "bob": {"order": 1}},
            }
        ),
    )
    with (
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "carol") as carol,
        phone(server, tmp_path, "alice") as alice,
    ):
        set_state(server, "carol", "ready")
        set_state(server, "bob", "ready")
        carol.auto_answer(200)
        alice.call(server.uri("5000"))
        bob.wait_incoming()
        rang_bob = time.monotonic()
        assert bob.wait_state("DISCONNECTED", timeout=5)["code"] == 487  # ring time over
        carol.wait_incoming(timeout=5)
        moved_after = time.monotonic() - rang_bob
        carol.wait_state("CONFIRMED")
        alice.hangup()
        carol.wait_state("DISCONNECTED")
    assert 1.5 <= moved_after <= 4.0, moved_after


def test_two_agents_ring_at_once_and_the_other_is_cancelled(
    jono: StartJono, tmp_path: Path
) -> None:
    server = start_acd(
        jono, acd_config({"ring_at_once": 2, "ring_time": 5, "members": ["bob", "carol"]})
    )
    with (
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "carol") as carol,
        phone(server, tmp_path, "alice") as alice,
    ):
        set_state(server, "bob", "ready")
        set_state(server, "carol", "ready")
        alice.call(server.uri("5000"))
        bob.wait_incoming()
        carol.wait_incoming()
        carol.answer(200)
        carol.wait_state("CONFIRMED")
        assert bob.wait_state("DISCONNECTED")["code"] == 487, bob.history
        wait_for(lambda: agent_state(server, "bob") == "ready", what="bob freed")
        assert agent_state(server, "carol") == "on_call"
        alice.hangup()
        carol.wait_state("DISCONNECTED")


def test_agents_two_devices_ring_and_the_other_is_cancelled_on_answer(
    jono: StartJono, tmp_path: Path
) -> None:
    server = start_acd(jono, acd_config({"members": ["bob"], "ring_time": 5}))
    with (
        phone(server, tmp_path, "desk", "bob") as desk,
        phone(server, tmp_path, "soft", "bob") as soft,
        phone(server, tmp_path, "alice") as alice,
    ):
        set_state(server, "bob", "ready")
        alice.call(server.uri("5000"))
        desk.wait_incoming()
        soft.wait_incoming()
        soft.answer(200)
        soft.wait_state("CONFIRMED")
        assert desk.wait_state("DISCONNECTED")["code"] in (487, 200), desk.history
        assert agent_state(server, "bob") == "on_call"
        alice.hangup()
        soft.wait_state("DISCONNECTED")


def test_rejected_offer_keeps_the_caller_at_the_same_position(
    jono: StartJono, tmp_path: Path
) -> None:
    server = start_acd(jono, acd_config({"members": ["bob"], "ring_time": 5}, extra_users=1))
    with (
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "alice") as alice,
        phone(server, tmp_path, "dave1") as dave,
        api(server) as client,
    ):
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        dave.call(server.uri("5000"))
        dave.wait_state("CONFIRMED")
        before = [c["call_id"] for c in client.get("/api/queues/q/callers").json()]
        assert len(before) == 2
        bob.auto_answer(486)
        set_state(server, "bob", "ready")
        bob.wait_incoming()  # alice's call, rejected with 486
        assert bob.wait_state("DISCONNECTED")["code"] == 486
        after = [c["call_id"] for c in client.get("/api/queues/q/callers").json()]
        alice.hangup()
        dave.hangup()
    assert after[0] == before[0]  # D12: alice is still first in line
    assert set(after) == set(before)


def test_agent_is_logged_out_after_missed_offers(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(
        jono,
        acd_config({"members": ["bob"], "ring_time": 1, "auto_logout_after": 2}, extra_users=1),
    )
    with (
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "alice") as alice,
        phone(server, tmp_path, "dave1") as dave,
    ):
        alice.call(server.uri("5000"))
        alice.wait_state("CONFIRMED")
        dave.call(server.uri("5000"))
        dave.wait_state("CONFIRMED")
        set_state(server, "bob", "ready")
        bob.wait_incoming()
        bob.wait_state("DISCONNECTED", timeout=4)
        bob.wait_incoming(timeout=4)  # the other caller (the first is cooling off)
        bob.wait_state("DISCONNECTED", timeout=4)
        wait_for(lambda: agent_state(server, "bob") == "logged_out", what="auto logout")
        assert _no_call(bob, 1.0)
        alice.hangup()
        dave.hangup()


def test_wrap_up_delays_the_next_offer(jono: StartJono, tmp_path: Path) -> None:
    server = start_acd(jono, acd_config({"members": ["bob"], "wrap_up": 3}, extra_users=1))
    with (
        phone(server, tmp_path, "bob") as bob,
        phone(server, tmp_path, "alice") as alice,
        phone(server, tmp_path, "dave1") as dave,
    ):
        set_state(server, "bob", "ready")
        bob.auto_answer(200)
        alice.call(server.uri("5000"))
        bob.wait_incoming()
        bob.wait_state("CONFIRMED")
        dave.call(server.uri("5000"))
        dave.wait_state("CONFIRMED")
        alice.hangup()
        bob.wait_state("DISCONNECTED")
        ended = time.monotonic()
        wait_for(lambda: agent_state(server, "bob") == "wrap_up", what="wrap-up")
        bob.wait_incoming(timeout=6)
        delay = time.monotonic() - ended
        bob.wait_state("CONFIRMED")
        dave.hangup()
        bob.wait_state("DISCONNECTED")
    assert 2.5 <= delay <= 4.5, delay
