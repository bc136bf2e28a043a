"""RealtimeSessionCreateResponseTurnDetection: lenient reading of VAD settings."""

from __future__ import annotations

from openapiopenai.models.realtime_session_create_response_turn_detection import (
    RealtimeSessionCreateResponseTurnDetection as TurnDetection,
)


def test_fields_read() -> None:
    detection = TurnDetection.from_json(
        '{"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,'
        ' "silence_duration_ms": 200}'
    )
    assert (detection.type, detection.threshold) == ("server_vad", 0.5)
    assert (detection.prefix_padding_ms, detection.silence_duration_ms) == (300, 200)


def test_empty_object() -> None:
    assert TurnDetection.from_dict({}).to_dict() == {}


def test_newer_values_and_fields_kept() -> None:
    detection = TurnDetection.from_dict({"type": "semantic_vad", "eagerness": "auto"})
    assert detection.type == "semantic_vad"
    assert detection.additional_properties == {"eagerness": "auto"}
