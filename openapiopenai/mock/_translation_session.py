"""A translation session as the service keeps it: audio in, transcripts and translated audio out.

Plays what the test scripted (``mock.realtime.script_translation``), one word per
:data:`TRANSLATION_CHUNK_MS` of input audio. Nothing here touches a socket.
"""

from __future__ import annotations

from typing import Any, ClassVar

from openapiopenai._overlay import overlay
from openapiopenai.mock import _realtime_turns as turns
from openapiopenai.mock._realtime_checks import EventRefused, audio_bytes, object_field, validated
from openapiopenai.mock._session_base import Handlers, Hub, SessionBase
from openapiopenai.models.realtime_translation_session_create_request_audio import (
    RealtimeTranslationSessionCreateRequestAudio,
)

#: Translation answers one word per this much input audio.
TRANSLATION_CHUNK_MS = 200


class TranslationSession(SessionBase):
    """A translation session: audio in, transcripts and translated audio out."""

    def __init__(self, hub: Hub, session: dict[str, Any], script: tuple[str, str]) -> None:
        super().__init__(hub, session)
        heard, said = script
        self._heard = turns.words(heard)
        self._said = turns.words(said)
        self._pending_ms = 0.0
        self._elapsed_ms = 0

    def _session_update(self, event: dict[str, Any]) -> None:
        update = object_field(event, "session")
        for name in update:
            if name != "audio":
                raise EventRefused(
                    f"Unknown parameter: 'session.{name}'.",
                    code="unknown_parameter",
                    param=f"session.{name}",
                )
        audio = validated(
            RealtimeTranslationSessionCreateRequestAudio,
            object_field(update, "audio"),
            "session.audio",
        )
        self.session = overlay(self.session, {"audio": audio})
        self.emit("session.updated", session=self.session)

    def _append(self, event: dict[str, Any]) -> None:
        self._pending_ms += len(audio_bytes(event)) / turns.INPUT_BYTES_PER_MS["audio/pcm"]
        while self._pending_ms >= TRANSLATION_CHUNK_MS and (self._heard or self._said):
            self._pending_ms -= TRANSLATION_CHUNK_MS
            self._elapsed_ms += TRANSLATION_CHUNK_MS
            at = {"elapsed_ms": self._elapsed_ms}
            if self._heard:
                self.emit("session.input_transcript.delta", delta=self._heard.pop(0), **at)
            if self._said:
                self.emit("session.output_transcript.delta", delta=self._said.pop(0), **at)
                self.emit(
                    "session.output_audio.delta",
                    delta=turns.TONE_CHUNK_B64,
                    sample_rate=turns.SAMPLE_RATE,
                    channels=1,
                    format="pcm16",
                    **at,
                )

    def _close(self, event: dict[str, Any]) -> None:
        self.emit("session.closed")
        self.closed = True
        self.close_connections(1000, "")

    handlers: ClassVar[Handlers] = {
        "session.update": _session_update,
        "session.input_audio_buffer.append": _append,
        "session.close": _close,
    }
