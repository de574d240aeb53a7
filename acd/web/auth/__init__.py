"""Web sign-in and security: passwords, sessions, CSRF, tokens, roles.

Independent of the rest of the application: a Starlette app protects
itself with::

    auth = WebAuth(accounts=repo, roles=lambda user: table.get(user), settings=...)
    app = Starlette(routes=[*login_routes(auth), *token_routes(auth), ...],
                    middleware=[Middleware(AuthMiddleware, auth=auth)])

and its handlers ask :func:`principal` who is calling and the pure
functions of :mod:`acd.web.auth.policy` what that principal may do.
"""

from acd.web.auth.client import ClientInfo
from acd.web.auth.deps import allow, csrf_token, principal
from acd.web.auth.middleware import AuthContext, AuthMiddleware, auth_context
from acd.web.auth.pages import logout_form
from acd.web.auth.passwd import PasswdError, passwd_command, set_password
from acd.web.auth.passwords import HashParameters, PasswordHasher
from acd.web.auth.policy import Principal, Role, UserRoles, role_table
from acd.web.auth.repository import AccountRepository, ApiToken, MemoryAccounts
from acd.web.auth.routes import login_routes
from acd.web.auth.service import WebAuth
from acd.web.auth.sessions import MemorySessions, SessionStore, WebSession
from acd.web.auth.settings import AuthSettings
from acd.web.auth.throttle import ThrottleSettings
from acd.web.auth.token_routes import token_routes
from acd.web.auth.tokens import issue_token

__all__ = [
    "AccountRepository",
    "ApiToken",
    "AuthContext",
    "AuthMiddleware",
    "AuthSettings",
    "ClientInfo",
    "HashParameters",
    "MemoryAccounts",
    "MemorySessions",
    "PasswdError",
    "PasswordHasher",
    "Principal",
    "Role",
    "SessionStore",
    "ThrottleSettings",
    "UserRoles",
    "WebAuth",
    "WebSession",
    "allow",
    "auth_context",
    "csrf_token",
    "issue_token",
    "login_routes",
    "logout_form",
    "passwd_command",
    "principal",
    "role_table",
    "set_password",
    "token_routes",
]
