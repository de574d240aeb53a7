"""MediaEngine: the async facade the application uses.

    engine = MediaEngine("127.0.0.1", (20000, 30000), dead_after=60)
    leg = await engine.open_leg()
    answer_sdp = leg.local_sdp_answer(offer_sdp)   # NoCommonCodec -> SIP 488
    leg.play([pcm1, pcm2], on_done=...)            # or leg.start_moh("default")
    engine.bridge(leg, other)
    leg.close(); await engine.close()

One ticker drives every playback and recording; one housekeeping task sends RTCP
reports (RFC 3550 6.2: about every 5 s, randomised), detects dead legs and lets silent
sources be re-latched (RtpEndpoint.sweep).

Options beyond the application's: ``fast_path=False`` keeps every packet on the general
path (benchmarks compare the two); ``ticker_phases`` spreads the ticker's streams over
that many wake-ups per 20 ms (media/ticker.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

import numpy as np

from media.codecs import Pcm
from media.endpoint import PortAllocator, RtpEndpoint
from media.leg import LegContext, MediaLeg
from media.ticker import FrameCache, MohSource, Ticker

log = logging.getLogger(__name__)

DEFAULT_CODECS = ("PCMU", "PCMA", "G722")


class MediaEngine:
    def __init__(
        self,
        host: str,
        port_range: tuple[int, int],
        dead_after: float = 60.0,
        *,
        codecs: tuple[str, ...] = DEFAULT_CODECS,
        relatch_after: float = 0.5,
        rtcp_interval: float = 5.0,
        check_interval: float | None = None,
        fast_path: bool = True,
        ticker_phases: int = 4,
        stun_server: tuple[str, int] | None = None,
    ) -> None:
        self.host = host
        self.stun_server = stun_server  # WebRTC legs: a server-reflexive candidate too
        self.allocator = PortAllocator(*port_range)
        self.dead_after = dead_after
        self.codecs = codecs
        self.relatch_after = relatch_after
        self.rtcp_interval = rtcp_interval
        self.check_interval = check_interval or min(1.0, dead_after / 4, rtcp_interval / 2)
        # A silent source is re-latchable relatch_after after its last packet, give or
        # take a quarter of that (the sweep's period).
        self.sweep_interval = min(self.check_interval, relatch_after / 4)
        self.frame_cache = FrameCache()
        self._moh: dict[str, MohSource] = {}
        self._legs: dict[int, MediaLeg] = {}
        self.ticker = Ticker(phases=ticker_phases)
        self._housekeeper: asyncio.Task[None] | None = None
        self._context = LegContext(
            host=host,
            codecs=codecs,
            rtcp_interval=rtcp_interval,
            clock=time.monotonic,
            ticker=self.ticker,
            frame_cache=self.frame_cache,
            moh=self.moh,
            forget=self._forget,
            fast_path=fast_path,
        )

    @property
    def legs(self) -> list[MediaLeg]:
        return list(self._legs.values())

    # ---- legs ------------------------------------------------------------------------

    async def open_leg(self) -> MediaLeg:
        """Allocate an RTP/RTCP port pair and return a leg awaiting SDP."""
        self._ensure_started()
        endpoint = await RtpEndpoint.open(
            self.host, self.allocator, relatch_after=self.relatch_after
        )
        leg = MediaLeg(self._context, endpoint)
        self._legs[id(leg)] = leg
        return leg

    async def open_webrtc_leg(self) -> MediaLeg:
        """A leg facing a browser (ICE host candidate on our address, DTLS-SRTP, Opus)."""
        from media.webrtc.endpoint import WebRtcEndpoint
        from media.webrtc.leg import WebRtcLeg

        self._ensure_started()
        endpoint = WebRtcEndpoint(self.host, stun_server=self.stun_server)
        await endpoint.gather()
        leg = WebRtcLeg(self._context, endpoint)
        self._legs[id(leg)] = leg
        return leg

    def _forget(self, leg: object) -> None:
        self._legs.pop(id(leg), None)

    def bridge(self, a: MediaLeg, b: MediaLeg) -> None:
        """Relay audio and DTMF events between two legs (transcoding when their codecs
        differ). Stops playback and echo on both; each leg keeps its own SSRC/seq/ts."""
        a.bridge_to(b)

    def unbridge(self, leg: MediaLeg) -> None:
        leg.unbridge()

    # ---- music on hold ---------------------------------------------------------------

    def add_moh_class(self, name: str, pcm: Pcm) -> None:
        """Register a music-on-hold class from 8 kHz int16 mono PCM (encoded lazily once
        per codec and shared by all listeners)."""
        self._moh[name] = MohSource(name, np.asarray(pcm, dtype=np.int16), self.frame_cache)

    def moh(self, name: str) -> MohSource:
        try:
            return self._moh[name]
        except KeyError:
            raise KeyError(f"no music-on-hold class {name!r}") from None

    # ---- lifecycle -------------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self._housekeeper is None or self._housekeeper.done():
            self._housekeeper = asyncio.get_running_loop().create_task(
                self._housekeeping(), name="media-house"
            )

    async def _housekeeping(self) -> None:
        next_check = time.monotonic() + self.check_interval
        while True:
            await asyncio.sleep(self.sweep_interval)
            now = time.monotonic()
            try:
                self.sweep(now)
                if now >= next_check:
                    next_check = now + self.check_interval
                    self.check(now, time.time())
            except Exception:
                log.exception("media housekeeping failed")

    def sweep(self, now: float) -> None:
        """Let sources that went silent be re-latched (RtpEndpoint.sweep)."""
        for leg in self._legs.values():
            leg.endpoint.sweep(now)

    def check(self, now: float, unix_time: float) -> None:
        """Send due RTCP reports and report dead legs (called periodically; `now` is
        time.monotonic())."""
        for leg in list(self._legs.values()):
            if leg.codec is None:
                continue
            if now >= leg.next_rtcp:
                leg.next_rtcp = now + self.rtcp_interval * random.uniform(0.5, 1.5)
                leg.send_rtcp(unix_time)
            if (
                not leg.dead_reported
                and leg.expects_media()
                and now - leg.last_activity > self.dead_after
            ):
                leg.dead_reported = True
                log.info(
                    "media leg on port %d dead: no RTP for %.1f s",
                    leg.local_port,
                    now - leg.last_activity,
                )
                if leg.on_dead is not None:
                    try:
                        leg.on_dead(leg)
                    except Exception:
                        log.exception("on_dead callback failed")

    async def close(self) -> None:
        for leg in list(self._legs.values()):
            leg.close()
        await self.ticker.stop()
        task, self._housekeeper = self._housekeeper, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
