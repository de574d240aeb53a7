"""Bearer tokens: issued once from a session, work for scripts, stop when revoked."""

from __future__ import annotations

import logging

from webauth_site import ORIGIN, signed_in

from acd.web.auth import issue_token
from acd.web.auth.sessions import digest


async def _new_token(client, csrf, **body):
    response = await client.post(
        "/api/auth/tokens",
        json={"name": "wallboard TV", **body},
        headers={"origin": ORIGIN, "x-csrf-token": csrf},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_token_works_and_stops_working_when_revoked(site, client_for):
    browser = client_for()
    csrf = await signed_in(browser, "sue")
    issued = await _new_token(browser, csrf, role="supervisor")
    text = issued["token"]
    assert text.startswith(f"jono_{issued['id']}.")
    script = client_for("192.0.2.30")
    bearer = {"authorization": f"Bearer {text}"}
    queues = await script.get("/api/queues", headers=bearer)
    assert queues.status_code == 200 and queues.json() == {"queues": ["sales"]}
    # A script's POST carries no Origin and no CSRF token: the token is enough.
    changed = await script.post("/api/agents/bob/state", json={"state": "ready"}, headers=bearer)
    assert changed.status_code == 200
    listed = (await browser.get("/api/auth/tokens")).json()["tokens"]
    assert [t["id"] for t in listed] == [issued["id"]]
    assert listed[0]["last_used_at"] is not None
    assert "token" not in listed[0] and "token_hash" not in listed[0]
    revoked = await browser.delete(
        f"/api/auth/tokens/{issued['id']}", headers={"origin": ORIGIN, "x-csrf-token": csrf}
    )
    assert revoked.status_code == 204
    after = await script.get("/api/queues", headers=bearer)
    assert after.status_code == 401
    assert after.json() == {"error": "invalid or revoked token"}
    listed = (await browser.get("/api/auth/tokens")).json()["tokens"]
    assert listed[0]["revoked_at"] is not None


async def test_a_bad_token_is_401_even_with_a_good_session_cookie(client_for):
    client = client_for()
    await signed_in(client, "alice")
    response = await client.get("/api/queues", headers={"authorization": "Bearer jono_nope"})
    assert response.status_code == 401


async def test_only_the_hash_is_stored(site):
    text, token = await issue_token(
        site.auth.accounts, owner="bob", name="crm", role="agent", now=site.clock()
    )
    stored = (await site.auth.accounts.list_tokens("bob"))[0]
    assert stored.token_hash == digest(text) and text not in repr(stored)


async def test_a_token_cannot_do_more_than_its_role(site, client_for):
    text, _ = await issue_token(
        site.auth.accounts, owner="ada", name="sup", role="supervisor", now=site.clock()
    )
    script = client_for()
    reload = await script.post("/api/reload", headers={"authorization": f"Bearer {text}"})
    assert reload.status_code == 403
    assert site.reloads == 0


async def test_tokens_are_not_minted_by_tokens_nor_above_the_creators_role(site, client_for):
    text, _ = await issue_token(
        site.auth.accounts, owner="sue", name="t", role="supervisor", now=site.clock()
    )
    by_token = await client_for().post(
        "/api/auth/tokens",
        json={"name": "more", "role": "supervisor"},
        headers={"authorization": f"Bearer {text}"},
    )
    assert by_token.status_code == 403
    browser = client_for()
    csrf = await signed_in(browser, "alice")
    headers = {"origin": ORIGIN, "x-csrf-token": csrf}
    too_high = await browser.post(
        "/api/auth/tokens", json={"name": "x", "role": "admin"}, headers=headers
    )
    assert too_high.status_code == 403
    for_other = await browser.post(
        "/api/auth/tokens", json={"name": "x", "owner": "bob"}, headers=headers
    )
    assert for_other.status_code == 403


async def test_someone_elses_token_cannot_be_revoked_or_seen(site, client_for):
    _, bobs = await issue_token(
        site.auth.accounts, owner="bob", name="b", role="agent", now=site.clock()
    )
    client = client_for()
    csrf = await signed_in(client, "alice")
    assert (await client.get("/api/auth/tokens")).json() == {"tokens": []}
    assert (await client.get("/api/auth/tokens?owner=bob")).status_code == 403
    response = await client.delete(
        f"/api/auth/tokens/{bobs.token_id}", headers={"origin": ORIGIN, "x-csrf-token": csrf}
    )
    assert response.status_code == 404
    admin = client_for()
    csrf = await signed_in(admin, "ada")
    assert len((await admin.get("/api/auth/tokens")).json()["tokens"]) == 1


async def test_refused_token_is_logged_without_the_secret(client_for, caplog):
    caplog.set_level(logging.INFO, logger="jono.auth")
    secret = "jono_0123456789ab." + "A" * 43
    await client_for("192.0.2.8").get("/api/queues", headers={"authorization": f"Bearer {secret}"})
    assert "token refused: source=192.0.2.8" in caplog.text
    assert "A" * 43 not in caplog.text
