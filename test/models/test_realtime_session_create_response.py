"""RealtimeSessionCreateResponse: every field read, newer server output kept, key required."""

from __future__ import annotations

import json
from typing import Any

import pytest

import openapiopenai
from openapiopenai.exceptions import ApiValidationError
from openapiopenai.mock import MockServer
from openapiopenai.models.realtime_session_create_response import RealtimeSessionCreateResponse
from test.conftest import EPHEMERAL_KEY, canned_session

#: A session carrying every field of the response schema, as the service sends it.
FULL_SESSION: dict[str, Any] = canned_session(
    modalities=["audio", "text"],
    instructions="Speak slowly.",
    voice="verse",
    input_audio_format="g711_alaw",
    output_audio_format="pcm16",
    input_audio_transcription={"model": "whisper-1"},
    speed=0.9,
    tracing="auto",
    turn_detection={
        "type": "server_vad",
        "threshold": 0.4,
        "prefix_padding_ms": 200,
        "silence_duration_ms": 650,
    },
    tools=[{"type": "function", "name": "lookup", "description": "d", "parameters": {}}],
    tool_choice="none",
    temperature=0.7,
    max_response_output_tokens=200,
)


def test_every_field_read() -> None:
    session = RealtimeSessionCreateResponse.from_dict(FULL_SESSION)

    assert session.id == "sess_canned"
    assert session.object == "realtime.session"
    assert session.model == "gpt-realtime"
    assert session.client_secret.value == EPHEMERAL_KEY
    assert session.client_secret.expires_at == 1_900_000_000
    assert session.modalities == ["audio", "text"]
    assert session.instructions == "Speak slowly."
    assert session.voice == "verse"
    assert session.input_audio_format == "g711_alaw"
    assert session.output_audio_format == "pcm16"
    assert session.input_audio_transcription is not None
    assert session.input_audio_transcription.model == "whisper-1"
    assert session.speed == 0.9
    assert session.tracing == "auto"
    assert session.turn_detection is not None
    assert session.turn_detection.type == "server_vad"
    assert session.turn_detection.threshold == 0.4
    assert session.turn_detection.prefix_padding_ms == 200
    assert session.turn_detection.silence_duration_ms == 650
    assert session.tools is not None and session.tools[0].type == "function"
    assert session.tool_choice == "none"
    assert session.temperature == 0.7
    assert session.max_response_output_tokens == 200
    assert session.to_dict() == FULL_SESSION
    assert json.loads(session.to_json()) == FULL_SESSION


def test_read_through_the_api(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.respond_next(200, FULL_SESSION)

    session = api.create_realtime_session({})

    assert isinstance(session, RealtimeSessionCreateResponse)
    assert session.to_dict() == FULL_SESSION


def test_only_client_secret_needed() -> None:
    body = {"client_secret": {"value": EPHEMERAL_KEY, "expires_at": 1}}
    session = RealtimeSessionCreateResponse.from_json(json.dumps(body))

    assert session.id is None
    assert session.voice is None
    assert session.turn_detection is None
    assert session.to_dict() == body


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"id": "sess_1"},
        {"client_secret": None},
        {"client_secret": {"value": EPHEMERAL_KEY}},
        {"client_secret": {"expires_at": 1}},
        {"client_secret": "ek_flat"},
    ],
)
def test_missing_or_malformed_client_secret_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ApiValidationError) as caught:
        RealtimeSessionCreateResponse.from_dict(body)
    assert caught.value.errors[0].field.startswith("client_secret")


def test_unknown_fields_kept() -> None:
    body = canned_session(
        input_audio_noise_reduction={"type": "near_field"},
        include=None,
        audio={"input": {"format": {"type": "audio/pcm", "rate": 24000}}},
    )
    session = RealtimeSessionCreateResponse.from_dict(body)

    assert session.audio == {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}  # type: ignore[attr-defined]
    assert session.input_audio_noise_reduction == {"type": "near_field"}  # type: ignore[attr-defined]
    assert session.additional_properties["include"] is None
    assert session.to_dict() == body
    assert json.loads(session.to_json()) == body


def test_unknown_nested_fields_kept() -> None:
    session = RealtimeSessionCreateResponse.from_dict(
        canned_session(
            turn_detection={"type": "semantic_vad", "eagerness": "high", "idle_timeout_ms": 5},
            client_secret={"value": EPHEMERAL_KEY, "expires_at": 1, "scope": "session"},
        )
    )

    assert session.turn_detection is not None
    assert session.turn_detection.to_dict() == {
        "type": "semantic_vad",
        "eagerness": "high",
        "idle_timeout_ms": 5,
    }
    assert session.client_secret.additional_properties == {"scope": "session"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("voice", "a-voice-from-next-year"),
        ("modalities", ["text", "video"]),
        ("input_audio_format", "opus"),
        ("output_audio_format", "audio/pcmu"),
        ("tool_choice", "lookup"),
        ("max_response_output_tokens", "unlimited"),
        ("model", "gpt-realtime-9"),
    ],
)
def test_unknown_enum_values_kept_as_strings(field: str, value: Any) -> None:
    session = RealtimeSessionCreateResponse.from_dict(canned_session(**{field: value}))
    assert getattr(session, field) == value


def test_unknown_nested_enum_values_kept() -> None:
    session = RealtimeSessionCreateResponse.from_dict(
        canned_session(turn_detection={"type": "push_to_talk"}, tools=[{"type": "mcp"}])
    )
    assert session.turn_detection is not None and session.turn_detection.type == "push_to_talk"
    assert session.tools is not None and session.tools[0].type == "mcp"


@pytest.mark.parametrize(
    "tracing",
    ["auto", {"workflow_name": "w", "group_id": "g", "metadata": {"a": 1}}, None],
)
def test_tracing_both_forms(tracing: Any) -> None:
    session = RealtimeSessionCreateResponse.from_dict(canned_session(tracing=tracing))
    value = session.tracing
    assert (value.to_dict() if hasattr(value, "to_dict") else value) == tracing


@pytest.mark.parametrize("tokens", [1, 4096, "inf"])
def test_max_response_output_tokens_both_forms(tokens: Any) -> None:
    session = RealtimeSessionCreateResponse.from_dict(
        canned_session(max_response_output_tokens=tokens)
    )
    assert session.max_response_output_tokens == tokens


def test_secret_masked_in_text_present_in_data() -> None:
    session = RealtimeSessionCreateResponse.from_dict(FULL_SESSION)

    for text in (repr(session), str(session), session.to_str()):
        assert EPHEMERAL_KEY not in text
        assert "ek_***" in text
    assert session.to_dict()["client_secret"]["value"] == EPHEMERAL_KEY
    assert EPHEMERAL_KEY in session.to_json()


def test_to_str_lists_fields() -> None:
    text = RealtimeSessionCreateResponse.from_dict(FULL_SESSION).to_str()
    assert "'voice': 'verse'" in text
    assert "'max_response_output_tokens': 200" in text


def test_wrong_types_refused_without_echoing_values() -> None:
    with pytest.raises(ApiValidationError) as caught:
        RealtimeSessionCreateResponse.from_dict(
            canned_session(speed="fast", client_secret={"value": 12345, "expires_at": 1})
        )
    fields = {error.field for error in caught.value.errors}
    assert fields == {"speed", "client_secret.value"}
    assert "12345" not in str(caught.value)


def test_constructor_raises_validation_error_without_echoing_values() -> None:
    with pytest.raises(ApiValidationError) as caught:
        RealtimeSessionCreateResponse(speed="sk-fastfastfastfast", client_secret=EPHEMERAL_KEY)
    assert {error.field for error in caught.value.errors} == {"speed", "client_secret"}
    assert "sk-fastfastfastfast" not in str(caught.value)
    assert "fastfast" not in str(caught.value)
    assert EPHEMERAL_KEY[3:] not in str(caught.value)


def test_assignment_is_validated_and_leaves_the_value_alone() -> None:
    session = RealtimeSessionCreateResponse.from_dict(canned_session(speed=1.1))
    with pytest.raises(ApiValidationError) as caught:
        session.speed = "fast"  # type: ignore[assignment]
    assert [error.field for error in caught.value.errors] == ["speed"]
    assert "fast" not in str(caught.value)
    assert session.speed == 1.1


def test_keys_in_unknown_fields_masked_in_text_kept_in_data() -> None:
    session = RealtimeSessionCreateResponse.from_dict(
        canned_session(foo="ek_abcdefghijklmnop", bar={"keys": ["sk-ABCDEFGHIJKLMNOP"]})
    )

    for text in (repr(session), str(session), session.to_str()):
        assert "ek_abcdefghijklmnop" not in text
        assert "sk-ABCDEFGHIJKLMNOP" not in text
        assert "foo=" in text or "'foo'" in text
    assert session.to_dict()["foo"] == "ek_abcdefghijklmnop"
    assert "sk-ABCDEFGHIJKLMNOP" in session.to_json()
