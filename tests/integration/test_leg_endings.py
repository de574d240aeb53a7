"""Every way a call leg ends by itself reaches the application, once, with the
true reason (issue 10 item 1; RFC 3261 §13.3.1.4, §12.2.1.2, §14.1).

Real user agents over loopback UDP/TCP with T1 = 10 ms, against a scripted
raw-socket peer that misbehaves exactly as each test needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sip_peers import ANSWER, OFFER, Answerer, Events, RawPeer, start_ua

from sip.leg_events import Acked, Answered, Ended, Failed
from sip.legs import OutgoingCall
from sip.message import Request, Response
from sip.transport import Target
from sip.ua import UserAgent


@pytest.fixture
async def peer() -> AsyncIterator[RawPeer]:
    raw = RawPeer()
    yield raw
    raw.close()


async def _answered_incoming(ua: UserAgent, answerer: Answerer, peer: RawPeer) -> tuple[Request, Response]:
    answerer.on_call = lambda call: call.answer(ANSWER)
    invite = peer.invite(ua.port)
    await peer.send(invite, ua.port)
    ok = await peer.expect(200)
    assert isinstance(ok, Response)
    return invite, ok


async def _answered_outgoing(ua: UserAgent, peer: RawPeer, events: Events) -> tuple[OutgoingCall, Request]:
    call = OutgoingCall(
        ua, [(f"sip:callee@127.0.0.1:{peer.port}", peer.target)],
        from_uri="sip:jono@127.0.0.1", to_uri="sip:callee@127.0.0.1", sdp=OFFER, listener=events,
    )  # fmt: skip
    call.start()
    invite = await peer.expect("INVITE")
    assert isinstance(invite, Request)
    await peer.send(peer.answer(invite, 200, sdp=ANSWER), ua.port)
    await peer.expect("ACK")
    await events.wait_for(Answered)
    return call, invite


# -- §13.3.1.4: "If the server retransmits the 2xx response for 64*T1 seconds
# without receiving an ACK, the dialog is confirmed, but the session SHOULD be
# terminated."


async def test_no_ack_within_64_t1_reports_ended_no_ack_then_sends_bye(peer: RawPeer) -> None:
    answerer = Answerer()
    ua = await start_ua(answerer)
    try:
        await _answered_incoming(ua, answerer, peer)
        bye = await peer.expect("BYE", timeout=3)
        events = answerer.events[0]
        assert [type(e) for e in events.seen] == [Ended]
        assert events.seen[0] == Ended(by="remote", reason="no ACK")
        assert bye.headers.get("To", "").startswith("<sip:caller@")  # BYE goes to the caller
        assert answerer.calls[0].ended
    finally:
        ua.close()


async def test_2xx_is_retransmitted_with_doubling_intervals_until_the_ack(peer: RawPeer) -> None:
    answerer = Answerer()
    ua = await start_ua(answerer)
    try:
        invite, ok = await _answered_incoming(ua, answerer, peer)
        again = [m for m in await peer.collect(0.2) if isinstance(m, Response) and m.status == 200]
        assert 2 <= len(again) <= 7  # T1, 2T1, 4T1, then T2 = 40 ms: ~6 in 0.2 s
        await peer.send(peer.ack_for(invite, ok), ua.port)
        await answerer.events[0].wait_for(Acked)
        await peer.collect(0.05)  # a 2xx sent just before the ACK was read may still arrive
        # Not stopped, the retransmissions would go on every T2 (40 ms): ~5 in 0.2 s.
        assert not [m for m in await peer.collect(0.2) if isinstance(m, Response)]
        assert answerer.events[0].seen == [Acked(sdp=None)]
    finally:
        ua.close()


async def test_listener_that_hangs_up_on_ended_hears_nothing_more(peer: RawPeer) -> None:
    answerer = Answerer()
    ua = await start_ua(answerer)
    try:
        await _answered_incoming(ua, answerer, peer)
        answerer.events[0].on_event = lambda event: answerer.calls[0].hangup()
        await peer.expect("BYE", timeout=3)
        extra = [m for m in await peer.collect(0.2) if isinstance(m, Request) and m.method == "BYE"]
        # Retransmissions of the one BYE only (same branch), no second BYE.
        assert len({m.top_via.branch for m in extra}) <= 1
        assert [type(e) for e in answerer.events[0].seen] == [Ended]
    finally:
        ua.close()


# -- §14.1: "If the response to a re-INVITE is a 481 (Call/Transaction Does Not
# Exist), or a 408 (Request Timeout), or no response at all is received for
# the re-INVITE (that is, a timeout is returned by the INVITE client
# transaction), the UAC will terminate the dialog."


@pytest.mark.parametrize(("status", "bye"), [(481, False), (408, True)])
async def test_reinvite_answered_481_or_408_ends_the_call(peer: RawPeer, status: int, bye: bool) -> None:
    ua = await start_ua()
    events = Events()
    results: list[tuple[int, bytes | None]] = []
    try:
        call, _ = await _answered_outgoing(ua, peer, events)
        call.reinvite(OFFER, lambda s, sdp: results.append((s, sdp)))
        reinvite = await peer.expect("INVITE")
        assert isinstance(reinvite, Request)
        await peer.send(peer.answer(reinvite, status), ua.port)
        ended = await events.wait_for(Ended)
        assert ended == Ended(by="remote", reason=f"re-INVITE {status}")
        assert results == [(status, None)]
        later = await peer.collect(0.3)
        assert any(isinstance(m, Request) and m.method == "BYE" for m in later) is bye
        assert len(events.of(Ended)) == 1
    finally:
        ua.close()


async def test_reinvite_without_any_response_ends_the_call_with_timeout(peer: RawPeer) -> None:
    ua = await start_ua()
    events = Events()
    results: list[int] = []
    try:
        call, _ = await _answered_outgoing(ua, peer, events)
        call.reinvite(OFFER, lambda s, sdp: results.append(s))
        await peer.expect("INVITE")
        ended = await events.wait_for(Ended, timeout=3)  # Timer B: 64*T1
        assert ended == Ended(by="remote", reason="re-INVITE timeout")
        assert results == [408]
    finally:
        ua.close()


# -- §12.2.1.2: "If the response for a request within a dialog is a 481 ... or
# a 408 ..., the UAC SHOULD terminate the dialog."


async def test_info_answered_481_ends_the_call(peer: RawPeer) -> None:
    ua = await start_ua()
    events = Events()
    try:
        call, _ = await _answered_outgoing(ua, peer, events)
        call.send_info(b"Signal=5\r\nDuration=160\r\n", "application/dtmf-relay")
        info = await peer.expect("INFO")
        assert isinstance(info, Request)
        await peer.send(peer.answer(info, 481), ua.port)
        assert await events.wait_for(Ended) == Ended(by="remote", reason="INFO 481")
    finally:
        ua.close()


async def test_info_answered_200_keeps_the_call(peer: RawPeer) -> None:
    ua = await start_ua()
    events = Events()
    try:
        call, _ = await _answered_outgoing(ua, peer, events)
        call.send_info(b"Signal=5\r\n", "application/dtmf-relay")
        info = await peer.expect("INFO")
        assert isinstance(info, Request)
        await peer.send(peer.answer(info, 200), ua.port)
        await asyncio.sleep(0.1)
        assert not events.of(Ended) and not call.ended
    finally:
        ua.close()


async def test_transport_error_on_an_in_dialog_request_ends_the_call() -> None:
    """Over TCP: the peer's UA is gone, the connect for the BYE-less re-INVITE
    is refused, and the leg ends at once (§17.1.4), not after Timer B."""
    callee = Answerer(on_call=lambda call: call.answer(ANSWER))
    b = await start_ua(callee)
    a = await start_ua()
    events = Events()
    try:
        call = OutgoingCall(
            a, [(f"sip:callee@127.0.0.1:{b.port};transport=tcp", Target("tcp", "127.0.0.1", b.port))],
            from_uri="sip:jono@127.0.0.1", to_uri="sip:callee@127.0.0.1", sdp=OFFER, listener=events,
        )  # fmt: skip
        call.start()
        await events.wait_for(Answered)
        await callee.events[0].wait_for(Acked)
        b.close()
        await asyncio.sleep(0.05)
        results: list[int] = []
        started = asyncio.get_running_loop().time()
        call.reinvite(OFFER, lambda s, sdp: results.append(s))
        ended = await events.wait_for(Ended, timeout=2)
        assert ended == Ended(by="remote", reason="re-INVITE transport error")
        assert asyncio.get_running_loop().time() - started < 0.5  # not Timer B
        assert results == [408]
        assert len(events.of(Ended)) == 1 and not events.of(Failed)
    finally:
        a.close()
        b.close()


async def test_bye_from_the_peer_reports_ended_bye_once(peer: RawPeer) -> None:
    ua = await start_ua()
    events = Events()
    try:
        call, invite = await _answered_outgoing(ua, peer, events)
        dialog = call.dialog
        assert dialog is not None
        bye = (
            f"BYE sip:jono@127.0.0.1:{ua.port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{peer.port};branch=z9hG4bKbye1;rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:callee@127.0.0.1>;tag={dialog.remote_tag}\r\n"
            f"To: {invite.headers.get('From')}\r\n"
            f"Call-ID: {invite.call_id}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        await peer.send(bye, ua.port)
        assert (await peer.expect(200)).cseq.method == "BYE"
        await peer.send(bye.replace(b"z9hG4bKbye1", b"z9hG4bKbye2").replace(b"2 BYE", b"3 BYE"), ua.port)
        assert (await peer.expect(481)).cseq.method == "BYE"
        assert events.of(Ended) == [Ended(by="remote", reason="bye")]
    finally:
        ua.close()
