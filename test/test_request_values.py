"""Free-form values (``tracing.metadata``, a tool's ``parameters``, MCP ``headers``, prompt
``variables``) on their way to a real mock: what JSON cannot say is refused before any I/O,
naming the field, alike whether the request is a dict (checked without a model) or a model;
what it can say goes out exactly as given, a model inside it whole."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import BaseModel

from openapiopenai import RealtimeApi
from openapiopenai.exceptions import ApiValidationError
from openapiopenai.mock import MockServer
from openapiopenai.models import RealtimeCreateClientSecretRequest, RealtimeFunctionTool
from test.conftest import sent_json


def _session(**fields: Any) -> dict[str, Any]:
    return {"session": {"type": "realtime", "model": "gpt-realtime", **fields}}


def _tracing(metadata: dict[Any, Any]) -> dict[str, Any]:
    return _session(tracing={"workflow_name": "w", "metadata": metadata})


def _tool(parameters: dict[Any, Any]) -> dict[str, Any]:
    return _session(tools=[{"type": "function", "name": "lookup", "parameters": parameters}])


def _mcp(headers: dict[Any, Any]) -> dict[str, Any]:
    return _session(tools=[{"type": "mcp", "server_label": "docs", "headers": headers}])


def _variables(variables: dict[Any, Any]) -> dict[str, Any]:
    return _session(prompt={"id": "pmpt_1", "variables": variables})


def _both_ways(api: RealtimeApi, body: dict[str, Any]) -> list[ApiValidationError]:
    """The error of sending ``body`` as a dict and as a model: each must refuse it."""
    errors = []
    with pytest.raises(ApiValidationError) as as_dict:
        api.create_realtime_client_secret(body)
    errors.append(as_dict.value)
    with pytest.raises(ApiValidationError) as as_model:
        api.create_realtime_client_secret(RealtimeCreateClientSecretRequest.from_dict(body))
    errors.append(as_model.value)
    return errors


REFUSED = {
    "nan-in-metadata": (_tracing({"x": math.nan}), "session.tracing.metadata.x", "NaN"),
    "inf-in-parameters": (
        _tool({"type": "object", "maximum": math.inf}),
        "session.tools.0.parameters.maximum",
        "NaN and infinity",
    ),
    "nested-inf": (
        _tool({"properties": {"n": {"default": [1, -math.inf]}}}),
        "session.tools.0.parameters.properties.n.default.1",
        "infinity",
    ),
    "colliding-int-key": (
        _tracing({"t": {1: "a", "1": "b"}}),
        "session.tracing.metadata.t",
        "keys must be text",
    ),
    "colliding-bool-key": (
        _tool({"enum": {True: 1, "true": 2}}),
        "session.tools.0.parameters.enum",
        "keys must be text",
    ),
    "surrogate-metadata-key": (
        _tracing({"\ud800": "a"}),
        "session.tracing.metadata.",
        "lone surrogate",
    ),
    "surrogate-header-name": (_mcp({"X-\udcff": "1"}), "session.tools.0.headers.X-", "surrogate"),
    "surrogate-variable-name": (
        _variables({"city\ud800": "Paris"}),
        "session.prompt.variables.city",
        "surrogate",
    ),
}


@pytest.mark.parametrize(("body", "path", "says"), list(REFUSED.values()), ids=list(REFUSED))
def test_what_json_cannot_say_is_refused_naming_the_field(
    no_retry_api: RealtimeApi, openai_mock: MockServer, body: dict[str, Any], path: str, says: str
) -> None:
    for error in _both_ways(no_retry_api, body):
        assert f"\n  {path}" in str(error), str(error)
        assert ": not JSON: " in str(error)
        assert says in str(error)
    assert openai_mock.requests == []


def test_a_model_inside_a_free_form_value_goes_out_whole(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    class Limits(BaseModel):
        low: int = 1
        high: int = 9

    body = _tracing({"limits": Limits(high=5), "pair": (1, 2)})
    api.create_realtime_client_secret(body)
    from_dict = sent_json(openai_mock)
    api.create_realtime_client_secret(RealtimeCreateClientSecretRequest.from_dict(body))
    from_model = sent_json(openai_mock)
    expected = {"limits": {"low": 1, "high": 5}, "pair": [1, 2]}
    assert from_dict == from_model
    assert from_dict["session"]["tracing"]["metadata"] == expected  # type: ignore[index]


def test_plain_json_goes_out_exactly_as_given(api: RealtimeApi, openai_mock: MockServer) -> None:
    parameters = {
        "type": "object",
        "properties": {"n": {"type": "number", "minimum": -1.5, "default": 0}},
        "required": ["n"],
        "x-flags": [True, None, "é", 2**70],
    }
    api.create_realtime_client_secret(_tool(parameters))
    assert sent_json(openai_mock)["session"]["tools"][0]["parameters"] == parameters  # type: ignore[index]
    tool = RealtimeFunctionTool(name="lookup", parameters=parameters)
    assert tool.to_dict()["parameters"] == parameters


def test_errors_at_two_map_keys_are_two_lines_each_with_its_key(no_retry_api: RealtimeApi) -> None:
    for body, parent in (
        (_mcp({"X-Api-Version": 5, "City": 6}), "session.tools.0.headers"),
        (_tracing({"City": math.nan, "X-Api-Version": math.inf}), "session.tracing.metadata"),
        (_variables({"City": 5, "Town": ["x"]}), "session.prompt.variables"),
    ):
        for error in _both_ways(no_retry_api, body):
            text = str(error)
            keys = ("X-Api-Version", "City") if "headers" in parent else ("City",)
            for key in keys:
                assert f"\n  {parent}.{key}" in text, text


def test_a_response_keeps_free_form_values_as_sent() -> None:
    """Models used both ways (tools) check free-form values only when they are sent."""
    from openapiopenai.models import RealtimeCreateClientSecretResponse

    tools = [
        {"type": "function", "name": "f", "parameters": {"odd": {1: 2}, "x": math.inf}},
        {"type": "mcp", "server_label": "s", "headers": {"X-\ud800": "1"}},
    ]
    session = {"type": "realtime", "id": "sess_1", "object": "realtime.session", "tools": tools}
    body = {"value": "ek_1", "expires_at": 1, "session": session}
    secret = RealtimeCreateClientSecretResponse.from_dict(body)
    assert secret.to_dict()["session"]["tools"] == tools


def test_a_wrong_tool_choice_or_a_new_field_keeps_its_path(no_retry_api: RealtimeApi) -> None:
    for body, path in (
        (_session(tool_choice=5), "session.tool_choice"),
        (_session(tools=[{"type": "function", "name": "f", "strict": 1}]), "session.tools.0"),
        (_session(tracing={"metadata": {"a": 1}, "new": {"k": 1}}), "session.tracing"),
    ):
        for error in _both_ways(no_retry_api, body):
            assert f"\n  {path}" in str(error), str(error)


def test_a_message_without_a_role_names_the_roles(no_retry_api: RealtimeApi) -> None:
    from openapiopenai.models import RealtimeClientEventConversationItemCreate

    with pytest.raises(ApiValidationError) as raised:
        RealtimeClientEventConversationItemCreate.from_dict(
            {"type": "conversation.item.create", "item": {"type": "message", "content": []}}
        )
    assert "item: Field required: role, one of 'system', 'user' or 'assistant'" in str(raised.value)
