"""RtpengineEngine: rtpengine as Jono's media plane, behind the interface of media/api.py.

One rtpengine call per Jono media leg, with two participants ("monologues"):

    phone ── ext ──[ rtpengine call ]── int ── Jono's inner leg (the built-in engine)

- The phone only ever sees rtpengine's ext port. Jono re-routes the int side without
  touching the phone's SDP, and every ng exchange carries the "port latching" flag
  (rtpengine README: "Forces rtpengine to retain its local ports during a signalling
  exchange even when the remote endpoint changes its port"): the phone keeps hearing
  from, and sending to, the same port, so its NAT binding stays valid.
- Routed via Jono (not bridged, or bridged while something has to happen in the
  middle: a prompt, music, echo, recording, an outgoing digit, different codecs or
  payload types on the two legs): the int side points at the inner leg, and Jono does
  what the built-in engine does (prompts and music from its ticker, DTMF detection,
  transcoding, its fast relay path). The phone's audio crosses rtpengine once.
- Bridged direct (the common case): each leg's int side points at the other leg's int
  port. The audio goes phone -> ext1 -> int1 -> int2 -> ext2 -> phone and never
  reaches Jono: two rtpengine hops, kernel-forwarded where rtpengine's kernel module
  is loaded. Leaving direct is the same exchange pointing back at the inner legs.

WebRTC legs (browsers) are not anchored by rtpengine: open_webrtc_leg gives a leg of
the built-in engine (``local``), and a bridge between it and an rtpengine leg is the
local bridge of that leg's inner leg with it (routed via Jono, never direct).

While direct, Jono's inner legs hear nothing, so their dead-leg detection is off and
the engine asks rtpengine instead ("query": the ext stream's last packet). A leg's
figures (stats) come from rtpengine's packet counters, loss and jitter from Jono's
inner leg (what crossed Jono) - see RtpengineLeg.stats.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Literal

from media.codecs import Codec, Pcm
from media.engine import MediaEngine
from media.leg import MediaLeg
from media.recorder import Recorder
from media.rtp import HEADER_SIZE, LegStats
from media.rtpengine.bencode import Value
from media.rtpengine.ng import NgClient, NgError, Reply, as_dict, sdp_of
from media.sdp import SdpError, audio_address, retarget
from media.ticker import Playback, Ticker

log = logging.getLogger(__name__)

EXT = "ext"  # rtpengine's participant facing the phone
INT = "int"  # ... and the one facing Jono's inner leg (or the bridged peer)
FLAGS: list[Value] = ["port latching"]
REPLACE: list[Value] = ["origin", "session-connection"]


class RtpengineLeg:
    """A media leg whose RTP is anchored by rtpengine (see the module docstring)."""

    def __init__(self, engine: RtpengineEngine, inner: MediaLeg, call_id: str) -> None:
        self._engine = engine
        self.inner = inner
        self.call_id = call_id
        self.peer: RtpengineLeg | None = None
        self.on_dead: Callable[[RtpengineLeg], None] | None = None
        inner.on_dead = self._inner_dead
        self._phone_offered: bool | None = None  # None until the first exchange
        self._phone_sdp: bytes | None = None  # the phone's latest offer or answer
        self._inner_sdp: bytes | None = None  # the inner leg's latest SDP to rtpengine
        self._int_address: tuple[str, int] | None = None  # rtpengine's int port
        self._ext_address: tuple[str, int] | None = None  # rtpengine's ext port
        self.direct = False
        self._lock = asyncio.Lock()
        self._reroute_pending = False
        self._counters: dict[str, tuple[int, int]] = {}  # tag -> (packets, bytes) in
        self.last_packet: float | None = None  # unix time, from rtpengine (while direct)
        self.dead_reported = False
        self.closed = False

    # ---- what the application sees ---------------------------------------------------

    @property
    def on_dtmf(self) -> Callable[[str], None] | None:
        return self.inner.on_dtmf

    @on_dtmf.setter
    def on_dtmf(self, callback: Callable[[str], None] | None) -> None:
        self.inner.on_dtmf = callback

    @property
    def codec(self) -> Codec | None:
        return self.inner.codec

    @property
    def local_port(self) -> int:
        """rtpengine's port, the one the phone talks to (0 before offer/answer)."""
        return self._ext_address[1] if self._ext_address else 0

    @property
    def playback(self) -> Playback | None:
        return self.inner.playback

    @property
    def stats(self) -> LegStats:
        """Packets and bytes each way as rtpengine counted them at the phone's port
        (refreshed by refresh_stats() and on close); before any count, the inner leg's.
        Loss and jitter are the inner leg's: RFC 3550 figures over the audio that
        crossed Jono (all of it unless the call was bridged direct)."""
        inner = self.inner.stats
        if EXT not in self._counters:
            return inner
        rx_packets, rx_bytes = self._counters[EXT]
        tx_packets, tx_bytes = self._counters.get(INT, (0, 0))
        return LegStats(
            packets_received=rx_packets,
            bytes_received=max(0, rx_bytes - HEADER_SIZE * rx_packets),
            packets_sent=tx_packets,
            bytes_sent=max(0, tx_bytes - HEADER_SIZE * tx_packets),
            packets_lost=inner.packets_lost,
            jitter_ms=inner.jitter_ms,
        )

    # ---- offer/answer ----------------------------------------------------------------

    async def answer_offer(self, offer: bytes) -> bytes:
        """Answer the phone's offer (initial or re-INVITE) through rtpengine: rtpengine
        rewrites it for the inner leg, the inner leg answers, rtpengine rewrites that
        answer for the phone. Raises NoCommonCodec/SdpError/NgError."""
        async with self._lock:
            first = self._phone_offered is None
            fields: dict[str, Value] = {"from-tag": EXT, "sdp": offer, "replace": REPLACE}
            if not first:
                fields["to-tag"] = INT
            to_inner = sdp_of(await self._request("offer", fields))
            try:
                inner_answer = self.inner.local_sdp_answer(to_inner)
            except SdpError:
                if first:
                    await self._delete()
                raise
            reply = await self._request(
                "answer", {"from-tag": EXT, "to-tag": INT, "sdp": inner_answer}
            )
            if first:
                self._phone_offered = True
            self._phone_sdp, self._inner_sdp = offer, inner_answer
            self._int_address = audio_address(to_inner)
            answer = sdp_of(reply)
            self._ext_address = audio_address(answer)
            self.direct = False  # the exchange pointed the int side at the inner leg
            self.dead_reported = False
        self._reroute()
        return answer

    async def create_offer(self, direction: str = "sendrecv") -> bytes:
        """An offer for the phone: the inner leg's offer, rewritten by rtpengine."""
        async with self._lock:
            inner_offer = self.inner.make_offer(direction)
            fields: dict[str, Value] = {"from-tag": INT, "sdp": inner_offer, "replace": REPLACE}
            if self._phone_offered is not None:
                fields["to-tag"] = EXT
            offer = sdp_of(await self._request("offer", fields))
            if self._phone_offered is None:
                self._phone_offered = False
            self._inner_sdp = inner_offer
            self._ext_address = audio_address(offer)
            self.direct = False
            return offer

    async def accept_answer(self, sdp: bytes) -> None:
        """The phone's answer to create_offer(): rtpengine rewrites it for the inner leg."""
        async with self._lock:
            reply = await self._request("answer", {"from-tag": INT, "to-tag": EXT, "sdp": sdp})
            to_inner = sdp_of(reply)
            self.inner.apply_answer(to_inner)
            self._phone_sdp = sdp
            self._int_address = audio_address(to_inner)
        self._reroute()

    # ---- routing ---------------------------------------------------------------------

    def _owns_output(self) -> bool:
        """Jono has to be in this leg's media path (see the module docstring)."""
        inner = self.inner
        return (
            inner.playback is not None
            or inner._echo
            or inner.recorder is not None
            or inner._dtmf_out is not None
            or inner.direction != "sendrecv"
        )

    def _wants_direct(self) -> bool:
        peer = self.peer
        if peer is None or self.closed or peer.closed:
            return False
        mine, theirs = self.inner, peer.inner
        return (
            self._int_address is not None
            and peer._int_address is not None
            and self._inner_sdp is not None
            and self._phone_sdp is not None
            and peer._phone_sdp is not None
            and mine.codec is not None
            and theirs.codec is not None
            and mine.codec.name == theirs.codec.name
            and mine.payload_type == theirs.payload_type
            and mine.telephone_event_pt == theirs.telephone_event_pt
            and not self._owns_output()
            and not peer._owns_output()
        )

    def _reroute(self) -> None:
        """Bring this leg's and its peer's routing in line with their state, in the
        background (ng round trips); later calls coalesce into one pass."""
        for leg in (self, self.peer):
            if leg is not None and not leg._reroute_pending and not leg.closed:
                leg._reroute_pending = True
                self._engine._spawn(leg._apply_route())

    async def _apply_route(self) -> None:
        async with self._lock:
            self._reroute_pending = False
            if self.closed:
                return
            want = self._wants_direct()
            if want == self.direct:
                return
            peer = self.peer
            if want and peer is not None and peer._int_address and self._inner_sdp:
                target = retarget(self._inner_sdp, peer._int_address)
            elif self._inner_sdp is not None:
                target = self._inner_sdp
            else:
                return
            try:
                await self._point_int_side(target)
            except (NgError, SdpError):
                log.exception("rtpengine call %s: re-routing failed", self.call_id)
                return
            # While direct the inner leg hears nothing: rtpengine is asked instead (the
            # engine's watch); back through Jono, the inner leg's dead-leg clock restarts.
            self.inner.watch_media = not want
            if not want:
                self.inner.opened_at = time.monotonic()
                self.inner.dead_reported = False
            self.direct = want
            log.debug("rtpengine call %s: %s", self.call_id, "direct" if want else "via Jono")

    async def _point_int_side(self, sdp: bytes) -> None:
        """Make rtpengine send what the phone says to `sdp`'s address: a new answer
        from the int side (it answered first) or a new offer from it and the phone's
        last SDP as the answer (it offered first)."""
        if self._phone_offered:
            await self._request("answer", {"from-tag": EXT, "to-tag": INT, "sdp": sdp})
        else:
            await self._request("offer", {"from-tag": INT, "to-tag": EXT, "sdp": sdp})
            await self._request(
                "answer", {"from-tag": INT, "to-tag": EXT, "sdp": self._phone_sdp or b""}
            )

    async def _request(self, command: str, fields: dict[str, Value]) -> Reply:
        message: dict[str, Value] = {"call-id": self.call_id, "flags": FLAGS, **fields}
        return await self._engine.ng.request(command, message)

    # ---- features: the inner leg does them, routed via Jono meanwhile ---------------

    def _then_reroute(self, on_done: Callable[[bool], None] | None) -> Callable[[bool], None]:
        def done(completed: bool) -> None:
            self._reroute()
            if on_done is not None:
                on_done(completed)

        return done

    def play(
        self,
        items: Sequence[bytes] | Sequence[Pcm],
        on_done: Callable[[bool], None] | None = None,
        *,
        interruptible: bool = True,
        cache_key: str | None = None,
    ) -> Playback:
        playback = self.inner.play(
            items, self._then_reroute(on_done), interruptible=interruptible, cache_key=cache_key
        )
        self._reroute()
        return playback

    def start_moh(self, class_name: str) -> Playback:
        playback = self.inner.start_moh(class_name)
        playback.on_done = self._then_reroute(playback.on_done)
        self._reroute()
        return playback

    def stop_playback(self) -> None:
        self.inner.stop_playback()

    def echo(self, enabled: bool = True) -> None:
        self.inner.echo(enabled)
        self._reroute()

    def send_dtmf(self, digit: str, duration_ms: int = 100) -> bool:
        if not self.inner.send_dtmf(digit, duration_ms):
            return False
        self._reroute()
        # The digit is sent by the ticker; look again once it is out.
        asyncio.get_running_loop().call_later(duration_ms / 1000 + 0.1, self._reroute)
        return True

    def inject_dtmf(self, digit: str) -> None:
        self.inner.inject_dtmf(digit)

    def record(
        self, path: str, which: Literal["both", "in", "out"] = "both", *, stereo: bool = False
    ) -> Recorder:
        recorder = self.inner.record(path, which, stereo=stereo)
        self._reroute()
        return recorder

    def stop_recording(self) -> None:
        self.inner.stop_recording()
        self._reroute()

    # ---- liveness, figures, release -------------------------------------------------

    def _inner_dead(self, inner: MediaLeg) -> None:
        if not self.direct:
            self._report_dead()

    def _report_dead(self) -> None:
        if self.dead_reported:
            return
        self.dead_reported = True
        callback = self.on_dead
        if callback is not None:
            callback(self)

    def _take_counters(self, reply: Reply) -> None:
        tags = as_dict(reply.get("tags"))
        for tag in (EXT, INT):
            medias = as_dict(tags.get(tag)).get("medias")
            if not isinstance(medias, list) or not medias:
                continue
            streams = as_dict(medias[0]).get("streams")
            if not isinstance(streams, list) or not streams:
                continue
            rtp = as_dict(streams[0])
            counters = as_dict(rtp.get("stats"))
            packets, size = counters.get("packets", 0), counters.get("bytes", 0)
            if isinstance(packets, int) and isinstance(size, int):
                self._counters[tag] = (packets, size)
            last = rtp.get("last packet")
            if tag == EXT and isinstance(last, int) and last > 0:
                self.last_packet = float(last)

    async def refresh_stats(self) -> LegStats:
        """Ask rtpengine for this call's counters ("query")."""
        if self._phone_offered is not None and not self.closed:
            self._take_counters(await self._request("query", {}))
        return self.stats

    def close(self) -> None:
        """Release the inner leg now and delete the rtpengine call in the background
        (MediaEngine.close, or aclose(), waits for it)."""
        if self.closed:
            return
        self.closed = True
        self._engine.unbridge(self)
        self.inner.close()
        self._engine._forget(self)
        if self._phone_offered is not None:
            self._engine._spawn(self._delete())
        self.on_dead = None

    async def aclose(self) -> None:
        """close() and wait until rtpengine has deleted the call (its final counters
        are then in stats)."""
        self.close()
        await self._engine.settle()

    async def _delete(self) -> None:
        try:
            reply = await self._engine.ng.request("delete", {"call-id": self.call_id})
        except NgError as exc:
            log.warning("rtpengine call %s: delete failed: %s", self.call_id, exc)
            return
        self._take_counters(reply)


def _inner(leg: RtpengineLeg | MediaLeg) -> MediaLeg:
    return leg.inner if isinstance(leg, RtpengineLeg) else leg


class RtpengineEngine:
    """The engine the application gets when ``media: {engine: rtpengine}``: legs are
    anchored by rtpengine (ng protocol), prompts, music, DTMF, echo and recording are
    done by a built-in MediaEngine (``local``) on Jono's side of each rtpengine call."""

    def __init__(
        self,
        ng: NgClient,
        local: MediaEngine,
        *,
        dead_after: float | None = None,
        check_interval: float = 5.0,
    ) -> None:
        self.ng = ng
        self.local = local
        self.dead_after = dead_after if dead_after is not None else local.dead_after
        self.check_interval = check_interval
        self._legs: dict[int, RtpengineLeg] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._calls = itertools.count(1)
        # Unique per engine: rtpengine keys calls by call-id, and two engines made in
        # one second by one process (tests, a quick restart) must not share them.
        self._prefix = f"jono-{os.getpid()}-{secrets.token_hex(4)}"
        self._watcher: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls, host: str, port: int, local: MediaEngine, **options: float
    ) -> RtpengineEngine:
        """Connect to rtpengine's ng port and check that it answers (ping)."""
        ng = await NgClient.connect(host, port)
        try:
            await ng.ping()
        except NgError:
            ng.close()
            raise
        return cls(ng, local, **options)

    @property
    def ticker(self) -> Ticker:
        return self.local.ticker

    @property
    def legs(self) -> list[RtpengineLeg]:
        return list(self._legs.values())

    async def open_leg(self) -> RtpengineLeg:
        inner = await self.local.open_leg()
        leg = RtpengineLeg(self, inner, f"{self._prefix}-{next(self._calls)}")
        self._legs[id(leg)] = leg
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(
                self._watch(), name="rtpengine-watch"
            )
        return leg

    async def open_webrtc_leg(self) -> MediaLeg:
        """A browser's leg: terminated by the local engine (ICE, DTLS-SRTP and Opus are
        Jono's, media/webrtc/), not anchored by rtpengine. bridge() accepts it."""
        return await self.local.open_webrtc_leg()

    def _forget(self, leg: RtpengineLeg) -> None:
        self._legs.pop(id(leg), None)

    def bridge(self, a: RtpengineLeg | MediaLeg, b: RtpengineLeg | MediaLeg) -> None:
        """Bridge two legs: at once through Jono (the inner legs are bridged), then
        direct in rtpengine when nothing needs Jono in the middle. A local leg (a
        browser's, open_webrtc_leg) is bridged with the other's inner leg, via Jono."""
        if a is b:
            raise ValueError("cannot bridge a leg to itself")
        for leg in (a, b):
            self.unbridge(leg)
        if isinstance(a, RtpengineLeg) and isinstance(b, RtpengineLeg):
            self.local.bridge(a.inner, b.inner)
            a.peer, b.peer = b, a
            a._reroute()
            return
        self.local.bridge(_inner(a), _inner(b))
        for leg in (a, b):
            if isinstance(leg, RtpengineLeg):
                leg._reroute()  # no RtpengineLeg peer: stays routed via Jono

    def unbridge(self, leg: RtpengineLeg | MediaLeg) -> None:
        if not isinstance(leg, RtpengineLeg):
            self.local.unbridge(leg)  # a local leg: its peer is an inner leg or local
            return
        peer = leg.peer
        if peer is None:
            self.local.unbridge(leg.inner)  # bridged with a local leg, or not at all
            return
        leg.peer = None
        if peer.peer is leg:
            peer.peer = None
        self.local.unbridge(leg.inner)
        leg._reroute()
        peer._reroute()

    def add_moh_class(self, name: str, pcm: Pcm) -> None:
        self.local.add_moh_class(name, pcm)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for the background ng exchanges (re-routing, deletes) to finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _watch(self) -> None:
        """Dead-leg detection for legs bridged direct (Jono hears none of their RTP)."""
        while True:
            await asyncio.sleep(self.check_interval)
            # In a method of its own: its locals (the last leg checked) end with it
            # and do not keep a closed leg alive through the sleep.
            await self._check_direct_legs()

    async def _check_direct_legs(self) -> None:
        for leg in [leg for leg in self._legs.values() if leg.direct]:
            try:
                await leg.refresh_stats()
            except NgError as exc:
                log.warning("rtpengine call %s: query failed: %s", leg.call_id, exc)
                continue
            last = leg.last_packet
            # rtpengine gives whole seconds: the packet may be up to 1 s later.
            silent = time.time() - (last + 1.0) if last is not None else 0.0
            if leg.direct and silent > self.dead_after:
                log.info("rtpengine call %s dead: no RTP for %.0f s", leg.call_id, silent)
                leg._report_dead()

    async def close(self) -> None:
        for leg in list(self._legs.values()):
            leg.close()
        await self.settle()
        if self._watcher is not None:
            self._watcher.cancel()
            try:
                await self._watcher
            except asyncio.CancelledError:
                pass
        await self.local.close()
        self.ng.close()
