"""Signing in to a running Jono's web API, as a browser or a script would.

- :func:`set_password`: ``jono passwd PLAN USER --stdin`` against the test's store
  (the real command), or ``quick=True``: the hash written straight into the
  store (argon2id with small test costs; Jono re-hashes it at the first sign-in).
- :func:`signed_in`: an httpx client with a session: the sign-in form (its
  double-submit token), then Origin and the session's CSRF token on every request.
- :func:`api_token`: a bearer token issued from such a session (what
  integrations use): ``Authorization: Bearer jono_...``.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from .jono import JONO_BIN, JonoServer

_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_base(server: JonoServer) -> str:
    http = server.config["server"]["http"]
    listen = http["listen"] if isinstance(http, dict) else http
    return f"http://{listen}"


def set_password(server: JonoServer, user: str, password: str, *, quick: bool = False) -> None:
    if quick:
        from acd.web.auth import PasswordHasher
        from acd.web.auth.passwords import FAST_TEST_PARAMETERS

        hashed = PasswordHasher(FAST_TEST_PARAMETERS).hash(password)
        with sqlite3.connect(server.db_path) as db:
            db.execute(
                "INSERT OR REPLACE INTO web_passwords (user, password_hash, updated_at) "
                "VALUES (?, ?, ?)", (user, hashed, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")),
            )
        return
    done = subprocess.run(
        [str(JONO_BIN), "passwd", str(server.config_path), user,
         "--db", f"sqlite:///{server.db_path}", "--stdin"],
        input=f"{password}\n", capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 0, f"jono passwd {user}: {done.stdout}{done.stderr}"


def wait_http(server: JonoServer, timeout: float = 10.0) -> None:
    """Until the web answers its health check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{web_base(server)}/healthz", timeout=1, trust_env=False).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"Jono's web did not answer at {web_base(server)}")


def sign_in_form(client: httpx.Client, user: str, password: str) -> httpx.Response:
    page = client.get("/login")
    match = _FORM_TOKEN.search(page.text)
    assert match, page.text
    return client.post(
        "/login", data={"user": user, "password": password, "csrf_token": match.group(1)},
        headers={"origin": str(client.base_url).rstrip("/")},
    )


def signed_in(server: JonoServer, user: str, password: str, **options: Any) -> httpx.Client:
    """Already in use: close it (``client.close()``) rather than ``with``."""
    base = web_base(server)
    client = httpx.Client(base_url=base, timeout=10.0, trust_env=False, **options)
    reply = sign_in_form(client, user, password)
    assert reply.status_code == 303, f"sign-in as {user}: {reply.status_code}"
    me = client.get("/api/me").json()
    client.headers.update({"origin": base, "x-csrf-token": me["csrf_token"]})
    return client


def api_token(server: JonoServer, user: str, password: str, role: str = "admin") -> str:
    client = signed_in(server, user, password)
    try:
        reply = client.post("/api/auth/tokens", json={"name": "e2e", "role": role})
    finally:
        client.close()
    assert reply.status_code == 201, reply.text
    token: str = reply.json()["token"]
    return token
