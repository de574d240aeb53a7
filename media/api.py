"""The media interface the application is written against, whichever engine runs it:
the built-in engine (media/engine.py, media/leg.py) or rtpengine as the media plane
(media/rtpengine/engine.py). The composition root picks one; the rest of the
application types its media legs and engine with these Protocols.

Offer/answer is asynchronous here (``answer_offer``, ``create_offer``,
``accept_answer``): with rtpengine each one is an ng round trip. The built-in leg
also keeps its synchronous ``local_sdp_answer``/``make_offer``/``apply_answer``.
Errors: NoCommonCodec (SIP 488) and SdpError (SIP 400/488) from media.sdp;
media.rtpengine.ng.NgError when rtpengine refuses or does not answer (SIP 500/503).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from media.codecs import Codec, Pcm
from media.rtp import LegStats


class PlaybackHandle(Protocol):
    """What play()/start_moh() return."""

    interruptible: bool
    finished: bool

    def stop(self) -> None: ...


class MediaLegApi(Protocol):
    """One call leg's media, facing one phone or trunk."""

    on_dtmf: Callable[[str], None] | None
    on_dead: Callable[[Any], None] | None  # called with the leg
    closed: bool

    @property
    def peer(self) -> object | None:
        """The leg of the same engine this one is bridged with (None: not bridged, or,
        with rtpengine, bridged with a browser's local leg)."""
        ...

    @property
    def codec(self) -> Codec | None: ...

    @property
    def local_port(self) -> int: ...

    @property
    def playback(self) -> PlaybackHandle | None: ...

    @property
    def stats(self) -> LegStats: ...

    async def answer_offer(self, offer: bytes) -> bytes:
        """Our answer to the phone's offer (initial or re-INVITE)."""
        ...

    async def create_offer(self, direction: str = "sendrecv") -> bytes:
        """Our offer to the phone (a new call, or a re-INVITE such as hold)."""
        ...

    async def accept_answer(self, sdp: bytes) -> None:
        """The phone's answer to our offer."""
        ...

    def play(
        self,
        items: Sequence[bytes] | Sequence[Pcm],
        on_done: Callable[[bool], None] | None = None,
        *,
        interruptible: bool = True,
        cache_key: str | None = None,
    ) -> PlaybackHandle: ...

    def start_moh(self, class_name: str) -> PlaybackHandle: ...

    def stop_playback(self) -> None: ...

    def echo(self, enabled: bool = True) -> None: ...

    def send_dtmf(self, digit: str, duration_ms: int = 100) -> bool: ...

    def inject_dtmf(self, digit: str) -> None: ...

    def record(
        self, path: str, which: Literal["both", "in", "out"] = "both", *, stereo: bool = False
    ) -> object: ...

    def stop_recording(self) -> None: ...

    def close(self) -> None:
        """Release the leg (synchronous; an engine may finish the release in the
        background, see MediaEngineApi.close)."""
        ...


class TickerStats(Protocol):
    def stats(self) -> dict[str, float]: ...


class MediaEngineApi(Protocol):
    @property
    def ticker(self) -> TickerStats: ...

    @property
    def legs(self) -> Sequence[MediaLegApi]: ...

    async def open_leg(self) -> MediaLegApi: ...

    async def open_webrtc_leg(self) -> MediaLegApi:
        """A leg facing a browser (ICE, DTLS-SRTP, Opus or G.711: media/webrtc/),
        always terminated by Jono's own engine."""
        ...

    def bridge(self, a: Any, b: Any) -> None:
        """Relay audio and DTMF between two legs of this engine (a and b are legs
        opened by this engine, by open_leg or open_webrtc_leg)."""
        ...

    def unbridge(self, leg: Any) -> None: ...

    def add_moh_class(self, name: str, pcm: Pcm) -> None: ...

    async def close(self) -> None: ...


if TYPE_CHECKING:
    # mypy checks here that both engines implement the interface above.
    from media.engine import MediaEngine
    from media.leg import MediaLeg
    from media.rtpengine.engine import RtpengineEngine, RtpengineLeg

    def _builtin_conforms(engine: MediaEngine, leg: MediaLeg) -> None:
        _engine: MediaEngineApi = engine
        _leg: MediaLegApi = leg

    def _rtpengine_conforms(engine: RtpengineEngine, leg: RtpengineLeg) -> None:
        _engine: MediaEngineApi = engine
        _leg: MediaLegApi = leg
