"""The two pages (the agent desktop at ``/``, the wallboard at ``/wallboard``)
and the health check. Pages are small HTML shells; their scripts draw them
from the JSON API. Every value put into a shell is escaped here, and the
Content-Security-Policy allows scripts, styles and connections to this site
only (no inline script: the CSRF token travels in a ``<meta>``)."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from acd.web.auth import csrf_token, logout_form, principal
from acd.web.services import WebServices

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_SLOT = re.compile(r"\{\{(\w+)\}\}")


def render(template: str, *, html: dict[str, str] | None = None, **text: str) -> str:
    """Fill ``{{slot}}``s of a template: ``text`` values escaped, ``html`` ones as built."""
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    raw = html or {}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in raw:
            return raw[key]
        return escape(text[key], quote=True)

    return _SLOT.sub(fill, source)


def page(body: str, status: int = 200) -> Response:
    response = HTMLResponse(body, status_code=status)
    response.headers["content-security-policy"] = PAGE_CSP
    return response


def routes(services: WebServices) -> list[Route]:
    centre = services.centre

    def common(request: Request) -> tuple[dict[str, str], dict[str, str]]:
        who = principal(request)
        plan = centre.plan
        user = plan.users.get(who.user) if plan is not None else None
        text = {
            "user": who.user,
            "name": (user.display_name if user is not None else None) or who.user,
            "extension": user.extension if user is not None else "",
            "csrf": csrf_token(request),
            "supervises": ",".join(sorted(who.supervises)),
            "admin": "yes" if who.is_admin else "no",
        }
        html = {"logout": logout_form(action="/logout", csrf_token=csrf_token(request),
                                      user=who.user)}
        return text, html

    async def desk(request: Request) -> Response:
        who = principal(request)
        text, html = common(request)
        board = who.is_supervisor or who.is_admin
        # The browser phone starts by itself for a user whose plan has a browser
        # device (D7); anyone else can switch it on in the page.
        user = centre.plan.users.get(who.user) if centre.plan is not None else None
        has_browser = user is not None and any(d.kind == "browser" for d in user.devices)
        text["browser_phone"] = "on" if has_browser else "off"
        html["wallboard_link"] = '<a href="/wallboard">Wallboard</a>' if board else ""
        return page(render("desk.html", html=html, **text))

    async def wallboard(request: Request) -> Response:
        who = principal(request)
        if not (who.is_supervisor or who.is_admin):
            return page("<!doctype html><title>Jono</title><p>The wallboard is for "
                        'supervisors. <a href="/">Back to your desktop</a>.</p>', 403)
        text, html = common(request)
        return page(render("wallboard.html", html=html, **text))

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return [
        Route("/", desk),
        Route("/wallboard", wallboard),
        Route("/healthz", healthz),
    ]
