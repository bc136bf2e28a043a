"""RealtimeSessionCreateRequestInputAudioTranscription: free-form strings, sent only as set."""

from __future__ import annotations

import pytest

import openapiopenai
from openapiopenai.exceptions import ApiValidationError
from openapiopenai.mock import MockServer
from openapiopenai.models.realtime_session_create_request_input_audio_transcription import (
    RealtimeSessionCreateRequestInputAudioTranscription as Transcription,
)
from test.conftest import sent_json


def test_every_field_sent(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    transcription = Transcription(model="gpt-4o-transcribe", language="de", prompt="Fachbegriffe")

    session = api.create_realtime_session(
        openapiopenai.RealtimeSessionCreateRequest(input_audio_transcription=transcription)
    )

    assert sent_json(openai_mock) == {
        "input_audio_transcription": {
            "model": "gpt-4o-transcribe",
            "language": "de",
            "prompt": "Fachbegriffe",
        }
    }
    assert session.input_audio_transcription is not None
    assert session.input_audio_transcription.model == "gpt-4o-transcribe"


@pytest.mark.parametrize("model", ["whisper-1", "gpt-4o-mini-transcribe", "future-transcriber"])
def test_any_model_name(model: str) -> None:
    assert Transcription(model=model).to_dict() == {"model": model}


def test_empty_object_sent_as_empty(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    api.create_realtime_session({"input_audio_transcription": {}})

    assert sent_json(openai_mock) == {"input_audio_transcription": {}}


@pytest.mark.parametrize("field", ["model", "language", "prompt"])
def test_non_string_refused(field: str) -> None:
    with pytest.raises(ApiValidationError) as caught:
        Transcription(**{field: ["en"]})
    assert caught.value.errors[0].field == field


def test_unknown_field_refused() -> None:
    with pytest.raises(ApiValidationError) as caught:
        Transcription(lang="en")
    assert "'language'" in str(caught.value)
