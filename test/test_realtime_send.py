"""Client events on their way out, against a scripted ``websockets`` server on 127.0.0.1: an
event given as a dict goes out as the same bytes as the model would, with one ``event_id``; an
``event_id`` that ``send`` refuses is refused by ``append`` too, before anything is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openapiopenai.exceptions import ApiValidationError, ApiValueError
from openapiopenai.models import RealtimeClientEventConversationItemCreate
from test.conftest import quick_api
from test.realtime_server import Peer, ScriptedServer, session_created


def _echo(peer: Peer) -> None:
    """Greets, then answers each client event with an unknown event naming it."""
    peer.send(session_created())
    while True:
        event = peer.recv()
        peer.send({"type": "test.echo", "event_id": "e", "of": event["event_id"]})


@pytest.mark.parametrize("event_id", ["\ud800", "a\udfffb"])
def test_append_refuses_an_event_id_that_send_refuses(event_id: str) -> None:
    with ScriptedServer(_echo) as server, quick_api(server.url, 0).connect(model="m") as conn:
        conn.recv()
        with pytest.raises(ApiValueError, match="event_id") as by_append:
            conn.input_audio_buffer.append(b"\x01\x02", event_id=event_id)
        with pytest.raises((ApiValueError, ApiValidationError)) as by_send:
            conn.send({"type": "input_audio_buffer.append", "audio": "AQI=", "event_id": event_id})
        assert "event_id" in str(by_send.value)
        assert by_append.value.__context__ is None
        conn.input_audio_buffer.append(b"\x01\x02", event_id="after")
        assert json.loads(json.dumps(conn.recv().to_dict()))["of"] == "after"
    assert [event["event_id"] for event in server.received] == ["after"]


ITEM_CREATE: dict[str, Any] = {
    "type": "conversation.item.create",
    "item": {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Weather in Paris?"}],
    },
}


def test_a_dict_event_goes_out_as_the_models_bytes_with_one_event_id() -> None:
    with ScriptedServer(_echo) as server, quick_api(server.url, 0).connect(model="m") as conn:
        conn.recv()
        from_dict = conn.send(ITEM_CREATE)
        from_model = conn.send(RealtimeClientEventConversationItemCreate.from_dict(ITEM_CREATE))
        conn.recv(), conn.recv()
        sent = conn.sent_event(from_dict)
    first, second = server.received
    assert first["event_id"] == from_dict and second["event_id"] == from_model
    assert {**first, "event_id": "x"} == {**second, "event_id": "x"}
    assert first == {**ITEM_CREATE, "event_id": from_dict}  # nothing dropped, nothing added
    assert sent is not None and sent.to_dict() == first


@pytest.mark.parametrize("explicit_none", [False, True])
def test_a_model_without_an_id_goes_out_with_one_and_is_remembered_with_it(
    explicit_none: bool,
) -> None:
    texts: list[str] = []

    def record(peer: Peer) -> None:
        peer.send(session_created())
        while True:
            texts.append(peer.connection.recv(5))
            peer.send({"type": "test.echo", "event_id": "e"})

    extra = {"event_id": None} if explicit_none else {}
    model = RealtimeClientEventConversationItemCreate.from_dict({**ITEM_CREATE, **extra})
    with ScriptedServer(record) as server, quick_api(server.url, 0).connect(model="m") as conn:
        conn.recv()
        first, second = conn.send(model), conn.send(model)
        conn.recv(), conn.recv()
        remembered = conn.sent_event(first), conn.sent_event(second)
    assert first != second and model.event_id is None  # the caller's model is left as it was
    assert [text.count('"event_id"') for text in texts] == [1, 1]
    sent = [json.loads(text) for text in texts]
    assert sent == [{**ITEM_CREATE, "event_id": first}, {**ITEM_CREATE, "event_id": second}]
    assert [event.to_dict() if event else None for event in remembered] == sent
