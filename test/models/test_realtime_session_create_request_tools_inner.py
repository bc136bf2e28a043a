"""RealtimeSessionCreateRequestToolsInner: function tools."""

from __future__ import annotations

import pytest

import openapiopenai
from openapiopenai.exceptions import ApiValidationError
from openapiopenai.mock import MockServer
from openapiopenai.models.realtime_session_create_request_tools_inner import (
    RealtimeSessionCreateRequestToolsInner as Tool,
)
from test.conftest import sent_json

SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "refund": {"type": "boolean"}},
    "required": ["order_id"],
}


def test_tools_sent_in_order(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    tools = [
        Tool(type="function", name="lookup_order", description="Find an order.", parameters=SCHEMA),
        Tool(type="function", name="hang_up"),
    ]

    session = api.create_realtime_session(openapiopenai.RealtimeSessionCreateRequest(tools=tools))

    assert sent_json(openai_mock) == {
        "tools": [
            {
                "type": "function",
                "name": "lookup_order",
                "description": "Find an order.",
                "parameters": SCHEMA,
            },
            {"type": "function", "name": "hang_up"},
        ]
    }
    assert session.tools is not None
    assert [tool.name for tool in session.tools] == ["lookup_order", "hang_up"]
    assert session.tools[0].parameters == SCHEMA


def test_empty_list_sent(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    api.create_realtime_session(openapiopenai.RealtimeSessionCreateRequest(tools=[]))
    assert sent_json(openai_mock) == {"tools": []}


@pytest.mark.parametrize("kind", ["mcp", "Function", "file_search"])
def test_only_function_type(kind: str) -> None:
    with pytest.raises(ApiValidationError) as caught:
        Tool(type=kind)
    assert caught.value.errors[0].field == "type"
    assert "'function'" in str(caught.value)


def test_second_bad_tool_located() -> None:
    with pytest.raises(ApiValidationError) as caught:
        openapiopenai.RealtimeSessionCreateRequest(tools=[{"name": "ok"}, {"type": "code"}])
    assert caught.value.errors[0].field == "tools.1.type"


def test_parameters_must_be_an_object() -> None:
    with pytest.raises(ApiValidationError) as caught:
        Tool(parameters="{}")
    assert caught.value.errors[0].field == "parameters"
