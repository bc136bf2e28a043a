"""RealtimeSessionCreateRequestTracing: the object form of ``tracing``."""

from __future__ import annotations

import pytest

import openapiopenai
from openapiopenai.exceptions import ApiValidationError
from openapiopenai.mock import MockServer
from openapiopenai.models.realtime_session_create_request_tracing import (
    RealtimeSessionCreateRequestTracing as Tracing,
)
from test.conftest import sent_json


def test_every_field_sent(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    tracing = Tracing(
        workflow_name="voice-support",
        group_id="customer-42",
        metadata={"region": "eu", "attempt": 2, "flags": [True, None]},
    )

    session = api.create_realtime_session(
        openapiopenai.RealtimeSessionCreateRequest(tracing=tracing)
    )

    assert sent_json(openai_mock) == {"tracing": tracing.to_dict()}
    assert isinstance(session.tracing, openapiopenai.RealtimeSessionCreateResponseTracing)
    assert session.tracing.metadata == {"region": "eu", "attempt": 2, "flags": [True, None]}


def test_object_given_as_dict_becomes_model() -> None:
    request = openapiopenai.RealtimeSessionCreateRequest(tracing={"group_id": "g"})
    assert isinstance(request.tracing, Tracing)
    assert request.tracing.group_id == "g"


def test_metadata_must_be_an_object() -> None:
    with pytest.raises(ApiValidationError) as caught:
        Tracing(metadata=["not", "an", "object"])
    assert caught.value.errors[0].field == "metadata"


def test_unknown_field_refused() -> None:
    with pytest.raises(ApiValidationError) as caught:
        Tracing(workflow="x")
    assert "'workflow_name'" in str(caught.value)
