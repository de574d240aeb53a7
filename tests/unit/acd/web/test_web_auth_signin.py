"""Sign-in over HTTP: one answer for every refusal, sessions, sign-out, redirects."""

from __future__ import annotations

import logging

import pytest
from webauth_site import ORIGIN, PASSWORDS, build_site, form_token, sign_in, signed_in

from acd.web.auth import AuthSettings
from acd.web.auth.routes import safe_next


def _normalised(html: str) -> str:
    return html.replace(form_token(html), "TOKEN")


async def test_wrong_password_and_unknown_user_get_the_same_answer(site, client_for):
    answers = []
    for user, password in [
        ("alice", "not-her-password"),  # known user, wrong password
        ("mallory", "not-her-password"),  # no such user
        ("zed", "zed-web-pass-666"),  # right password, but no web role
    ]:
        client = client_for()
        response = await sign_in(client, user, password)
        answers.append(response)
    statuses = {r.status_code for r in answers}
    assert statuses == {401}
    bodies = {
        _normalised(r.text).replace(f'value="{u}"', 'value="U"')
        for r, u in zip(answers, ["alice", "mallory", "zed"], strict=True)
    }
    assert len(bodies) == 1
    assert "Wrong user name or password." in answers[0].text
    header_sets = {tuple(sorted(k for k in r.headers if k != "content-length")) for r in answers}
    assert len(header_sets) == 1
    assert all("jono_session" not in r.headers.get("set-cookie", "") for r in answers)


async def test_right_password_opens_a_session_and_sign_out_ends_it(site, client_for):
    client = client_for()
    token = await signed_in(client, "alice")
    old_cookie = client.cookies.get("jono_session")
    assert old_cookie
    home = await client.get("/", headers={"accept": "text/html"})
    assert "Desktop of alice" in home.text
    out = await client.post("/logout", data={"csrf_token": token}, headers={"origin": ORIGIN})
    assert out.status_code == 303
    assert out.headers["location"] == "/login?signed_out=1"
    assert (await client.get("/login?signed_out=1")).text.count("You have signed out.") == 1
    # The old cookie is dead on the server, not only forgotten by this client.
    replay = client_for()
    replay.cookies.set("jono_session", old_cookie)
    assert (await replay.get("/api/queues")).status_code == 401


async def test_session_cookie_is_httponly_samesite_strict_and_new_at_each_sign_in(client_for):
    client = client_for()
    first = await sign_in(client, "bob", PASSWORDS["bob"])
    cookie = [c for c in first.headers.get_list("set-cookie") if c.startswith("jono_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    again = await sign_in(client_for(), "bob", PASSWORDS["bob"])
    assert first.cookies["jono_session"] != again.cookies["jono_session"]


async def test_cookie_is_secure_with_host_prefix_behind_a_trusted_tls_proxy(client_for):

    site = build_site(AuthSettings(trusted_proxies=("10.0.0.0/8",)))
    client = client_for("10.0.0.2", app=site.app)
    headers = {"x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.7"}
    page = await client.get("/login", headers=headers)
    response = await client.post(
        "/login",
        data={"user": "bob", "password": PASSWORDS["bob"], "csrf_token": form_token(page.text)},
        headers={
            **headers,
            "origin": "https://localhost",
            # httpx keeps a Secure cookie for https only; this client talks to the "proxy".
            "cookie": f"__Host-jono_login={page.cookies['__Host-jono_login']}",
        },
    )
    assert response.status_code == 303, response.text
    cookie = [c for c in response.headers.get_list("set-cookie") if "jono_session" in c][0]
    assert cookie.startswith("__Host-jono_session=") and "Secure" in cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_idle_session_expires(site, client_for):
    client = client_for()
    await signed_in(client, "alice")
    site.clock.now += site.auth.settings.session_idle_timeout - 60
    assert (await client.get("/api/queues")).status_code == 200
    site.clock.now += site.auth.settings.session_idle_timeout + 1
    assert (await client.get("/api/queues")).status_code == 401


async def test_session_ends_at_its_maximum_age_even_when_busy(site, client_for):
    client = client_for()
    await signed_in(client, "alice")
    for _ in range(int(site.auth.settings.session_max_age // 3600)):
        site.clock.now += 3600
        assert (await client.get("/api/queues")).status_code == 200
    site.clock.now += 3600
    assert (await client.get("/api/queues")).status_code == 401


async def test_login_form_without_its_cookie_is_refused(client_for):
    client = client_for()
    token = form_token((await client.get("/login")).text)
    client.cookies.clear()
    response = await client.post(
        "/login",
        data={"user": "alice", "password": PASSWORDS["alice"], "csrf_token": token},
        headers={"origin": ORIGIN},
    )
    assert response.status_code == 403
    assert "jono_session" not in response.headers.get("set-cookie", "")


async def test_login_page_answers_without_sign_in_and_forbids_framing(client_for):
    response = await client_for().get("/login")
    assert response.status_code == 200
    assert '<form method="post" action="/login">' in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    css = await client_for().get("/static/auth/login.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


async def test_sign_in_goes_to_the_page_asked_for_but_never_off_site(client_for):
    client = client_for()
    page = await client.get("/", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/"
    assert safe_next("/wallboard?q=sales", "/", "/login") == "/wallboard?q=sales"
    for bad in ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil", "/login"]:
        assert safe_next(bad, "/", "/login") == "/"
    login = await client.get("/login?next=//evil.example/")
    assert 'name="next" value="/"' in login.text


async def test_failed_login_is_logged_once_with_source_and_user_never_the_password(
    client_for, caplog
):
    caplog.set_level(logging.INFO, logger="jono.auth")
    await sign_in(client_for("192.0.2.44"), "alice", "hunter2-secret-guess")
    lines = [r.getMessage() for r in caplog.records if r.name == "jono.auth"]
    failed = [line for line in lines if line.startswith("login failed")]
    assert failed == ["login failed: user='alice' source=192.0.2.44 reason=bad_password"]
    assert "hunter2-secret-guess" not in caplog.text
    await signed_in(client_for("192.0.2.45"), "bob")
    assert PASSWORDS["bob"] not in caplog.text


async def test_forwarded_for_is_ignored_from_an_untrusted_peer(client_for, caplog):
    caplog.set_level(logging.INFO, logger="jono.auth")
    client = client_for("192.0.2.50")
    page = await client.get("/login")
    await client.post(
        "/login",
        data={"user": "bob", "password": "wrong-password", "csrf_token": form_token(page.text)},
        headers={"origin": ORIGIN, "x-forwarded-for": "203.0.113.99"},
    )
    assert "source=192.0.2.50 " in caplog.text and "203.0.113.99" not in caplog.text


@pytest.mark.parametrize("forwarded", ["203.0.113.99", "1.2.3.4, 203.0.113.99"])
async def test_forwarded_for_names_the_client_behind_a_trusted_proxy(client_for, caplog, forwarded):

    site = build_site(AuthSettings(trusted_proxies=("192.0.2.1",)))
    caplog.set_level(logging.INFO, logger="jono.auth")
    client = client_for("192.0.2.1", app=site.app)
    page = await client.get("/login")
    await client.post(
        "/login",
        data={"user": "bob", "password": "wrong-password", "csrf_token": form_token(page.text)},
        headers={"origin": ORIGIN, "x-forwarded-for": forwarded},
    )
    assert "source=203.0.113.99 " in caplog.text


async def test_expired_sessions_are_dropped_from_the_store_at_later_sign_ins(site, client_for):
    await signed_in(client_for(), "alice")
    site.clock.now += site.auth.settings.session_max_age + 1
    await signed_in(client_for(), "bob")
    remaining = site.auth.sessions._sessions.values()
    assert [s.user for s in remaining] == ["bob"]
