"""RealtimeSessionCreateRequestTurnDetection: VAD settings, sent only as set."""

from __future__ import annotations

import pytest

import openapiopenai
from openapiopenai.exceptions import ApiValidationError
from openapiopenai.mock import MockServer
from openapiopenai.models.realtime_session_create_request_turn_detection import (
    RealtimeSessionCreateRequestTurnDetection as TurnDetection,
)
from test.conftest import sent_json


def test_every_field_sent(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    detection = TurnDetection(
        type="server_vad",
        eagerness="low",
        threshold=0.0,
        prefix_padding_ms=0,
        silence_duration_ms=800,
        create_response=False,
        interrupt_response=True,
    )

    session = api.create_realtime_session(
        openapiopenai.RealtimeSessionCreateRequest(turn_detection=detection)
    )

    assert sent_json(openai_mock) == {"turn_detection": detection.to_dict()}
    assert detection.to_dict()["threshold"] == 0.0
    assert session.turn_detection is not None
    assert session.turn_detection.silence_duration_ms == 800
    assert session.turn_detection.to_dict()["create_response"] is False


def test_empty_object_is_empty() -> None:
    assert TurnDetection().to_dict() == {}
    assert TurnDetection().to_json() == "{}"


@pytest.mark.parametrize("value", ["server_vad", "semantic_vad"])
def test_types(value: str) -> None:
    assert TurnDetection(type=value).type == value


@pytest.mark.parametrize("value", ["low", "medium", "high", "auto"])
def test_eagerness(value: str) -> None:
    assert TurnDetection(eagerness=value).to_dict() == {"eagerness": value}


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("type", "none", ["server_vad", "semantic_vad"]),
        ("type", "SERVER_VAD", ["server_vad", "semantic_vad"]),
        ("eagerness", "max", ["low", "medium", "high", "auto"]),
    ],
)
def test_bad_enum_names_field_and_values(field: str, value: str, allowed: list[str]) -> None:
    with pytest.raises(ApiValidationError) as caught:
        TurnDetection(**{field: value})
    assert caught.value.errors[0].field == field
    assert all(repr(item) in str(caught.value) for item in allowed)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("threshold", -0.01),
        ("threshold", 1.01),
        ("prefix_padding_ms", -1),
        ("silence_duration_ms", -5),
    ],
)
def test_out_of_range_refused(field: str, value: float) -> None:
    with pytest.raises(ApiValidationError) as caught:
        TurnDetection(**{field: value})
    assert caught.value.errors[0].field == field


@pytest.mark.parametrize("threshold", [0.0, 0.5, 1.0])
def test_threshold_edges(threshold: float) -> None:
    assert TurnDetection(threshold=threshold).threshold == threshold


def test_assignment_validated() -> None:
    detection = TurnDetection(type="server_vad")
    with pytest.raises(ApiValidationError):
        detection.type = "push_to_talk"  # type: ignore[assignment]
    assert detection.type == "server_vad"
