"""WebRTC legs against aiortc's RTCPeerConnection as the browser, on 127.0.0.1:
ICE, DTLS-SRTP and rtcp-mux come up; Opus from the browser reaches a G.711
phone bridged to it and the phone's audio reaches the browser (tones decoded);
digits cross both ways as RFC 4733 events; prompts play into the leg; the leg
answers a browser's offer and makes offers browsers accept."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from test_engine_loopback import HOST, Phone, tone
from webrtc_peer import Browser, dominant_frequency

from media.codecs import create_codec
from media.dtmf import event_packets
from media.engine import MediaEngine
from media.sdp import NoCommonCodec
from media.webrtc.sdp import is_webrtc, parse_webrtc


@pytest.fixture
async def engine():
    eng = MediaEngine(HOST, (33000, 35000), dead_after=60)
    yield eng
    await eng.close()


async def _until(check, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


async def test_answer_to_a_browser_offer_is_webrtc_with_rtcp_mux_and_our_candidate(engine):
    browser = Browser()
    try:
        leg = await engine.open_webrtc_leg()
        offer = await browser.offer()
        assert is_webrtc(offer)
        answer = leg.local_sdp_answer(offer)
        text = answer.decode()
        assert "m=audio" in text and " UDP/TLS/RTP/SAVPF " in text
        assert "a=rtcp-mux" in text and "a=setup:active" in text
        assert "a=candidate:" in text and f" {HOST} {leg.local_port} typ host" in text
        assert " opus/48000/2" in text
        remote = parse_webrtc(answer)
        assert remote.fingerprints[0][0] == "sha-256"
        await browser.accept(answer)
        await _until(lambda: leg.rtc.connected)
        leg.close()
    finally:
        await browser.close()


async def test_browser_opus_and_phone_pcmu_hear_each_other_through_a_bridge(engine):
    browser = Browser(440.0)
    phone = await Phone.open()
    try:
        rtc = await engine.open_webrtc_leg()
        rtp = await engine.open_leg()
        await browser.accept(rtc.local_sdp_answer(await browser.offer()))
        rtp.local_sdp_answer(phone.offer("0 101"))
        engine.bridge(rtc, rtp)
        await _until(lambda: rtc.rtc.connected)
        for _ in range(75):  # 1.5 s of 1000 Hz from the phone, paced
            phone.send_pcm(rtp.local_port, tone(1000, 1))
            await asyncio.sleep(0.02)
        await phone.wait_for(50)
        codec = create_codec("PCMU")
        heard_by_phone = np.concatenate([codec.decode(p.payload) for p in phone.received[10:]])
        assert abs(dominant_frequency(heard_by_phone, 8000) - 440) < 15
        assert abs(dominant_frequency(browser.heard(), 48000) - 1000) < 15
        # Same inner codec both ways (u-law), yet no fast reader: the browser's packets
        # come through aiortc, and the phone's must go through the WebRTC endpoint's
        # send() (SRTP, Opus), never straight to a socket (media/fastpath.py).
        assert (rtp.codec.name, rtc.codec.name) == ("PCMU", "PCMU")
        assert rtp.receive_path == "general" and rtc.receive_path == "general"
        rtc.close()
        rtp.close()
    finally:
        phone.close()
        await browser.close()


async def test_digits_cross_both_ways_as_telephone_events(engine):
    browser = Browser()
    phone = await Phone.open()
    try:
        rtc = await engine.open_webrtc_leg()
        rtp = await engine.open_leg()
        # aiortc offers no telephone-event; browsers offer it at 48 and 8 kHz.
        offer = (await browser.offer()).decode()
        opus_pt = next(line.split(":")[1].split()[0] for line in offer.splitlines()
                       if "opus/48000" in line)
        offer = offer.replace(f"UDP/TLS/RTP/SAVPF {opus_pt}", f"UDP/TLS/RTP/SAVPF {opus_pt} 110")
        offer = offer.replace(f"a=rtpmap:{opus_pt} ",
                              f"a=rtpmap:110 telephone-event/48000\r\na=rtpmap:{opus_pt} ")
        answer = rtc.local_sdp_answer(offer.encode())
        assert b"a=rtpmap:110 telephone-event/48000" in answer
        await browser.accept(answer)
        rtp.local_sdp_answer(phone.offer("0 101"))
        await _until(lambda: rtc.rtc.connected)
        heard: list[str] = []
        rtc.on_dtmf = heard.append
        # A digit from the browser side: aiortc cannot send RFC 4733, so inject one as
        # the endpoint would decode it, at the browser's 48 kHz clock.
        event_pt = rtc.rtc._event_pt
        assert event_pt is not None
        from aiortc.rtp import RtpPacket as AiortcPacket
        for index, packet in enumerate(event_packets("7", duration_ms=100)):
            rtc.rtc._rtp_in(AiortcPacket(payload_type=event_pt, sequence_number=100 + index,
                                         timestamp=48000, ssrc=1, payload=packet.payload,
                                         marker=packet.marker))
        assert heard == ["7"]
        # A digit towards the browser goes out as an event in its 48 kHz clock.
        sent_before = rtc.rtc.packets_out
        assert rtc.send_dtmf("5")
        await _until(lambda: rtc.rtc.packets_out >= sent_before + 5)
    finally:
        phone.close()
        await browser.close()


async def test_a_prompt_plays_into_the_browser(engine):
    browser = Browser()
    try:
        leg = await engine.open_webrtc_leg()
        await browser.accept(leg.local_sdp_answer(await browser.offer()))
        await _until(lambda: leg.rtc.connected)
        done: list[bool] = []
        leg.play([tone(600, 75)], on_done=done.append)
        await _until(lambda: done == [True], timeout=4)
        await asyncio.sleep(0.2)
        assert abs(dominant_frequency(browser.heard(10), 48000) - 600) < 15
        leg.close()
    finally:
        await browser.close()


async def test_our_offer_is_accepted_by_a_browser_and_media_flows(engine):
    browser = Browser(523.0)
    phone = await Phone.open()
    try:
        rtc = await engine.open_webrtc_leg()
        rtp = await engine.open_leg()
        offer = rtc.make_offer()
        assert b"a=setup:actpass" in offer and b"telephone-event/48000" in offer
        rtc.apply_answer(await browser.answer(offer))
        rtp.local_sdp_answer(phone.offer("0 101"))
        engine.bridge(rtc, rtp)
        await _until(lambda: rtc.rtc.connected)
        await phone.wait_for(60, timeout=6)
        codec = create_codec("PCMU")
        heard = np.concatenate([codec.decode(p.payload) for p in phone.received[20:]])
        assert abs(dominant_frequency(heard, 8000) - 523) < 15
    finally:
        phone.close()
        await browser.close()


async def test_an_offer_without_a_codec_we_speak_is_refused(engine):
    leg = await engine.open_webrtc_leg()
    browser = Browser()
    try:
        offer = (await browser.offer()).decode()
        offer = offer.replace("opus/48000", "speex/48000").replace("PCMU/8000", "x/8000")
        offer = offer.replace("PCMA/8000", "y/8000")
        with pytest.raises(NoCommonCodec):
            leg.local_sdp_answer(offer.encode())
    finally:
        leg.close()
        await browser.close()
