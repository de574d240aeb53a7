"""The shared ticker, playback streams, music on hold and the frame cache."""

import asyncio
import time

import numpy as np

from media.codecs import create_codec
from media.ticker import FrameCache, MohSource, Playback, Ticker, encode_frames


def test_encode_frames_pads_the_last_frame_with_silence():
    frames = encode_frames(np.full(330, 1000, np.int16), create_codec("PCMU"))
    assert [len(f) for f in frames] == [160, 160, 160]
    assert frames[2][10:] == b"\xff" * 150


def test_playback_sends_each_frame_once_then_reports_completion():
    sent, done = [], []
    playback = Playback([b"a", b"b", b"c"], sent.append, done.append)
    alive = [playback.tick() for _ in range(5)]
    assert sent == [b"a", b"b", b"c"]
    assert alive == [True, True, False, False, False]
    assert done == [True]


def test_stopped_playback_reports_incomplete_once():
    done = []
    playback = Playback([b"a", b"b"], lambda f: None, done.append)
    playback.tick()
    playback.stop()
    playback.stop()
    assert done == [False]
    assert playback.tick() is False


def test_moh_listeners_share_frames_but_keep_their_own_position():
    cache = FrameCache()
    source = MohSource("default", np.arange(480, dtype=np.int16) * 10, cache)
    first, second = [], []
    a = Playback(source.frames("PCMU"), first.append, loop=True)
    for _ in range(2):
        a.tick()
    b = Playback(source.frames("PCMU"), second.append, loop=True)
    for _ in range(4):
        a.tick()
        b.tick()
    frames = source.frames("PCMU")
    assert first == [frames[i % 3] for i in range(6)]
    assert second == [frames[i % 3] for i in range(4)]
    assert source.frames("PCMU") is frames
    assert len(cache) == 1
    source.frames("PCMA")
    assert len(cache) == 2


class Counter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def tick(self) -> bool:
        self.count += 1
        return self.count < self.limit


async def test_ticker_drives_streams_until_they_finish():
    ticker = Ticker(interval=0.002)
    a, b = Counter(3), Counter(6)
    ticker.add(a)
    ticker.add(b)
    for _ in range(500):
        if not len(ticker):
            break
        await asyncio.sleep(0.002)
    await ticker.stop()
    assert (a.count, b.count) == (3, 6)
    assert len(ticker) == 0


async def test_ticker_drops_missed_ticks_instead_of_bursting_after_a_stall():
    ticker = Ticker(interval=0.002, max_catchup=3)
    wakeup_of_tick: list[int] = []

    class Recorder:
        def tick(self) -> bool:
            wakeup_of_tick.append(ticker.wakeups)
            return True

    ticker.add(Recorder())
    await asyncio.sleep(0.01)
    time.sleep(0.05)  # block the loop for 25 intervals
    for _ in range(1000):
        if ticker.skipped_ticks:
            break
        await asyncio.sleep(0.001)
    await ticker.stop()
    per_wakeup = [wakeup_of_tick.count(w) for w in set(wakeup_of_tick)]
    assert max(per_wakeup) <= 3
    assert ticker.skipped_ticks >= 20


async def test_a_failing_stream_is_removed_and_others_continue():
    class Broken:
        def tick(self) -> bool:
            raise RuntimeError("boom")

    ticker = Ticker(interval=0.002)
    good = Counter(4)
    ticker.add(Broken())
    ticker.add(good)
    for _ in range(500):
        if not len(ticker):
            break
        await asyncio.sleep(0.002)
    await ticker.stop()
    assert good.count == 4


async def test_a_blocked_loop_is_counted_logged_and_reported(caplog):
    ticker = Ticker(interval=0.002)
    ticker.add(Counter(10_000))
    await asyncio.sleep(0.01)
    with caplog.at_level("WARNING", logger="media.ticker"):
        time.sleep(0.15)  # longer than STALL_WARN_S: callers would hear a gap
        for _ in range(100):
            if ticker.stalls:
                break
            await asyncio.sleep(0.002)
    await asyncio.sleep(0.02)
    stats = ticker.stats()
    await ticker.stop()
    assert ticker.stalls == 1
    assert stats["late_max_ms"] >= 140
    assert stats["late_p50_ms"] < 50
    assert stats["streams"] == 1
    assert "media ticker ran" in caplog.text


async def test_streams_are_spread_over_phases_and_each_is_ticked_once_per_interval():
    ticker = Ticker(interval=0.02, phases=4)
    ticked_at: dict[int, list[int]] = {}

    class Stream:
        def __init__(self, name: int) -> None:
            self.name = name

        def tick(self) -> bool:
            ticked_at.setdefault(self.name, []).append(ticker.slot)
            return True

    streams = [Stream(n) for n in range(8)]
    for n, stream in enumerate(streams):
        ticker.add(stream, key=n)
    await asyncio.sleep(0.25)
    await ticker.stop()
    slots = {name: set(seen) for name, seen in ticked_at.items()}
    assert all(len(s) == 1 for s in slots.values())  # always in the same slot
    assert len({next(iter(slots[n])) for n in range(4)}) == 4  # keys 0-3: four slots
    assert all(slots[n] == slots[n + 4] for n in range(4))  # key 4 shares key 0's slot
    counts = [len(seen) for seen in ticked_at.values()]
    assert max(counts) - min(counts) <= 1  # each once per interval, whatever its slot


async def test_a_stream_added_again_with_the_same_key_keeps_its_slot():
    ticker = Ticker(interval=0.02, phases=4)
    a, b = Counter(1000), Counter(1000)
    ticker.add(a, key=6)
    ticker.add(b, key=6)
    assert ticker._slot_of[id(a)] == ticker._slot_of[id(b)] == 2
    ticker.remove(a)
    assert a not in ticker and b in ticker and len(ticker) == 1
    await ticker.stop()
