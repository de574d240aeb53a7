"""Late offer (issue 10 item 3; RFC 3261 §13.2.1, §13.2.2.4, RFC 3264):
the INVITE has no SDP, the 2xx carries the offer, the ACK the answer.

Both halves: our UAS against a raw caller, our UAC against a raw callee, and
our UAC against our UAS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sip_peers import ANSWER, OFFER, Answerer, Events, RawPeer, start_ua

from sip.leg_events import Acked, Answered, Ended
from sip.legs import IncomingCall, OutgoingCall
from sip.message import Request, Response


@pytest.fixture
async def peer() -> AsyncIterator[RawPeer]:
    raw = RawPeer()
    yield raw
    raw.close()


def _late_offer_call(ua: object, peer: RawPeer, events: Events) -> OutgoingCall:
    return OutgoingCall(
        ua, [(f"sip:callee@127.0.0.1:{peer.port}", peer.target)],  # type: ignore[arg-type]
        from_uri="sip:jono@127.0.0.1", to_uri="sip:callee@127.0.0.1", sdp=None, listener=events,
    )  # fmt: skip


# -- UAS: "If the initial offer is in the first reliable non-failure message
# from the UAS back to UAC, the answer MUST be in the acknowledgement for that
# message" (§13.2.1).


async def test_offerless_invite_gets_our_offer_in_the_200_and_the_ack_answer_is_reported(
    peer: RawPeer,
) -> None:
    answerer = Answerer()
    ua = await start_ua(answerer)
    try:
        offers: list[bytes | None] = []

        def answer_with_offer(call: IncomingCall) -> None:
            offers.append(call.sdp)
            call.answer(ANSWER)  # our offer

        answerer.on_call = answer_with_offer
        invite = peer.invite(ua.port, sdp=None)
        await peer.send(invite, ua.port)
        ok = await peer.expect(200)
        assert isinstance(ok, Response)
        assert offers == [None]
        assert ok.body == ANSWER and ok.content_type == "application/sdp"
        await peer.send(peer.ack_for(invite, ok, sdp=OFFER), ua.port)
        acked = await answerer.events[0].wait_for(Acked)
        assert acked == Acked(sdp=OFFER)
        assert not answerer.calls[0].ended
    finally:
        ua.close()


async def test_ack_without_the_answer_to_our_offer_ends_the_call(peer: RawPeer) -> None:
    answerer = Answerer(on_call=lambda call: call.answer(ANSWER))
    ua = await start_ua(answerer)
    try:
        invite = peer.invite(ua.port, sdp=None)
        await peer.send(invite, ua.port)
        ok = await peer.expect(200)
        assert isinstance(ok, Response)
        await peer.send(peer.ack_for(invite, ok), ua.port)
        await peer.expect("BYE")
        assert answerer.events[0].seen == [Ended(by="remote", reason="no SDP answer in ACK")]
    finally:
        ua.close()


async def test_ack_body_for_an_early_offer_call_is_not_reported_as_an_answer(peer: RawPeer) -> None:
    answerer = Answerer(on_call=lambda call: call.answer(ANSWER))
    ua = await start_ua(answerer)
    try:
        invite = peer.invite(ua.port, sdp=OFFER)
        await peer.send(invite, ua.port)
        ok = await peer.expect(200)
        assert isinstance(ok, Response)
        await peer.send(peer.ack_for(invite, ok, sdp=OFFER), ua.port)
        assert await answerer.events[0].wait_for(Acked) == Acked(sdp=None)
    finally:
        ua.close()


# -- UAC: "If the 2xx contains an offer (based on the rules above), the ACK
# MUST carry an answer in its body" (§13.2.2.4).


async def test_offerless_invite_reports_the_peers_offer_and_acks_with_our_answer(peer: RawPeer) -> None:
    ua = await start_ua()
    events = Events()
    try:
        call = _late_offer_call(ua, peer, events)
        call.start()
        invite = await peer.expect("INVITE")
        assert isinstance(invite, Request)
        assert invite.body == b"" and "Content-Type" not in invite.headers
        ok = peer.answer(invite, 200, sdp=OFFER)
        await peer.send(ok, ua.port)
        answered = await events.wait_for(Answered)
        assert answered == Answered(sdp=OFFER, target=invite.uri, needs_answer=True)
        assert not [m for m in await peer.collect(0.05) if isinstance(m, Request)]  # no ACK yet
        call.ack(ANSWER)
        ack = await peer.expect("ACK")
        assert ack.body == ANSWER and ack.content_type == "application/sdp"
        # Every retransmission of the 2xx gets the same ACK.
        await peer.send(ok, ua.port)
        again = await peer.expect("ACK")
        assert again.body == ANSWER and again.cseq.number == invite.cseq.number
    finally:
        ua.close()


async def test_application_that_never_answers_the_late_offer_ends_the_call(peer: RawPeer) -> None:
    ua = await start_ua()
    events = Events()
    try:
        call = _late_offer_call(ua, peer, events)
        call.start()
        invite = await peer.expect("INVITE")
        assert isinstance(invite, Request)
        await peer.send(peer.answer(invite, 200, sdp=OFFER), ua.port)
        await events.wait_for(Answered)
        ack = await peer.expect("ACK", timeout=2)  # after 32*T1: ACK without answer, then BYE
        assert ack.body == b""
        await peer.expect("BYE")
        assert events.seen[1:] == [Ended(by="local", reason="no SDP answer for the late offer")]
        assert call.ended
    finally:
        ua.close()


async def test_hangup_before_answering_the_late_offer_acks_then_byes(peer: RawPeer) -> None:
    ua = await start_ua()
    events = Events()
    try:
        call = _late_offer_call(ua, peer, events)
        call.start()
        invite = await peer.expect("INVITE")
        assert isinstance(invite, Request)
        await peer.send(peer.answer(invite, 200, sdp=OFFER), ua.port)
        await events.wait_for(Answered)
        call.hangup()
        methods = [m.method for m in await peer.collect(0.1) if isinstance(m, Request)]
        assert methods[:2] == ["ACK", "BYE"]
    finally:
        ua.close()


async def test_late_offer_between_our_own_uac_and_uas() -> None:
    answerer = Answerer(on_call=lambda call: call.answer(ANSWER if call.sdp is None else OFFER))
    callee = await start_ua(answerer)
    caller = await start_ua()
    events = Events(on_event=lambda e: call.ack(OFFER) if isinstance(e, Answered) else None)
    try:
        call = OutgoingCall(
            caller, [(f"sip:callee@127.0.0.1:{callee.port}", RawPeer.target_of(callee.port))],
            from_uri="sip:jono@127.0.0.1", to_uri="sip:callee@127.0.0.1", sdp=None, listener=events,
        )  # fmt: skip
        call.start()
        assert await events.wait_for(Answered) == Answered(
            sdp=ANSWER, target=f"sip:callee@127.0.0.1:{callee.port}", needs_answer=True
        )
        assert await answerer.events[0].wait_for(Acked) == Acked(sdp=OFFER)
    finally:
        caller.close()
        callee.close()
