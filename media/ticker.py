"""One periodic ticker for every playing stream, and the streams it drives.

No task per call: the ticker wakes every 20 ms (drift-corrected against loop.time())
and calls tick() on each registered stream. If the loop was late it runs the missed
ticks at once, but never more than max_catchup, so a stall does not become a burst.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from media.codecs import FRAME_SAMPLES, Codec, Pcm, create_codec

log = logging.getLogger(__name__)

TICK = 0.020
STALL_WARN_S = 0.1  # a wake-up this late means callers heard a gap: say so
STALL_LOG_EVERY_S = 10.0


class TickStream(Protocol):
    def tick(self) -> bool:
        """Send this tick's frame; False when finished (the ticker then drops it)."""
        ...


class Ticker:
    """Calls tick() on every registered stream once per interval.

    The streams are spread over ``phases`` slots: the ticker wakes every
    interval/phases and ticks one slot's streams, so that a few thousand streams
    block the event loop for a quarter of the time at once (relayed packets and
    signalling wait less) while each stream still gets one tick per interval. A
    stream's slot comes from the key it was added with (a leg passes its port, so
    its next prompt, music or digit keeps the same 20 ms cadence)."""

    def __init__(self, interval: float = TICK, max_catchup: int = 3, phases: int = 4) -> None:
        if phases < 1:
            raise ValueError(f"phases={phases} must be >= 1")
        self.interval = interval
        self.max_catchup = max_catchup
        self.phases = phases
        self._slots: list[dict[int, TickStream]] = [{} for _ in range(phases)]
        self._slot_of: dict[int, int] = {}
        self._next_slot = 0
        self.slot = 0  # the slot being ticked
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.ticks = 0
        self.wakeups = 0
        self.skipped_ticks = 0  # slots whose frames were dropped after a stall
        self.on_lateness: Callable[[float], None] | None = None  # for benchmarks
        self.recent_lateness: deque[float] = deque(maxlen=3000 * phases)  # the last minute
        self.stalls = 0
        self.worst_stall = 0.0
        self._stall_logged_at = -STALL_LOG_EVERY_S

    def add(self, stream: TickStream, key: int | None = None) -> None:
        """Tick `stream` every interval, in the slot of `key` (default: the next slot)."""
        self.remove(stream)
        if key is None:
            key = self._next_slot
            self._next_slot += 1
        slot = key % self.phases
        self._slots[slot][id(stream)] = stream
        self._slot_of[id(stream)] = slot
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="media-ticker")

    def remove(self, stream: TickStream) -> None:
        slot = self._slot_of.pop(id(stream), None)
        if slot is not None:
            self._slots[slot].pop(id(stream), None)

    def __contains__(self, stream: object) -> bool:
        return id(stream) in self._slot_of

    def __len__(self) -> int:
        return len(self._slot_of)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    def _tick_slot(self, slot: int) -> None:
        self.ticks += 1
        self.slot = slot
        streams = self._slots[slot]
        for key, stream in list(streams.items()):
            try:
                alive = stream.tick()
            except Exception:
                log.exception("stream %r failed; removed", stream)
                alive = False
            if not alive and streams.get(key) is stream:
                del streams[key]
                del self._slot_of[key]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        step = self.interval / self.phases
        deadline = loop.time()
        slot = 0
        while True:
            if not self._slot_of:
                self._wake.clear()
                await self._wake.wait()
                deadline = loop.time()
            now = loop.time()
            self.wakeups += 1
            late = now - deadline
            if self.on_lateness is not None:
                self.on_lateness(late)
            self.recent_lateness.append(late)
            if late > STALL_WARN_S:
                self._stalled(now, late)
            runs = 0
            while now >= deadline and runs < self.max_catchup * self.phases:
                self._tick_slot(slot)
                slot = (slot + 1) % self.phases
                deadline += step
                runs += 1
            if now >= deadline:
                # Too far behind: drop the missed ticks rather than burst them out; the
                # slots keep their place in the cycle.
                missed = int((now - deadline) / step) + 1
                self.skipped_ticks += missed
                slot = (slot + missed) % self.phases
                deadline += missed * step
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    def stats(self) -> dict[str, float]:
        """Streams playing and how late the last minute's wake-ups ran (ms)."""
        late = sorted(self.recent_lateness)

        def pct(p: float) -> float:
            return round(late[min(len(late) - 1, int(p / 100 * len(late)))] * 1000, 2)

        return {
            "streams": len(self._slot_of),
            "late_p50_ms": pct(50) if late else 0.0,
            "late_p99_ms": pct(99) if late else 0.0,
            "late_max_ms": round(late[-1] * 1000, 2) if late else 0.0,
            "stalls": self.stalls,
            "skipped_ticks": self.skipped_ticks,
        }

    def _stalled(self, now: float, late: float) -> None:
        """The event loop was blocked: count it and log at most every 10 s."""
        self.stalls += 1
        self.worst_stall = max(self.worst_stall, late)
        if now - self._stall_logged_at >= STALL_LOG_EVERY_S:
            self._stall_logged_at = now
            log.warning(
                "media ticker ran %.0f ms late (%d stalls so far, worst %.0f ms); "
                "%d streams", late * 1000, self.stalls, self.worst_stall * 1000,
                len(self._slot_of),
            )


def encode_frames(pcm: Pcm, codec: Codec) -> list[bytes]:
    """Split 8 kHz PCM into 20 ms frames (the last padded with silence) and encode."""
    pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
    count = max(1, -(-len(pcm) // FRAME_SAMPLES))
    padded = np.zeros(count * FRAME_SAMPLES, dtype=np.int16)
    padded[: len(pcm)] = pcm
    encoded = codec.encode(padded)
    size = len(encoded) // count
    return [encoded[i * size : (i + 1) * size] for i in range(count)]


class FrameCache:
    """Encoded 20 ms frames per (prompt key, codec name), encoded once."""

    def __init__(self) -> None:
        self._frames: dict[tuple[str, str], list[bytes]] = {}

    def frames(self, key: str, codec_name: str, pcm: Pcm) -> list[bytes]:
        cached = self._frames.get((key, codec_name))
        if cached is None:
            cached = encode_frames(pcm, create_codec(codec_name))
            self._frames[(key, codec_name)] = cached
        return cached

    def __len__(self) -> int:
        return len(self._frames)


class Playback:
    """Plays a list of encoded frames through send(payload), one per tick, then calls
    on_done(completed) once: completed is False when stopped or interrupted."""

    __slots__ = ("frames", "send", "on_done", "interruptible", "loop", "position", "finished")

    def __init__(
        self,
        frames: Sequence[bytes],
        send: Callable[[bytes], None],
        on_done: Callable[[bool], None] | None = None,
        *,
        interruptible: bool = True,
        loop: bool = False,
        position: int = 0,
    ) -> None:
        self.frames = frames
        self.send = send
        self.on_done = on_done
        self.interruptible = interruptible
        self.loop = loop
        self.position = position
        self.finished = False

    def tick(self) -> bool:
        if self.finished:
            return False
        if self.position >= len(self.frames):
            if not self.loop or not self.frames:
                self._finish(True)
                return False
            self.position = 0
        frame = self.frames[self.position]
        self.position += 1
        self.send(frame)
        if self.position >= len(self.frames) and not self.loop:
            self._finish(True)
            return False
        return True

    def stop(self) -> None:
        """Stop without completing (the done callback gets False)."""
        self._finish(False)

    def _finish(self, completed: bool) -> None:
        if self.finished:
            return
        self.finished = True
        callback, self.on_done = self.on_done, None
        if callback is not None:
            try:
                callback(completed)
            except Exception:
                log.exception("playback done callback failed")


class MohSource:
    """One music-on-hold class: shared PCM, encoded once per codec; listeners loop over
    the same frames list, each with its own position."""

    def __init__(self, name: str, pcm: Pcm, cache: FrameCache) -> None:
        self.name = name
        self._pcm = pcm
        self._cache = cache

    def frames(self, codec_name: str) -> list[bytes]:
        return self._cache.frames(f"moh:{self.name}", codec_name, self._pcm)
