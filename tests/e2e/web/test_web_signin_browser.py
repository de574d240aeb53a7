"""Sign in, see the protected page, sign out, in Debian's Chromium against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from signin_site import USERS, RunningSite, serve

REFUSED = "Wrong user name or password."


@pytest.fixture
def site() -> Iterator[RunningSite]:
    running = serve()
    yield running
    running.stop()


def _submit(page, user: str, password: str) -> None:
    page.fill("#user", user)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_sign_in_see_the_desktop_and_sign_out(site, page, screenshots):
    page.goto(f"{site.base_url}/")
    assert page.url == f"{site.base_url}/login?next=/"
    assert page.locator("h1").inner_text() == "Jono"

    _submit(page, "alice", USERS["alice"])
    assert page.url == f"{site.base_url}/"
    assert page.locator("h1").inner_text() == "Desktop of alice"
    page.wait_for_selector("#sipjs[data-loaded=yes]", timeout=10_000)
    assert "UserAgent is a function" in page.locator("#sipjs").inner_text()
    screenshots.take(page.raw, "desktop-with-sipjs")
    assert page.context.request.get(f"{site.base_url}/api/whoami").json() == {"user": "alice"}

    with page.expect_navigation():
        page.click("form.signout button")
    assert page.url == f"{site.base_url}/login?signed_out=1"
    assert page.locator("#message").inner_text() == "You have signed out."
    assert page.context.request.get(f"{site.base_url}/api/whoami").status == 401
    page.goto(f"{site.base_url}/")
    assert page.url.startswith(f"{site.base_url}/login")


def test_wrong_password_looks_the_same_as_an_unknown_user(site, page):
    seen = []
    for user, password in [("alice", "not-alices-password"), ("mallory", "not-alices-password")]:
        page.goto(f"{site.base_url}/login")
        _submit(page, user, password)
        seen.append(
            (
                page.url,
                page.locator("#message").inner_text(),
                page.locator("main").inner_text().replace(user, "USER"),
                page.input_value("#user").replace(user, "USER"),
                page.input_value("#password"),
            )
        )
    assert seen[0] == seen[1]
    assert seen[0][1] == REFUSED
    assert seen[0][4] == ""  # the password is never sent back
