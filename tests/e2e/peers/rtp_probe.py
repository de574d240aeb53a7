"""Media probes for the end-to-end media tests.

- :class:`RtpCapture`: a raw UDP socket on 127.0.0.1 that records every RTP
  packet (arrival time, sequence, timestamp, SSRC, payload) - the "ear" of a
  SIPp caller whose SDP points ``m=audio`` at it.
- :func:`g711_decode`: G.711 u-law/A-law to floats (our own, independent of
  ``media/`` so that the server's codec is checked, not reused).
- :func:`sip_messages`: the SIP messages a pjsua2 phone sent/received, read
  from its level-5 log, with their SDP (``c=`` address and ``m=audio`` port).
- :class:`CodecPhone`: a :class:`PjsuaPhone` whose codec priorities are set
  (``PCMA/8000`` first, ``PCMU/8000`` off, ...). The phone process runs
  ``python -m peers.rtp_probe --codecs ... <pjsua_phone args>``, which sets
  ``Endpoint.codecSetPriority`` and then runs the stock phone.
- SIPp scenarios (written to the test's directory) for a caller that listens
  to a prompt and for one that answers a menu with SIP INFO.
"""

from __future__ import annotations

import argparse
import queue
import re
import socket
import sys
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .pjsua_client import PjsuaPhone
from .ports import LOOPBACK, free_port_block

Samples = npt.NDArray[np.float64]
RATE = 8000

RTP_RANGE = 40  # server RTP ports per test: 10 legs of RTP + RTCP, twice over


def anchored(config: dict[str, Any]) -> tuple[dict[str, Any], range]:
    """``config`` with media anchored in Jono on a port range of this test's own.

    Returns the config and the range, so a test can check that an SDP names it.
    """
    first = free_port_block(RTP_RANGE + 1)
    low = first + first % 2  # RFC 3550 section 11: RTP on an even port
    config["server"]["media"] = "anchor"
    config["server"]["rtp_ports"] = f"{low}-{low + RTP_RANGE}"
    return config, range(low, low + RTP_RANGE)


# ---------------------------------------------------------------- RTP capture


@dataclass(frozen=True, slots=True, kw_only=True)
class RtpRecord:
    """One RTP packet as it arrived (RFC 3550 section 5.1 fixed header)."""

    arrival: float  # time.monotonic()
    payload_type: int
    marker: bool
    seq: int
    ts: int
    ssrc: int
    payload: bytes


def parse_rtp_record(data: bytes, arrival: float) -> RtpRecord | None:
    """The fixed header of an RTP v2 packet, or None for anything else (RTCP, junk)."""
    # RFC 3550 section 5.1: V=2, P, X, CC, M, PT, sequence, timestamp, SSRC, CSRCs.
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    payload_type = data[1] & 0x7F
    if 72 <= payload_type <= 76:  # RFC 5761 section 4: RTCP SR/RR/SDES/BYE/APP
        return None
    offset = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:  # header extension (RFC 3550 section 5.3.1)
        if len(data) < offset + 4:
            return None
        offset += 4 + 4 * int.from_bytes(data[offset + 2 : offset + 4], "big")
    end = len(data)
    if data[0] & 0x20 and end > offset:  # padding: last octet counts it
        end -= data[-1]
    return RtpRecord(
        arrival=arrival,
        payload_type=payload_type,
        marker=bool(data[1] & 0x80),
        seq=int.from_bytes(data[2:4], "big"),
        ts=int.from_bytes(data[4:8], "big"),
        ssrc=int.from_bytes(data[8:12], "big"),
        payload=data[offset:end],
    )


class RtpCapture:
    """A UDP socket pair (RTP even port, RTCP + 1) recording every RTP packet."""

    def __init__(self) -> None:
        self.port = free_port_block(2)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((LOOPBACK, self.port))
        self._sock.settimeout(0.05)
        self._records: queue.Queue[RtpRecord] = queue.Queue()
        self.records: list[RtpRecord] = []
        self._running = True
        self._thread = threading.Thread(target=self._run, name="rtp-capture", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self._running:
            try:
                data, _ = self._sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            record = parse_rtp_record(data, time.monotonic())
            if record is not None:
                self._records.put(record)

    def collected(self) -> list[RtpRecord]:
        while True:
            try:
                self.records.append(self._records.get_nowait())
            except queue.Empty:
                return self.records

    def wait_packets(self, count: int, timeout: float = 5.0) -> list[RtpRecord]:
        deadline = time.monotonic() + timeout
        while len(self.collected()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.collected()

    def close(self) -> list[RtpRecord]:
        self._running = False
        self._thread.join(timeout=2.0)
        self._sock.close()
        return self.collected()

    def __enter__(self) -> RtpCapture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def audio_stream(records: list[RtpRecord], payload_type: int) -> list[RtpRecord]:
    """The packets of one payload type, in arrival order."""
    return [r for r in records if r.payload_type == payload_type]


# ---------------------------------------------------------------- G.711


def _ulaw_table() -> Samples:
    # ITU-T G.711 section 3 (mu-law): complement, sign, 3-bit segment, 4-bit step.
    codes = np.arange(256)
    inverted = ~codes & 0xFF
    sign = inverted & 0x80
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    values = np.where(sign != 0, -magnitude, magnitude)
    return values.astype(np.float64) / 32768.0


def _alaw_table() -> Samples:
    # ITU-T G.711 section 2 (A-law): even bits inverted (XOR 0x55), sign bit 1 = positive.
    codes = np.arange(256) ^ 0x55
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    values = np.where(sign != 0, magnitude, -magnitude)
    return values.astype(np.float64) / 32768.0


_TABLES = {0: _ulaw_table(), 8: _alaw_table()}


def g711_decode(payload: bytes, payload_type: int) -> Samples:
    """PCMU (0) or PCMA (8) octets as floats in [-1, 1]."""
    return _TABLES[payload_type][np.frombuffer(payload, dtype=np.uint8)]


def decode_stream(records: list[RtpRecord], payload_type: int) -> Samples:
    """Concatenated audio of the packets of ``payload_type`` (arrival order)."""
    parts = [g711_decode(r.payload, payload_type) for r in audio_stream(records, payload_type)]
    return np.concatenate(parts) if parts else np.zeros(0)


def window_frequencies(samples: Samples, rate: int = 8000, window_s: float = 0.2) -> list[float]:
    """Dominant frequency of each window (0.0 for a silent one)."""
    size = int(rate * window_s)
    found: list[float] = []
    for start in range(0, len(samples) - size + 1, size):
        chunk = samples[start : start + size]
        if float(np.max(np.abs(chunk), initial=0.0)) < 0.01:
            found.append(0.0)
            continue
        spectrum = np.abs(np.fft.rfft((chunk - chunk.mean()) * np.hanning(size)))
        found.append(float(np.fft.rfftfreq(size, 1.0 / rate)[int(np.argmax(spectrum))]))
    return found


def write_signature_tone(path: Path, frequency: float, seconds: float, *, seed: int) -> Path:
    """A sine whose amplitude and sign wander slowly at random: one dominant frequency, yet
    any 1 s of it correlates well with the source only at its true offset.
    """
    rng = np.random.default_rng(seed)
    count = int(seconds * RATE)
    # Signed, 20 changes a second: a band of about +-20 Hz around ``frequency``.
    knots = rng.uniform(-1.0, 1.0, size=int(seconds * 20) + 2)
    envelope = np.interp(np.arange(count) / RATE * 20, np.arange(len(knots)), knots)
    samples = 0.5 * envelope * np.sin(2 * np.pi * frequency * np.arange(count) / RATE)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


def heard_segment(samples: Samples, *, seconds: float = 1.0, after_s: float = 0.3) -> Samples:
    """``seconds`` of audio starting ``after_s`` after the first audible sample."""
    audible = np.flatnonzero(np.abs(samples) > 0.01)
    if len(audible) == 0:
        raise AssertionError("nothing audible was heard")
    start = int(audible[0]) + int(after_s * RATE)
    segment = samples[start : start + int(seconds * RATE)]
    if len(segment) < int(seconds * RATE):
        raise AssertionError(f"only {len(samples[start:]) / RATE:.2f} s heard after the start")
    return segment


def matched_correlation(reference: Samples, segment: Samples) -> float:
    """Best normalised correlation of ``segment`` with an equally long window of
    ``reference`` (the reference is looped once, as the phones loop their file).
    1.0: ``segment`` is a scaled, delayed copy of part of the reference.
    """
    ref = np.concatenate([reference, reference])
    n = len(segment)
    seg = segment - segment.mean()
    size = 1 << (len(ref) + n).bit_length()
    dots = np.fft.irfft(np.fft.rfft(ref, size) * np.conj(np.fft.rfft(seg, size)), size)
    dots = dots[: len(ref) - n + 1]
    energy = np.concatenate([[0.0], np.cumsum(ref**2)])
    sums = np.concatenate([[0.0], np.cumsum(ref)])
    window_energy = energy[n:] - energy[:-n] - (sums[n:] - sums[:-n]) ** 2 / n
    norms = np.sqrt(np.maximum(window_energy, 1e-12)) * float(np.linalg.norm(seg))
    return float(np.max(dots / norms)) if float(np.linalg.norm(seg)) > 0 else 0.0


def piecewise_correlation(reference: Samples, segment: Samples, piece_s: float = 0.2) -> float:
    """Median :func:`matched_correlation` of ``segment``'s 0.2 s pieces: a
    phone's jitter buffer stretching a frame when the machine is busy spoils
    one piece, not the whole segment."""
    size = int(piece_s * RATE)
    pieces = [segment[i : i + size] for i in range(0, len(segment) - size + 1, size)]
    return float(np.median([matched_correlation(reference, piece) for piece in pieces]))


# ---------------------------------------------------------------- pjsua2 SIP log

_LOG_MSG = re.compile(
    r"\b(?P<dir>RX|TX) \d+ bytes (?:Request|Response) msg (?P<what>\S+?)/.*?:\n"
    r"(?P<text>.*?)\n--end msg--",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedSip:
    """One SIP message from a pjsua2 log; ``what`` is a method or a status code."""

    direction: str  # "RX" or "TX"
    what: str
    text: str

    @property
    def sdp_address(self) -> str | None:
        # RFC 4566 section 5.7: c=<nettype> <addrtype> <connection-address>
        match = re.search(r"^c=IN IP4 (\S+)", self.text, re.MULTILINE)
        return match.group(1) if match else None

    @property
    def sdp_audio_port(self) -> int | None:
        # RFC 4566 section 5.14: m=<media> <port> <proto> <fmt> ...
        match = re.search(r"^m=audio (\d+) ", self.text, re.MULTILINE)
        return int(match.group(1)) if match else None

    @property
    def sdp_formats(self) -> list[int]:
        match = re.search(r"^m=audio \d+ \S+ ([0-9 ]+)", self.text, re.MULTILINE)
        return [int(f) for f in match.group(1).split()] if match else []


def sip_messages(log_text: str, direction: str, what: str) -> list[LoggedSip]:
    """Messages of a pjsua2 level-5 log, e.g. ``("RX", "INVITE")``, ``("TX", "200")``."""
    return [
        LoggedSip(direction=m["dir"], what=m["what"], text=m["text"].replace("\r", ""))
        for m in _LOG_MSG.finditer(log_text)
        if m["dir"] == direction and m["what"] == what
    ]


def sdp_of(log_text: str, direction: str, what: str) -> LoggedSip:
    """The first such message that carries an SDP body (AssertionError if none)."""
    for message in sip_messages(log_text, direction, what):
        if message.sdp_audio_port is not None:
            return message
    raise AssertionError(f"no {direction} {what} with SDP in the pjsua log")


# ---------------------------------------------------------------- codec phone


class CodecPhone(PjsuaPhone):
    """A pjsua2 phone with codec priorities, e.g. ``{"PCMA/8000": 255, "PCMU/8000": 0}``.

    Same commands and events as :class:`PjsuaPhone`; only the process differs.
    """

    def __init__(self, workdir: Path, name: str, codecs: dict[str, int]) -> None:
        self._codecs = ",".join(f"{codec}={priority}" for codec, priority in codecs.items())
        super().__init__(workdir, name)

    def _launcher(self) -> list[str]:
        return [sys.executable, "-m", "peers.rtp_probe", "--codecs", self._codecs]


def _run_codec_phone() -> None:
    """Phone process: set codec priorities after ``libInit``, then the stock phone."""
    from . import pjsua_phone

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--codecs", required=True)
    args, rest = parser.parse_known_args()
    priorities = [item.split("=") for item in args.codecs.split(",")]
    stock_init = pjsua_phone.Phone.__init__

    def init(self: pjsua_phone.Phone, *a: object, **kw: object) -> None:
        stock_init(self, *a, **kw)  # type: ignore[arg-type]
        for codec, priority in priorities:
            self.ep.codecSetPriority(codec, int(priority))

    pjsua_phone.Phone.__init__ = init  # type: ignore[method-assign]
    sys.argv = [sys.argv[0], *rest]
    pjsua_phone.main()


# ---------------------------------------------------------------- SIPp scenarios

_INVITE = """
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Max-Forwards: 70
      From: <sip:probe@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:probe@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=probe 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [local_ip]
      t=0 0
      m=audio [rtp_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
      a=recvonly

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      Max-Forwards: 70
      From: <sip:probe@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Content-Length: 0

    ]]>
  </send>
"""

_INFO = """
  <pause milliseconds="INFO_AFTER_MS"/>
  <send retrans="500">
    <![CDATA[
      INFO [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      Max-Forwards: 70
      From: <sip:probe@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 INFO
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal=[digit]
      Duration=160
    ]]>
  </send>
  <recv response="200" crlf="true"/>
"""

# RFC 3261 section 15.1.2: the UAS answers the BYE with 200.
_WAIT_BYE = """
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
"""


def write_listener_scenario(directory: Path, *, info_after_ms: int | None = None) -> Path:
    """A SIPp caller that points its SDP at ``-key rtp_port`` and waits for the server's BYE.

    RFC 3264 section 6.1: the answerer sends to the offer's ``m=`` port, so a
    :class:`RtpCapture` on that port hears the call. With ``info_after_ms`` it
    also sends ``INFO`` application/dtmf-relay ``Signal=[digit]`` (``-key digit``)
    that long after the ACK (RFC 6086 section 4.2: within the dialog).
    """
    name = "media_uac_listen" if info_after_ms is None else "media_uac_info"
    info = "" if info_after_ms is None else _INFO.replace("INFO_AFTER_MS", str(info_after_ms))
    body = _INVITE + info + _WAIT_BYE
    path = directory / f"{name}.xml"
    path.write_text(
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
        '<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
        f'<scenario name="{name}">{body}</scenario>\n'
    )
    return path


if __name__ == "__main__":
    _run_codec_phone()
