"""What the whole-server benchmarks need to use Jono's closed web API: a web
password for the plan's admin (``jono passwd``), then a bearer token issued
from a signed-in session."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

JONO = Path(sys.executable).with_name("jono")
ADMIN = "bench_admin"
ADMIN_PASSWORD = "bench-admin-web-password"
_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def admin_user() -> dict[str, object]:
    """The plan entry of the benchmark's admin (no phone: a web user only)."""
    return {"extension": "9999", "password": "x", "roles": ["admin"],
            "devices": [{"kind": "static", "contact": "sip:nobody@127.0.0.1:9"}]}


def set_admin_password(config: Path, db: Path) -> None:
    subprocess.run(
        [str(JONO), "passwd", str(config), ADMIN, "--db", f"sqlite:///{db}", "--stdin"],
        input=f"{ADMIN_PASSWORD}\n", text=True, check=True, capture_output=True,
    )


async def admin_token(base: str) -> str:
    """Sign in as the admin (the sign-in form, its token) and issue an API token."""
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=10) as c:
        page = await c.get("/login")
        match = _FORM_TOKEN.search(page.text)
        assert match, page.text
        signed = await c.post("/login", headers={"origin": base}, data={
            "user": ADMIN, "password": ADMIN_PASSWORD, "csrf_token": match.group(1)})
        if signed.status_code != 303:
            raise RuntimeError(f"sign-in as {ADMIN} failed: {signed.status_code}")
        csrf = (await c.get("/api/me")).json()["csrf_token"]
        made = await c.post("/api/auth/tokens", json={"name": "bench", "role": "admin"},
                            headers={"origin": base, "x-csrf-token": csrf})
        made.raise_for_status()
        token: str = made.json()["token"]
        return token
