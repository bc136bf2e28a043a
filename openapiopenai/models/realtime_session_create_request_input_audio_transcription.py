"""Request: how the caller's speech is transcribed (``input_audio_transcription``)."""

from __future__ import annotations

from openapiopenai.models.openapi_model import RequestModel, optional


class RealtimeSessionCreateRequestInputAudioTranscription(RequestModel):
    """Transcription of input audio; set the parent field to ``None`` to turn it off."""

    model: str | None = optional()
    language: str | None = optional()
    prompt: str | None = optional()
