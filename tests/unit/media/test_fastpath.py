"""The fast receive paths (media/fastpath.py): which packets take them, and that they
give the same stream and the same call-record figures as the general path."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rtp_phone import HOST, Phone, assert_one_continuous_stream, dominant_frequency, tone

import media.fastpath as fastpath
from media.bridge import StreamRewriter
from media.codecs import create_codec
from media.dtmf import DtmfReceiver, event_packets
from media.engine import MediaEngine
from media.fastpath import RelayReader, SinkReader
from media.rtp import LegStats, ReceiveStats, pack_rtp, parse_rtp

# ---- the arithmetic, without sockets ---------------------------------------------------


class FakeSocket:
    """recv() hands out queued datagrams; send()/sendto() collect what is sent."""

    def __init__(self, datagrams: list[bytes] | None = None) -> None:
        self.queue = list(datagrams or [])
        self.sent: list[bytes] = []

    def recv(self, size: int) -> bytes:
        if not self.queue:
            raise BlockingIOError
        return self.queue.pop(0)

    def send(self, data: bytes) -> int:
        self.sent.append(bytes(data))
        return len(data)

    def sendto(self, data: bytes, addr: object) -> int:
        return self.send(data)


class FakeEndpoint:
    def __init__(self, sock: FakeSocket) -> None:
        self.sock = sock
        self.port = 40000
        self.connected = True
        self.remote_addr = (HOST, 40002)
        self.last_rx: float | None = None
        self.socket_errors = 0
        self.general: list[bytes] = []

    def receive_general(self, data: bytes) -> None:
        self.general.append(data)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The arrival times the fast readers see, one per packet, in order."""
    arrivals: list[float] = []
    monkeypatch.setattr(fastpath, "monotonic", lambda: arrivals.pop(0))
    yield arrivals


packet_streams = st.lists(
    st.tuples(
        st.integers(-3, 40),  # sequence step: gaps, duplicates, reordering
        st.integers(0, 2400),  # extra timestamp step (silence suppression)
        st.floats(0.0, 0.06),  # inter-arrival time: jitter
    ),
    min_size=2,
    max_size=60,
)


def _datagrams(steps: list[tuple[int, int, float]], seq0: int, ts0: int) -> list[tuple[int, int, float, bytes]]:
    out = []
    seq, ts, t = seq0, ts0, 1000.0
    for seq_step, ts_extra, gap in steps:
        seq = (seq + seq_step) & 0xFFFF
        ts = (ts + 160 * seq_step + ts_extra) & 0xFFFFFFFF
        t += gap
        out.append((seq, ts, t, pack_rtp(0, seq, ts, 0xCAFE, bytes([seq & 0xFF]) * 160)))
    return out


@settings(max_examples=150, deadline=None)
@given(steps=packet_streams, seq0=st.integers(0, 0xFFFF), ts0=st.integers(0, 0xFFFFFFFF))
def test_sink_reader_keeps_the_same_loss_and_jitter_as_the_general_path(steps, seq0, ts0):
    arrivals: list[float] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fastpath, "monotonic", lambda: arrivals.pop(0))
        _sink_against_general(steps, seq0, ts0, arrivals)


def _sink_against_general(steps, seq0, ts0, arrivals: list[float]) -> None:
    packets = _datagrams(steps, seq0, ts0)
    general, fast = ReceiveStats(), ReceiveStats()
    general_stats, fast_stats = LegStats(), LegStats()
    # The first packet takes the general path on both (it starts the statistics).
    for rx, stats in ((general, general_stats), (fast, fast_stats)):
        rx.update(packets[0][0], packets[0][1], packets[0][2])
        stats.packets_received, stats.bytes_received = 1, 160
    sock = FakeSocket([p[3] for p in packets[1:]])
    endpoint = FakeEndpoint(sock)
    reader = SinkReader(endpoint, fast_stats, fast, 0, lambda: 0xCAFE)  # type: ignore[arg-type]
    for seq, ts, arrival, _ in packets[1:]:
        general.update(seq, ts, arrival)
        general_stats.packets_received += 1
        general_stats.bytes_received += 160
        arrivals.append(arrival)
        reader.read()
    assert endpoint.general == []
    assert fast_stats == general_stats
    fields = ("base_seq", "max_seq", "cycles", "received", "transit", "expected", "lost")
    assert {f: getattr(fast, f) for f in fields} == {f: getattr(general, f) for f in fields}
    assert fast.jitter == pytest.approx(general.jitter, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(steps=packet_streams, seq0=st.integers(0, 0xFFFF), ts0=st.integers(0, 0xFFFFFFFF))
def test_relay_reader_rewrites_headers_exactly_as_the_stream_rewriter(steps, seq0, ts0):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fastpath, "monotonic", lambda: 5.0)
        _relay_against_rewriter(steps, seq0, ts0)


def _relay_against_rewriter(steps, seq0, ts0) -> None:
    packets = _datagrams(steps, seq0, ts0)
    general_out, fast_out = StreamRewriter(ssrc=7, seq=100, ts=5000), StreamRewriter(
        ssrc=7, seq=100, ts=5000
    )
    source = (1, 0xCAFE)
    general_out.relay(source, packets[0][0], packets[0][1], 160)  # sets the offsets
    fast_out.relay(source, packets[0][0], packets[0][1], 160)
    rx = ReceiveStats()
    rx.update(packets[0][0], packets[0][1], 5.0)
    src, dst = FakeEndpoint(FakeSocket([p[3] for p in packets[1:]])), FakeEndpoint(FakeSocket())
    dst_stats = LegStats()
    reader = RelayReader(
        src,  # type: ignore[arg-type]
        LegStats(),
        rx,
        0,
        lambda: 0xCAFE,
        out=fast_out,
        out_payload_type=8 if seq0 % 2 else 0,  # a remapped payload type is written too
        dst=dst,  # type: ignore[arg-type]
        dst_stats=dst_stats,
    )
    expected = []
    for seq, ts, _, data in packets[1:]:
        out_seq, out_ts, marker = general_out.relay(source, seq, ts, 160)
        expected.append((out_seq, out_ts, marker, data[12:]))
        reader.read()
    got = [parse_rtp(d) for d in dst.sock.sent]
    assert [(p.sequence, p.timestamp, p.marker, p.payload) for p in got] == expected
    assert {p.ssrc for p in got} <= {7}
    assert {p.payload_type for p in got} <= {8 if seq0 % 2 else 0}
    assert (fast_out.seq, fast_out.ts) == (general_out.seq, general_out.ts)
    assert (dst_stats.packets_sent, dst_stats.bytes_sent) == (len(expected), 160 * len(expected))


def test_fast_reader_hands_events_odd_headers_and_new_sources_to_the_general_path(clock):
    event = event_packets("5")[0]
    with_csrc = bytearray(pack_rtp(0, 2, 320, 0xCAFE, b"\x01" * 160))
    with_csrc[0] |= 0x01  # CC=1: the general parser knows where the payload starts
    datagrams = [
        pack_rtp(101, 1, 160, 0xCAFE, event.payload),  # telephone-event
        bytes(with_csrc),
        pack_rtp(0, 3, 480, 0xBEEF, b"\x02" * 160),  # another SSRC
        pack_rtp(13, 4, 640, 0xCAFE, b"\x00"),  # comfort noise
        b"\x80\x00",  # short
    ]
    endpoint = FakeEndpoint(FakeSocket(datagrams))
    resyncs: list[int] = []

    def resync() -> int:
        resyncs.append(1)
        return 0xCAFE

    reader = SinkReader(endpoint, LegStats(), ReceiveStats(), 0, resync)  # type: ignore[arg-type]
    for _ in datagrams:
        clock.append(1.0)
        reader.read()
    assert endpoint.general == datagrams
    assert len(resyncs) == 1 + len(datagrams)  # at install, then after each hand-over


# ---- on real sockets -------------------------------------------------------------------


async def _bridged(engine: MediaEngine, phones, formats=("0 101", "0 101")):
    alice, bob = await phones(), await phones()
    a, b = await engine.open_leg(), await engine.open_leg()
    a.local_sdp_answer(alice.offer(formats[0]))
    b.local_sdp_answer(bob.offer(formats[1]))
    engine.bridge(a, b)
    return alice, bob, a, b


def _heard(packets, codec: str = "PCMU") -> np.ndarray:
    decoder = create_codec(codec)
    return np.concatenate([decoder.decode(p.payload) for p in packets])


async def _paced(phone: Phone, port: int, pcm: np.ndarray, codec: str = "PCMU") -> None:
    encoder = create_codec(codec)
    for frame in np.split(pcm, len(pcm) // 160):
        phone.send_rtp(port, encoder.payload_type, encoder.encode(frame))
        await asyncio.sleep(0.002)


async def test_same_codec_bridge_relays_both_ways_on_the_fast_path(engine, phones):
    alice, bob, a, b = await _bridged(engine, phones)
    await _paced(alice, a.local_port, tone(440, 25))
    await _paced(bob, b.local_port, tone(1000, 25))
    at_bob, at_alice = await bob.wait_for(25), await alice.wait_for(25)
    assert (a.receive_path, b.receive_path) == ("relay", "relay")
    assert abs(dominant_frequency(_heard(at_bob)) - 440) < 10
    assert abs(dominant_frequency(_heard(at_alice)) - 1000) < 10
    assert_one_continuous_stream(at_bob)
    assert at_bob[0].ssrc == b.out.ssrc and at_bob[0].marker
    assert not any(p.marker for p in at_bob[1:])
    assert (a.stats.packets_received, a.stats.bytes_received) == (25, 4000)
    assert (b.stats.packets_sent, b.stats.bytes_sent) == (25, 4000)
    assert a.stats.packets_lost == 0


async def test_loss_and_jitter_of_a_fast_relayed_leg_match_a_general_one(phones):
    """Two engines side by side, one with the fast path off, fed the same packets."""
    fast_engine = MediaEngine(HOST, (37100, 37200))
    general_engine = MediaEngine(HOST, (37200, 37300), fast_path=False)
    try:
        calls = [await _bridged(fast_engine, phones), await _bridged(general_engine, phones)]
        pcmu = create_codec("PCMU")
        for n in range(40):
            for alice, _, a, _ in calls:
                if n in (7, 8, 20):
                    alice.seq += 1  # lost on the way
                    alice.ts += 160
                    continue
                alice.send_rtp(a.local_port, 0, pcmu.encode(tone(300, 1)))
            await asyncio.sleep(0.02 if n % 5 else 0.045)  # and some jitter
        for _, bob, _, _ in calls:
            await bob.wait_for(37)
        (_, _, fast_a, _), (_, _, general_a, _) = calls
        assert fast_a.receive_path == "relay" and general_a.receive_path == "general"
        fast_stats, general_stats = fast_a.stats, general_a.stats
        assert (fast_stats.packets_received, fast_stats.packets_lost) == (37, 3)
        assert (general_stats.packets_received, general_stats.packets_lost) == (37, 3)
        assert fast_stats.jitter_ms > 0.5
        assert fast_stats.jitter_ms == pytest.approx(general_stats.jitter_ms, rel=0.5)
    finally:
        await fast_engine.close()
        await general_engine.close()


async def test_digit_during_a_fast_relayed_call_is_detected_relayed_and_audio_goes_on(
    engine, phones
):
    alice, bob, a, b = await _bridged(engine, phones, ("0 101", "0 96"))
    digits: list[str] = []
    a.on_dtmf = digits.append
    await _paced(alice, a.local_port, tone(440, 5))
    await bob.wait_for(5)
    assert a.receive_path == "relay"
    for packet in event_packets("8"):
        alice.send_rtp(a.local_port, 101, packet.payload, marker=packet.marker, advance=False)
    alice.ts += 800
    await _paced(alice, a.local_port, tone(440, 5))
    got = await bob.wait_for(5 + 7 + 5)
    assert [p.payload_type for p in got] == [0] * 5 + [96] * 7 + [0] * 5
    assert digits == ["8"]
    assert [d for p in got[5:12] for d in DtmfReceiver().feed(p.timestamp, p.payload)][:1] == ["8"]
    seqs = [p.sequence for p in got]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(17)]
    assert got[12].timestamp - got[4].timestamp == 160 + 800
    assert a.receive_path == "relay"


async def test_a_new_ssrc_is_rebased_onto_the_same_outgoing_stream_with_a_marker(
    engine, phones
):
    alice, bob, a, b = await _bridged(engine, phones)
    await _paced(alice, a.local_port, tone(440, 4))
    alice.ssrc, alice.seq, alice.ts = 0xD00D, 7, 999_999  # the phone restarted its stream
    await _paced(alice, a.local_port, tone(440, 4))
    got = await bob.wait_for(8)
    assert_one_continuous_stream(got)
    assert [p.marker for p in got] == [True, False, False, False, True, False, False, False]
    assert a.receive_path == "relay"


async def test_prompt_to_the_destination_suspends_the_relay_and_it_resumes_after(
    engine, phones
):
    alice, bob, a, b = await _bridged(engine, phones)
    await _paced(alice, a.local_port, tone(440, 3))
    await bob.wait_for(3)
    done = asyncio.get_running_loop().create_future()
    b.play([b"\x11" * 160] * 3, on_done=done.set_result, interruptible=False)
    assert a.receive_path == "sink"  # bob hears the prompt; alice's audio is counted
    await _paced(alice, a.local_port, tone(440, 2))
    assert await asyncio.wait_for(done, 5) is True
    assert a.receive_path == "relay"
    await _paced(alice, a.local_port, tone(440, 3))
    got = await bob.wait_for(9)
    assert [p.payload for p in got[3:6]] == [b"\x11" * 160] * 3
    assert_one_continuous_stream(got)
    assert a.stats.packets_received == 8


async def test_recording_takes_the_general_path_and_still_relays(engine, phones, tmp_path):
    alice, bob, a, b = await _bridged(engine, phones)
    a.record(str(tmp_path / "a.wav"), which="both")
    await _paced(alice, a.local_port, tone(440, 5))
    await _paced(bob, b.local_port, tone(1000, 5))
    # a's recorder hears both ways: what a receives and what b relays to it.
    assert (a.receive_path, b.receive_path) == ("general", "general")
    assert abs(dominant_frequency(_heard(await bob.wait_for(5))) - 440) < 10
    assert abs(dominant_frequency(_heard(await alice.wait_for(5))) - 1000) < 10
    a.stop_recording()
    assert (a.receive_path, b.receive_path) == ("relay", "relay")


async def test_transcoded_bridge_stays_on_the_general_path(engine, phones):
    alice, bob, a, b = await _bridged(engine, phones, ("0", "8"))
    await _paced(alice, a.local_port, tone(440, 5))
    at_bob = await bob.wait_for(5)
    assert (a.receive_path, b.receive_path) == ("general", "general")
    assert abs(dominant_frequency(_heard(at_bob, "PCMA")) - 440) < 10


async def test_waiting_callers_audio_is_counted_on_the_sink_path(engine, phones):
    engine.add_moh_class("default", tone(500, 10))
    caller = await phones()
    leg = await engine.open_leg()
    leg.local_sdp_answer(caller.offer("0"))
    leg.start_moh("default")
    for n in range(12):
        if n == 5:
            caller.seq += 2  # two lost
            caller.ts += 320
        caller.send_rtp(leg.local_port, 0, b"\xff" * 160)
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)
    assert leg.receive_path == "sink"
    assert (leg.stats.packets_received, leg.stats.packets_lost) == (12, 2)
    assert leg.endpoint.connected


async def test_a_silent_source_is_released_and_the_next_one_relayed(phones):
    eng = MediaEngine(HOST, (37300, 37400), relatch_after=0.1)
    try:
        alice, bob, a, b = await _bridged(eng, phones)
        await _paced(alice, a.local_port, tone(440, 3))
        await bob.wait_for(3)
        assert a.endpoint.connected and a.receive_path == "relay"
        await asyncio.sleep(0.25)
        assert not a.endpoint.connected and a.receive_path == "general"
        moved = await phones()  # alice's NAT binding changed
        moved.ssrc = alice.ssrc
        moved.seq, moved.ts = alice.seq, alice.ts
        await _paced(moved, a.local_port, tone(440, 3))
        got = await bob.wait_for(6)
        assert_one_continuous_stream(got)
        assert a.endpoint.remote_addr == (HOST, moved.port)
        assert a.receive_path == "relay"
    finally:
        await eng.close()


def test_rtp_header_layout_the_readers_rely_on():
    # RFC 3550 5.1: V=2 and no P/X/CC is 0x80; seq, ts, SSRC from offset 2.
    data = pack_rtp(9, 0x1234, 0x89ABCDEF, 0x01020304, b"x")
    assert data[0] == fastpath.PLAIN_V2
    assert fastpath.SEQ_TS_SSRC.unpack_from(data, 2) == (0x1234, 0x89ABCDEF, 0x01020304)
    assert struct.calcsize("!BBHII") == fastpath.HEADER_SIZE


async def test_closed_legs_are_freed_by_reference_counting_fast_paths_and_all(engine, phones):
    """A closed call must not wait for a full collection (acd/gc_pacing.py paces them
    every 10 minutes): no reference cycle may outlive close()."""
    import gc
    import weakref

    alice, bob, a, b = await _bridged(engine, phones)
    a.on_dtmf = lambda digit: None
    b.on_dead = lambda leg: None
    await _paced(alice, a.local_port, tone(440, 3))
    await _paced(bob, b.local_port, tone(440, 3))
    await bob.wait_for(3)
    assert (a.receive_path, b.receive_path) == ("relay", "relay")
    b.play([b"\x01" * 160] * 2)
    refs = [weakref.ref(a), weakref.ref(b), weakref.ref(a.endpoint), weakref.ref(b.endpoint)]
    gc.collect()
    gc.disable()
    try:
        a.close()
        b.close()
        del a, b
        await asyncio.sleep(0.05)  # the ticker drops the stopped playback
        assert [ref() for ref in refs] == [None] * len(refs)
    finally:
        gc.enable()
