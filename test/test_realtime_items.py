"""Conversation items inside server events: each comes back as the class of its ``type`` and
``role``, and what a newer server sends (item types, roles, fields, values) never loses the
event that carries it.

Every item kind is checked in every event that carries items, three ways: through a real
connection's ``recv()`` (a scripted server on 127.0.0.1), through the parser alone, and through
the event class's ``from_json``, both on the fast path and on the exact path (taken as soon as
anything newer than this SDK is in the event).
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from openapiopenai.exceptions import ApiValidationError, ApiValueError
from openapiopenai.models import (
    RealtimeClientEventConversationItemCreate,
    RealtimeConversationItemFunctionCall,
    RealtimeConversationItemFunctionCallOutput,
    RealtimeConversationItemMessageAssistant,
    RealtimeConversationItemMessageSystem,
    RealtimeConversationItemMessageUser,
    RealtimeMCPApprovalRequest,
    RealtimeMCPApprovalResponse,
    RealtimeMCPListTools,
    RealtimeMCPToolCall,
    RealtimeServerEvent,
    RealtimeTranslationServerEventSessionOutputAudioDelta,
)
from openapiopenai.models.realtime_server_event import RealtimeServerEvent as _Union
from openapiopenai.realtime import UnknownServerEvent
from openapiopenai.realtime._protocol import ServerEvents, event_classes
from test.conftest import quick_api
from test.realtime_server import Peer, ScriptedServer

#: One item of every type and message role the SDK knows, with the class it must become.
ITEMS: list[tuple[dict[str, Any], type[Any]]] = [
    (
        {
            "id": "item_1",
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "system",
            "content": [{"type": "input_text", "text": "Be brief."}],
        },
        RealtimeConversationItemMessageSystem,
    ),
    (
        {
            "id": "item_2",
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_text", "text": "Weather in Paris?"}],
        },
        RealtimeConversationItemMessageUser,
    ),
    (
        {
            "id": "item_3",
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Sunny."}],
        },
        RealtimeConversationItemMessageAssistant,
    ),
    (
        {
            "id": "item_4",
            "object": "realtime.item",
            "type": "function_call",
            "status": "completed",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        },
        RealtimeConversationItemFunctionCall,
    ),
    (
        {
            "id": "item_5",
            "object": "realtime.item",
            "type": "function_call_output",
            "call_id": "call_1",
            "output": '{"sky": "clear"}',
        },
        RealtimeConversationItemFunctionCallOutput,
    ),
    (
        {
            "type": "mcp_approval_response",
            "id": "item_6",
            "approval_request_id": "apr_1",
            "approve": True,
            "reason": None,
        },
        RealtimeMCPApprovalResponse,
    ),
    (
        {
            "type": "mcp_list_tools",
            "id": "item_7",
            "server_label": "docs",
            "tools": [{"name": "search", "input_schema": {"type": "object"}}],
        },
        RealtimeMCPListTools,
    ),
    (
        {
            "type": "mcp_call",
            "id": "item_8",
            "server_label": "docs",
            "name": "search",
            "arguments": "{}",
            "approval_request_id": None,
            "output": "found",
            "error": None,
        },
        RealtimeMCPToolCall,
    ),
    (
        {
            "type": "mcp_approval_request",
            "id": "item_9",
            "server_label": "docs",
            "name": "search",
            "arguments": "{}",
        },
        RealtimeMCPApprovalRequest,
    ),
]


def _single(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "event_id": "event_7", "previous_item_id": None, "item": item}


def _output(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": "event_7",
        "response_id": "resp_1",
        "output_index": 0,
        "item": item,
    }


def _response(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    response = {
        "id": "resp_1",
        "object": "realtime.response",
        "status": "completed",
        "output": [item],
    }
    return {"type": kind, "event_id": "event_7", "response": response}


#: Every server event that carries items, and how to put one item in it.
CARRIERS = {
    "conversation.item.added": _single,
    "conversation.item.created": _single,
    "conversation.item.done": _single,
    "conversation.item.retrieved": lambda kind, item: {
        "type": kind,
        "event_id": "event_7",
        "item": item,
    },
    "response.output_item.added": _output,
    "response.output_item.done": _output,
    "response.created": _response,
    "response.done": _response,
}


def _item_of(event: Any) -> Any:
    response = getattr(event, "response", None)
    return response.output[0] if response is not None else event.item


def _newer(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with a value newer than this SDK in an unrelated field, which sends it down the
    exact path: an item status and an event field this SDK has not heard of."""
    changed = copy.deepcopy(event)
    changed["added_later"] = {"x": 1}
    item = changed["response"]["output"][0] if "response" in changed else changed["item"]
    item["status"] = "cancelled"
    return changed


ALL = [
    pytest.param(kind, item, cls, id=f"{kind}-{cls.__name__}")
    for kind in CARRIERS
    for item, cls in ITEMS
]


def test_every_event_that_carries_items_is_covered() -> None:
    carriers = {
        tag
        for tag, cls in event_classes(_Union).items()
        if "item" in cls.model_fields or "response" in cls.model_fields
    }
    assert carriers == set(CARRIERS)


@pytest.mark.parametrize(("kind", "item", "cls"), ALL)
def test_each_item_is_the_class_of_its_type_and_role(
    kind: str, item: dict[str, Any], cls: type[Any]
) -> None:
    parser = ServerEvents(RealtimeServerEvent)
    event = CARRIERS[kind](kind, item)
    for body in (event, _newer(event)):
        data = json.dumps(body)
        for parsed in (parser.parse(data), event_classes(_Union)[kind].from_json(data)):
            assert parsed.type == kind
            assert type(_item_of(parsed)) is cls
            assert parsed.to_dict() == body  # newer values and fields kept as sent


@pytest.mark.parametrize("kind", list(CARRIERS))
@pytest.mark.parametrize(
    "novel",
    [
        {"type": "reasoning", "id": "item_10", "summary": [{"text": "thinking"}]},
        {"type": "message", "role": "developer", "id": "item_11", "content": []},
        {"type": "message", "id": "item_12", "content": []},
    ],
    ids=["new-type", "new-role", "no-role"],
)
def test_an_item_newer_than_the_sdk_keeps_its_event(kind: str, novel: dict[str, Any]) -> None:
    parser = ServerEvents(RealtimeServerEvent)
    event = CARRIERS[kind](kind, novel)
    data = json.dumps(event)
    for parsed in (parser.parse(data), event_classes(_Union)[kind].from_json(data)):
        assert not isinstance(parsed, UnknownServerEvent)
        assert type(parsed) is event_classes(_Union)[kind]
        assert _item_of(parsed) == novel  # kept as a dict, exactly as sent
        assert parsed.to_dict() == event


def test_a_new_field_inside_a_known_item_is_kept() -> None:
    item = {
        **ITEMS[2][0],
        "phase": "final",
        "content": [{"type": "output_text", "text": "Hi", "x": 1}],
    }
    event = _single("conversation.item.done", item)
    parsed = ServerEvents(RealtimeServerEvent).parse(json.dumps(event))
    assert type(parsed.item) is RealtimeConversationItemMessageAssistant  # type: ignore[attr-defined]
    assert parsed.item.additional_properties == {"phase": "final"}  # type: ignore[attr-defined]
    assert parsed.to_dict() == event


def test_items_arrive_as_their_class_over_a_real_connection() -> None:
    sent = [CARRIERS[kind](kind, item) for kind in CARRIERS for item, _ in ITEMS]
    sent.append(_newer(_response("response.done", ITEMS[2][0])))
    sent.append(_response("response.done", {"type": "reasoning", "id": "item_10"}))

    def script(peer: Peer) -> None:
        for event in sent:
            peer.send(event)
        peer.close(1000)

    with ScriptedServer(script) as server, quick_api(server.url, 0).connect(model="m") as conn:
        received = list(conn)

    expected = [cls for _ in CARRIERS for _, cls in ITEMS]
    expected += [RealtimeConversationItemMessageAssistant, dict]
    assert [type(_item_of(event)) for event in received] == expected
    assert [event.to_dict() for event in received] == sent


def test_a_bad_item_in_a_request_is_blamed_on_its_own_fields() -> None:
    """A user message with a wrong content part: the error names that part, not the other
    item types' fields."""
    with pytest.raises(ApiValidationError) as raised:
        RealtimeClientEventConversationItemCreate.from_dict(
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": [{"type": "nope"}]},
            }
        )
    lines = str(raised.value).splitlines()
    assert len(lines) <= 3, lines
    assert "item.content.0.type: Input should be" in str(raised.value)
    assert "call_id" not in str(raised.value)


def test_an_unknown_role_in_a_request_names_the_known_roles() -> None:
    with pytest.raises(ApiValidationError) as raised:
        RealtimeClientEventConversationItemCreate.from_dict(
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "developer", "content": []},
            }
        )
    assert "role" in str(raised.value)
    assert "'system', 'user' or 'assistant'" in str(raised.value)


# -- audio deltas that are not base64 --------------------------------------------------------


def _audio_delta(delta: str) -> bytes:
    event = {
        "type": "response.output_audio.delta",
        "event_id": "event_3",
        "response_id": "resp_1",
        "item_id": "item_1",
        "output_index": 0,
        "content_index": 0,
        "delta": delta,
    }
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    "delta",
    ["AAECAw", "AAE=Aw==", "!!!!", "AA\u00e9A", "AAEC Aw=="],
    ids=["bad-padding", "padding-inside", "not-the-alphabet", "not-ascii", "a-space"],
)
def test_an_audio_delta_that_is_not_base64_is_an_sdk_error_naming_delta(delta: str) -> None:
    event = ServerEvents(RealtimeServerEvent).parse(_audio_delta(delta))
    assert event.type == "response.output_audio.delta"  # the event itself is kept
    with pytest.raises(ApiValueError) as raised:
        event.delta_bytes  # type: ignore[attr-defined]  # noqa: B018
    assert "delta" in str(raised.value)
    assert raised.value.__context__ is None and raised.value.__cause__ is None


def test_a_translation_audio_delta_that_is_not_base64_is_an_sdk_error() -> None:
    event = RealtimeTranslationServerEventSessionOutputAudioDelta.from_dict(
        {"type": "session.output_audio.delta", "event_id": "e", "delta": "!!!!"}
    )
    with pytest.raises(ApiValueError, match="delta"):
        event.delta_bytes  # noqa: B018


def test_an_audio_delta_over_a_real_connection_gives_its_bytes_or_the_error() -> None:
    good = base64.b64encode(bytes(range(256))).decode()

    def script(peer: Peer) -> None:
        for delta in (good, "AAECAw", "!!!!"):
            peer.send_text(_audio_delta(delta).decode())
        peer.close(1000)

    with ScriptedServer(script) as server, quick_api(server.url, 0).connect(model="m") as conn:
        first, padding, alphabet = list(conn)
    assert first.delta_bytes == bytes(range(256))  # type: ignore[attr-defined]
    for event in (padding, alphabet):
        with pytest.raises(ApiValueError, match="delta"):
            event.delta_bytes  # type: ignore[attr-defined]  # noqa: B018
