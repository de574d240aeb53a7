"""The two cookies: the session id and the sign-in form's double-submit token.

Both are HttpOnly and SameSite=Strict: the session cookie is never sent
with a request that another site starts, including a top-level link from
elsewhere (that shows the sign-in page, a small cost for a workplace
opened from a bookmark). Over HTTPS they are Secure and carry the
``__Host-`` prefix, which browsers accept only with Secure, Path=/ and no
Domain, so no sibling subdomain can plant or override them. Neither sets a
Max-Age: they end with the browser; the server enforces the real expiry.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection

SESSION = "jono_session"
LOGIN = "jono_login"


def name(base: str, secure: bool) -> str:
    return f"__Host-{base}" if secure else base


def read(conn: HTTPConnection, base: str, secure: bool) -> str | None:
    value = conn.cookies.get(name(base, secure))
    return value if value and len(value) <= 128 else None


def set_cookie(headers: MutableHeaders, base: str, value: str, secure: bool) -> None:
    attrs = ["Path=/", "HttpOnly", "SameSite=Strict"]
    if secure:
        attrs.append("Secure")
    headers.append("set-cookie", "; ".join([f"{name(base, secure)}={value}", *attrs]))


def clear_cookie(headers: MutableHeaders, base: str, secure: bool) -> None:
    attrs = ["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=0"]
    if secure:
        attrs.append("Secure")
    headers.append("set-cookie", "; ".join([f"{name(base, secure)}=", *attrs]))
