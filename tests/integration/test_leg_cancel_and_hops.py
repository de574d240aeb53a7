"""CANCEL keeps the INVITE's To-tag (issue 10 item 4, RFC 3261 §9.2) and a
B2BUA carries Max-Forwards down (item 2, §16.6 step 3, §20.22)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sip_peers import OFFER, Answerer, Events, RawPeer, start_ua

from sip.leg_events import Cancelled, Ringing
from sip.legs import IncomingCall, OutgoingCall
from sip.message import Request, Response


@pytest.fixture
async def peer() -> AsyncIterator[RawPeer]:
    raw = RawPeer()
    yield raw
    raw.close()


# §9.2: "the To tag of the response to the CANCEL and the To tag in the
# response to the original request SHOULD be the same."


async def test_200_to_cancel_and_487_carry_the_to_tag_of_the_180(peer: RawPeer) -> None:
    answerer = Answerer(on_call=lambda call: call.ring())
    ua = await start_ua(answerer)
    try:
        invite = peer.invite(ua.port)
        await peer.send(invite, ua.port)
        ringing = await peer.expect(180)
        await peer.send(peer.cancel_for(invite), ua.port)
        messages = [m for m in await peer.collect(0.2) if isinstance(m, Response)]
        cancel_ok = next(m for m in messages if m.cseq.method == "CANCEL")
        terminated = next(m for m in messages if m.status == 487)
        assert cancel_ok.status == 200
        assert ringing.to.tag and cancel_ok.to.tag == ringing.to.tag == terminated.to.tag
        assert answerer.events[0].seen == [Cancelled()]
    finally:
        ua.close()


async def test_cancel_before_any_18x_still_gets_one_tag_for_200_and_487(peer: RawPeer) -> None:
    ua = await start_ua(Answerer())
    try:
        invite = peer.invite(ua.port)
        await peer.send(invite, ua.port)
        await peer.expect(100)
        await peer.send(peer.cancel_for(invite), ua.port)
        messages = [m for m in await peer.collect(0.2) if isinstance(m, Response)]
        cancel_ok = next(m for m in messages if m.cseq.method == "CANCEL")
        terminated = next(m for m in messages if m.status == 487)
        assert cancel_ok.to.tag == terminated.to.tag
    finally:
        ua.close()


# §16.6 step 3 (what a B2BUA owes the next hop): "The proxy MUST decrement the
# Max-Forwards value by one" - here the application passes the count down.


async def test_incoming_max_forwards_is_reported_and_carried_down_by_the_outgoing_leg(
    peer: RawPeer,
) -> None:
    seen: list[int] = []
    forwarded: list[OutgoingCall] = []

    def forward(call: IncomingCall) -> None:
        seen.append(call.max_forwards)
        outgoing = OutgoingCall(
            call.ua, [(f"sip:next@127.0.0.1:{peer.port}", peer.target)],
            from_uri="sip:jono@127.0.0.1", to_uri="sip:next@127.0.0.1", sdp=call.sdp,
            max_forwards=call.max_forwards - 1, listener=Events(),
        )  # fmt: skip
        forwarded.append(outgoing)
        outgoing.start()

    ua = await start_ua(Answerer(on_call=forward))
    caller = RawPeer()
    try:
        await caller.send(caller.invite(ua.port, max_forwards=7), ua.port)
        onward = await peer.expect("INVITE")
        assert isinstance(onward, Request)
        assert seen == [7]
        assert onward.headers.get("Max-Forwards") == "6"
        await peer.send(peer.answer(onward, 180), ua.port)
        forwarded[0].cancel()
        cancel = await peer.expect("CANCEL")
        assert cancel.headers.get("Max-Forwards") == "6"
    finally:
        caller.close()
        ua.close()


async def test_invite_arriving_with_max_forwards_0_gets_483_and_no_call(peer: RawPeer) -> None:
    answerer = Answerer()
    ua = await start_ua(answerer)
    try:
        await peer.send(peer.invite(ua.port, max_forwards=0), ua.port)
        assert (await peer.expect(483)).status == 483
        assert answerer.calls == []
    finally:
        ua.close()


async def test_outgoing_call_defaults_to_70_and_refuses_counts_outside_0_255(peer: RawPeer) -> None:
    ua = await start_ua()
    try:
        call = OutgoingCall(
            ua, [(f"sip:x@127.0.0.1:{peer.port}", peer.target)],
            from_uri="sip:jono@127.0.0.1", to_uri="sip:x@127.0.0.1", sdp=OFFER, listener=Events(),
        )  # fmt: skip
        call.start()
        assert (await peer.expect("INVITE")).headers.get("Max-Forwards") == "70"
        call.cancel()
        for bad in (-1, 256):
            with pytest.raises(ValueError, match="max_forwards"):
                OutgoingCall(ua, [], from_uri="sip:a@b", to_uri="sip:c@d", max_forwards=bad)
    finally:
        ua.close()


async def test_early_media_183_then_cancel_by_the_caller_reports_cancelled_once(peer: RawPeer) -> None:
    answerer = Answerer(on_call=lambda call: call.ring(OFFER))
    ua = await start_ua(answerer)
    try:
        invite = peer.invite(ua.port)
        await peer.send(invite, ua.port)
        progress = await peer.expect(183)
        assert progress.body == OFFER
        await peer.send(peer.cancel_for(invite), ua.port)
        await peer.send(peer.cancel_for(invite), ua.port)  # a retransmission
        await peer.collect(0.1)
        assert answerer.events[0].seen == [Cancelled()]
        assert not answerer.events[0].of(Ringing)
    finally:
        ua.close()


async def test_cancel_after_the_200_gets_200_with_the_same_tag_and_changes_nothing(
    peer: RawPeer,
) -> None:
    # §9.2: "as long as the CANCEL matched an existing transaction, the UAS
    # answers the CANCEL request itself with a 200 (OK) response".
    answerer = Answerer(on_call=lambda call: call.answer(OFFER))
    ua = await start_ua(answerer)
    try:
        invite = peer.invite(ua.port)
        await peer.send(invite, ua.port)
        ok = await peer.expect(200)
        await peer.send(peer.cancel_for(invite), ua.port)
        cancel_ok = next(
            m for m in await peer.collect(0.1) if isinstance(m, Response) and m.cseq.method == "CANCEL"
        )
        assert cancel_ok.status == 200 and cancel_ok.to.tag == ok.to.tag
        assert not answerer.events[0].of(Cancelled) and not answerer.calls[0].ended
    finally:
        ua.close()
