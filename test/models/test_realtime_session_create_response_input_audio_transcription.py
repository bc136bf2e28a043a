"""RealtimeSessionCreateResponseInputAudioTranscription: the transcription model in use."""

from __future__ import annotations

import pytest

from openapiopenai.exceptions import ApiValidationError
from openapiopenai.models.realtime_session_create_response_input_audio_transcription import (
    RealtimeSessionCreateResponseInputAudioTranscription as Transcription,
)


def test_model_read() -> None:
    assert Transcription.from_json('{"model": "whisper-1"}').model == "whisper-1"


def test_extra_fields_kept() -> None:
    body = {"model": "gpt-4o-transcribe", "language": "fr", "prompt": None}
    assert Transcription.from_dict(body).to_dict() == body


def test_model_must_be_text() -> None:
    with pytest.raises(ApiValidationError):
        Transcription.from_dict({"model": 1})
