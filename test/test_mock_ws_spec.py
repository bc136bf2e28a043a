"""The mock's Realtime WebSocket side takes what the spec allows: an item placed at the start
(``previous_item_id: "root"``), MCP approval responses, and a new response as soon as the last
one's ``response.done`` is out, paced or not."""

from __future__ import annotations

import pytest

from openapiopenai.mock import MockServer
from test.test_mock_ws import recv, send, session, text_session, until

pytest.importorskip("websockets")

RULES = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Hi."}]}


def test_previous_item_id_root_puts_the_item_first(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        send(ws, type="conversation.item.create", item=RULES)
        first = until(ws, "conversation.item.done")[-1]["item"]["id"]
        send(ws, type="conversation.item.create", item=RULES, previous_item_id="root")
        at_root = until(ws, "conversation.item.done")
        send(ws, type="conversation.item.create", item=RULES)
        appended = recv(ws)

    assert [event["type"] for event in at_root] == [
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert at_root[0]["previous_item_id"] is None
    assert appended["previous_item_id"] == first  # the root item went before the first


def test_an_mcp_approval_response_is_taken(openai_mock: MockServer) -> None:
    approval = {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True}
    with session(openai_mock) as ws:
        send(ws, type="conversation.item.create", item=approval)
        added = until(ws, "conversation.item.done")[0]
        send(ws, type="conversation.item.create", item={**approval, "reason": "looks safe"})
        with_reason = until(ws, "conversation.item.done")[0]
        send(ws, type="conversation.item.create", item={**approval, "approve": "yes"})
        not_bool = recv(ws)
        send(ws, type="conversation.item.create", item={"type": "mcp_approval_response"})
        missing = recv(ws)

    assert added["type"] == "conversation.item.added"
    assert added["item"]["type"] == "mcp_approval_response"
    assert added["item"]["approval_request_id"] == "mcpr_1" and added["item"]["approve"] is True
    assert with_reason["item"]["reason"] == "looks safe"
    assert not_bool["type"] == "error" and not_bool["error"]["param"] == "item.approve"
    assert missing["type"] == "error"
    assert missing["error"]["param"] == "item.approval_request_id"


def test_a_paced_response_is_finished_once_its_response_done_is_out(
    openai_mock: MockServer,
) -> None:
    openai_mock.realtime.set_pace(0.2)
    with session(openai_mock) as ws:
        text_session(ws)
        send(ws, type="response.create", event_id="evt_1")
        done = until(ws, "response.done")[-1]
        send(ws, type="response.create", event_id="evt_2")  # at once, as a tool loop does
        second = recv(ws)

    assert done["response"]["status"] == "completed"
    assert second["type"] == "response.created", second
