"""Prompt library: every announcement and music on hold, decoded once.

Theory of operation
-------------------
A prompt is a file ``<dir>/<lang>/<name>.<ext>``; music on hold is
``<dir>/moh/<class>.<ext>`` (ext: wav, mp3, ogg, also flac/opus/m4a, in
that order of preference within one directory). The library is given a list
of directories, the admin's own first and the shipped ``prompts/`` last: the
first directory holding a prompt wins, so an admin overrides any system
prompt by dropping a file of the same name into their directory.

``load_all()`` decodes every file once at start-up with PyAV and resamples it
straight to 8 kHz mono signed 16-bit (one ``av.AudioResampler`` per file, no
detour through 48 kHz stereo: aiortc's MediaPlayer loses 3 dB on a mono
source that way). After that, ``pcm()``, ``moh()`` and ``concat()`` only
read memory and never block the event loop.

A language lacking a prompt falls back to English; a prompt missing
everywhere raises ``KeyError`` naming the language, the prompt and the
directories searched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from media.prompt_words import FALLBACK_LANGUAGE, ewt_sequence, position_sequence

__all__ = [
    "SAMPLE_RATE",
    "Pcm",
    "PromptError",
    "PromptLibrary",
    "PromptSource",
    "decode_file",
    "ewt_sequence",
    "position_sequence",
    "trim_silence",
]

SAMPLE_RATE = 8000
MOH_DIR = "moh"
AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".mp3", ".ogg", ".flac", ".opus", ".m4a")

# Fragments are trimmed to where the signal first/last exceeds this level
# (-45 dBFS), keeping EDGE_MARGIN_S of what precedes/follows it.
TRIM_THRESHOLD = int(32767 * 10 ** (-45 / 20))
EDGE_MARGIN_S = 0.005
DEFAULT_GAP_S = 0.08

Pcm = npt.NDArray[np.int16]


class PromptError(Exception):
    """A prompt file exists but cannot be decoded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptSource:
    """Where a loaded prompt came from (for logs and the admin API)."""

    lang: str
    name: str
    path: Path


def decode_file(path: Path, *, rate: int = SAMPLE_RATE) -> Pcm:
    """Decode any audio file PyAV reads into mono signed 16-bit at ``rate``.

    Resamples straight to mono s16 at the target rate: a mono source keeps
    its level exactly (no stereo round trip).
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise PromptError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            chunks: list[Pcm] = []
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(np.asarray(out.to_ndarray(), dtype=np.int16).reshape(-1))
            for out in resampler.resample(None):
                chunks.append(np.asarray(out.to_ndarray(), dtype=np.int16).reshape(-1))
    except av.FFmpegError as exc:
        raise PromptError(f"{path}: cannot decode: {exc}") from exc
    if not chunks:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(chunks)


def trim_silence(pcm: Pcm, *, threshold: int = TRIM_THRESHOLD, rate: int = SAMPLE_RATE) -> Pcm:
    """Drop leading and trailing near-silence, keeping a few ms of margin.

    Cuts fall where the signal is below ``threshold`` (about -45 dBFS), so
    joining trimmed fragments end to end produces no audible click.
    """
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > threshold)
    if loud.size == 0:
        return pcm[:0]
    margin = int(EDGE_MARGIN_S * rate)
    start = max(0, int(loud[0]) - margin)
    end = min(pcm.size, int(loud[-1]) + 1 + margin)
    return pcm[start:end]


def _find_files(directory: Path) -> Iterable[tuple[str, Path]]:
    """(stem, path) for the audio files in ``directory``, preferred ext first."""
    if not directory.is_dir():
        return []
    found: dict[str, Path] = {}
    rank = {ext: i for i, ext in enumerate(AUDIO_EXTENSIONS)}
    for path in sorted(directory.iterdir()):
        ext = path.suffix.lower()
        if ext not in rank or not path.is_file():
            continue
        best = found.get(path.stem)
        if best is None or rank[ext] < rank[best.suffix.lower()]:
            found[path.stem] = path
    return sorted(found.items())


class PromptLibrary:
    """All prompts and music-on-hold classes, decoded to 8 kHz mono int16."""

    def __init__(self, search_dirs: Sequence[Path], *, rate: int = SAMPLE_RATE) -> None:
        if not search_dirs:
            raise ValueError("PromptLibrary needs at least one search directory")
        self.search_dirs: tuple[Path, ...] = tuple(Path(d) for d in search_dirs)
        self.rate = rate
        self._sources: dict[tuple[str, str], PromptSource] = {}
        self._pcm: dict[tuple[str, str], Pcm] = {}
        self._moh: dict[str, Pcm] = {}
        self._moh_sources: dict[str, Path] = {}
        self._loaded = False

    # -- loading ----------------------------------------------------------

    def scan(self) -> dict[tuple[str, str], PromptSource]:
        """Which file serves each (lang, name): the first directory wins."""
        sources: dict[tuple[str, str], PromptSource] = {}
        for root in self.search_dirs:
            if not root.is_dir():
                continue
            for lang_dir in sorted(p for p in root.iterdir() if p.is_dir()):
                lang = lang_dir.name
                for name, path in _find_files(lang_dir):
                    sources.setdefault((lang, name), PromptSource(lang=lang, name=name, path=path))
        return sources

    def load_all(self) -> PromptLibrary:
        """Decode every prompt and music-on-hold file (call once at start-up).

        Raises ``PromptError`` naming the first file that does not decode.
        """
        sources = self.scan()
        pcm: dict[tuple[str, str], Pcm] = {}
        moh: dict[str, Pcm] = {}
        moh_sources: dict[str, Path] = {}
        prompts: dict[tuple[str, str], PromptSource] = {}
        for key, source in sources.items():
            data = decode_file(source.path, rate=self.rate)
            data.setflags(write=False)
            if source.lang == MOH_DIR:
                moh[source.name] = data
                moh_sources[source.name] = source.path
            else:
                pcm[key] = data
                prompts[key] = source
        self._pcm, self._moh, self._sources = pcm, moh, prompts
        self._moh_sources = moh_sources
        self._loaded = True
        return self

    def _require_loaded(self) -> None:
        if not self._loaded:
            raise RuntimeError("PromptLibrary.load_all() has not been called")

    # -- queries ----------------------------------------------------------

    def languages(self) -> list[str]:
        """Languages with at least one prompt, sorted."""
        self._require_loaded()
        return sorted({lang for lang, _ in self._pcm})

    def names(self, lang: str) -> list[str]:
        """Prompt names available in ``lang`` itself (without fallback)."""
        self._require_loaded()
        return sorted(name for (code, name) in self._pcm if code == lang)

    def moh_classes(self) -> list[str]:
        self._require_loaded()
        return sorted(self._moh)

    def source(self, lang: str, name: str) -> PromptSource:
        """The file that serves ``pcm(lang, name)``."""
        return self._sources[self._resolve(lang, name)]

    def has(self, lang: str, name: str) -> bool:
        self._require_loaded()
        return (lang, name) in self._pcm or (FALLBACK_LANGUAGE, name) in self._pcm

    def _resolve(self, lang: str, name: str) -> tuple[str, str]:
        self._require_loaded()
        for key in ((lang, name), (FALLBACK_LANGUAGE, name)):
            if key in self._pcm:
                return key
        dirs = ", ".join(str(d) for d in self.search_dirs)
        raise KeyError(
            f"prompt {name!r} not found for language {lang!r} "
            f"nor fallback {FALLBACK_LANGUAGE!r} in: {dirs}"
        )

    def pcm(self, lang: str, name: str) -> Pcm:
        """Samples of prompt ``name`` in ``lang`` (English if ``lang`` lacks it).

        The array is read-only and shared: copy before modifying.
        """
        return self._pcm[self._resolve(lang, name)]

    def moh(self, class_name: str) -> Pcm:
        """Samples of music-on-hold class ``class_name`` (read-only, shared)."""
        self._require_loaded()
        try:
            return self._moh[class_name]
        except KeyError:
            known = ", ".join(sorted(self._moh)) or "none"
            raise KeyError(
                f"music-on-hold class {class_name!r} not found (known: {known})"
            ) from None

    def concat(
        self,
        lang: str,
        names: Sequence[str],
        *,
        gap_s: float = DEFAULT_GAP_S,
        trim: bool = True,
    ) -> Pcm:
        """Join fragments into one announcement, sample-exact.

        With ``trim`` each fragment loses its leading/trailing silence
        (cut below -45 dBFS, so no click) and fragments are separated by
        ``gap_s`` seconds of digital silence; ``gap_s=0, trim=False`` is the
        plain concatenation of the files.
        """
        if gap_s < 0:
            raise ValueError(f"gap_s {gap_s} must be >= 0")
        gap = np.zeros(int(round(gap_s * self.rate)), dtype=np.int16)
        parts: list[Pcm] = []
        for i, name in enumerate(names):
            data = self.pcm(lang, name)
            if trim:
                data = trim_silence(data, rate=self.rate)
            if i and gap.size:
                parts.append(gap)
            parts.append(data)
        if not parts:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(parts)
