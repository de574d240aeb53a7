"""AuthMiddleware: nothing answers before the request says who it is.

Pure ASGI (not BaseHTTPMiddleware), so streaming responses such as
server-sent events pass through untouched. Per HTTP or WebSocket request:

1. Work out the client (trusted proxies only) and refuse a Host that is
   not allowed (400).
2. Identify: ``Authorization: Bearer`` (a bad token is 401, no fallback to
   the cookie), else the session cookie.
3. Unless the path is public: no identity is 401 (JSON with
   ``WWW-Authenticate``) for the API, event streams, scripts and
   WebSockets, and a 303 to the sign-in page for a browser asking for HTML.
4. State-changing methods not carried by a token: the Origin (or Referer)
   must be this site's; with a session, the CSRF token must match too. A
   WebSocket handshake carried by the session cookie must have our Origin.
5. Pass on, with :class:`AuthContext` in ``scope["jono.auth"]``; add
   security headers to the response.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs, quote

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from acd.web.auth import cookies, csrf
from acd.web.auth.client import ClientInfo, client_info, host_allowed
from acd.web.auth.policy import Principal
from acd.web.auth.service import Identity, WebAuth
from acd.web.auth.sessions import WebSession

SCOPE_KEY = "jono.auth"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthContext:
    client: ClientInfo
    principal: Principal | None
    session: WebSession | None

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session is not None else ""


def auth_context(conn: HTTPConnection) -> AuthContext:
    """What the middleware found out about this request (it must be installed)."""
    ctx = conn.scope.get(SCOPE_KEY)
    if not isinstance(ctx, AuthContext):
        raise RuntimeError("AuthMiddleware is not installed in front of this route")
    return ctx


class AuthMiddleware:
    def __init__(self, app: ASGIApp, auth: WebAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        settings = self.auth.settings
        client = client_info(scope, self.auth.trusted_proxies)
        if not host_allowed(client.host, settings.allowed_hosts):
            await _plain(scope, receive, send, 400, "Invalid host header")
            return
        conn = HTTPConnection(scope)
        secure = client.scheme == "https"
        identity: Identity | None = None
        bearer = _bearer(conn.headers)
        if bearer is not None:
            identity = await self.auth.from_token(bearer, client)
            if identity is None:
                await _unauthorized(scope, receive, send, "invalid or revoked token")
                return
        else:
            session_id = cookies.read(conn, cookies.SESSION, secure)
            if session_id is not None:
                identity = await self.auth.from_session(session_id)
        path = scope["path"]
        if identity is None and not settings.is_public(path):
            if path == settings.logout_path and scope["type"] == "http":
                # Signing out of a session that already ended: show the sign-in page.
                await _redirect(scope, receive, send, settings.login_path)
            elif _wants_page(scope, conn.headers, settings.is_api(path)):
                target = f"{settings.login_path}?next={quote(_local_target(scope), safe='/')}"
                await _redirect(scope, receive, send, target)
            else:
                await _unauthorized(scope, receive, send, "sign-in required")
            return
        method = scope.get("method", "GET")
        cookie_session = identity is not None and identity.session is not None
        if scope["type"] == "websocket" and cookie_session and not self._same_origin(conn, client):
            # Cross-site WebSocket hijacking: a cookie-carried handshake must come from
            # our own pages (browsers always send Origin on WebSocket handshakes).
            await _json(scope, receive, send, 403, {"error": "cross-site request refused"})
            return
        if scope["type"] == "http" and method not in csrf.SAFE_METHODS and bearer is None:
            headers = conn.headers
            if not self._same_origin(conn, client, referer=True):
                await _json(scope, receive, send, 403, {"error": "cross-site request refused"})
                return
            if identity is not None and identity.session is not None:
                given = headers.get(csrf.HEADER)
                if given is None and _is_form(headers):
                    body = await _read_body(receive, settings.max_form_bytes)
                    if body is None:
                        await _json(scope, receive, send, 413, {"error": "form too large"})
                        return
                    given = _form_field(body, csrf.FIELD)
                    receive = _replay(body, receive)
                if not csrf.tokens_match(identity.session.csrf_token, given):
                    await _json(scope, receive, send, 403, {"error": "missing or wrong CSRF token"})
                    return
        scope = dict(scope)
        scope["scheme"] = (
            ("wss" if secure else "ws") if scope["type"] == "websocket" else client.scheme
        )
        peer = scope.get("client")
        if not peer or peer[0] != client.address:
            scope["client"] = (client.address, 0)
        scope[SCOPE_KEY] = AuthContext(
            client=client,
            principal=identity.principal if identity else None,
            session=identity.session if identity else None,
        )
        await self.app(scope, receive, _with_security_headers(send, secure, path))

    def _same_origin(self, conn: HTTPConnection, client: ClientInfo, referer: bool = False) -> bool:
        return csrf.same_origin(
            conn.headers.get("origin"),
            conn.headers.get("referer") if referer else None,
            scheme=client.scheme,
            host=client.host,
            extra=self.auth.settings.trusted_origins,
        )


def _bearer(headers: Headers) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip()


def _wants_page(scope: Scope, headers: Headers, is_api: bool) -> bool:
    """A browser navigating to a page (redirect to sign-in) rather than a script or stream."""
    if scope["type"] != "http" or is_api or scope.get("method") not in ("GET", "HEAD"):
        return False
    accept = headers.get("accept", "")
    return "text/html" in accept and "text/event-stream" not in accept


def _local_target(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return str(scope["path"]) + (f"?{query}" if query else "")


def _is_form(headers: Headers) -> bool:
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return content_type == "application/x-www-form-urlencoded"


def _form_field(body: bytes, name: str) -> str | None:
    try:
        values = parse_qs(body.decode("utf-8"), max_num_fields=100).get(name)
    except (UnicodeDecodeError, ValueError):
        return None
    return values[0] if values else None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """Hand the already-read body to the app once, then the client's own messages."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive


def _with_security_headers(send: Send, secure: bool, path: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.setdefault("x-content-type-options", "nosniff")
            headers.setdefault("x-frame-options", "DENY")
            headers.setdefault("referrer-policy", "same-origin")
            if not path.startswith("/static/"):
                headers.setdefault("cache-control", "no-store")
            if secure:
                headers.setdefault("strict-transport-security", "max-age=31536000")
        await send(message)

    return wrapped


async def _respond(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
) -> None:
    if scope["type"] == "websocket":
        # Refuse the handshake; the client sees 403 (the ASGI server's answer).
        await send({"type": "websocket.close", "code": 1008})
        return
    base = [
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": base + headers})
    await send({"type": "http.response.body", "body": body})


async def _plain(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    await _respond(scope, receive, send, status, text.encode(), headers)


async def _json(scope: Scope, receive: Receive, send: Send, status: int, data: object) -> None:
    headers = [(b"content-type", b"application/json")]
    await _respond(scope, receive, send, status, json.dumps(data).encode(), headers)


async def _unauthorized(scope: Scope, receive: Receive, send: Send, reason: str) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"www-authenticate", b'Bearer realm="jono"'),
    ]
    body = json.dumps({"error": reason}).encode()
    await _respond(scope, receive, send, 401, body, headers)


async def _redirect(scope: Scope, receive: Receive, send: Send, location: str) -> None:
    headers = [(b"location", location.encode("latin-1")), (b"content-type", b"text/plain")]
    await _respond(scope, receive, send, 303, b"", headers)
