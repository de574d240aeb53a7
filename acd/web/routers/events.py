"""Server-sent events: everything the hub carries that the caller may see (S1).

The stream opens with a ``snapshot`` event (what the caller may see, as of
now), so a page that connects or reconnects (EventSource does that by
itself) catches up without a second request; then every later event it
may see, as it happens. ``?types=agent,queue`` keeps only those types (the
pages want their views, not the engine's raw events). Events queued while
the connection was writing go out together in one write; each event is
encoded once for all connections.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from acd.web.access import visibility
from acd.web.auth import auth_context, principal
from acd.web.auth.policy import session_principal
from acd.web.services import WebServices

SSE_KEEPALIVE_S = 15.0  # and how often a stream checks that its session still holds
BATCH = 200  # events per write at most
TYPES = frozenset({
    "queue_event", "agent_state", "logged_out", "agent_settings", "callout", "call_control",
    "agent", "queue", "callback",
})


class Encoded:
    """Each event's SSE bytes, encoded once for every connection (keyed by identity);
    ``known``: JSON already made for an event (the live views')."""

    def __init__(
        self, size: int = 4096, known: Callable[[dict[str, Any]], str | None] | None = None
    ) -> None:
        self._cache: OrderedDict[int, tuple[dict[str, Any], bytes]] = OrderedDict()
        self.size = size
        self.known = known

    def __call__(self, event: dict[str, Any]) -> bytes:
        key = id(event)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is event:
            return hit[1]
        text = self.known(event) if self.known is not None else None
        data = sse(event) if text is None else sse_text(str(event["type"]), text)
        self._cache[key] = (event, data)  # holding the event keeps its id unique
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return data


def sse(event: dict[str, Any]) -> bytes:
    return sse_text(str(event["type"]), json.dumps(event, separators=(",", ":")))


def sse_text(kind: str, text: str) -> bytes:
    return f"event: {kind}\ndata: {text}\n\n".encode()


def routes(services: WebServices) -> list[Route]:
    hub = services.centre.hub
    encoded = Encoded(known=services.live.json_of)

    async def events(request: Request) -> Response:
        who = principal(request)
        asked = request.query_params.get("types")
        wanted = TYPES if not asked else frozenset(asked.split(",")) & TYPES
        plan = services.centre.plan
        vis = visibility(plan, who)
        subscription = hub.subscribe()
        first = [sse_text("snapshot", services.live.snapshot_json(vis))]

        async def stream() -> AsyncIterator[bytes]:
            nonlocal plan, vis
            clock = asyncio.get_running_loop().time
            check_at = clock() + SSE_KEEPALIVE_S
            try:
                yield b": jono events\n\n" + first.pop()  # not kept once sent
                while True:
                    if clock() >= check_at:
                        check_at = clock() + SSE_KEEPALIVE_S
                        if not await still_signed_in(services, request):
                            return  # signed out, password changed, token revoked
                    try:
                        event = await asyncio.wait_for(
                            subscription.get(), max(0.0, check_at - clock())
                        )
                    except TimeoutError:
                        yield b": keepalive\n\n"
                        continue
                    batch = [event]
                    while len(batch) < BATCH and not subscription.empty():
                        batch.append(subscription.get_nowait())
                    if services.centre.plan is not plan:  # a reload: what they see may change
                        plan = services.centre.plan
                        roles = services.auth.roles(who.user)
                        if roles is None:
                            return  # no web roles any more: the stream ends
                        vis = visibility(plan, session_principal(who.user, roles))
                    data = b"".join(
                        encoded(e) for e in batch if e["type"] in wanted and vis.sees(e)
                    )
                    if data:
                        yield data
            finally:
                hub.unsubscribe(subscription)

        return StreamingResponse(
            stream(), media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},  # nginx: pass events on at once
        )

    return [Route("/api/events", events)]


async def still_signed_in(services: WebServices, request: Request) -> bool:
    """Is the stream's session (or token) still good? An open page counts as use:
    its session stays alive up to the session's absolute lifetime."""
    ctx = auth_context(request)
    auth = services.auth
    now = auth.clock()
    if ctx.session is not None:
        session = await auth.sessions.get(ctx.session.id_hash)
        if session is None or now - session.created_at > auth.settings.session_max_age:
            return False
        await auth.sessions.touch(session.id_hash, now)
        return auth.roles(session.user) is not None
    who = ctx.principal
    if who is None or who.token_id is None:
        return False
    tokens = await auth.accounts.list_tokens(who.user)
    return any(t.token_id == who.token_id and t.active for t in tokens)


__all__ = ["Encoded", "routes", "sse", "still_signed_in"]
