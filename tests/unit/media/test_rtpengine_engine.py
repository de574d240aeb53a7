"""RtpengineEngine against a real rtpengine on 127.0.0.1: RTP phones (UDP sockets)
talk to rtpengine's ports; Jono drives rtpengine with ng offer/answer/delete, plays
prompts from its ticker through rtpengine, and bridges calls inside rtpengine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from rtp_phone import HOST, Phone, assert_one_continuous_stream, dominant_frequency, tone
from rtpengine_daemon import RtpengineDaemon

from media.codecs import create_codec
from media.dtmf import event_packets
from media.engine import MediaEngine
from media.rtpengine.engine import RtpengineEngine, RtpengineLeg
from media.rtpengine.ng import NgError
from media.sdp import NoCommonCodec, audio_address

pytestmark = pytest.mark.xdist_group("rtpengine")


@pytest.fixture(scope="module")
def rtpengine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtpengineDaemon]:
    daemon = RtpengineDaemon(tmp_path_factory.mktemp("rtpengine") / "rtpengine.log")
    yield daemon
    daemon.stop()


@pytest.fixture
async def engine(rtpengine: RtpengineDaemon) -> AsyncIterator[RtpengineEngine]:
    local = MediaEngine(HOST, (38000, 39000))
    eng = await RtpengineEngine.connect(HOST, rtpengine.ng_port, local, check_interval=0.2)
    yield eng
    await eng.close()


async def _incoming(engine: RtpengineEngine, phone: Phone, formats: str = "0 101"):
    leg = await engine.open_leg()
    answer = await leg.answer_offer(phone.offer(formats))
    address = audio_address(answer)
    assert address is not None and address[0] == HOST
    assert address[1] == leg.local_port and leg.local_port != leg.inner.local_port
    return leg


async def _outgoing(engine: RtpengineEngine, phone: Phone, formats: str = "0 101"):
    leg = await engine.open_leg()
    offer = await leg.create_offer()
    assert audio_address(offer) == (HOST, leg.local_port)
    await leg.accept_answer(phone.offer(formats))
    return leg


async def _paced(phone: Phone, port: int, pcm: np.ndarray, codec: str = "PCMU") -> None:
    encoder = create_codec(codec)
    for frame in np.split(pcm, len(pcm) // 160):
        phone.send_rtp(port, encoder.payload_type, encoder.encode(frame))
        await asyncio.sleep(0.02)


def _heard(packets, codec: str = "PCMU") -> np.ndarray:
    decoder = create_codec(codec)
    return np.concatenate([decoder.decode(p.payload) for p in packets])


async def _until(condition, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_prompt_from_jonos_ticker_reaches_the_phone_from_rtpengines_port(engine, phones):
    phone = await phones()
    leg = await _incoming(engine, phone)
    done = asyncio.get_running_loop().create_future()
    leg.play([tone(500, 25)], on_done=done.set_result)
    assert await asyncio.wait_for(done, 5) is True
    got = await phone.wait_for(25)
    assert abs(dominant_frequency(_heard(got)) - 500) < 10
    assert set(phone.sources) == {(HOST, leg.local_port)}
    assert_one_continuous_stream(got)


async def test_phones_digit_crosses_rtpengine_and_is_detected_by_jono(engine, phones):
    phone = await phones()
    leg = await _incoming(engine, phone)
    digits: list[str] = []
    leg.on_dtmf = digits.append
    for packet in event_packets("5"):
        phone.send_rtp(leg.local_port, 101, packet.payload, marker=packet.marker, advance=False)
        await asyncio.sleep(0.02)
    await _until(lambda: digits == ["5"])


async def test_bridged_calls_flow_inside_rtpengine_and_not_through_jono(engine, phones):
    alice, bob = await phones(), await phones()
    a = await _incoming(engine, alice)
    b = await _outgoing(engine, bob)  # an agent Jono called: its int side offered first
    engine.bridge(a, b)
    await engine.settle()
    assert a.direct and b.direct
    received_by_jono = a.inner.stats.packets_received + b.inner.stats.packets_received
    talk = asyncio.gather(
        _paced(alice, a.local_port, tone(440, 25)), _paced(bob, b.local_port, tone(1000, 25))
    )
    await talk
    at_bob, at_alice = await bob.wait_for(25), await alice.wait_for(25)
    assert abs(dominant_frequency(_heard(at_bob)) - 440) < 10
    assert abs(dominant_frequency(_heard(at_alice)) - 1000) < 10
    # Each phone hears from the one rtpengine port it talks to (its NAT binding holds).
    assert set(alice.sources) == {(HOST, a.local_port)}
    assert set(bob.sources) == {(HOST, b.local_port)}
    assert a.inner.stats.packets_received + b.inner.stats.packets_received == received_by_jono
    stats = await a.refresh_stats()
    assert (stats.packets_received, stats.packets_sent) == (25, 25)
    assert stats.bytes_received == 25 * 160


async def test_a_prompt_during_a_bridge_goes_via_jono_and_the_bridge_returns_direct(
    engine, phones
):
    alice, bob = await phones(), await phones()
    a, b = await _incoming(engine, alice), await _incoming(engine, bob)
    engine.bridge(a, b)
    await engine.settle()
    assert a.direct
    done = asyncio.get_running_loop().create_future()
    a.play([tone(700, 15)], on_done=done.set_result, interruptible=False)
    await engine.settle()
    assert not a.direct and not b.direct
    assert await asyncio.wait_for(done, 5) is True
    prompt = await alice.wait_for(15)
    assert abs(dominant_frequency(_heard(prompt[:15])) - 700) < 10
    await engine.settle()
    assert a.direct and b.direct
    await _paced(bob, b.local_port, tone(1200, 10))
    after = (await alice.wait_for(25))[15:]
    assert abs(dominant_frequency(_heard(after)) - 1200) < 15


async def test_different_codecs_are_bridged_through_jono_and_transcoded(engine, phones):
    alice, bob = await phones(), await phones()
    a, b = await _incoming(engine, alice, "0 101"), await _incoming(engine, bob, "8 101")
    engine.bridge(a, b)
    await engine.settle()
    assert not a.direct and not b.direct
    await _paced(alice, a.local_port, tone(440, 15))
    at_bob = await bob.wait_for(15)
    assert {p.payload_type for p in at_bob} == {8}
    assert abs(dominant_frequency(_heard(at_bob, "PCMA")) - 440) < 10


async def test_unbridged_caller_hears_music_from_jono_again(engine, phones):
    engine.add_moh_class("default", tone(350, 50))
    alice, bob = await phones(), await phones()
    a, b = await _incoming(engine, alice), await _incoming(engine, bob)
    engine.bridge(a, b)
    await engine.settle()
    engine.unbridge(a)
    a.start_moh("default")
    await engine.settle()
    assert not a.direct and not b.direct
    music = await alice.wait_for(20)
    assert abs(dominant_frequency(_heard(music)) - 350) < 10
    a.stop_playback()


async def test_a_browsers_leg_is_local_and_bridged_with_an_rtpengine_leg_via_jono(
    engine, phones
):
    """Browsers are not anchored by rtpengine: open_webrtc_leg gives the local engine's
    WebRTC leg. A local leg bridged with an rtpengine leg (here a plain local RTP leg
    stands in for the browser's, which needs a browser) is relayed by Jono: the
    rtpengine leg leaves a direct bridge and its phone and the local one hear each
    other."""
    browser_leg = await engine.open_webrtc_leg()
    assert getattr(browser_leg, "kind", "") == "webrtc" and browser_leg in engine.local.legs
    assert browser_leg not in engine.legs
    browser_leg.close()
    alice, bob, carol = await phones(), await phones(), await phones()
    a, b = await _incoming(engine, alice), await _incoming(engine, bob)
    engine.bridge(a, b)
    await engine.settle()
    assert a.direct
    local = await engine.local.open_leg()
    local.local_sdp_answer(carol.offer("0 101"))
    engine.bridge(a, local)
    await engine.settle()
    assert not a.direct and not b.direct and a.peer is None and b.peer is None
    assert a.inner.peer is local and local.peer is a.inner
    await asyncio.gather(
        _paced(alice, a.local_port, tone(440, 25)), _paced(carol, local.local_port, tone(1000, 25))
    )
    at_carol, at_alice = await carol.wait_for(20), await alice.wait_for(20)
    assert abs(dominant_frequency(_heard(at_carol)) - 440) < 10
    assert abs(dominant_frequency(_heard(at_alice)) - 1000) < 10
    engine.unbridge(local)
    assert a.inner.peer is None and local.peer is None
    engine.bridge(local, a)  # either order
    assert a.inner.peer is local
    engine.unbridge(a)
    assert a.inner.peer is None and local.peer is None
    local.close()


async def test_no_common_codec_is_refused_and_rtpengine_forgets_the_call(engine, phones):
    phone = await phones()
    leg = await engine.open_leg()
    with pytest.raises(NoCommonCodec):
        await leg.answer_offer(phone.offer("18"))
    await engine.settle()
    with pytest.raises(NgError, match="Unknown call-id"):
        await engine.ng.request("query", {"call-id": leg.call_id})


async def test_closing_a_leg_deletes_its_rtpengine_call(engine, phones):
    phone = await phones()
    leg = await _incoming(engine, phone)
    await _paced(phone, leg.local_port, tone(300, 3))
    assert (await engine.ng.request("query", {"call-id": leg.call_id}))["result"] == b"ok"
    await leg.aclose()
    assert leg.stats.packets_received == 3  # rtpengine's final counters
    with pytest.raises(NgError, match="Unknown call-id"):
        await engine.ng.request("query", {"call-id": leg.call_id})
    assert engine.legs == []


async def test_a_direct_bridge_whose_phone_went_silent_is_reported_dead(rtpengine, phones):
    local = MediaEngine(HOST, (39000, 39500))
    engine = await RtpengineEngine.connect(
        HOST, rtpengine.ng_port, local, dead_after=1.0, check_interval=0.2
    )
    try:
        alice, bob = await phones(), await phones()
        a, b = await _incoming(engine, alice), await _incoming(engine, bob)
        dead: list[RtpengineLeg] = []
        a.on_dead = dead.append
        engine.bridge(a, b)
        await engine.settle()
        await _paced(alice, a.local_port, tone(440, 2))
        await asyncio.sleep(0.5)
        assert dead == []  # Jono's inner leg hears nothing, yet this is not death
        await _until(lambda: dead == [a], timeout=5)
    finally:
        await engine.close()


def test_rtpengine_log_shows_no_errors(rtpengine: RtpengineDaemon) -> None:
    errors = [line for line in rtpengine.log_text().splitlines() if "ERR" in line]
    assert errors == []


async def test_closed_rtpengine_legs_are_freed_by_reference_counting(engine, phones):
    import gc
    import weakref

    alice, bob = await phones(), await phones()
    a, b = await _incoming(engine, alice), await _incoming(engine, bob)
    a.on_dead = b.on_dead = lambda leg: None
    a.on_dtmf = lambda digit: None
    engine.bridge(a, b)
    await engine.settle()
    assert a.direct
    refs = [weakref.ref(x) for x in (a, b, a.inner, b.inner)]
    gc.collect()
    gc.disable()
    try:
        await a.aclose()
        await b.aclose()
        del a, b
        await asyncio.sleep(0.05)
        assert [ref() for ref in refs] == [None] * len(refs)
    finally:
        gc.enable()
