"""REFER with its implicit subscription (RFC 3515, RFC 4488) and SUBSCRIBE/NOTIFY
for message-summary (RFC 6665, RFC 3842), on the wire: our user agent over
loopback UDP against a scripted raw-socket peer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sip_peers import ANSWER, HOST, Answerer, RawPeer, start_ua

from sip.leg_events import Refer
from sip.legs import IncomingCall
from sip.message import Request, Response
from sip.refer import ReferNotifier
from sip.subscription import (
    MESSAGE_SUMMARY,
    SIMPLE_MESSAGE_SUMMARY,
    MailboxCounts,
    Subscription,
    message_summary,
)
from sip.transport import Target
from sip.ua import UserAgent


@pytest.fixture
async def peer() -> AsyncIterator[RawPeer]:
    raw = RawPeer()
    yield raw
    raw.close()


def in_dialog(
    peer: RawPeer, invite: Request, ok: Response, method: str, cseq: int,
    headers: tuple[str, ...] = (), body: bytes = b"",
) -> bytes:
    """A request from the peer inside the dialog ``invite``/``ok`` made."""
    extra = "".join(f"{h}\r\n" for h in headers)
    return (
        f"{method} sip:jono@{HOST} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {HOST}:{peer.port};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: {invite.headers.get('From')}\r\n"
        f"To: {ok.headers.get('To')}\r\n"
        f"Call-ID: {invite.call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"Contact: <sip:caller@{HOST}:{peer.port}>\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _call(ua: UserAgent, answerer: Answerer, peer: RawPeer) -> tuple[Request, Response]:
    answerer.on_call = lambda call: call.answer(ANSWER)
    invite = peer.invite(ua.port)
    await peer.send(invite, ua.port)
    ok = await peer.expect(200)
    assert isinstance(ok, Response)
    await peer.send(peer.ack_for(invite, ok), ua.port)
    return invite, ok


async def _answer(peer: RawPeer, request: Request | Response, port: int) -> None:
    assert isinstance(request, Request)
    await peer.send(peer.answer(request, 200, to_tag="x"), port)


# -- RFC 3515 §2.4.2, §2.4.4, §2.4.5 ----------------------------------------------


async def test_accepted_refer_gets_202_then_notifies_trying_and_the_final_status(
    peer: RawPeer,
) -> None:
    answerer = Answerer()
    ua = await start_ua(answerer)
    try:
        invite, ok = await _call(ua, answerer, peer)
        refers: list[Refer] = []
        notifiers: list[ReferNotifier] = []
        call: IncomingCall = answerer.calls[0]

        def on_event(event: object) -> None:
            if isinstance(event, Refer):
                refers.append(event)
                notifiers.append(call.accept_refer(event))

        answerer.events[0].on_event = on_event
        await peer.send(in_dialog(peer, invite, ok, "REFER", 2, (
            "Refer-To: <sip:1003@127.0.0.1>", "Referred-By: <sip:caller@127.0.0.1>",
        )), ua.port)  # fmt: skip
        accepted = await peer.expect(202)
        trying = await peer.expect("NOTIFY")
        assert isinstance(trying, Request)
        assert accepted.headers.get("To") == ok.headers.get("To")
        assert refers[0].refer_to.user == "1003"
        assert refers[0].referred_by == "<sip:caller@127.0.0.1>"
        # "Each NOTIFY MUST contain an Event header field with a value of refer"
        assert trying.headers.get("Event") == "refer;id=2"
        assert (trying.headers.get("Subscription-State") or "").startswith("active;expires=")
        assert trying.content_type == "message/sipfrag"
        assert trying.body == b"SIP/2.0 100 Trying\r\n"
        await _answer(peer, trying, ua.port)

        done = asyncio.Event()
        notifiers[0].progress(180)
        ringing = await peer.expect("NOTIFY")
        assert ringing.body == b"SIP/2.0 180 Ringing\r\n"
        await _answer(peer, ringing, ua.port)
        notifiers[0].final(200, then=done.set)
        final = await peer.expect("NOTIFY")
        assert isinstance(final, Request)
        assert final.body == b"SIP/2.0 200 OK\r\n"
        assert final.headers.get("Subscription-State") == "terminated;reason=noresource"
        assert not done.is_set()  # the BYE may follow only once the NOTIFY is answered
        await _answer(peer, final, ua.port)
        await asyncio.wait_for(done.wait(), 2)
        # CSeq of our NOTIFYs goes up by one in the dialog.
        assert [m.cseq.number for m in (trying, ringing, final)] == [1, 2, 3]
    finally:
        ua.close()


async def test_refer_without_exactly_one_refer_to_is_400(peer: RawPeer) -> None:
    answerer = Answerer()
    ua = await start_ua(answerer)
    try:
        invite, ok = await _call(ua, answerer, peer)
        await peer.send(in_dialog(peer, invite, ok, "REFER", 2), ua.port)
        assert (await peer.expect(400)).status == 400
        twice = ("Refer-To: <sip:1@127.0.0.1>", "Refer-To: <sip:2@127.0.0.1>")
        await peer.send(in_dialog(peer, invite, ok, "REFER", 3, twice), ua.port)
        assert (await peer.expect(400)).status == 400
    finally:
        ua.close()


async def test_refer_the_application_ignores_is_declined_403(peer: RawPeer) -> None:
    answerer = Answerer()
    ua = await start_ua(answerer)
    try:
        invite, ok = await _call(ua, answerer, peer)
        await peer.send(in_dialog(peer, invite, ok, "REFER", 2, ("Refer-To: <sip:1@h>",)), ua.port)
        assert (await peer.expect(403)).status == 403
        assert answerer.events[0].of(Refer)
    finally:
        ua.close()


async def test_refer_sub_false_gets_no_notify(peer: RawPeer) -> None:
    answerer = Answerer()
    ua = await start_ua(answerer)
    try:
        invite, ok = await _call(ua, answerer, peer)
        call = answerer.calls[0]
        answerer.events[0].on_event = (
            lambda e: call.accept_refer(e).final(200) if isinstance(e, Refer) else None
        )
        await peer.send(in_dialog(peer, invite, ok, "REFER", 2, (
            "Refer-To: <sip:1@h>", "Refer-Sub: false",
        )), ua.port)  # fmt: skip
        accepted = await peer.expect(202)
        # RFC 4488 §4: "MUST insert the Refer-Sub header field set to false".
        assert accepted.headers.get("Refer-Sub") == "false"
        later = await peer.collect(0.3)
        assert not [m for m in later if isinstance(m, Request) and m.method == "NOTIFY"]
    finally:
        ua.close()


# -- RFC 6665 / RFC 3842: message-summary ------------------------------------------


class Notifier:
    """A request handler that makes a Subscription of every SUBSCRIBE."""

    def __init__(self, counts: MailboxCounts, min_expires: int = 60) -> None:
        self.counts = counts
        self.subscriptions: list[Subscription] = []
        self.ended: list[Subscription] = []
        self.min_expires = min_expires

    def state(self) -> tuple[str, bytes]:
        return SIMPLE_MESSAGE_SUMMARY, message_summary(self.counts, "sip:alice@jono")

    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        sub = Subscription(
            ua, request, txn, source, event=MESSAGE_SUMMARY, state=self.state,
            on_end=self.ended.append, min_expires=self.min_expires,
        )  # fmt: skip
        self.subscriptions.append(sub)
        sub.accept()


def subscribe(peer: RawPeer, port: int, expires: int, *, call_id: str | None = None,
              to_tag: str = "", cseq: int = 1) -> bytes:
    tag = f";tag={to_tag}" if to_tag else ""
    return (
        f"SUBSCRIBE sip:alice@{HOST}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {HOST}:{peer.port};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:alice@{HOST}>;tag=sub1\r\n"
        f"To: <sip:alice@{HOST}>{tag}\r\n"
        f"Call-ID: {call_id or 'mwi-' + uuid.uuid4().hex}\r\n"
        f"CSeq: {cseq} SUBSCRIBE\r\n"
        f"Contact: <sip:alice@{HOST}:{peer.port}>\r\n"
        "Event: message-summary\r\n"
        "Accept: application/simple-message-summary\r\n"
        f"Expires: {expires}\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def test_subscribe_gets_200_with_expires_and_an_immediate_notify(peer: RawPeer) -> None:
    notifier = Notifier(MailboxCounts(new=0, old=2))
    ua = await start_ua(notifier)
    try:
        await peer.send(subscribe(peer, ua.port, 7200), ua.port)
        ok = await peer.expect(200)
        # "MUST NOT lengthen it": 7200 asked, the most we grant is an hour.
        assert ok.headers.get("Expires") == "3600"
        first = await peer.expect("NOTIFY")
        assert isinstance(first, Request)
        assert first.headers.get("Event") == "message-summary"
        assert first.content_type == SIMPLE_MESSAGE_SUMMARY
        assert b"Messages-Waiting: no" in first.body
        assert b"Voice-Message: 0/2 (0/0)" in first.body
        assert first.headers.get("To") == "<sip:alice@127.0.0.1>;tag=sub1"
        await _answer(peer, first, ua.port)

        notifier.counts = MailboxCounts(new=1, old=2)
        notifier.subscriptions[0].notify()
        changed = await peer.expect("NOTIFY")
        assert b"Messages-Waiting: yes" in changed.body
        assert b"Voice-Message: 1/2 (0/0)" in changed.body
        await _answer(peer, changed, ua.port)

        # §4.1.2.3: Expires 0 in the dialog unsubscribes; the last NOTIFY says so.
        to_tag = ok.to.tag or ""
        await peer.send(subscribe(peer, ua.port, 0, call_id=ok.call_id, to_tag=to_tag,
                                  cseq=2), ua.port)
        assert (await peer.expect(200)).headers.get("Expires") == "0"
        last = await peer.expect("NOTIFY")
        assert last.headers.get("Subscription-State") == "terminated;reason=timeout"
        assert notifier.ended == notifier.subscriptions
        assert not ua.dialogs
    finally:
        ua.close()


async def test_too_short_expiry_is_423_with_min_expires(peer: RawPeer) -> None:
    ua = await start_ua(Notifier(MailboxCounts(new=0, old=0)))
    try:
        await peer.send(subscribe(peer, ua.port, 5), ua.port)
        refused = await peer.expect(423)
        assert refused.headers.get("Min-Expires") == "60"
    finally:
        ua.close()


async def test_subscription_not_refreshed_ends_with_notify_terminated_timeout(
    peer: RawPeer,
) -> None:
    notifier = Notifier(MailboxCounts(new=1, old=0), min_expires=1)
    ua = await start_ua(notifier)
    try:
        await peer.send(subscribe(peer, ua.port, 1), ua.port)
        await peer.expect(200)
        await _answer(peer, await peer.expect("NOTIFY"), ua.port)
        last = await peer.expect("NOTIFY", timeout=3)
        assert last.headers.get("Subscription-State") == "terminated;reason=timeout"
        assert notifier.ended
    finally:
        ua.close()


async def test_refresh_rearms_the_expiry_and_notifies_again(peer: RawPeer) -> None:
    notifier = Notifier(MailboxCounts(new=0, old=0), min_expires=1)
    ua = await start_ua(notifier)
    try:
        await peer.send(subscribe(peer, ua.port, 1), ua.port)
        ok = await peer.expect(200)
        await _answer(peer, await peer.expect("NOTIFY"), ua.port)
        await asyncio.sleep(0.6)
        await peer.send(subscribe(peer, ua.port, 2, call_id=ok.call_id,
                                  to_tag=ok.to.tag or "", cseq=2), ua.port)
        assert (await peer.expect(200)).headers.get("Expires") == "2"
        again = await peer.expect("NOTIFY")
        assert (again.headers.get("Subscription-State") or "").startswith("active")
        await _answer(peer, again, ua.port)
        await asyncio.sleep(0.8)  # past the first expiry: still alive
        assert not notifier.ended
    finally:
        ua.close()


async def test_notify_answered_481_drops_the_subscription(peer: RawPeer) -> None:
    notifier = Notifier(MailboxCounts(new=0, old=0))
    ua = await start_ua(notifier)
    try:
        await peer.send(subscribe(peer, ua.port, 600), ua.port)
        await peer.expect(200)
        first = await peer.expect("NOTIFY")
        assert isinstance(first, Request)
        await peer.send(peer.answer(first, 481, to_tag="x"), ua.port)
        for _ in range(100):
            if notifier.ended:
                break
            await asyncio.sleep(0.01)
        assert notifier.ended
    finally:
        ua.close()


def test_message_summary_body_is_rfc_3842_section_5_2() -> None:
    body = message_summary(MailboxCounts(new=3, old=1), "sip:bob@jono")
    assert body == (
        b"Messages-Waiting: yes\r\nMessage-Account: sip:bob@jono\r\n"
        b"Voice-Message: 3/1 (0/0)\r\n"
    )
