"""Sign-in routes: ``GET/POST /login``, ``POST /logout`` and the page's stylesheet.

``POST /login`` takes a plain form (``user``, ``password``, ``csrf_token``,
``next``). Before sign-in there is no session to hold a CSRF token, so the
form's token is also set as a cookie and the two must match (double
submit); the middleware has already checked Origin/Referer. Wrong password,
unknown user and a user without web roles get the same page with the same
words and status (401); a throttled attempt gets 429 whoever the user is.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from acd.web.auth import cookies, csrf, pages
from acd.web.auth.middleware import AuthContext, auth_context
from acd.web.auth.passwords import MAX_LENGTH
from acd.web.auth.service import SignInResult, WebAuth
from acd.web.auth.sessions import new_secret

STATIC_DIR = Path(__file__).parent / "static"
MAX_LOGIN_BODY = 8 * 1024


def safe_next(value: str | None, home: str, login_path: str) -> str:
    """A same-site path to go to after sign-in; anything else becomes ``home``."""
    if not value or len(value) > 2048 or not value.startswith("/"):
        return home
    if value.startswith(("//", "/\\")) or any(ord(c) < 0x20 or c == "\\" for c in value):
        return home
    if value.split("?", 1)[0] == login_path:
        return home
    return value


class LoginEndpoints:
    def __init__(self, auth: WebAuth) -> None:
        self.auth = auth
        self.settings = auth.settings

    def _page(
        self,
        request: Request,
        *,
        status: int = 200,
        user: str = "",
        error: str = "",
        notice: str = "",
        next_path: str | None = None,
    ) -> Response:
        ctx = auth_context(request)
        secure = ctx.client.scheme == "https"
        token = cookies.read(request, cookies.LOGIN, secure) or new_secret()
        s = self.settings
        target = safe_next(
            next_path if next_path is not None else request.query_params.get("next"),
            s.home_path,
            s.login_path,
        )
        html = pages.login_page(
            action=s.login_path,
            csrf_token=token,
            next_path=target,
            site=s.site_name,
            static=s.static_path,
            user=user,
            error=error,
            notice=notice,
        )
        response = HTMLResponse(html, status_code=status)
        response.headers["content-security-policy"] = pages.LOGIN_CSP
        cookies.set_cookie(response.headers, cookies.LOGIN, token, secure)
        return response

    async def show(self, request: Request) -> Response:
        ctx = auth_context(request)
        s = self.settings
        if ctx.principal is not None:
            target = safe_next(request.query_params.get("next"), s.home_path, s.login_path)
            return RedirectResponse(target, status_code=303)
        notice = pages.SIGNED_OUT if request.query_params.get("signed_out") else ""
        return self._page(request, notice=notice)

    async def submit(self, request: Request) -> Response:
        ctx = auth_context(request)
        secure = ctx.client.scheme == "https"
        form = await _small_form(request)
        if form is None:
            return self._page(request, status=400, error=pages.EXPIRED)
        user = form.get("user", "").strip()[:128]
        password = form.get("password", "")[: MAX_LENGTH + 1]
        next_path = form.get("next", "")
        if not csrf.tokens_match(
            cookies.read(request, cookies.LOGIN, secure) or "", form.get(csrf.FIELD)
        ):
            return self._page(
                request, status=403, user=user, error=pages.EXPIRED, next_path=next_path
            )
        outcome = await self.auth.sign_in(user, password, ctx.client)
        if outcome.result is SignInResult.THROTTLED:
            response = self._page(
                request, status=429, user=user, error=pages.THROTTLED, next_path=next_path
            )
            response.headers["retry-after"] = str(max(1, int(outcome.retry_after + 0.999)))
            return response
        if outcome.result is SignInResult.REFUSED:
            return self._page(
                request, status=401, user=user, error=pages.REFUSED, next_path=next_path
            )
        s = self.settings
        response = RedirectResponse(
            safe_next(next_path, s.home_path, s.login_path), status_code=303
        )
        cookies.set_cookie(response.headers, cookies.SESSION, outcome.cookie_value, secure)
        cookies.clear_cookie(response.headers, cookies.LOGIN, secure)
        return response

    async def logout(self, request: Request) -> Response:
        ctx: AuthContext = auth_context(request)
        secure = ctx.client.scheme == "https"
        if ctx.session is not None:
            await self.auth.sign_out(ctx.session, ctx.client)
        response = RedirectResponse(f"{self.settings.login_path}?signed_out=1", status_code=303)
        cookies.clear_cookie(response.headers, cookies.SESSION, secure)
        return response


async def _small_form(request: Request) -> dict[str, str] | None:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BODY:
            return None
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v[0] for k, v in fields.items()}


def login_routes(auth: WebAuth) -> list[BaseRoute]:
    """The sign-in page, its form target, sign-out and the page's static files."""
    endpoints = LoginEndpoints(auth)
    s = auth.settings
    return [
        Route(s.login_path, endpoints.show, methods=["GET"], name="login"),
        Route(s.login_path, endpoints.submit, methods=["POST"], name="login_submit"),
        Route(s.logout_path, endpoints.logout, methods=["POST"], name="logout"),
        Mount(s.static_path, app=StaticFiles(directory=STATIC_DIR), name="auth_static"),
    ]
