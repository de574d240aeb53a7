"""The password-guessing throttle (issue 10 item 6): per source, per user,
identical for existing and unknown users, bounded, clock passed in."""

from __future__ import annotations

import pytest

from sip.auth import AuthThrottle, Refusal, ThrottleLimits

LIMITS = ThrottleLimits(per_source=3, per_user=5, window=60.0, max_tracked=100)


def test_source_is_refused_after_per_source_failures_then_drains_at_the_window_rate() -> None:
    throttle = AuthThrottle(LIMITS)
    for _ in range(2):
        assert throttle.check("1.2.3.4", "alice", 2.0) is None
        assert throttle.failed("1.2.3.4", "alice", 2.0) is None
    assert throttle.check("1.2.3.4", "alice", 2.0) is None
    started = throttle.failed("1.2.3.4", "alice", 2.0)
    assert started is not None and started.by == "source"
    refusal = throttle.check("1.2.3.4", "bob", 2.0)
    assert refusal == Refusal(by="source", retry_after=pytest.approx(20.0, abs=1.0))
    assert throttle.check("5.6.7.8", "bob", 2.0) is None  # another source is not affected
    # 3 per 60 s drain: one more attempt about 20 s later.
    assert throttle.check("1.2.3.4", "bob", 10.0) is not None
    assert throttle.check("1.2.3.4", "bob", 23.0) is None


def test_sustained_guessing_from_one_source_gets_per_source_per_window() -> None:
    throttle = AuthThrottle(LIMITS)
    answered = 0
    for step in range(6000):  # 600 s at 10 guesses/s
        now = step / 10
        if throttle.check("1.2.3.4", f"user{step % 7}", now) is None:
            answered += 1
            throttle.failed("1.2.3.4", f"user{step % 7}", now)
    assert answered <= 3 + 600 / 60 * 3 + 1


def test_user_is_refused_to_new_sources_after_per_user_failures_from_many_sources() -> None:
    throttle = AuthThrottle(LIMITS)
    for i in range(5):
        throttle.failed(f"10.0.0.{i}", "alice", 0.0)
    assert throttle.check("10.0.0.99", "alice", 0.0) == Refusal(
        by="user", retry_after=pytest.approx(12.0, abs=1.0)
    )
    assert throttle.check("10.0.0.99", "bob", 0.0) is None


def test_unknown_and_existing_users_are_throttled_alike() -> None:
    # The throttle never learns which users exist: same inputs, same answers.
    a, b = AuthThrottle(LIMITS), AuthThrottle(LIMITS)
    out_a = [(a.check("s", "alice", t), a.failed("s", "alice", t)) for t in range(5)]
    out_b = [(b.check("s", "nosuchuser", t), b.failed("s", "nosuchuser", t)) for t in range(5)]
    assert out_a == out_b


def test_address_that_logged_in_as_the_user_is_not_locked_out_by_others() -> None:
    throttle = AuthThrottle(LIMITS)
    throttle.succeeded("192.0.2.10", "alice", 0.0)
    for i in range(10):
        throttle.failed(f"10.0.0.{i}", "alice", 1.0)
    assert throttle.check("192.0.2.10", "alice", 1.0) is None
    assert throttle.check("10.0.0.200", "alice", 1.0) is not None


def test_failures_without_a_username_count_per_source_only() -> None:
    throttle = AuthThrottle(LIMITS)
    for _ in range(3):
        throttle.failed("1.2.3.4", None, 0.0)
    assert throttle.check("1.2.3.4", None, 0.0) is not None


def test_tables_are_bounded() -> None:
    throttle = AuthThrottle(LIMITS)
    for i in range(1000):
        throttle.failed(f"10.{i // 250}.{i % 250}.1", f"u{i}", 0.0)
        throttle.succeeded(f"10.{i // 250}.{i % 250}.1", f"u{i}", 0.0)
    assert len(throttle._sources._levels) <= 100
    assert len(throttle._users._levels) <= 100
    assert len(throttle._trusted) <= 100


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        ThrottleLimits(per_source=0)
    with pytest.raises(ValueError):
        ThrottleLimits(window=0)
