"""Helpers for route handlers: who is asking, and refusing what they may not do."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from acd.web.auth.middleware import auth_context
from acd.web.auth.policy import Principal


def principal(conn: HTTPConnection) -> Principal:
    """The signed-in principal; 401 on a public route nobody signed in to."""
    found = auth_context(conn).principal
    if found is None:
        raise HTTPException(401, "sign-in required")
    return found


def csrf_token(conn: HTTPConnection) -> str:
    """The session's CSRF token, for forms (``csrf_token``) and scripts (``X-CSRF-Token``)."""
    return auth_context(conn).csrf_token


def allow(allowed: bool, what: str = "not allowed") -> None:
    """403 unless ``allowed`` (the answer of a :mod:`policy` function)."""
    if not allowed:
        raise HTTPException(403, what)
