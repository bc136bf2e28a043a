"""RealtimeSessionCreateResponseTracing: the object form of ``tracing`` in a session."""

from __future__ import annotations

from openapiopenai.models.realtime_session_create_response_tracing import (
    RealtimeSessionCreateResponseTracing as Tracing,
)


def test_fields_read() -> None:
    tracing = Tracing.from_dict({"workflow_name": "w", "group_id": "g", "metadata": {"k": [1]}})
    assert (tracing.workflow_name, tracing.group_id) == ("w", "g")
    assert tracing.metadata == {"k": [1]}


def test_missing_fields_are_none() -> None:
    tracing = Tracing.from_json("{}")
    assert tracing.workflow_name is None and tracing.metadata is None
    assert tracing.to_json() == "{}"
