"""A client for rtpengine's ng control protocol over UDP.

rtpengine README, "The ng Control Protocol": "Each message passed between the SIP
proxy and the media proxy contains of two parts: a unique message cookie and a
dictionary document, separated by a single space. The message cookie is used to match
requests to responses and to detect retransmissions. The message cookie in the
response generated to a particular request therefore must be the same as in the
request." The dictionary is bencoded; every request has a "command", every reply a
"result" ("ok", "error" with "error-reason", or "pong"), maybe with a "warning".

UDP may lose a datagram either way: a request unanswered after ``timeout`` is sent
again with the same cookie (rtpengine answers a retransmission from its cache instead
of running the command twice), up to ``attempts`` times.

    ng = await NgClient.connect("127.0.0.1", 2223)
    reply = await ng.request("offer", {"call-id": cid, "from-tag": tag, "sdp": sdp})
    ng.close()
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
from typing import Any

from media.rtpengine.bencode import BencodeError, Decoded, Value, decode, encode

log = logging.getLogger(__name__)

MAX_REPLY = 65535


class NgError(Exception):
    """rtpengine answered "error" (``reason`` holds its "error-reason")."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"rtpengine {command}: {reason}")
        self.command = command
        self.reason = reason


class NgTimeout(NgError):
    """No reply after every retransmission: rtpengine is down or unreachable."""


Reply = dict[str, Decoded]


class _NgProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.client: NgClient | None = None

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.client is not None:
            self.client._received(data)

    def error_received(self, exc: Exception) -> None:
        log.debug("ng socket error: %s", exc)


class NgClient:
    def __init__(
        self,
        transport: asyncio.DatagramTransport,
        *,
        timeout: float = 0.5,
        attempts: int = 4,
    ) -> None:
        self._transport = transport
        self.timeout = timeout
        self.attempts = attempts
        # rtpengine answers a repeated cookie from its reply cache: a client made
        # where a closed one lived (same id()) must not reuse its cookies.
        self._prefix = f"{os.getpid()}_{secrets.token_hex(4)}"
        self._counter = itertools.count(1)
        self._pending: dict[bytes, asyncio.Future[Reply]] = {}
        self.retransmissions = 0

    @classmethod
    async def connect(
        cls, host: str, port: int, *, timeout: float = 0.5, attempts: int = 4
    ) -> NgClient:
        loop = asyncio.get_running_loop()
        protocol = _NgProtocol()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: protocol, remote_addr=(host, port)
        )
        client = cls(transport, timeout=timeout, attempts=attempts)
        protocol.client = client
        return client

    async def request(self, command: str, fields: dict[str, Value] | None = None) -> Reply:
        """Send one command; the reply dictionary. Raises NgError for "error" replies
        and NgTimeout when rtpengine never answers."""
        message: dict[str, Value] = {"command": command, **(fields or {})}
        cookie = f"{self._prefix}_{next(self._counter)}".encode()
        datagram = cookie + b" " + encode(message)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[cookie] = future
        try:
            for attempt in range(self.attempts):
                if attempt:
                    self.retransmissions += 1
                self._transport.sendto(datagram)
                try:
                    reply = await asyncio.wait_for(asyncio.shield(future), self.timeout)
                except TimeoutError:
                    continue
                break
            else:
                raise NgTimeout(command, f"no reply in {self.attempts} attempts")
        finally:
            self._pending.pop(cookie, None)
        result = reply.get("result")
        if result == b"error":
            reason = reply.get("error-reason", b"(no reason given)")
            raise NgError(command, _text(reason))
        warning = reply.get("warning")
        if warning:
            log.info("rtpengine %s: warning: %s", command, _text(warning))
        return reply

    def _received(self, data: bytes) -> None:
        cookie, sep, body = data.partition(b" ")
        future = self._pending.get(cookie)
        if not sep or future is None or future.done():
            return  # late duplicate of an answered request
        try:
            reply = decode(body)
        except BencodeError as exc:
            future.set_exception(NgError("reply", f"undecodable reply: {exc}"))
            return
        if not isinstance(reply, dict):
            future.set_exception(NgError("reply", "reply is not a dictionary"))
            return
        future.set_result(reply)

    async def ping(self) -> None:
        reply = await self.request("ping")
        if reply.get("result") != b"pong":
            raise NgError("ping", f"unexpected reply {reply!r}")

    def close(self) -> None:
        self._transport.close()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NgError("close", "client closed"))


def _text(value: Decoded) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def sdp_of(reply: Reply) -> bytes:
    """The rewritten SDP of an offer/answer reply."""
    sdp = reply.get("sdp")
    if not isinstance(sdp, bytes):
        raise NgError("reply", "no SDP in the reply")
    return sdp


def as_dict(value: Decoded | None) -> dict[str, Decoded]:
    return value if isinstance(value, dict) else {}
