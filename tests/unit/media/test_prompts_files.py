"""The shipped prompts/ tree: complete, 8 kHz mono 16-bit, audible, sane level."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from media.prompt_words import LANGUAGES, MOH_CLASSES, NUMBER_NAMES, REQUIRED_PROMPTS
from media.prompts import PromptLibrary

PROMPTS = Path(__file__).resolve().parents[3] / "prompts"


@pytest.fixture(scope="module")
def library() -> PromptLibrary:
    return PromptLibrary([PROMPTS]).load_all()


def dbfs(value: float) -> float:
    return float(20 * np.log10(value / 32767))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_required_prompt_is_an_8k_mono_16bit_wav(lang: str) -> None:
    missing = [n for n in REQUIRED_PROMPTS if not (PROMPTS / lang / f"{n}.wav").is_file()]
    assert missing == []
    for name in REQUIRED_PROMPTS:
        with wave.open(str(PROMPTS / lang / f"{name}.wav")) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2), name
            assert w.getnframes() > 0.2 * 8000, name


@pytest.mark.parametrize("lang", LANGUAGES)
def test_numbers_1_to_99_are_present(lang: str, library: PromptLibrary) -> None:
    assert set(NUMBER_NAMES) <= set(library.names(lang))
    assert len(NUMBER_NAMES) == 99


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_prompt_decodes_audible_without_clipping(lang: str, library: PromptLibrary) -> None:
    for name in REQUIRED_PROMPTS:
        pcm = library.pcm(lang, name)
        assert library.source(lang, name).lang == lang, name  # no fallback needed
        x = pcm.astype(np.float64)
        rms = dbfs(float(np.sqrt(np.mean(x**2))))
        peak = dbfs(float(np.max(np.abs(x))))
        assert -22.0 < rms < -13.0, (name, rms)
        assert peak <= -0.9, (name, peak)


def test_languages_are_en_fi_sv(library: PromptLibrary) -> None:
    assert library.languages() == sorted(LANGUAGES)


def test_music_on_hold_is_a_long_quiet_loop(library: PromptLibrary) -> None:
    assert library.moh_classes() == list(MOH_CLASSES)
    moh = library.moh("default")
    assert 20 * 8000 <= moh.size <= 30 * 8000
    x = moh.astype(np.float64)
    assert -26.0 < dbfs(float(np.sqrt(np.mean(x**2)))) < -16.0
    # Fades in and out, so the loop point does not click.
    assert np.max(np.abs(moh[:8])) < 300 and np.max(np.abs(moh[-8:])) < 300
    # Audible all the way through: no second-long silent hole.
    seconds = moh[: moh.size // 8000 * 8000].reshape(-1, 8000).astype(np.float64)
    assert np.all(np.sqrt(np.mean(seconds**2, axis=1)) > 30)


def test_composed_announcement_is_gapless_and_in_language(library: PromptLibrary) -> None:
    parts = ["estimated_wait_is", "num_23", "minutes"]
    joined = library.concat("fi", parts, gap_s=0.0)
    assert joined.size < sum(library.pcm("fi", n).size for n in parts)
    assert joined.size > 0.5 * sum(library.pcm("fi", n).size for n in parts)


def test_total_size_stays_small() -> None:
    # 7 MiB before the voicemail menus; their 24 phrases in three languages add 2.4 MB.
    total = sum(p.stat().st_size for p in PROMPTS.rglob("*.wav"))
    assert total < 10 * 1024 * 1024
