"""SIP-level test peers over loopback: our UserAgent with fast timers, and a
scripted raw-socket peer that does exactly (and only) what a test says.

Timers run with T1 = 10 ms, so 64*T1 is 0.64 s.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sip.leg_events import LegEvent
from sip.legs import IncomingCall
from sip.message import Request, Response, make_response
from sip.parser import parse_message
from sip.timers import TimerConfig
from sip.transport import Target
from sip.ua import UserAgent

FAST = TimerConfig(t1=0.01, t2=0.04, t4=0.05)
HOST = "127.0.0.1"

OFFER = (
    b"v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)
ANSWER = OFFER.replace(b"40000", b"40002").replace(b"o=peer", b"o=jono")


@dataclass
class Events:
    """A listener that records every event of one leg."""

    seen: list[LegEvent] = field(default_factory=list)
    on_event: Callable[[LegEvent], None] | None = None

    def __call__(self, event: LegEvent) -> None:
        self.seen.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def of(self, kind: type) -> list[LegEvent]:
        return [e for e in self.seen if isinstance(e, kind)]

    async def wait_for(self, kind: type, timeout: float = 3.0) -> LegEvent:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            found = self.of(kind)
            if found:
                return found[0]
            await asyncio.sleep(0.005)
        raise AssertionError(f"no {kind.__name__} within {timeout} s; saw {self.seen}")


class Answerer:
    """A request handler that makes an IncomingCall of every INVITE and hands it to a test."""

    def __init__(self, on_call: Callable[[IncomingCall], None] | None = None) -> None:
        self.calls: list[IncomingCall] = []
        self.events: list[Events] = []
        self.on_call = on_call

    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        if request.method != "INVITE":
            ua.respond(txn, request, 481)
            return
        events = Events()
        call = IncomingCall(ua, request, txn, source, listener=events)
        self.calls.append(call)
        self.events.append(events)
        if self.on_call is not None:
            self.on_call(call)


async def start_ua(handler: object | None = None) -> UserAgent:
    ua = UserAgent(handler or Answerer(), public_host=HOST, timers=FAST)  # type: ignore[arg-type]
    await ua.start(HOST, 0)
    return ua


class RawPeer:
    """A UDP socket that sends what it is told and returns what arrives, parsed."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]
        self.target = Target("udp", HOST, self.port)

    def close(self) -> None:
        self.sock.close()

    @staticmethod
    def target_of(port: int, transport: str = "udp") -> Target:
        return Target(transport, HOST, port)

    async def send(self, data: bytes | Request | Response, port: int) -> None:
        raw = data if isinstance(data, bytes) else data.encode()
        await asyncio.get_running_loop().sock_sendto(self.sock, raw, (HOST, port))

    async def receive(self, timeout: float = 2.0) -> Request | Response:
        raw = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.sock, 65535), timeout)
        return parse_message(raw)

    async def expect(self, what: str | int, timeout: float = 2.0) -> Request | Response:
        """The next message that is request ``what`` (a method) or response ``what`` (a status);
        others (100 Trying, retransmissions) are skipped."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no {what} within {timeout} s")
            try:
                message = await self.receive(left)
            except TimeoutError:
                raise AssertionError(f"no {what} within {timeout} s") from None
            if isinstance(what, int) and isinstance(message, Response) and message.status == what:
                return message
            if isinstance(what, str) and isinstance(message, Request) and message.method == what:
                return message

    async def collect(self, seconds: float) -> list[Request | Response]:
        """Everything that arrives within ``seconds``."""
        out: list[Request | Response] = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                out.append(await self.receive(left))
            except TimeoutError:
                break
        return out

    def invite(self, port: int, *, sdp: bytes | None = OFFER, max_forwards: int = 70) -> Request:
        call_id = uuid.uuid4().hex
        body = sdp or b""
        extra = "Content-Type: application/sdp\r\n" if sdp else ""
        text = (
            f"INVITE sip:callee@{HOST}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
            f"Max-Forwards: {max_forwards}\r\n"
            f"From: <sip:caller@{HOST}>;tag=peer{call_id[:6]}\r\n"
            f"To: <sip:callee@{HOST}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 INVITE\r\n"
            f"Contact: <sip:caller@{HOST}:{self.port}>\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n"
        )
        message = parse_message(text.encode() + body)
        assert isinstance(message, Request)
        return message

    def ack_for(self, invite: Request, response: Response, sdp: bytes | None = None) -> bytes:
        """The ACK for a 2xx (§13.2.2.4): a new transaction, the dialog's tags."""
        body = sdp or b""
        extra = "Content-Type: application/sdp\r\n" if sdp else ""
        return (
            f"ACK {invite.uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: {invite.headers.get('From')}\r\n"
            f"To: {response.headers.get('To')}\r\n"
            f"Call-ID: {invite.call_id}\r\n"
            f"CSeq: {invite.cseq.number} ACK\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    def cancel_for(self, invite: Request) -> bytes:
        """§9.1: same Request-URI, Call-ID, From, To, CSeq number and top Via."""
        return (
            f"CANCEL {invite.uri} SIP/2.0\r\n"
            f"Via: {invite.headers.values('Via')[0]}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: {invite.headers.get('From')}\r\n"
            f"To: {invite.headers.get('To')}\r\n"
            f"Call-ID: {invite.call_id}\r\n"
            f"CSeq: {invite.cseq.number} CANCEL\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()

    def answer(self, request: Request, status: int, *, to_tag: str = "peertag",
               sdp: bytes | None = None) -> Response:
        """A response from this peer (as a UAS) to ``request``."""
        headers: list[tuple[str, str]] = []
        if status < 300 and request.method == "INVITE":
            headers.append(("Contact", f"<sip:callee@{HOST}:{self.port}>"))
        if sdp:
            headers.append(("Content-Type", "application/sdp"))
        return make_response(request, status, to_tag=to_tag, headers=headers, body=sdp or b"")
