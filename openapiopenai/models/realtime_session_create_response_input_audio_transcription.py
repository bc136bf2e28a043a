"""Response: the transcription settings the session runs with."""

from __future__ import annotations

from openapiopenai.models.openapi_model import ResponseModel


class RealtimeSessionCreateResponseInputAudioTranscription(ResponseModel):
    """Transcription of input audio as configured on the session."""

    model: str | None = None
