"""TCP connection limits as data (issue 10 item 5): per-source count,
message deadline (slowloris), idle timeout; registration flows and dialogs
are kept."""

from __future__ import annotations

import pytest

from sip.tcp_guard import TcpGuard, TcpLimits

LIMITS = TcpLimits(idle_timeout=30.0, message_timeout=10.0, max_per_source=2)


def test_per_source_limit_refuses_the_next_accepted_connection_only() -> None:
    guard = TcpGuard(LIMITS)
    assert guard.accept("a", "10.0.0.1", 0.0)
    assert guard.accept("b", "10.0.0.1", 0.0)
    assert not guard.accept("c", "10.0.0.1", 0.0)
    assert guard.accept("d", "10.0.0.2", 0.0)
    assert guard.accept("out", "10.0.0.1", 0.0, accepted=False)  # ours: not counted
    guard.closed("a")
    assert guard.accept("e", "10.0.0.1", 0.0)


def test_connection_without_a_message_is_closed_after_the_idle_timeout() -> None:
    guard = TcpGuard(LIMITS)
    guard.accept("a", "h", 0.0)
    assert guard.next_deadline() == 30.0
    assert guard.expired(29.9) == []
    assert guard.expired(30.0) == [("a", "idle for 30 s")]


def test_each_complete_message_restarts_the_idle_clock() -> None:
    guard = TcpGuard(LIMITS)
    guard.accept("a", "h", 0.0)
    guard.received("a", 20.0, messages=1, partial=False)
    assert guard.expired(30.0) == []  # re-armed, not closed
    assert guard.next_deadline() == 50.0
    assert guard.expired(50.0) == [("a", "idle for 30 s")]


def test_unfinished_message_must_complete_within_the_message_timeout() -> None:
    guard = TcpGuard(LIMITS)
    guard.accept("a", "h", 0.0)
    guard.received("a", 1.0, messages=0, partial=True)
    guard.received("a", 5.0, messages=0, partial=True)  # more bytes: same deadline
    assert guard.next_deadline() == 11.0
    assert guard.expired(11.0) == [("a", "message not complete after 10 s")]


def test_completing_the_message_clears_its_deadline() -> None:
    guard = TcpGuard(LIMITS)
    guard.accept("a", "h", 0.0)
    guard.received("a", 1.0, messages=0, partial=True)
    guard.received("a", 2.0, messages=1, partial=False)
    assert guard.expired(11.0) == []
    assert guard.next_deadline() == 32.0


def test_a_registration_flow_is_kept_until_its_binding_expires() -> None:
    guard = TcpGuard(LIMITS)
    guard.accept("a", "h", 0.0)
    guard.received("a", 1.0, messages=1, partial=False)
    guard.keep("a", 3601.0)
    assert guard.expired(31.0) == []
    assert guard.expired(3600.0) == []
    assert guard.expired(3601.0) == [("a", "idle for 30 s")]


def test_a_held_connection_is_never_idle_and_idles_from_its_release() -> None:
    guard = TcpGuard(LIMITS)
    guard.accept("a", "h", 0.0)
    guard.hold("a")
    guard.hold("a")
    assert guard.expired(1000.0) == []
    guard.release("a", 1000.0)
    assert guard.expired(2000.0) == []
    guard.release("a", 2000.0)
    assert guard.expired(2029.0) == []
    assert guard.expired(2030.0) == [("a", "idle for 30 s")]


def test_slowloris_on_a_held_connection_is_still_cut() -> None:
    guard = TcpGuard(LIMITS)
    guard.accept("a", "h", 0.0)
    guard.hold("a")
    guard.received("a", 1.0, messages=0, partial=True)
    assert guard.expired(11.0) == [("a", "message not complete after 10 s")]


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        TcpLimits(idle_timeout=0)
    with pytest.raises(ValueError):
        TcpLimits(max_per_source=0)
