"""Sign-in throttling per user name and per source, the same for unknown users, logged."""

from __future__ import annotations

import logging

from webauth_site import PASSWORDS, sign_in

from acd.web.auth.throttle import LoginThrottle, ThrottleSettings, source_key


async def test_user_is_throttled_after_failures_even_with_the_right_password(
    site, client_for, caplog
):
    caplog.set_level(logging.INFO, logger="jono.auth")
    per_user = site.auth.settings.throttle.per_user
    for i in range(per_user):
        response = await sign_in(client_for(f"198.51.100.{i + 1}"), "alice", f"guess-{i}")
        assert response.status_code == 401
    blocked = await sign_in(client_for("198.51.100.200"), "alice", PASSWORDS["alice"])
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0
    assert "jono_session" not in blocked.headers.get("set-cookie", "")
    throttled = [r.getMessage() for r in caplog.records if "throttled" in r.getMessage()]
    assert throttled == ["login throttled: user='alice' source=198.51.100.200 limit=user"]
    # The window passes: the right password works again.
    site.clock.now += site.auth.settings.throttle.window_seconds + 1
    assert (
        await sign_in(client_for("198.51.100.201"), "alice", PASSWORDS["alice"])
    ).status_code == 303


async def test_unknown_user_is_throttled_exactly_like_a_known_one(site, client_for):
    per_user = site.auth.settings.throttle.per_user
    for user in ("bob", "nobody"):
        answers = [
            (await sign_in(client_for(f"203.0.113.{i}"), user, "wrong-guess")).status_code
            for i in range(per_user + 1)
        ]
        assert answers == [401] * per_user + [429], user


async def test_one_source_spraying_many_users_is_throttled(site, client_for, caplog):
    caplog.set_level(logging.WARNING, logger="jono.auth")
    per_source = site.auth.settings.throttle.per_source
    client = client_for("192.0.2.77")
    codes = [
        (await sign_in(client, f"user{i}", "Password1!")).status_code for i in range(per_source + 2)
    ]
    assert codes == [401] * per_source + [429, 429]
    assert "login throttled: user='user" in caplog.text and "limit=source" in caplog.text
    # Another source is not affected.
    assert (await sign_in(client_for("192.0.2.78"), "bob", PASSWORDS["bob"])).status_code == 303


def test_ipv6_sources_count_per_64():
    assert source_key("2001:db8:1:2::1") == source_key("2001:db8:1:2:ffff::9")
    assert source_key("2001:db8:1:3::1") != source_key("2001:db8:1:2::1")
    assert source_key("::ffff:192.0.2.1") == source_key("192.0.2.1")


def test_memory_stays_bounded_under_a_flood_of_names():
    throttle = LoginThrottle(ThrottleSettings(max_keys=100))
    for i in range(10_000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}", f"user{i}", now=float(i))
    assert len(throttle._failures) <= 100


def test_success_clears_the_user_count_but_not_the_source_count():
    throttle = LoginThrottle(ThrottleSettings(per_user=2, per_source=3))
    throttle.failed("192.0.2.1", "bob", now=0)
    throttle.failed("192.0.2.1", "bob", now=1)
    assert not throttle.check("192.0.2.2", "bob", now=2).allowed
    throttle.succeeded("bob")
    assert throttle.check("192.0.2.2", "bob", now=2).allowed
    throttle.failed("192.0.2.1", "carol", now=3)
    assert not throttle.check("192.0.2.1", "dave", now=4).allowed
