"""The API-token endpoints: list, issue, revoke (``/api/auth/tokens`` by default).

- ``GET``: the caller's tokens (an admin: everyone's, or ``?owner=``).
- ``POST`` (JSON ``{"name": ..., "role": ..., "owner": ...}``; owner only for
  admins; role at most the caller's): the new token, shown this once. Only
  from a signed-in session: a token cannot mint tokens.
- ``DELETE /{id}``: revoke. Someone else's token answers 404 like a missing one.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from acd.web.auth.deps import allow, principal
from acd.web.auth.policy import (
    Role,
    RoleError,
    may_grant_token_role,
    may_manage_tokens_of,
)
from acd.web.auth.service import WebAuth
from acd.web.auth.tokens import describe, issue_token, utc
from acd.web.bodies import json_body

MAX_BODY = 4096


class TokenEndpoints:
    def __init__(self, auth: WebAuth) -> None:
        self.auth = auth

    async def list(self, request: Request) -> Response:
        who = principal(request)
        asked = request.query_params.get("owner")
        owner: str | None = asked or (None if who.is_admin else who.user)
        allow(owner is None or may_manage_tokens_of(who, owner))
        tokens = await self.auth.accounts.list_tokens(owner)
        return JSONResponse({"tokens": [describe(t) for t in tokens]})

    async def create(self, request: Request) -> Response:
        who = principal(request)
        allow(who.via == "session", "tokens are issued from a signed-in session only")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send application/json"}, status_code=415)
        data = await json_body(request, MAX_BODY)
        if isinstance(data, Response):
            return data
        name = data.get("name")
        role = data.get("role", Role.AGENT.value)
        owner = data.get("owner", who.user)
        if not (isinstance(name, str) and isinstance(role, str) and isinstance(owner, str)):
            return JSONResponse({"error": "name, role and owner are strings"}, status_code=400)
        try:
            allow(may_manage_tokens_of(who, owner) and may_grant_token_role(who, role))
        except RoleError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if self.auth.roles(owner) is None:
            return JSONResponse({"error": f"user {owner!r} has no web roles"}, status_code=400)
        try:
            text, token = await issue_token(
                self.auth.accounts, owner=owner, name=name, role=role, now=self.auth.clock()
            )
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"token": text, **describe(token)}, status_code=201)

    async def revoke(self, request: Request) -> Response:
        who = principal(request)
        token_id = request.path_params["token_id"]
        mine = [
            t
            for t in await self.auth.accounts.list_tokens(None if who.is_admin else who.user)
            if t.token_id == token_id
        ]
        if not mine:
            return JSONResponse({"error": "no such token"}, status_code=404)
        await self.auth.accounts.revoke_token(token_id, utc(self.auth.clock()))
        return Response(status_code=204)


def token_routes(auth: WebAuth, prefix: str = "/api/auth/tokens") -> list[BaseRoute]:
    endpoints = TokenEndpoints(auth)
    return [
        Route(prefix, endpoints.list, methods=["GET"], name="tokens"),
        Route(prefix, endpoints.create, methods=["POST"], name="token_create"),
        Route(f"{prefix}/{{token_id}}", endpoints.revoke, methods=["DELETE"], name="token_revoke"),
    ]
