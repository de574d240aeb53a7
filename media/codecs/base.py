"""The small abstract base every codec implements.

PCM inside the media engine is mono int16 at 8 kHz, 160 samples per 20 ms frame.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_MS = 20


class Codec(ABC):
    """One audio codec. Instances may keep state (G.722 ADPCM): one instance per leg."""

    name: ClassVar[str]
    payload_type: ClassVar[int]
    # RFC 3551 4.5: the RTP clock rate, which is not always the audio sample rate (G.722).
    clock_rate: ClassVar[int] = 8000

    @abstractmethod
    def encode(self, pcm: Pcm) -> bytes:
        """Encode 8 kHz int16 mono PCM."""

    @abstractmethod
    def decode(self, payload: bytes) -> Pcm:
        """Decode a payload to 8 kHz int16 mono PCM."""

    def timestamp_units(self, payload_len: int) -> int:
        """RTP timestamp advance for a payload of this many bytes (8 kHz clock)."""
        return payload_len

    def silence(self, samples: int = FRAME_SAMPLES) -> bytes:
        return self.encode(np.zeros(samples, dtype=np.int16))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pt={self.payload_type})"
