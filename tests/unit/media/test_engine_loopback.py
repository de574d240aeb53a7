"""MediaEngine on 127.0.0.1 with real UDP sockets acting as phones."""

from __future__ import annotations

import asyncio
import wave

import numpy as np
import pytest
from aiortc.rtp import RtcpPacket, RtcpSrPacket
from rtp_phone import HOST, Phone, assert_one_continuous_stream, dominant_frequency, tone

from media.codecs import create_codec
from media.dtmf import event_packets
from media.engine import MediaEngine
from media.sdp import NoCommonCodec


async def test_legs_get_even_rtp_ports_from_the_range(engine):
    legs = [await engine.open_leg() for _ in range(3)]
    ports = [leg.local_port for leg in legs]
    assert all(p % 2 == 0 and 31000 <= p < 33000 for p in ports)
    assert len(set(ports)) == 3
    for leg in legs:
        leg.close()
    assert engine.legs == []


async def test_bridged_call_carries_440hz_one_way_and_1000hz_the_other(engine, phones):
    alice, bob = await phones(), await phones()
    a, b = await engine.open_leg(), await engine.open_leg()
    a.local_sdp_answer(alice.offer("0 101"))  # alice speaks PCMU
    b.local_sdp_answer(bob.offer("8 96"))  # bob speaks PCMA: transcoded
    engine.bridge(a, b)
    alice.send_pcm(a.local_port, tone(440, 25), "PCMU")
    bob.send_pcm(b.local_port, tone(1000, 25), "PCMA")
    at_bob = await bob.wait_for(25)
    at_alice = await alice.wait_for(25)
    assert {p.payload_type for p in at_bob} == {8}
    assert {p.payload_type for p in at_alice} == {0}
    heard_by_bob = np.concatenate([create_codec("PCMA").decode(p.payload) for p in at_bob])
    heard_by_alice = np.concatenate([create_codec("PCMU").decode(p.payload) for p in at_alice])
    assert abs(dominant_frequency(heard_by_bob) - 440) < 10
    assert abs(dominant_frequency(heard_by_alice) - 1000) < 10
    assert at_bob[0].ssrc == b.out.ssrc != alice.ssrc
    assert a.stats.packets_received == 25 and b.stats.packets_sent == 25


async def test_echo_leg_returns_the_callers_audio(engine, phones):
    caller = await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(caller.offer("8"))
    leg.echo()
    frames = [bytes([i]) * 160 for i in range(20)]
    for frame in frames:
        caller.send_rtp(leg.local_port, 8, frame)
    back = await caller.wait_for(20)
    assert [p.payload for p in back] == frames
    assert_one_continuous_stream(back)


async def test_playback_arrives_as_one_packet_per_frame_with_seq_and_ts_steps(engine, phones):
    caller = await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(caller.offer("0"))
    done = asyncio.get_running_loop().create_future()
    frames = [bytes([0x80 + i]) * 160 for i in range(10)]
    leg.play(frames, on_done=done.set_result)
    assert await asyncio.wait_for(done, 5) is True
    got = await caller.wait_for(10)
    assert [p.payload for p in got] == frames
    assert_one_continuous_stream(got)
    assert got[0].marker and not any(p.marker for p in got[1:])


async def test_prompt_a_then_prompt_b_then_bridged_audio_is_one_stream(engine, phones):
    caller, agent = await phones(), await phones()
    leg, agent_leg = await engine.open_leg(), await engine.open_leg()
    leg.local_sdp_answer(caller.offer("0"))
    agent_leg.local_sdp_answer(agent.offer("0"))
    bridged = asyncio.Event()

    def after_b(completed: bool) -> None:
        engine.bridge(leg, agent_leg)
        bridged.set()

    leg.play([tone(440, 5)], on_done=lambda c: leg.play([tone(660, 4)], on_done=after_b))
    await asyncio.wait_for(bridged.wait(), 5)
    agent.send_pcm(agent_leg.local_port, tone(1000, 6))
    got = await caller.wait_for(15)
    assert_one_continuous_stream(got)
    assert [p.marker for p in got] == [True] + [False] * 8 + [True] + [False] * 5


async def test_pcm_prompts_are_played_back_to_back_without_gaps(engine, phones):
    caller = await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(caller.offer("8"))
    done = asyncio.get_running_loop().create_future()
    # 1.5 + 1.5 frames of audio: gapless concatenation gives 3 frames, not 4.
    leg.play([tone(500, 3)[:240], tone(500, 3)[:240]], on_done=done.set_result)
    await asyncio.wait_for(done, 5)
    await caller.wait_for(3)
    await asyncio.sleep(0.06)
    assert len(caller.received) == 3


async def test_rfc4733_digit_is_reported_once_interrupts_prompt_and_is_relayed(engine, phones):
    caller, agent = await phones(), await phones()
    leg, agent_leg = await engine.open_leg(), await engine.open_leg()
    leg.local_sdp_answer(caller.offer("0 101"))
    agent_leg.local_sdp_answer(agent.offer("0 96"))
    digits: list[str] = []
    leg.on_dtmf = digits.append
    outcome = asyncio.get_running_loop().create_future()
    leg.play([b"\xff" * 160] * 500, on_done=outcome.set_result)
    for packet in event_packets("7"):
        caller.send_rtp(leg.local_port, 101, packet.payload, marker=packet.marker, advance=False)
    assert await asyncio.wait_for(outcome, 5) is False  # interrupted
    await asyncio.sleep(0.05)  # let the repeated end packets of "7" arrive before bridging
    engine.bridge(leg, agent_leg)
    for packet in event_packets("#"):
        caller.send_rtp(leg.local_port, 101, packet.payload, marker=packet.marker, ts=999)
    relayed = await agent.wait_for(7)
    assert {p.payload_type for p in relayed} == {96}
    assert len({p.timestamp for p in relayed}) == 1, relayed
    await asyncio.sleep(0.05)
    assert digits == ["7", "#"]


async def test_symmetric_rtp_latches_and_relatches_after_a_gap(phones):
    eng = MediaEngine(HOST, (33000, 34000), relatch_after=0.1)
    try:
        signalled, actual, foreign = await phones(), await phones(), await phones()
        leg = await eng.open_leg()
        leg.local_sdp_answer(signalled.offer("0"))
        leg.echo()
        actual.send_rtp(leg.local_port, 0, b"\x01" * 160)
        await actual.wait_for(1)
        foreign.send_rtp(leg.local_port, 0, b"\x02" * 160)  # while actual is alive: dropped
        await asyncio.sleep(0.03)
        assert foreign.received == [] and signalled.received == []
        await asyncio.sleep(0.2)  # the gap (relatch_after plus the sweep's period)
        foreign.send_rtp(leg.local_port, 0, b"\x03" * 160)  # NAT rebinding: re-latch
        (echoed,) = await foreign.wait_for(1)
        assert echoed.payload == b"\x03" * 160  # the packet sent while actual was alive
        assert leg.endpoint.remote_addr == (HOST, foreign.port)  # was dropped, not queued
        assert [p.payload for p in actual.received] == [b"\x01" * 160]
    finally:
        await eng.close()


async def test_invalid_datagrams_are_dropped_and_valid_rtp_still_flows(engine, phones):
    caller = await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(caller.offer("0"))
    leg.echo()
    assert caller.transport is not None
    for junk in (b"\x00" * 40, b"\x80", b"\x80\xc8" + bytes(30)):
        caller.transport.sendto(junk, (HOST, leg.local_port))
    caller.send_rtp(leg.local_port, 0, b"\x55" * 160)
    (back,) = await caller.wait_for(1)
    assert back.payload == b"\x55" * 160
    assert leg.endpoint.invalid_packets == 3


async def test_dead_leg_is_reported_after_silence_but_not_while_rtp_flows(phones):
    eng = MediaEngine(HOST, (34000, 35000), dead_after=0.3, check_interval=0.02)
    try:
        talking_phone, silent_phone = await phones(), await phones()
        talking, silent = await eng.open_leg(), await eng.open_leg()
        talking.local_sdp_answer(talking_phone.offer("0"))
        silent.local_sdp_answer(silent_phone.offer("0"))
        dead: list[object] = []
        talking.on_dead = dead.append
        silent.on_dead = dead.append
        for _ in range(30):
            talking_phone.send_rtp(talking.local_port, 0, b"\xff" * 160)
            await asyncio.sleep(0.02)
            if dead:
                break
        assert dead == [silent]
    finally:
        await eng.close()


async def test_held_leg_is_not_declared_dead(phones):
    eng = MediaEngine(HOST, (35000, 36000), dead_after=0.1, check_interval=0.02)
    try:
        phone = await phones()
        leg = await eng.open_leg()
        assert leg.local_sdp_answer(phone.offer("0", direction="recvonly")).find(b"sendonly") > 0
        dead: list[object] = []
        leg.on_dead = dead.append
        await asyncio.sleep(0.3)
        assert dead == []
    finally:
        await eng.close()


async def test_music_on_hold_listeners_each_start_at_the_beginning(engine, phones):
    engine.add_moh_class("default", np.arange(800, dtype=np.int16) * 20)  # 5 frames
    first, second = await phones(), await phones()
    a, b = await engine.open_leg(), await engine.open_leg()
    a.local_sdp_answer(first.offer("0"))
    b.local_sdp_answer(second.offer("0"))
    a.start_moh("default")
    await first.wait_for(3)
    b.start_moh("default")
    got_b = await second.wait_for(7)
    got_a = await first.wait_for(7)
    frames = engine.moh("default").frames("PCMU")
    assert [p.payload for p in got_b[:7]] == [frames[i % 5] for i in range(7)]
    assert [p.payload for p in got_a[:7]] == [frames[i % 5] for i in range(7)]
    a.stop_playback()
    b.stop_playback()
    assert len(engine.ticker) == 0


async def test_rtcp_sender_report_reaches_the_phones_rtcp_port(phones):
    eng = MediaEngine(HOST, (36000, 37000), rtcp_interval=0.05, check_interval=0.02)
    try:
        phone = await phones()
        rtcp_port_listener = await Phone.open()
        loop = asyncio.get_running_loop()
        reports: asyncio.Queue[bytes] = asyncio.Queue()

        class RtcpSink(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                reports.put_nowait(data)

        rtcp_port_listener.close()
        sink, _ = await loop.create_datagram_endpoint(RtcpSink, local_addr=(HOST, 0))
        rtcp_port = sink.get_extra_info("sockname")[1]
        offer = phone.offer("0").replace(b"a=sendrecv", f"a=rtcp:{rtcp_port}".encode())
        leg = await eng.open_leg()
        leg.local_sdp_answer(offer)
        leg.play([b"\xff" * 160] * 3)
        await phone.wait_for(3)
        while True:
            (packet,) = RtcpPacket.parse(await asyncio.wait_for(reports.get(), 5))
            if isinstance(packet, RtcpSrPacket) and packet.sender_info.packet_count == 3:
                break
        assert packet.ssrc == leg.out.ssrc
        sink.close()
    finally:
        await eng.close()


async def test_recording_both_directions_mixed_to_wav(engine, phones, tmp_path):
    caller = await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(caller.offer("0"))
    path = tmp_path / "call.wav"
    leg.record(str(path), which="in")
    for frame in np.split(tone(1000, 30), 30):
        caller.send_pcm(leg.local_port, frame)
        await asyncio.sleep(0.02)
    leg.stop_recording()
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 8000, 2)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    assert len(pcm) >= 160 * 20
    assert abs(dominant_frequency(pcm) - 1000) < 20


async def test_offer_without_common_codec_raises(engine, phones):
    phone = await phones()
    leg = await engine.open_leg()
    with pytest.raises(NoCommonCodec):
        leg.local_sdp_answer(phone.offer("18"))


async def test_outgoing_leg_offer_and_answer(engine, phones):
    phone = await phones()
    leg = await engine.open_leg()
    offer = leg.make_offer()
    assert f"m=audio {leg.local_port} RTP/AVP 0 8 9 101".encode() in offer
    answer = leg.apply_answer(phone.offer("8 101"))
    assert (answer.codec, leg.codec.name if leg.codec else None) == ("PCMA", "PCMA")
    leg.play([tone(300, 2)])
    got = await phone.wait_for(2)
    assert {p.payload_type for p in got} == {8}


async def test_send_dtmf_emits_rfc4733_events_then_audio_resumes_after_the_duration(engine, phones):
    phone = await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(phone.offer("0 101"))
    assert leg.send_dtmf("3", duration_ms=60)
    assert not leg.send_dtmf("4")  # one digit at a time
    events = list(await phone.wait_for(5))[:5]
    leg.play([b"\xff" * 160])
    got = await phone.wait_for(6)
    assert [p.payload_type for p in got] == [101] * 5 + [0]
    assert len({p.timestamp for p in events}) == 1
    assert [p.sequence - got[0].sequence for p in got] == [0, 1, 2, 3, 4, 5]
    assert got[5].timestamp - got[0].timestamp == 480
    from media.dtmf import DtmfReceiver

    rx = DtmfReceiver()
    assert [d for p in events for d in rx.feed(p.timestamp, p.payload)] == ["3"]


async def test_send_dtmf_needs_negotiated_telephone_event(engine, phones):
    phone = await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(phone.offer("0"))
    assert leg.send_dtmf("1") is False


async def test_g722_leg_bridged_to_pcmu_leg_is_transcoded_both_ways(engine, phones):
    wide, narrow = await phones(), await phones()
    w, n = await engine.open_leg(), await engine.open_leg()
    w.local_sdp_answer(wide.offer("9"))
    n.local_sdp_answer(narrow.offer("0"))
    engine.bridge(w, n)
    encoder = create_codec("G722")
    for frame in np.split(tone(600, 25), 25):
        wide.send_rtp(w.local_port, 9, encoder.encode(frame))
    narrow.send_pcm(n.local_port, tone(1200, 25))
    at_narrow = await narrow.wait_for(25)
    at_wide = await wide.wait_for(25)
    assert {p.payload_type for p in at_narrow} == {0}
    assert {(p.payload_type, len(p.payload)) for p in at_wide} == {(9, 160)}
    pcmu = np.concatenate([create_codec("PCMU").decode(p.payload) for p in at_narrow])
    decoder = create_codec("G722")
    g722 = np.concatenate([decoder.decode(p.payload) for p in at_wide])
    assert abs(dominant_frequency(pcmu[400:]) - 600) < 15
    assert abs(dominant_frequency(g722[400:]) - 1200) < 15
    assert_one_continuous_stream(at_wide)


async def test_stereo_recording_keeps_caller_left_and_prompt_right(engine, phones, tmp_path):
    caller = await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(caller.offer("8"))
    path = tmp_path / "stereo.wav"
    recorder = leg.record(str(path), which="both", stereo=True)
    leg.play([tone(500, 30)])
    for frame in np.split(tone(1500, 30), 30):
        caller.send_pcm(leg.local_port, frame, "PCMA")
        await asyncio.sleep(0.02)
    await caller.wait_for(30)
    leg.stop_recording()
    assert recorder.closed and leg.recorder is None
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 2
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).reshape(-1, 2)
    assert len(pcm) >= 160 * 20
    assert abs(dominant_frequency(pcm[:, 0]) - 1500) < 20
    assert abs(dominant_frequency(pcm[:, 1]) - 500) < 20


async def test_closing_a_bridged_leg_unbridges_its_peer(engine, phones):
    a, b = await engine.open_leg(), await engine.open_leg()
    engine.bridge(a, b)
    a.close()
    assert b.peer is None and a.peer is None
    a.close()  # idempotent


async def test_reinvite_with_new_address_moves_media_and_hold_stops_sending(engine, phones):
    first, second = await phones(), await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(first.offer("0"))
    first.send_rtp(leg.local_port, 0, b"\xff" * 160)  # latch onto the first phone
    await asyncio.sleep(0.05)
    leg.local_sdp_answer(second.offer("0"))  # re-INVITE: media moves elsewhere
    leg.play([b"\x01" * 160])
    await second.wait_for(1)
    assert first.received == []
    hold = leg.local_sdp_answer(second.offer("0", direction="sendonly"))
    assert b"a=recvonly" in hold
    leg.play([b"\x02" * 160] * 3)
    await asyncio.sleep(0.1)
    assert len(second.received) == 1


async def test_cached_prompt_is_encoded_once_per_codec_and_shared(engine, phones):
    one, two = await phones(), await phones()
    a, b = await engine.open_leg(), await engine.open_leg()
    a.local_sdp_answer(one.offer("0"))
    b.local_sdp_answer(two.offer("0"))
    welcome = tone(400, 2)
    first = a.play([welcome], cache_key="en/welcome")
    second = b.play([welcome], cache_key="en/welcome")
    assert first.frames is second.frames
    assert len(engine.frame_cache) == 1
    got = await two.wait_for(2)
    assert [p.payload for p in got] == list(first.frames)


async def test_sip_info_digit_injected_into_the_leg_interrupts_the_prompt(engine, phones):
    from media.dtmf import parse_dtmf_relay

    phone = await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(phone.offer("0"))
    digits: list[str] = []
    leg.on_dtmf = digits.append
    outcome = asyncio.get_running_loop().create_future()
    leg.play([b"\xff" * 160] * 100, on_done=outcome.set_result)
    digit = parse_dtmf_relay(b"Signal=9\r\nDuration=160\r\n")
    assert digit is not None
    leg.inject_dtmf(digit)
    assert await asyncio.wait_for(outcome, 1) is False
    assert digits == ["9"] and leg.playback is None


async def test_leg_stats_count_loss_and_remote_rtcp_reports_are_kept(engine, phones):
    from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket

    phone = await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(phone.offer("0"))
    leg.echo()
    for i in range(10):
        if i in (3, 7):
            phone.seq += 1  # lost on the way
            continue
        phone.send_rtp(leg.local_port, 0, b"\xff" * 160)
    await phone.wait_for(8)
    report = RtcpRrPacket(
        ssrc=phone.ssrc,
        reports=[
            RtcpReceiverInfo(
                ssrc=leg.out.ssrc,
                fraction_lost=0,
                packets_lost=0,
                highest_sequence=1,
                jitter=12,
                lsr=0,
                dlsr=0,
            )
        ],
    )
    assert phone.transport is not None
    phone.transport.sendto(bytes(report), (HOST, leg.local_port + 1))
    for _ in range(100):
        if leg.remote_report is not None:
            break
        await asyncio.sleep(0.01)
    stats = leg.stats
    assert (stats.packets_received, stats.packets_lost, stats.packets_sent) == (8, 2, 8)
    assert stats.bytes_received == 8 * 160
    assert getattr(leg.remote_report, "jitter", None) == 12
