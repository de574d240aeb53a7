"""Server-sent events: agent states and queue events as they happen (S1)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from acd.web.services import WebServices

SSE_KEEPALIVE_S = 15.0


def routes(services: WebServices) -> list[Route]:
    hub = services.centre.hub

    async def events(request: Request) -> Response:
        subscription = hub.subscribe()

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b": jono events\n\n"
                while True:
                    try:
                        event = await asyncio.wait_for(subscription.get(), SSE_KEEPALIVE_S)
                    except TimeoutError:
                        yield b": keepalive\n\n"
                        continue
                    yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
            finally:
                hub.unsubscribe(subscription)

        return StreamingResponse(stream(), media_type="text/event-stream")

    return [Route("/api/events", events)]
