"""RealtimeApi against the mock server on 127.0.0.1: what goes out, what comes back."""

from __future__ import annotations

import json

import pytest

import openapiopenai
from openapiopenai.mock import MockServer
from test.conftest import API_KEY


def test_empty_request_sends_empty_object(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    session = api.create_realtime_session(openapiopenai.RealtimeSessionCreateRequest())

    sent = openai_mock.requests[-1]
    assert sent.body == b"{}"
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert session.client_secret.value.startswith("ek_")


def test_null_turns_features_off(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    request = openapiopenai.RealtimeSessionCreateRequest(
        model="gpt-realtime", voice="marin", turn_detection=None, instructions=None
    )
    session = api.create_realtime_session(request)

    assert json.loads(openai_mock.requests[-1].body) == {
        "model": "gpt-realtime",
        "voice": "marin",
        "turn_detection": None,
    }
    assert session.turn_detection is None
    assert session.voice == "marin"


def test_error_status_raises_typed_exception(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.fail_next(status=400, message="Invalid voice")
    with pytest.raises(openapiopenai.BadRequestException) as caught:
        api.create_realtime_session({})
    assert caught.value.status == 400
    assert caught.value.message == "Invalid voice"
    assert "Invalid voice" in str(caught.value)
    assert caught.value.request_id and caught.value.request_id.startswith("req_")
