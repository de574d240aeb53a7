"""WebRtcLeg: a media leg facing a browser (ICE, DTLS-SRTP, Opus or G.711).

It is a :class:`~media.leg.MediaLeg` whose endpoint is a
:class:`~media.webrtc.endpoint.WebRtcEndpoint`: only offer/answer differs
(the WebRTC SDP of :mod:`media.webrtc.sdp`); prompts, music on hold,
bridging with transcoding, RFC 4733 digits and SIP INFO digits
(``inject_dtmf``) are the plain leg's.  The leg above the endpoint works
in G.711 u-law at 8 kHz when the browser speaks Opus: a bridge to a u-law
phone relays without transcoding, to A-law by table, to G.722 through PCM.
"""

from __future__ import annotations

from media.leg import LegContext, MediaLeg
from media.sdp import Answer, NoCommonCodec
from media.webrtc.endpoint import WebRtcEndpoint
from media.webrtc.sdp import (
    Codec,
    LocalMedia,
    WebRtcMedia,
    answer_direction,
    choose,
    offer_codecs,
    parse_webrtc,
    write_webrtc,
)


class WebRtcLeg(MediaLeg):
    kind = "webrtc"

    def __init__(self, context: LegContext, endpoint: WebRtcEndpoint) -> None:
        super().__init__(context, endpoint)  # type: ignore[arg-type]
        self.rtc = endpoint
        self._started = False
        self._offer_local: LocalMedia | None = None
        endpoint.on_failed = self._failed

    def _local(self, remote_mid: str | None, setup: str, codecs: tuple[Codec, ...],
               events: tuple[Codec, ...], direction: str) -> LocalMedia:
        rtc = self.rtc
        return LocalMedia(
            host=rtc.advertised, port=rtc.port, ice_ufrag=rtc.ice_ufrag, ice_pwd=rtc.ice_pwd,
            fingerprints=rtc.fingerprints, setup=setup, candidates=rtc.local_candidates,
            codecs=codecs, telephone_events=events, direction=direction,
            mid=remote_mid or "0", ssrc=self.out.ssrc,
        )

    def local_sdp_answer(self, offer: bytes) -> bytes:
        """Answer a browser's offer (initial or re-INVITE). NoCommonCodec/SdpError -> 488."""
        remote = parse_webrtc(offer)
        codec, event = choose(remote)
        # RFC 5763 §5: the answerer of an actpass offer picks active (DTLS client).
        setup = "passive" if remote.setup == "active" else "active"
        direction = answer_direction(remote.direction)
        local = self._local(remote.mid, setup, (codec,), (event,) if event else (), direction)
        sdp = write_webrtc(local, session_id=self._session_id, version=self._version())
        self._connect(remote, codec, event, controlling=remote.ice_lite,
                      dtls_client=setup == "active")
        self._apply_webrtc(sdp, codec, event, direction)
        return sdp

    def make_offer(self, direction: str = "sendrecv") -> bytes:
        """Our offer to a browser: Opus, G.711, telephone-event at 48 and 8 kHz; actpass."""
        codecs, events = offer_codecs()
        self._offer_local = local = self._local(None, "actpass", codecs, events, direction)
        return write_webrtc(local, session_id=self._session_id, version=self._version())

    def apply_answer(self, sdp: bytes) -> Answer:
        offered = self._offer_local
        if offered is None:
            raise NoCommonCodec("an answer without our offer")
        remote = parse_webrtc(sdp)
        ours = {c.payload_type: c for c in offered.codecs}
        codec = next((c for c in remote.codecs if c.payload_type in ours), None)
        if codec is None:
            raise NoCommonCodec(f"answer chose none of our codecs: {remote.codecs}")
        codec = ours[codec.payload_type]
        event = next((e for e in offered.telephone_events
                      if e.clock_rate == codec.clock_rate
                      and any(r.payload_type == e.payload_type for r in remote.telephone_events)),
                     None)
        # RFC 5763 §5: the answerer said active (it is the DTLS client) or passive.
        self._connect(remote, codec, event, controlling=True,
                      dtls_client=remote.setup == "passive")
        direction = answer_direction(remote.direction)
        return self._apply_webrtc(sdp, codec, event, direction)

    def _connect(self, remote: WebRtcMedia, codec: Codec, event: Codec | None, *,
                 controlling: bool, dtls_client: bool) -> None:
        self.rtc.configure(codec, event)
        if not self._started:
            self._started = True
            self.rtc.start(remote, controlling=controlling, dtls_client=dtls_client)

    def _apply_webrtc(self, sdp: bytes, codec: Codec, event: Codec | None,
                      direction: str) -> Answer:
        name, pt = self.rtc.inner_codec(codec)
        answer = Answer(
            sdp=sdp, codec=name, payload_type=pt,
            telephone_event_pt=self.rtc.inner_event_pt(event),
            remote_addr=self.rtc.remote_addr, remote_rtcp_addr=None, direction=direction,
        )
        self._apply(answer)
        return answer

    def _failed(self) -> None:
        """ICE or DTLS failed: to the application, a dead leg."""
        if self.closed or self.dead_reported:
            return
        self.dead_reported = True
        callback = self.on_dead
        if callback is not None:
            callback(self)
