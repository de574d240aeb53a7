"""PromptLibrary: decoding, level, override order, fallback, concatenation."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from media.prompts import PromptError, PromptLibrary, decode_file, trim_silence

RATE = 8000


def tone(freq: float, seconds: float, peak: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.round(peak * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def write_compressed(path: Path, codec: str, rate: int, samples: np.ndarray) -> Path:
    """Encode mono int16 ``samples`` at ``rate`` with PyAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        formats = stream.codec_context.codec.audio_formats
        assert formats
        fmt = formats[0].name
        resampler = av.AudioResampler(format=fmt, layout="mono", rate=rate)
        block = 1024
        for i in range(0, samples.size, block):
            frame = av.AudioFrame.from_ndarray(
                samples[i : i + block].reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = rate
            frame.pts = i
            frame.time_base = Fraction(1, rate)
            for f in resampler.resample(frame):
                out.mux(stream.encode(f))
        for f in resampler.resample(None):
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))
    return path


def rms_dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) / 32767))


def peak_dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(np.max(np.abs(x.astype(np.float64))) / 32767))


# -- level --------------------------------------------------------------------


def test_mono_wav_at_minus_6_dbfs_loads_back_at_minus_6_dbfs(tmp_path: Path) -> None:
    # A 1 kHz sine peaking at -6 dBFS: RMS is -9.03 dBFS (sine reference).
    src = tone(1000, 1.0, 10 ** (-6 / 20))
    write_wav(tmp_path / "en" / "tone.wav", src)
    got = PromptLibrary([tmp_path]).load_all().pcm("en", "tone")
    assert got.dtype == np.int16 and got.ndim == 1
    assert got.size == src.size
    assert abs(peak_dbfs(got) - (-6.0)) < 0.5
    assert abs(rms_dbfs(got) - rms_dbfs(src)) < 0.5


def test_mono_wav_at_22050_hz_is_resampled_to_8k_without_level_loss(tmp_path: Path) -> None:
    src = tone(1000, 1.0, 10 ** (-6 / 20), rate=22050)
    got = decode_file(write_wav(tmp_path / "t.wav", src, rate=22050))
    assert abs(got.size - RATE) <= 64
    body = got[200:-200]  # skip the resampler's edges
    assert abs(rms_dbfs(body) - rms_dbfs(src)) < 0.5


def test_stereo_file_is_mixed_to_mono(tmp_path: Path) -> None:
    mono = tone(500, 0.5, 0.25)
    stereo = np.column_stack([mono, mono]).reshape(-1)
    got = decode_file(write_wav(tmp_path / "s.wav", stereo, channels=2))
    assert got.size == mono.size
    assert rms_dbfs(got) > rms_dbfs(mono) - 3.5


@pytest.mark.parametrize(
    ("ext", "codec", "rate"),
    [("mp3", "libmp3lame", 8000), ("ogg", "libopus", 48000), ("flac", "flac", 8000)],
)
def test_compressed_files_decode_to_8k_mono_at_their_level(
    tmp_path: Path, ext: str, codec: str, rate: int
) -> None:
    src = tone(1000, 1.0, 10 ** (-6 / 20), rate=rate)
    write_compressed(tmp_path / "en" / f"tone.{ext}", codec, rate, src)
    lib = PromptLibrary([tmp_path]).load_all()
    got = lib.pcm("en", "tone")
    assert lib.source("en", "tone").path.suffix == f".{ext}"
    assert abs(got.size - RATE) < 0.1 * RATE  # encoder padding aside
    body = trim_silence(got)[800:-800]
    assert abs(rms_dbfs(body) - rms_dbfs(src)) < 1.0


def test_undecodable_file_raises_prompt_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "en" / "broken.wav"
    bad.parent.mkdir()
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnonsense")
    with pytest.raises(PromptError, match="broken.wav"):
        PromptLibrary([tmp_path]).load_all()


# -- search order and fallback ------------------------------------------------


@pytest.fixture
def two_dirs(tmp_path: Path) -> tuple[Path, Path]:
    admin, system = tmp_path / "admin", tmp_path / "system"
    write_wav(system / "en" / "welcome.wav", tone(400, 0.2, 0.5))
    write_wav(system / "en" / "goodbye.wav", tone(400, 0.3, 0.5))
    write_wav(system / "fi" / "goodbye.wav", tone(600, 0.4, 0.5))
    write_wav(system / "moh" / "default.wav", tone(300, 1.0, 0.1))
    write_wav(admin / "en" / "welcome.wav", tone(800, 0.5, 0.5))
    write_wav(admin / "moh" / "jazz.wav", tone(200, 0.6, 0.1))
    return admin, system


def test_admin_directory_listed_first_overrides_system_prompt(
    two_dirs: tuple[Path, Path],
) -> None:
    admin, system = two_dirs
    lib = PromptLibrary([admin, system]).load_all()
    assert lib.pcm("en", "welcome").size == int(0.5 * RATE)
    assert lib.source("en", "welcome").path == admin / "en" / "welcome.wav"
    assert lib.pcm("en", "goodbye").size == int(0.3 * RATE)  # not overridden


def test_directory_order_decides_the_winner(two_dirs: tuple[Path, Path]) -> None:
    admin, system = two_dirs
    lib = PromptLibrary([system, admin]).load_all()
    assert lib.pcm("en", "welcome").size == int(0.2 * RATE)


def test_missing_directory_is_skipped(two_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    admin, system = two_dirs
    lib = PromptLibrary([tmp_path / "absent", system]).load_all()
    assert lib.pcm("en", "welcome").size == int(0.2 * RATE)


def test_language_without_prompt_falls_back_to_english(two_dirs: tuple[Path, Path]) -> None:
    lib = PromptLibrary(list(two_dirs)).load_all()
    assert lib.pcm("fi", "goodbye").size == int(0.4 * RATE)
    assert lib.pcm("fi", "welcome").size == int(0.5 * RATE)
    assert lib.pcm("sv", "goodbye").size == int(0.3 * RATE)


def test_prompt_missing_everywhere_raises_key_error_naming_it(
    two_dirs: tuple[Path, Path],
) -> None:
    lib = PromptLibrary(list(two_dirs)).load_all()
    with pytest.raises(KeyError, match="'closed'.*'fi'.*'en'"):
        lib.pcm("fi", "closed")


def test_languages_and_moh_classes_are_listed(two_dirs: tuple[Path, Path]) -> None:
    lib = PromptLibrary(list(two_dirs)).load_all()
    assert lib.languages() == ["en", "fi"]
    assert lib.moh_classes() == ["default", "jazz"]
    assert lib.moh("jazz").size == int(0.6 * RATE)
    assert lib.names("fi") == ["goodbye"]
    assert lib.has("sv", "welcome") and not lib.has("sv", "closed")


def test_unknown_moh_class_raises_key_error_listing_known(
    two_dirs: tuple[Path, Path],
) -> None:
    lib = PromptLibrary(list(two_dirs)).load_all()
    with pytest.raises(KeyError, match="'rock'.*default, jazz"):
        lib.moh("rock")


def test_wav_is_preferred_over_mp3_in_one_directory(tmp_path: Path) -> None:
    write_wav(tmp_path / "en" / "x.wav", tone(400, 0.25, 0.5))
    write_compressed(tmp_path / "en" / "x.mp3", "libmp3lame", RATE, tone(400, 1.0, 0.5))
    lib = PromptLibrary([tmp_path]).load_all()
    assert lib.source("en", "x").path.suffix == ".wav"


def test_queries_before_load_all_raise(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="load_all"):
        PromptLibrary([tmp_path]).pcm("en", "welcome")


def test_loaded_arrays_are_read_only(two_dirs: tuple[Path, Path]) -> None:
    lib = PromptLibrary(list(two_dirs)).load_all()
    with pytest.raises(ValueError):
        lib.pcm("en", "welcome")[0] = 1


# -- concatenation ------------------------------------------------------------


@pytest.fixture
def padded(tmp_path: Path) -> PromptLibrary:
    silence = np.zeros(800, dtype=np.int16)
    for name, freq in (("a", 500), ("b", 700)):
        body = tone(freq, 0.25, 0.5)
        write_wav(tmp_path / "en" / f"{name}.wav", np.concatenate([silence, body, silence]))
    return PromptLibrary([tmp_path]).load_all()


def test_concat_without_trim_or_gap_is_exact_concatenation(padded: PromptLibrary) -> None:
    joined = padded.concat("en", ["a", "b", "a"], gap_s=0, trim=False)
    expected = np.concatenate([padded.pcm("en", n) for n in ("a", "b", "a")])
    assert np.array_equal(joined, expected)


def test_concat_trims_edges_and_inserts_exact_gap(padded: PromptLibrary) -> None:
    joined = padded.concat("en", ["a", "b"], gap_s=0.05)
    a, b = (trim_silence(padded.pcm("en", n)) for n in ("a", "b"))
    assert np.array_equal(joined, np.concatenate([a, np.zeros(400, np.int16), b]))
    # Trimming keeps only a few ms of the 100 ms of padding on each side.
    assert a.size < padded.pcm("en", "a").size - 2 * 700


def test_concat_of_nothing_is_empty(padded: PromptLibrary) -> None:
    assert padded.concat("en", []).size == 0


def test_trimmed_fragments_start_and_end_quietly(padded: PromptLibrary) -> None:
    # Cuts land below -45 dBFS, so the joins carry no step (click).
    a = trim_silence(padded.pcm("en", "a"))
    assert abs(int(a[0])) < 200 and abs(int(a[-1])) < 200


def test_trim_of_pure_silence_is_empty() -> None:
    assert trim_silence(np.zeros(100, dtype=np.int16)).size == 0
