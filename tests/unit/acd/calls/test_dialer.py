"""The one dialer: first answer wins, ring timeouts, cancels, refused answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from acd_fakes import FakeLegs, sdp, until

from acd.calls.dialer import Attempt, Dial, Dialer, DialResult
from acd.calls.party import Party
from acd.calls.status import Outcome, acd_failure_reason, is_busy, outcome_of
from acd.tasks import TaskGroup
from acd.telephony.targets import DialTarget
from media.engine import MediaEngine
from sip.transport import Target

DESK = DialTarget("sip:bob@127.0.0.1:5072", Target("udp", "127.0.0.1", 5072), "reg")
MOBILE = DialTarget("sip:+358401234567@127.0.0.1:5070", Target("udp", "127.0.0.1", 5070), "mobile1")


class Recorder:
    def __init__(self, adopt: bool = True) -> None:
        self.adopt = adopt
        self.events: list[str] = []
        self.party: Party | None = None
        self.result: DialResult | None = None

    def ringing(self, attempt: Attempt, sdp: bytes | None) -> None:
        self.events.append("ringing")

    def answered(self, attempt: Attempt, party: Party) -> bool:
        self.events.append("answered")
        self.party = party
        return self.adopt

    def failed(self, attempt: Attempt, result: DialResult) -> None:
        self.events.append(f"failed:{result.outcome.value}")
        self.result = result


Parts = tuple[Dialer, FakeLegs, MediaEngine]


@pytest.fixture
async def parts() -> AsyncIterator[Parts]:
    legs, media, tasks = FakeLegs(), MediaEngine("127.0.0.1", (44000, 44999)), TaskGroup()
    yield Dialer(legs, media, tasks.spawn), legs, media
    await tasks.close()
    await media.close()


def dial(**kw: Any) -> Dial:
    return Dial(targets=(DESK, MOBILE), from_uri="sip:1001@jono", to_uri="sip:1002@jono", **kw)


async def test_the_answering_device_is_named_and_its_media_is_negotiated(parts: Parts) -> None:
    dialer, legs, media = parts
    listener = Recorder()
    attempt = dialer.dial(dial(user="bob"), listener)
    leg = await legs.next_outgoing()
    assert leg.uris == [DESK.uri, MOBILE.uri]
    assert leg.sdp is not None and b"m=audio" in leg.sdp  # Jono's own offer
    leg.ring()
    leg.answer(sdp(45000), target=1)
    assert listener.events == ["ringing", "answered"]
    assert listener.party is not None
    assert (listener.party.device, listener.party.user) == ("mobile1", "bob")
    assert listener.party.media is not None and listener.party.media.codec is not None
    assert (await attempt.wait()).outcome is Outcome.ANSWERED


async def test_no_answer_in_the_ring_time_cancels_and_reports_no_answer(parts: Parts) -> None:
    dialer, legs, media = parts
    listener = Recorder()
    attempt = dialer.dial(dial(ring_timeout=0.05), listener)
    leg = await legs.next_outgoing()
    result = await attempt.wait()
    assert (result.outcome, result.status) == (Outcome.NO_ANSWER, 408)
    assert leg.cancelled
    assert listener.events == ["failed:no_answer"]
    assert not media.legs  # the offer's media leg is closed


async def test_an_answer_after_a_cancel_is_hung_up(parts: Parts) -> None:
    dialer, legs, media = parts
    listener = Recorder()
    attempt = dialer.dial(dial(), listener)
    leg = await legs.next_outgoing()
    attempt.cancel()
    leg.answer()
    assert leg.hung_up
    assert listener.events == ["failed:cancelled"]


async def test_an_answer_nobody_adopts_is_hung_up_and_its_media_closed(parts: Parts) -> None:
    dialer, legs, media = parts
    listener = Recorder(adopt=False)
    dialer.dial(dial(), listener)
    leg = await legs.next_outgoing()
    leg.answer()
    assert leg.hung_up
    assert not media.legs


async def test_a_busy_callee_is_busy(parts: Parts) -> None:
    dialer, legs, media = parts
    listener = Recorder()
    attempt = dialer.dial(dial(), listener)
    (await legs.next_outgoing()).fail(486)
    assert (await attempt.wait()).outcome is Outcome.BUSY


async def test_passthrough_sends_the_callers_offer_and_opens_no_media(parts: Parts) -> None:
    dialer, legs, media = parts
    listener = Recorder()
    dialer.dial(dial(offer=sdp(45100)), listener)
    leg = legs.outgoing_legs[0]  # sent at once: nothing to open
    assert leg.sdp == sdp(45100)
    leg.answer(sdp(45200))
    assert listener.party is not None and listener.party.answer_sdp == sdp(45200)
    assert listener.party.media is None and not media.legs


@pytest.mark.parametrize(
    ("status", "outcome", "busy", "acd"),
    [
        (486, Outcome.BUSY, True, "rejected"),
        (600, Outcome.BUSY, True, "rejected"),
        (603, Outcome.REJECTED, True, "rejected"),
        (408, Outcome.NO_ANSWER, False, "no_answer"),
        (487, Outcome.NO_ANSWER, False, "no_answer"),
        (480, Outcome.UNREACHABLE, False, "unreachable"),
        (503, Outcome.UNREACHABLE, False, "unreachable"),
        (200, Outcome.ANSWERED, False, "unreachable"),
    ],
)
def test_one_table_says_what_a_final_status_means(
    status: int, outcome: Outcome, busy: bool, acd: str
) -> None:
    assert outcome_of(status) is outcome
    assert is_busy(outcome) is busy
    if outcome is not Outcome.ANSWERED:
        assert acd_failure_reason(outcome) == acd


BROWSER = DialTarget(
    "sip:k3j2@df7.invalid;transport=ws", Target("wss", "127.0.0.1", 5099), "browser"
)


async def test_desk_phone_and_browser_ring_together_each_with_its_own_media(
    parts: Parts,
) -> None:
    """D7 with two media kinds: the desk phone gets an RTP offer, the browser a
    WebRTC one (RFC 7118 §6), in two INVITEs; the browser answering first
    cancels the desk phone."""
    dialer, legs, media = parts
    listener = Recorder()
    attempt = dialer.dial(
        Dial(targets=(DESK, BROWSER), from_uri="sip:1001@jono", to_uri="sip:1002@jono"),
        listener,
    )
    first = await legs.next_outgoing(1)
    second = await legs.next_outgoing(2)
    by_uri = {tuple(leg.uris): leg for leg in (first, second)}
    desk, browser = by_uri[(DESK.uri,)], by_uri[(BROWSER.uri,)]
    assert desk.sdp is not None and b"RTP/AVP" in desk.sdp
    assert browser.sdp is not None and b"UDP/TLS/RTP/SAVPF" in browser.sdp
    assert b"a=setup:actpass" in browser.sdp
    # A browser's answer (as SIP.js would send it) for our offer.
    from media.webrtc.sdp import parse_webrtc

    ours = parse_webrtc(browser.sdp)
    answer = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 110\r\nc=IN IP4 0.0.0.0\r\n"
        "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
        f"a=fingerprint:sha-256 {ours.fingerprints[0][1]}\r\n"
        "a=setup:active\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
        "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
        "a=rtpmap:111 opus/48000/2\r\na=rtpmap:110 telephone-event/48000\r\n"
    ).encode()
    browser.answer(answer)
    assert listener.events == ["answered"]
    assert listener.party is not None and listener.party.device == "browser"
    assert getattr(listener.party.media, "kind", "") == "webrtc"
    assert desk.cancelled
    assert (await attempt.wait()).outcome is Outcome.ANSWERED
    assert listener.party.media is not None
    listener.party.media.close()


async def test_a_failed_browser_fork_leaves_the_desk_phone_ringing(parts: Parts) -> None:
    dialer, legs, media = parts
    listener = Recorder()
    attempt = dialer.dial(
        Dial(targets=(DESK, BROWSER), from_uri="sip:1001@jono", to_uri="sip:1002@jono"),
        listener,
    )
    await legs.next_outgoing(2)
    by_uri = {tuple(leg.uris): leg for leg in legs.outgoing_legs}
    by_uri[(BROWSER.uri,)].fail(480)
    assert listener.events == []
    by_uri[(DESK.uri,)].answer(sdp(45000))
    assert listener.events == ["answered"]
    assert (await attempt.wait()).outcome is Outcome.ANSWERED


class SlowLeg:
    """A leg whose answer takes a round trip, as rtpengine's does (media/api.py):
    accept_answer waits for the test to open the gate."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.accepting = False
        self.closed = False

    async def create_offer(self, direction: str = "sendrecv") -> bytes:
        return bytes(self.inner.make_offer(direction))

    async def accept_answer(self, sdp: bytes) -> None:
        self.accepting = True
        await self.gate.wait()
        self.inner.apply_answer(sdp)

    def close(self) -> None:
        self.closed = True
        self.inner.close()


class SlowEngine:
    """Plain RTP legs are SlowLegs; browsers' legs are the built-in engine's (as
    RtpengineEngine does)."""

    def __init__(self, local: MediaEngine) -> None:
        self.local = local
        self.opened: list[SlowLeg] = []

    async def open_leg(self) -> SlowLeg:
        leg = SlowLeg(await self.local.open_leg())
        self.opened.append(leg)
        return leg

    async def open_webrtc_leg(self) -> Any:
        return await self.local.open_webrtc_leg()


async def _desk_and_browser(parts: Parts) -> tuple[Attempt, Recorder, SlowEngine, Any, Any]:
    _, legs, media = parts
    slow = SlowEngine(media)
    dialer = Dialer(legs, slow, lambda coroutine: _spawn(coroutine))  # type: ignore[arg-type]
    listener = Recorder()
    attempt = dialer.dial(
        Dial(targets=(DESK, BROWSER), from_uri="sip:1001@jono", to_uri="sip:1002@jono"),
        listener,
    )
    await legs.next_outgoing(2)
    by_uri = {tuple(leg.uris): leg for leg in legs.outgoing_legs}
    return attempt, listener, slow, by_uri[(DESK.uri,)], by_uri[(BROWSER.uri,)]


_tasks: set[asyncio.Task[None]] = set()


def _spawn(coroutine: Any) -> None:
    task = asyncio.get_running_loop().create_task(coroutine)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def test_an_answer_taken_in_a_round_trip_wins_once_accepted(parts: Parts) -> None:
    """rtpengine's leg accepts the desk phone's answer in an ng round trip; only then
    does the first-answer-wins step cancel the browser and adopt the desk phone."""
    attempt, listener, slow, desk, browser = await _desk_and_browser(parts)
    desk.answer(sdp(45000))
    await until(lambda: slow.opened[0].accepting)
    assert listener.events == [] and not browser.cancelled
    slow.opened[0].gate.set()
    assert (await attempt.wait()).outcome is Outcome.ANSWERED
    assert listener.events == ["answered"] and browser.cancelled
    assert listener.party is not None and listener.party.media is slow.opened[0]
    assert listener.party.device == "reg"
    listener.party.media.close()


async def test_a_browser_answering_during_the_round_trip_wins_and_the_desk_is_hung_up(
    parts: Parts,
) -> None:
    attempt, listener, slow, desk, browser = await _desk_and_browser(parts)
    desk.answer(sdp(45000))
    await until(lambda: slow.opened[0].accepting)
    from media.webrtc.sdp import parse_webrtc

    ours = parse_webrtc(browser.sdp)
    browser.answer((
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
        "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
        f"a=fingerprint:sha-256 {ours.fingerprints[0][1]}\r\n"
        "a=setup:active\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
        "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
        "a=rtpmap:111 opus/48000/2\r\n"
    ).encode())
    assert listener.events == ["answered"]
    assert listener.party is not None and listener.party.device == "browser"
    assert slow.opened[0].closed  # the losing fork's media is released at once
    slow.opened[0].gate.set()
    await until(lambda: desk.hung_up)
    assert listener.events == ["answered"]
    assert (await attempt.wait()).outcome is Outcome.ANSWERED
    assert listener.party.media is not None
    listener.party.media.close()
