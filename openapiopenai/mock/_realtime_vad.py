"""Voice activity detection, as simply as the mock needs it.

A 10 ms frame of PCM16 audio is speech when its loudest sample passes :data:`SPEECH_PEAK`
(about -30 dBFS); a turn starts at the first such frame and stops after ``silence_duration_ms``
of quiet. What the service decides with a model, the mock decides by loudness, so a test that
appends a tone then silence gets the service's events at the service's moments.
"""

from __future__ import annotations

import array
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

FRAME_MS = 10
FRAME_BYTES = 24_000 * 2 * FRAME_MS // 1000
#: The loudest sample of a speech frame is at least this (of 32767).
SPEECH_PEAK = 1000
#: The quiet that ends a turn with ``semantic_vad``, which has no ``silence_duration_ms``.
SEMANTIC_SILENCE_MS = 500
DETECTING = ("server_vad", "semantic_vad")


@dataclass
class Detector:
    """Where the session's input audio stands: position, and whether someone is speaking."""

    position_ms: int = 0
    speaking: bool = False
    quiet_ms: int = 0
    pending: bytes = b""

    def feed(self, pcm: bytes, settings: Mapping[str, Any]) -> Iterator[tuple[str, int]]:
        """``("started", ms)`` and ``("stopped", ms)`` as turns begin and end in ``pcm``."""
        silence = settings.get("silence_duration_ms") or SEMANTIC_SILENCE_MS
        for loud in self._frames(pcm):
            self.position_ms += FRAME_MS
            if loud:
                self.quiet_ms = 0
                if not self.speaking:
                    self.speaking = True
                    yield "started", self.position_ms - FRAME_MS
            elif self.speaking:
                self.quiet_ms += FRAME_MS
                if self.quiet_ms >= silence:
                    self.speaking = False
                    yield "stopped", self.position_ms

    def _frames(self, pcm: bytes) -> Iterator[bool]:
        """Whether each whole 10 ms frame is loud; a partial frame waits for the next append."""
        data = self.pending + pcm
        whole = len(data) - len(data) % FRAME_BYTES
        self.pending = data[whole:]
        samples = array.array("h", data[:whole])
        if sys.byteorder == "big":
            samples.byteswap()
        step = FRAME_BYTES // 2
        for start in range(0, len(samples), step):
            frame = samples[start : start + step]
            yield max(max(frame), -min(frame)) >= SPEECH_PEAK


def detects(session: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The session's turn detection settings when the mock can play them (PCM input)."""
    audio_input = session.get("audio", {}).get("input", {})
    settings = audio_input.get("turn_detection")
    audio_format = audio_input.get("format") or {}
    if not isinstance(settings, Mapping) or settings.get("type") not in DETECTING:
        return None
    return settings if audio_format.get("type", "audio/pcm") == "audio/pcm" else None
