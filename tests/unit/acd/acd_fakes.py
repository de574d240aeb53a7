"""Fakes swapped in at the composition root (acd.bootstrap.Parts) for unit tests.

SIP legs are scripted: a test plays the far end (``ring``, ``answer``,
``fail``, ``bye``) and reads what Jono did (``sent``). Media is the real
engine on loopback; the store keeps rows in lists.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from acd.bootstrap import Jono, Parts, Settings, build
from acd.calls.mailbox import MemoryMailboxes
from acd.calls.recording import StoredRecording
from acd.config import load
from acd.domain.callback_list import MemoryCallbacks
from sip.leg_events import (
    Acked,
    Answered,
    Cancelled,
    Ended,
    Failed,
    Info,
    LegEvent,
    Refer,
    ReInvite,
    Ringing,
)
from sip.legs import Credentials, ReInviteResult
from sip.message import Request
from sip.parser import parse_message
from sip.refer import ReferNotifier, parse_refer_to
from sip.transport import Target

_ids = itertools.count(1)


def sdp(port: int, pt: int = 0, codec: str = "PCMU") -> bytes:
    """A phone's SDP (offer or answer) on 127.0.0.1:``port``."""
    return (
        f"v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP {pt} 101\r\na=rtpmap:{pt} {codec}/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n"
    ).encode()


def invite(
    dialled: str, *, caller: str = "+358401234567", body: bytes | None = None, hops: int = 70
) -> Request:
    """An INVITE as a trunk or phone sends it (to ``dialled``; ``body=b""``: no offer)."""
    n = next(_ids)
    payload = sdp(40000 + 2 * n) if body is None else body
    text = (
        f"INVITE sip:{dialled}@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKfake{n};rport\r\n"
        f"Max-Forwards: {hops}\r\n"
        f'From: "Caller {n}" <sip:{caller}@127.0.0.1>;tag=from{n}\r\n'
        f"To: <sip:{dialled}@127.0.0.1>\r\n"
        f"Call-ID: fake-call-{n}\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sip:phone@127.0.0.1:5999>\r\n"
        + ("Content-Type: application/sdp\r\n" if payload else "")
        + f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    message = parse_message(text)
    assert isinstance(message, Request)
    return message


def _ignore(event: LegEvent) -> None:
    pass


class FakeDialog:
    """What both fake legs do inside a dialog: re-INVITEs and REFERs from the far
    end, and the requests Jono sends back (``sent``)."""

    sent: list[tuple[str, object]]
    listener: Any

    def send_in_dialog(
        self, method: str, *, body: bytes = b"", content_type: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        on_response: Any = None,
    ) -> bool:
        self.sent.append((method.lower(), body))
        if on_response is not None:
            on_response(None, "fake: no answer")
        return True

    def accept_refer(self, event: Refer) -> ReferNotifier:
        self.sent.append(("refer-accepted", 202))
        notifier = ReferNotifier(self, 1)
        notifier.progress(100)
        return notifier

    def decline_refer(self, event: Refer, status: int = 603, reason: str | None = None) -> None:
        self.sent.append(("refer-declined", status))

    def refer(self, refer_to: str) -> None:
        """The far end sends REFER with this Refer-To value."""
        self.listener(Refer(refer_to=parse_refer_to(refer_to), referred_by=None, handle=None))

    def hold(self, port: int = 47100) -> None:
        """The far end holds: a re-INVITE with a=sendonly."""
        self.listener(ReInvite(sdp=sdp(port).replace(b"a=sendrecv", b"a=sendonly"), handle=None))

    def resume(self, port: int = 47100) -> None:
        self.listener(ReInvite(sdp=sdp(port), handle=None))

    def notifies(self) -> list[bytes]:
        return [body for kind, body in self.sent if kind == "notify" and isinstance(body, bytes)]


class FakeIncoming(FakeDialog):
    """A caller's incoming leg; ``sent`` lists what Jono did to it."""

    def __init__(self, request: Request, txn: object, source: Target) -> None:
        self.request = request
        self.txn = txn
        self.source = source
        self.listener: Any = _ignore
        self.answered = False
        self.finalised = False
        self.sent: list[tuple[str, object]] = []

    @property
    def call_id(self) -> str:
        return self.request.call_id

    @property
    def sdp(self) -> bytes | None:
        return self.request.body or None

    @property
    def max_forwards(self) -> int:
        return int(self.request.headers.get("Max-Forwards") or 70)

    def ring(self, sdp: bytes | None = None) -> None:
        self.sent.append(("ring", sdp))

    def answer(self, sdp: bytes | None, headers: Sequence[tuple[str, str]] = ()) -> None:
        if self.finalised:
            return
        self.finalised = self.answered = True
        self.sent.append(("answer", sdp))

    def reject(
        self, status: int = 486, reason: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        if self.finalised:
            return
        self.finalised = True
        self.sent.append(("reject", status))

    def hangup(self, status: int = 480) -> None:
        if not self.answered:
            self.reject(status)
        elif ("bye", None) not in self.sent:
            self.sent.append(("bye", None))

    def send_info(self, body: bytes, content_type: str) -> None:
        self.sent.append(("info", body))

    def reinvite(self, sdp: bytes | None, on_result: ReInviteResult) -> None:
        self.sent.append(("reinvite", sdp))
        on_result(200, sdp)

    def answer_reinvite(self, event: ReInvite, status: int, sdp: bytes | None = None) -> None:
        self.sent.append(("reinvite-answer", status))

    # -- the far end ---------------------------------------------------------
    def bye(self) -> None:
        self.listener(Ended(by="remote", reason="bye"))

    def end(self, reason: str) -> None:
        self.listener(Ended(by="remote", reason=reason))

    def cancel(self) -> None:
        self.reject(487)
        self.listener(Cancelled())

    def ack(self, sdp: bytes | None = None) -> None:
        self.listener(Acked(sdp=sdp))

    def info_digit(self, digit: str) -> None:
        body = f"Signal={digit}\r\nDuration=160\r\n".encode()
        self.listener(Info(content_type="application/dtmf-relay", body=body))

    def what(self) -> list[str]:
        return [kind for kind, _ in self.sent]


class FakeOutgoing(FakeDialog):
    """An outgoing forked INVITE; the test answers, fails or hangs it up."""

    def __init__(
        self,
        targets: Sequence[tuple[str, Target]],
        *,
        from_uri: str,
        to_uri: str,
        from_display: str | None,
        sdp: bytes | None,
        headers: Sequence[tuple[str, str]],
        credentials: Credentials | None,
        max_forwards: int = 70,
    ) -> None:
        self.targets = list(targets)
        self.max_forwards = max_forwards
        self.acked: list[bytes] = []
        self.from_uri = from_uri
        self.to_uri = to_uri
        self.from_display = from_display
        self.sdp = sdp
        self.headers = list(headers)
        self.credentials = credentials
        self.listener: Any = _ignore
        self.answered = False
        self.started = False
        self.cancelled = False
        self.hung_up = False
        self.infos: list[bytes] = []
        self.sent: list[tuple[str, object]] = []
        self._id = f"fake-out-{next(_ids)}"

    @property
    def call_id(self) -> str:
        return self._id

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True

    def hangup(self) -> None:
        if self.answered:
            self.hung_up = True
        else:
            self.cancelled = True

    def send_info(self, body: bytes, content_type: str) -> None:
        self.infos.append(body)

    def ack(self, sdp: bytes) -> None:
        self.acked.append(sdp)

    def reinvite(self, sdp: bytes | None, on_result: ReInviteResult) -> None:
        on_result(200, sdp)

    def answer_reinvite(self, event: ReInvite, status: int, sdp: bytes | None = None) -> None:
        self.sent.append(("reinvite-answer", status))

    # -- the far end ---------------------------------------------------------
    def ring(self) -> None:
        self.listener(Ringing())

    def answer(
        self, body: bytes | None = None, target: int = 0, *, needs_answer: bool = False
    ) -> None:
        self.answered = True
        self.listener(Answered(
            sdp=body or sdp(47000), target=self.targets[target][0], needs_answer=needs_answer,
        ))

    def fail(self, status: int) -> None:
        self.listener(Failed(status=status, reason=str(status)))

    def bye(self) -> None:
        self.listener(Ended(by="remote", reason="bye"))

    def end(self, reason: str) -> None:
        self.listener(Ended(by="remote", reason=reason))

    @property
    def uris(self) -> list[str]:
        return [uri for uri, _ in self.targets]


class FakeLegs:
    """The LegFactory of acd.calls.ports, making fake legs and keeping them."""

    def __init__(self) -> None:
        self.incoming_legs: list[FakeIncoming] = []
        self.outgoing_legs: list[FakeOutgoing] = []

    def incoming(self, request: Request, txn: object, source: Target) -> FakeIncoming:
        leg = FakeIncoming(request, txn, source)
        self.incoming_legs.append(leg)
        return leg

    def outgoing(
        self,
        targets: Sequence[tuple[str, Target]],
        *,
        from_uri: str,
        to_uri: str,
        from_display: str | None = None,
        sdp: bytes | None = None,
        headers: Sequence[tuple[str, str]] = (),
        credentials: Credentials | None = None,
        max_forwards: int = 70,
    ) -> FakeOutgoing:
        leg = FakeOutgoing(
            targets, from_uri=from_uri, to_uri=to_uri, from_display=from_display, sdp=sdp,
            headers=headers, credentials=credentials, max_forwards=max_forwards,
        )
        self.outgoing_legs.append(leg)
        return leg

    async def next_outgoing(self, count: int = 1, timeout: float = 3.0) -> FakeOutgoing:
        """The ``count``-th outgoing leg, once Jono has started it."""
        legs = self.outgoing_legs
        await until(lambda: len(legs) >= count and legs[count - 1].started, timeout)
        return legs[count - 1]


class MemoryRecordings:
    def __init__(self) -> None:
        self.kept: list[StoredRecording] = []

        self.audit: list[tuple[int, str]] = []

    def add(self, recording: StoredRecording) -> int:
        self.kept.append(recording)
        return len(self.kept)

    def of_call(self, call_id: str) -> list[StoredRecording]:
        return [replace(r, id=i + 1) for i, r in enumerate(self.kept) if r.call_id == call_id]

    def recent(self, queues: list[str] | None, limit: int = 50) -> list[StoredRecording]:
        found = [replace(r, id=i + 1) for i, r in enumerate(self.kept)
                 if queues is None or r.queue_id in queues]
        return found[::-1][:limit]

    def get(self, recording_id: int) -> StoredRecording | None:
        if 0 < recording_id <= len(self.kept):
            return replace(self.kept[recording_id - 1], id=recording_id)
        return None

    def played(self, recording_id: int, user: str, source: str | None = None) -> None:
        self.audit.append((recording_id, user))

    def playbacks(self, recording_id: int) -> list[tuple[str, datetime]]:
        return [(u, datetime.now(UTC)) for i, u in self.audit if i == recording_id]


class FakeStore:
    """Keeps rows in lists instead of a database; no bindings persistence."""

    bindings = None

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.cdrs: list[dict[str, Any]] = []
        self.callbacks = MemoryCallbacks()
        self.mailboxes = MemoryMailboxes()
        self.recordings = MemoryRecordings()

    def add_queue_event(self, **fields: Any) -> None:
        self.rows.append(fields)

    def add_cdr(self, **fields: Any) -> None:
        self.cdrs.append(fields)

    def stats(self) -> dict[str, float]:
        return {"backlog": 0, "written": len(self.rows) + len(self.cdrs), "last_batch_s": 0.0}

    def close(self) -> None:
        pass


async def until(condition: Any, timeout: float = 3.0) -> None:
    """Wait until ``condition()`` holds; AssertionError after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


class FakeServer:
    """A server built by acd.bootstrap with fake legs and store, real media and engine."""

    def __init__(self, tmp_path: Path, plan: str) -> None:
        path = tmp_path / "plan.yaml"
        path.write_text(plan)
        self.legs = FakeLegs()
        self.store = FakeStore()
        self.jono: Jono = build(
            load(path, env={}),
            Settings(
                host="127.0.0.1", port=0, db="", realm="jono", rtp_ports=(42000, 43999),
                cache_dir=str(tmp_path / "cache"),
            ),
            config_path=str(path),
            parts=Parts(store=self.store, legs=self.legs, http=False),
        )

    async def close(self) -> None:
        await self.jono.close()
