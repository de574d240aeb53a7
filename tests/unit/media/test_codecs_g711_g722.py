"""G.711 accuracy, law-to-law transcoding and G.722 through PyAV."""

import numpy as np
import pytest

from media.bridge import make_transcoder
from media.codecs import codec_for_pt, create_codec
from media.codecs.g711 import ALAW_DECODE, ULAW_DECODE


def tone(freq: float, seconds: float = 0.5, amplitude: float = 10000, rate: int = 8000):
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dominant_frequency(pcm: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[np.argmax(spectrum)])


def snr_db(reference: np.ndarray, decoded: np.ndarray) -> float:
    ref = reference.astype(np.float64)
    err = decoded.astype(np.float64) - ref
    return float(10 * np.log10(np.sum(ref**2) / np.sum(err**2)))


@pytest.mark.parametrize(("name", "min_snr"), [("PCMU", 35), ("PCMA", 35)])
def test_g711_round_trip_of_1khz_tone_keeps_snr(name, min_snr):
    codec = create_codec(name)
    pcm = tone(1000)
    encoded = codec.encode(pcm)
    assert len(encoded) == len(pcm)
    assert snr_db(pcm, codec.decode(encoded)) > min_snr


@pytest.mark.parametrize("name", ["PCMU", "PCMA"])
def test_g711_decode_then_encode_is_identity_on_every_code(name):
    codec = create_codec(name)
    codes = bytes(range(256))
    again = codec.encode(codec.decode(codes))
    # u-law has two zero codes (0x7F and 0xFF): both decode to 0 and encode to 0xFF.
    differing = [c for c in range(256) if again[c] != c]
    assert differing == ([0x7F] if name == "PCMU" else [])


def test_g711_tables_have_known_values():
    assert ULAW_DECODE[0x00] == -32124 and ULAW_DECODE[0x80] == 32124 and ULAW_DECODE[0xFF] == 0
    assert ALAW_DECODE[0xD5] == 8 and ALAW_DECODE[0x55] == -8 and ALAW_DECODE[0xAA] == 32256
    assert create_codec("PCMU").encode(np.zeros(2, np.int16)) == b"\xff\xff"
    assert create_codec("PCMA").encode(np.zeros(2, np.int16)) == b"\xd5\xd5"


def test_ulaw_to_alaw_transcoding_preserves_frequency():
    pcmu, pcma = create_codec("PCMU"), create_codec("PCMA")
    to_alaw = make_transcoder(pcmu, pcma)
    alaw = b"".join(to_alaw(pcmu.encode(frame)) for frame in np.split(tone(440), 25))
    decoded = pcma.decode(alaw)
    assert abs(dominant_frequency(decoded) - 440) < 5
    assert snr_db(tone(440), decoded) > 30


def test_law_transcoding_table_matches_decode_then_encode():
    pcmu, pcma = create_codec("PCMU"), create_codec("PCMA")
    codes = bytes(range(256))
    assert make_transcoder(pcmu, pcma)(codes) == pcma.encode(pcmu.decode(codes))
    assert make_transcoder(pcma, pcmu)(codes) == pcmu.encode(pcma.decode(codes))


def test_g722_frames_are_160_bytes_and_keep_the_tone_frequency():
    codec = create_codec("G722")
    assert (codec.payload_type, codec.clock_rate) == (9, 8000)
    frames = [codec.encode(f) for f in np.split(tone(1000), 25)]
    assert {len(f) for f in frames} == {160}
    decoded = np.concatenate([codec.decode(f) for f in frames])
    assert len(decoded) == 4000
    assert abs(dominant_frequency(decoded[400:]) - 1000) < 10


def test_g722_to_pcma_transcoding_keeps_frequency():
    g722_tx, g722_rx, pcma = create_codec("G722"), create_codec("G722"), create_codec("PCMA")
    convert = make_transcoder(g722_rx, pcma)
    out = b"".join(convert(g722_tx.encode(f)) for f in np.split(tone(700), 25))
    assert abs(dominant_frequency(pcma.decode(out)[400:]) - 700) < 10


def test_registry_by_name_and_static_payload_type():
    assert create_codec("pcmu").name == "PCMU"
    assert codec_for_pt(8).name == "PCMA"
    assert codec_for_pt(9).name == "G722"
    with pytest.raises(KeyError, match="unsupported codec 'G729'"):
        create_codec("G729")
