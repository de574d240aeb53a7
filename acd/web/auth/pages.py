"""The sign-in page: server-rendered HTML, works without JavaScript.

Every value put into the page is escaped here; the page loads only its own
stylesheet (``Content-Security-Policy`` allows nothing else).
"""

from __future__ import annotations

from html import escape

LOGIN_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

REFUSED = "Wrong user name or password."
THROTTLED = "Too many failed sign-ins. Wait a few minutes and try again."
EXPIRED = "The sign-in form had expired. Please sign in again."
SIGNED_OUT = "You have signed out."

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · {site}</title>
<link rel="stylesheet" href="{static}/login.css">
</head>
<body>
<main class="signin">
<h1>{site}</h1>
<p class="lead">Sign in with your Jono user name and web password.</p>
{message}
<form method="post" action="{action}">
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<label for="user">User name</label>
<input id="user" name="user" type="text" autocomplete="username" autocapitalize="none"
 spellcheck="false" required maxlength="128" value="{user}" {user_focus}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password"
 required maxlength="1024" {password_focus}>
<button type="submit">Sign in</button>
</form>
<p class="hint">No web password yet? Ask an administrator to run
<code>jono passwd USER</code>.</p>
</main>
</body>
</html>
"""


def login_page(
    *,
    action: str,
    csrf_token: str,
    next_path: str,
    site: str = "Jono",
    static: str = "/static/auth",
    user: str = "",
    error: str = "",
    notice: str = "",
) -> str:
    if error:
        message = f'<p class="message error" role="alert" id="message">{escape(error)}</p>'
    elif notice:
        message = f'<p class="message notice" role="status" id="message">{escape(notice)}</p>'
    else:
        message = ""
    return _PAGE.format(
        site=escape(site),
        static=escape(static, quote=True),
        message=message,
        action=escape(action, quote=True),
        csrf=escape(csrf_token, quote=True),
        next=escape(next_path, quote=True),
        user=escape(user, quote=True),
        user_focus="" if user else "autofocus",
        password_focus="autofocus" if user else "",
    )


def logout_form(*, action: str, csrf_token: str, user: str) -> str:
    """The sign-out control for any signed-in page (a form: works without JavaScript)."""
    return (
        f'<form method="post" action="{escape(action, quote=True)}" class="signout">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf_token, quote=True)}">'
        f'<span class="who">{escape(user)}</span> '
        '<button type="submit">Sign out</button></form>'
    )
