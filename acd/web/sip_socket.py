"""SIP over WebSocket on the web server's port (RFC 7118): ``/sip``.

The page and its phone share one address: the web server accepts the
WebSocket (subprotocol ``sip``, RFC 7118 §4.1) and feeds each message to
the SIP stack's :class:`~sip.transport_ws.WsTransport`, which holds every
SIP rule (framing, keep-alive, limits, clean-up). This edge owns one
reader loop and one writer task per socket (never one per message) and a
bounded queue of messages to send.

``ws://`` on a plain HTTP port, ``wss://`` when the web server runs TLS: the
scheme decides which of the two transports the connection belongs to.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import structlog
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from sip.transport import Target
from sip.transport_ws import MAX_QUEUED, WsTransport

log = structlog.stdlib.get_logger("jono.web.sip")

PATH = "/sip"
SUBPROTOCOL = "sip"
_numbers = itertools.cycle(range(1, 65536))


def route(transports: dict[str, WsTransport], path: str = PATH) -> WebSocketRoute:
    """The route serving SIP over ``ws`` and ``wss`` (whichever the scheme is)."""

    async def endpoint(websocket: WebSocket) -> None:
        await serve(websocket, transports)

    return WebSocketRoute(path, endpoint, name="sip")


async def serve(websocket: WebSocket, transports: dict[str, WsTransport]) -> None:
    scheme = "wss" if websocket.url.scheme in ("wss", "https") else "ws"
    # Behind a trusted proxy that ends TLS the page is wss:// while Jono serves
    # plain ws: the socket belongs to the one transport this server runs.
    transport = transports.get(scheme) or (
        next(iter(transports.values())) if len(transports) == 1 else None
    )
    offered = websocket.scope.get("subprotocols") or []
    if transport is None or SUBPROTOCOL not in offered:
        # RFC 7118 §4.1: the client MUST offer "sip"; without it, no SIP here.
        await websocket.close(code=1002)
        return
    client = websocket.client
    host, port = (client.host, client.port) if client is not None else ("", 0)
    port = port or _number_of_its_own(transport, host)
    outbox: asyncio.Queue[str | None] = asyncio.Queue(MAX_QUEUED)
    close_with: list[tuple[int, str]] = []

    def send_text(text: str) -> bool:
        try:
            outbox.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    def close(code: int, reason: str) -> None:
        close_with.append((code, reason))
        with contextlib.suppress(asyncio.QueueFull):
            outbox.put_nowait(None)

    await websocket.accept(subprotocol=SUBPROTOCOL)
    conn = transport.opened(host, port, send_text, close)
    if conn is None:
        await websocket.close(code=1008, reason="too many connections")
        return
    writer = asyncio.get_running_loop().create_task(_write(websocket, outbox, close_with))
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            transport.received(conn, data)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        transport.lost(conn)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer


async def _write(
    websocket: WebSocket, outbox: asyncio.Queue[str | None], close_with: list[tuple[int, str]],
) -> None:
    """Send what is queued, in order; ``None`` closes the socket with the code the
    transport chose (what was queued before it, a 400 or a pong, goes out first)."""
    while True:
        text = await outbox.get()
        try:
            if text is None:
                code, reason = close_with[0] if close_with else (1000, "")
                await websocket.close(code=code, reason=reason)
                return
            await websocket.send_text(text)
        except Exception:  # the socket is gone: the reader sees it too
            return


def _number_of_its_own(transport: WsTransport, host: str) -> int:
    """A socket whose client port is unknown (0: behind a trusted proxy the auth
    middleware gives the forwarded address alone) still needs a flow of its own:
    two browsers behind one address must not answer for each other."""
    for _ in range(65535):
        number = next(_numbers)
        if Target(transport.name, host, number) not in transport.connections:
            return number
    return 0
