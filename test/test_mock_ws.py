"""The mock's Realtime WebSocket side, spoken to with the raw ``websockets`` client.

Every test talks JSON over a real socket on 127.0.0.1, as another SDK would; every wait is
bounded by a timeout.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
import urllib3

websockets = pytest.importorskip("websockets")
from websockets.exceptions import InvalidStatus  # noqa: E402
from websockets.sync.client import ClientConnection, connect  # noqa: E402

from openapiopenai.mock import MockServer  # noqa: E402

KEY = "sk-mock-ws-0123456789abcdefghijkl"
TIMEOUT = 5.0
#: Most events one turn may take before a test gives up waiting for the one it wants.
MAX_EVENTS = 400
SECOND_OF_SILENCE = base64.b64encode(bytes(48_000)).decode()  # PCM16 at 24 kHz, 1 s


def ws_url(mock: MockServer, path: str = "/realtime", **query: str) -> str:
    """The WebSocket URL of ``path`` on the mock, with ``query``."""
    base = mock.url.replace("http://", "ws://", 1) + path
    return f"{base}?{urlencode(query)}" if query else base


@contextmanager
def session(
    mock: MockServer,
    path: str = "/realtime",
    *,
    key: str = KEY,
    headers: dict[str, str] | None = None,
    skip_created: bool = True,
    **query: str,
) -> Iterator[ClientConnection]:
    """An open connection; ``session.created`` already read unless ``skip_created=False``."""
    if not query and path == "/realtime":
        query = {"model": "gpt-realtime"}
    with connect(
        ws_url(mock, path, **query),
        additional_headers={"Authorization": f"Bearer {key}", **(headers or {})},
        open_timeout=TIMEOUT,
        close_timeout=1,
        max_size=None,
    ) as ws:
        if skip_created:
            assert recv(ws)["type"] == "session.created"
        yield ws


def recv(ws: ClientConnection) -> dict[str, Any]:
    """The next server event."""
    event: dict[str, Any] = json.loads(ws.recv(timeout=TIMEOUT))
    return event


def send(ws: ClientConnection, **event: Any) -> None:
    """Send one client event."""
    ws.send(json.dumps(event))


def until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    """Events up to and including the first of type ``kind``."""
    events = []
    for _ in range(MAX_EVENTS):
        events.append(recv(ws))
        if events[-1]["type"] == kind:
            return events
    raise AssertionError(f"no {kind} in {MAX_EVENTS} events")


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def text_session(ws: ClientConnection) -> None:
    """Switch the session to text output."""
    send(ws, type="session.update", session={"type": "realtime", "output_modalities": ["text"]})
    assert recv(ws)["type"] == "session.updated"


def mint(mock: MockServer, body: dict[str, Any], path: str = "/realtime/client_secrets") -> str:
    """An ``ek_`` key minted over HTTP, as a backend would."""
    response = urllib3.request(
        "POST",
        mock.url + path,
        json=body,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=TIMEOUT,
    )
    assert response.status == 200, response.data
    value: str = response.json()["value"]
    return value


# -- handshake ---------------------------------------------------------------------------------


def test_the_first_event_is_session_created_with_the_model_of_the_url(
    openai_mock: MockServer,
) -> None:
    with session(openai_mock, model="gpt-realtime-mini", skip_created=False) as ws:
        created = recv(ws)
    assert created["type"] == "session.created"
    assert created["event_id"].startswith("event_")
    assert created["session"]["type"] == "realtime"
    assert created["session"]["model"] == "gpt-realtime-mini"
    assert created["session"]["id"].startswith("sess_")
    assert created["session"]["expires_at"] > 0
    upgrade = openai_mock.requests[-1]
    assert upgrade.method == "GET"
    assert upgrade.path.startswith("/v1/realtime?model=gpt-realtime-mini")


def test_an_ephemeral_key_opens_the_session_it_was_minted_for(openai_mock: MockServer) -> None:
    key = mint(
        openai_mock,
        {"session": {"type": "realtime", "instructions": "Speak like a pirate."}},
    )
    with session(openai_mock, key=key, skip_created=False) as ws:
        created = recv(ws)
    assert created["session"]["instructions"] == "Speak like a pirate."


@pytest.mark.parametrize("key", ["ek_not_minted_here", ""])
def test_an_unknown_key_fails_the_upgrade_with_401_and_an_error_body(
    openai_mock: MockServer, key: str
) -> None:
    with pytest.raises(InvalidStatus) as refused, session(openai_mock, key=key):
        pass
    response = refused.value.response
    assert response.status_code == 401
    error = json.loads(response.body)["error"]
    assert error["type"] == "invalid_request_error"
    assert response.headers["x-request-id"].startswith("req_")


def test_only_the_configured_api_key_is_accepted() -> None:
    mock = MockServer(api_key=KEY)
    mock.start()
    try:
        with pytest.raises(InvalidStatus) as refused, session(mock, key="sk-wrong"):
            pass
        assert refused.value.response.status_code == 401
        assert json.loads(refused.value.response.body)["error"]["code"] == "invalid_api_key"
        with session(mock) as ws:
            text_session(ws)
    finally:
        mock.stop()


def test_an_expired_ephemeral_key_fails_the_upgrade(openai_mock: MockServer) -> None:
    key = mint(
        openai_mock,
        {"session": {"type": "realtime"}, "expires_after": {"anchor": "created_at", "seconds": 10}},
    )
    openai_mock.clock = lambda: 2**40  # far past the key's expiry
    with pytest.raises(InvalidStatus) as refused, session(openai_mock, key=key):
        pass
    assert refused.value.response.status_code == 401
    assert "expired" in json.loads(refused.value.response.body)["error"]["message"]


def test_an_unknown_path_is_404(openai_mock: MockServer) -> None:
    with pytest.raises(InvalidStatus) as refused, session(openai_mock, "/realtime/nowhere"):
        pass
    assert refused.value.response.status_code == 404


def test_a_beta_shaped_connection_gets_beta_api_shape_disabled_then_a_close(
    openai_mock: MockServer,
) -> None:
    with session(openai_mock, headers={"OpenAI-Beta": "realtime=v1"}, skip_created=False) as ws:
        error = recv(ws)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT)
    assert error["type"] == "error"
    assert error["error"]["code"] == "beta_api_shape_disabled"
    assert "no longer supported" in error["error"]["message"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


def test_a_transcription_session_opens_with_intent(openai_mock: MockServer) -> None:
    with session(openai_mock, intent="transcription", skip_created=False) as ws:
        created = recv(ws)
        send(ws, type="response.create", event_id="evt_r")
        refused = recv(ws)
    assert created["session"]["type"] == "transcription"
    assert refused["type"] == "error"
    assert refused["error"]["event_id"] == "evt_r"


# -- session -----------------------------------------------------------------------------------


def test_session_update_answers_with_the_whole_session(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        send(
            ws,
            type="session.update",
            session={
                "type": "realtime",
                "instructions": "Be brief.",
                "audio": {"output": {"voice": "marin"}},
            },
        )
        updated = recv(ws)
    assert updated["type"] == "session.updated"
    assert updated["session"]["instructions"] == "Be brief."
    assert updated["session"]["audio"]["output"]["voice"] == "marin"
    assert updated["session"]["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}


@pytest.mark.parametrize(
    ("update", "param"),
    [
        ({"type": "realtime", "temperature_typo": 1}, "session.temperature_typo"),
        ({"instructions": "no type"}, "session.type"),
        ({"type": "realtime", "output_modalities": "text"}, "session.output_modalities"),
        ({"type": "transcription"}, "session.type"),
    ],
)
def test_an_invalid_session_update_is_an_error_naming_param_and_the_session_stays(
    openai_mock: MockServer, update: dict[str, Any], param: str
) -> None:
    with session(openai_mock) as ws:
        send(ws, type="session.update", event_id="evt_bad", session=update)
        error = recv(ws)
        text_session(ws)  # still open, still answering
    assert error["type"] == "error"
    assert error["error"]["param"] == param
    assert error["error"]["event_id"] == "evt_bad"


# -- conversation items ------------------------------------------------------------------------


def test_item_create_retrieve_truncate_delete(openai_mock: MockServer) -> None:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
    with session(openai_mock) as ws:
        send(ws, type="conversation.item.create", item=item)
        added, done = recv(ws), recv(ws)
        item_id = added["item"]["id"]
        send(ws, type="conversation.item.retrieve", item_id=item_id)
        retrieved = recv(ws)
        send(ws, type="response.create")
        turn = until(ws, "response.done")
        assistant = turn[-1]["response"]["output"][0]
        send(
            ws,
            type="conversation.item.truncate",
            item_id=assistant["id"],
            content_index=0,
            audio_end_ms=200,
        )
        truncated = recv(ws)
        send(ws, type="conversation.item.delete", item_id=item_id)
        deleted = recv(ws)
        send(ws, type="conversation.item.retrieve", item_id=item_id, event_id="evt_gone")
        missing = recv(ws)
    assert (added["type"], done["type"]) == ("conversation.item.added", "conversation.item.done")
    assert added["previous_item_id"] is None
    assert added["item"]["content"] == item["content"]
    assert added["item"]["object"] == "realtime.item"
    assert retrieved["type"] == "conversation.item.retrieved"
    assert retrieved["item"]["id"] == item_id
    assert truncated == {
        **truncated,
        "type": "conversation.item.truncated",
        "item_id": assistant["id"],
        "content_index": 0,
        "audio_end_ms": 200,
    }
    assert deleted["type"] == "conversation.item.deleted"
    assert deleted["item_id"] == item_id
    assert missing["type"] == "error"
    assert missing["error"]["param"] == "item_id"
    assert missing["error"]["event_id"] == "evt_gone"


def test_previous_item_id_places_an_item(openai_mock: MockServer) -> None:
    first = {
        "type": "message",
        "role": "system",
        "content": [{"type": "input_text", "text": "Rules."}],
    }
    with session(openai_mock) as ws:
        send(ws, type="conversation.item.create", item=first)
        first_id = recv(ws)["item"]["id"]
        recv(ws)
        send(ws, type="conversation.item.create", item=first, previous_item_id=first_id)
        second = recv(ws)
        assert recv(ws)["type"] == "conversation.item.done"
        send(ws, type="conversation.item.create", item=first, previous_item_id="item_nope")
        error = recv(ws)
        send(ws, type="conversation.item.create", item=first, previous_item_id=[first_id])
        wrong_type = recv(ws)
        send(ws, type="response.cancel", response_id={"id": 1})
        cancel_type = recv(ws)
    assert second["previous_item_id"] == first_id
    assert error["error"]["param"] == "previous_item_id"
    assert wrong_type["error"]["code"] == "invalid_type"
    assert wrong_type["error"]["param"] == "previous_item_id"
    assert cancel_type["error"]["param"] == "response_id"


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "nonsense"}, "item.type"),
        ({"type": "message", "role": "user"}, "item.content"),
        (
            {"type": "message", "role": "user", "content": [{"type": "output_text"}]},
            "item.content.0.type",
        ),
        ({"type": "function_call_output", "output": "x"}, "item.call_id"),
        ({"type": "message", "role": ["user"], "content": []}, "item.role"),
        ({"type": "function_call_output", "call_id": 7, "output": "x"}, "item.call_id"),
        ({"type": "function_call", "name": "f", "arguments": {}}, "item.arguments"),
        ({"id": ["x"], "type": "message", "role": "user", "content": []}, "item.id"),
    ],
)
def test_an_invalid_item_is_an_error_naming_param(
    openai_mock: MockServer, item: dict[str, Any], param: str
) -> None:
    with session(openai_mock) as ws:
        send(ws, type="conversation.item.create", item=item)
        error = recv(ws)
    assert error["type"] == "error"
    assert error["error"]["param"] == param


# -- responses ---------------------------------------------------------------------------------


TEXT_TURN = [
    "response.created",
    "rate_limits.updated",
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


def collapse(kinds: list[str]) -> list[str]:
    """Event types with runs of the same type shown once."""
    return [kind for index, kind in enumerate(kinds) if index == 0 or kinds[index - 1] != kind]


def test_a_text_turn_in_the_services_order(openai_mock: MockServer) -> None:
    openai_mock.realtime.script_reply("Two plus two is four.")
    with session(openai_mock) as ws:
        text_session(ws)
        send(ws, type="response.create")
        events = until(ws, "response.done")
    assert collapse(types(events)) == TEXT_TURN
    deltas = [event["delta"] for event in events if event["type"].endswith("text.delta")]
    assert "".join(deltas) == "Two plus two is four."
    done = events[-1]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"] == [
        {"type": "output_text", "text": "Two plus two is four."}
    ]
    assert done["usage"]["total_tokens"] == (
        done["usage"]["input_tokens"] + done["usage"]["output_tokens"]
    )
    assert done["id"] == events[0]["response"]["id"]
    assert {event.get("response_id", done["id"]) for event in events} == {done["id"]}


def test_an_audio_turn_carries_pcm16_at_24_khz_and_its_transcript(
    openai_mock: MockServer,
) -> None:
    openai_mock.realtime.script_reply("Hello there.")
    with session(openai_mock) as ws:
        send(ws, type="response.create")
        events = until(ws, "response.done")
    kinds = types(events)
    assert "response.output_text.delta" not in kinds
    assert kinds.index("response.output_audio.done") < kinds.index(
        "response.output_audio_transcript.done"
    )
    transcript = "".join(
        e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
    )
    assert transcript == "Hello there."
    audio = b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )
    assert len(audio) == 2 * 2400 * 2  # two words, 100 ms of 24 kHz 16-bit mono each
    samples = struct.unpack(f"<{len(audio) // 2}h", audio)
    assert max(samples) > 5000 and min(samples) < -5000  # a tone, not silence
    done = events[-1]["response"]
    assert done["output_modalities"] == ["audio"]
    assert done["output"][0]["content"][0]["type"] == "output_audio"
    assert done["output"][0]["content"][0]["transcript"] == "Hello there."


def test_response_output_modalities_override_the_session(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        send(ws, type="response.create", response={"output_modalities": ["text"]})
        events = until(ws, "response.done")
        send(
            ws, type="response.create", event_id="evt_m", response={"output_modalities": ["video"]}
        )
        error = recv(ws)
    assert "response.output_text.delta" in types(events)
    assert error["error"]["param"] == "response.output_modalities"
    assert error["error"]["event_id"] == "evt_m"


def test_an_out_of_band_response_stays_out_of_the_conversation(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        text_session(ws)
        send(
            ws,
            type="response.create",
            response={"conversation": "none", "metadata": {"topic": "x"}},
        )
        events = until(ws, "response.done")
    assert "conversation.item.added" not in types(events)
    assert "conversation_id" not in events[-1]["response"]
    assert events[-1]["response"]["metadata"] == {"topic": "x"}


def test_function_calling_round_trip(openai_mock: MockServer) -> None:
    call_id = openai_mock.realtime.script_tool_call("get_weather", {"city": "Paris"})
    with session(openai_mock) as ws:
        text_session(ws)
        send(ws, type="response.create")
        events = until(ws, "response.done")
        send(
            ws,
            type="conversation.item.create",
            item={"type": "function_call_output", "call_id": call_id, "output": '{"temp": 21}'},
        )
        assert types([recv(ws), recv(ws)]) == ["conversation.item.added", "conversation.item.done"]
        send(ws, type="response.create")
        answer = until(ws, "response.done")
    assert collapse(types(events)) == [
        "response.created",
        "rate_limits.updated",
        "response.output_item.added",
        "conversation.item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    arguments = "".join(
        e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"
    )
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert json.loads(arguments) == {"city": "Paris"}
    assert (done["name"], done["call_id"], done["arguments"]) == ("get_weather", call_id, arguments)
    item = events[-1]["response"]["output"][0]
    assert item["type"] == "function_call" and item["status"] == "completed"
    said = answer[-1]["response"]["output"][0]["content"][0]["text"]
    assert '{"temp": 21}' in said
    assert "get_weather" in said


def test_a_second_response_while_one_is_active_is_refused(openai_mock: MockServer) -> None:
    openai_mock.realtime.set_pace(0.05)
    with session(openai_mock) as ws:
        text_session(ws)
        send(ws, type="response.create", event_id="evt_1")
        created = recv(ws)
        send(ws, type="response.create", event_id="evt_2")
        events = until(ws, "response.done")
    errors = [event for event in events if event["type"] == "error"]
    assert len(errors) == 1
    assert errors[0]["error"]["code"] == "conversation_already_has_active_response"
    assert errors[0]["error"]["event_id"] == "evt_2"
    assert created["response"]["id"] in errors[0]["error"]["message"]
    assert events[-1]["response"]["status"] == "completed"


def test_response_cancel_ends_an_active_response_as_cancelled(openai_mock: MockServer) -> None:
    openai_mock.realtime.set_pace(0.05)
    with session(openai_mock) as ws:
        text_session(ws)
        send(ws, type="response.cancel", event_id="evt_idle")
        idle = recv(ws)
        send(ws, type="response.create")
        created = recv(ws)
        send(ws, type="response.cancel", response_id=created["response"]["id"])
        events = until(ws, "response.done")
    assert idle["error"]["code"] == "response_cancel_not_active"
    assert idle["error"]["event_id"] == "evt_idle"
    done = events[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert done["output"][0]["status"] == "incomplete"


def test_a_held_tool_call_response_stays_active_until_it_is_cancelled(
    openai_mock: MockServer,
) -> None:
    openai_mock.realtime.script_tool_call("get_weather", {"city": "Paris"}, hold_until_cancel=True)
    with session(openai_mock) as ws:
        text_session(ws)
        send(ws, type="response.create")
        called = until(ws, "response.function_call_arguments.done")
        send(ws, type="response.create", event_id="evt_2")  # still active: refused
        refused = recv(ws)
        send(ws, type="response.cancel")
        ended = until(ws, "response.done")
    assert "response.done" not in types(called)
    assert refused["error"]["code"] == "conversation_already_has_active_response"
    assert types(ended) == ["response.output_item.done", "conversation.item.done", "response.done"]
    assert ended[-1]["response"]["status"] == "cancelled"


# -- input audio -------------------------------------------------------------------------------


def test_append_commit_transcribes_what_the_test_scripted(openai_mock: MockServer) -> None:
    openai_mock.realtime.script_transcription("What's the weather in Paris?")
    with session(openai_mock) as ws:
        send(ws, type="input_audio_buffer.append", audio=SECOND_OF_SILENCE)
        send(ws, type="input_audio_buffer.commit")
        events = until(ws, "conversation.item.input_audio_transcription.completed")
        send(ws, type="conversation.item.retrieve", item_id=events[0]["item_id"])
        retrieved = recv(ws)
    assert collapse(types(events)) == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
    ]
    assert events[1]["item"]["role"] == "user"
    assert events[-1]["transcript"] == "What's the weather in Paris?"
    assert events[-1]["usage"] == {"type": "duration", "seconds": 1.0}
    assert retrieved["item"]["content"][0]["audio"] == SECOND_OF_SILENCE
    assert retrieved["item"]["content"][0]["transcript"] == "What's the weather in Paris?"


def test_a_session_with_transcription_transcribes_every_commit(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        send(
            ws,
            type="session.update",
            session={
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
            },
        )
        recv(ws)
        send(ws, type="input_audio_buffer.append", audio=SECOND_OF_SILENCE)
        send(ws, type="input_audio_buffer.commit")
        events = until(ws, "conversation.item.input_audio_transcription.completed")
    assert events[-1]["transcript"]


def test_a_commit_without_transcription_sends_no_transcript(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        send(ws, type="input_audio_buffer.append", audio=SECOND_OF_SILENCE)
        send(ws, type="input_audio_buffer.commit")
        events = [recv(ws), recv(ws), recv(ws)]
        send(ws, type="input_audio_buffer.clear")
        cleared = recv(ws)
    assert types(events) == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert cleared["type"] == "input_audio_buffer.cleared"


def test_a_commit_under_100_ms_is_input_audio_buffer_commit_empty(
    openai_mock: MockServer,
) -> None:
    with session(openai_mock) as ws:
        send(ws, type="input_audio_buffer.append", audio=base64.b64encode(bytes(4700)).decode())
        send(ws, type="input_audio_buffer.commit", event_id="evt_c")
        error = recv(ws)
        send(ws, type="input_audio_buffer.append", audio="not base64!", event_id="evt_a")
        bad = recv(ws)
        send(ws, type="input_audio_buffer.clear")
        cleared = recv(ws)
        send(ws, type="input_audio_buffer.commit")
        empty = recv(ws)
    assert error["error"]["code"] == "input_audio_buffer_commit_empty"
    assert error["error"]["event_id"] == "evt_c"
    assert "97.92ms" in error["error"]["message"]
    assert (bad["error"]["param"], bad["error"]["event_id"]) == ("audio", "evt_a")
    assert cleared["type"] == "input_audio_buffer.cleared"
    assert empty["error"]["code"] == "input_audio_buffer_commit_empty"


def test_a_15_mib_append_is_taken(openai_mock: MockServer) -> None:
    audio = base64.b64encode(bytes(15 * 1024 * 1024 // 4 * 3)).decode()  # ~15 MiB of JSON
    with session(openai_mock) as ws:
        send(ws, type="input_audio_buffer.append", audio=audio)
        send(ws, type="input_audio_buffer.commit")
        committed = recv(ws)
    assert committed["type"] == "input_audio_buffer.committed"


def test_output_audio_buffer_clear_names_the_last_response(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        send(ws, type="output_audio_buffer.clear", event_id="evt_o")
        early = recv(ws)
        send(ws, type="response.create")
        response_id = until(ws, "response.done")[-1]["response"]["id"]
        send(ws, type="output_audio_buffer.clear")
        cleared = recv(ws)
    assert early["error"]["event_id"] == "evt_o"
    assert cleared == {**cleared, "type": "output_audio_buffer.cleared", "response_id": response_id}


# -- protocol errors ---------------------------------------------------------------------------


def test_an_unknown_event_type_is_an_error_naming_type(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        send(ws, type="response.teleport", event_id="evt_u")
        error = recv(ws)
        send(ws, event_id="evt_t")
        untyped = recv(ws)
        ws.send("[1, 2]")
        not_object = recv(ws)
    assert error["error"]["param"] == "type"
    assert error["error"]["event_id"] == "evt_u"
    assert "response.teleport" in error["error"]["message"]
    assert untyped["error"]["code"] == "missing_required_parameter"
    assert untyped["error"]["event_id"] == "evt_t"
    assert not_object["error"]["code"] == "invalid_type"


def test_invalid_json_is_an_error_and_the_session_stays_open(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        ws.send('{"type": "session.update", ')
        error = recv(ws)
        text_session(ws)
    assert error["type"] == "error"
    assert error["error"]["code"] == "invalid_json"
    assert error["error"]["event_id"] is None


# -- observing and driving ---------------------------------------------------------------------


def test_received_keeps_what_the_client_sent_and_push_reaches_it(
    openai_mock: MockServer,
) -> None:
    with session(openai_mock) as ws:
        send(ws, type="input_audio_buffer.clear", event_id="evt_mine")
        recv(ws)
        assert len(openai_mock.realtime.sessions) == 1
        reached = openai_mock.realtime.push({"type": "brand.new.event", "detail": 1})
        pushed = recv(ws)
    assert openai_mock.realtime.received == [
        {"type": "input_audio_buffer.clear", "event_id": "evt_mine"}
    ]
    assert reached == 1
    assert pushed["type"] == "brand.new.event" and pushed["detail"] == 1
    assert pushed["event_id"].startswith("event_")


# -- translation -------------------------------------------------------------------------------


def test_a_translation_session(openai_mock: MockServer) -> None:
    openai_mock.realtime.script_translation("Good morning", "Bonjour")
    with session(
        openai_mock, "/realtime/translations", model="gpt-realtime-translate", skip_created=False
    ) as ws:
        created = recv(ws)
        send(ws, type="session.update", session={"audio": {"output": {"language": "fr"}}})
        updated = recv(ws)
        send(ws, type="session.update", event_id="evt_x", session={"voice": "marin"})
        refused = recv(ws)
        send(ws, type="session.input_audio_buffer.append", audio=SECOND_OF_SILENCE)
        heard = [recv(ws) for _ in range(4)]
        send(ws, type="session.close")
        closed = recv(ws)
        with pytest.raises(websockets.ConnectionClosedOK):
            ws.recv(timeout=TIMEOUT)
    assert created["session"]["type"] == "translation"
    assert created["session"]["model"] == "gpt-realtime-translate"
    assert updated["session"]["audio"]["output"]["language"] == "fr"
    assert refused["error"]["param"] == "session.voice"
    assert types(heard) == [
        "session.input_transcript.delta",
        "session.output_transcript.delta",
        "session.output_audio.delta",
        "session.input_transcript.delta",
    ]
    assert heard[1]["delta"] == "Bonjour"
    assert heard[2]["sample_rate"] == 24000 and heard[2]["format"] == "pcm16"
    assert closed["type"] == "session.closed"


def test_a_translation_key_opens_its_session(openai_mock: MockServer) -> None:
    key = mint(
        openai_mock,
        {"session": {"model": "gpt-realtime-translate", "audio": {"output": {"language": "de"}}}},
        "/realtime/translations/client_secrets",
    )
    with session(openai_mock, "/realtime/translations", key=key, skip_created=False) as ws:
        created = recv(ws)
    assert created["session"]["audio"]["output"]["language"] == "de"


def test_clear_forgets_scripts_faults_and_received_events(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        send(ws, type="input_audio_buffer.clear")
        recv(ws)
    openai_mock.realtime.script_reply("Scripted.")
    openai_mock.realtime.drop()
    openai_mock.realtime.set_pace(1.0)
    openai_mock.clear()
    with session(openai_mock) as ws:  # not dropped
        text_session(ws)
        send(ws, type="response.create")
        done = until(ws, "response.done")[-1]
    assert done["response"]["output"][0]["content"][0]["text"] != "Scripted."
    assert openai_mock.realtime.received == [
        {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}},
        {"type": "response.create"},
    ]
    assert openai_mock.realtime.pace == 0.0


def test_the_key_stays_out_of_websockets_debug_log(
    openai_mock: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="websockets")
    with session(openai_mock) as ws:
        text_session(ws)
    mock_side = [r.getMessage() for r in caplog.records if r.name == "websockets.server"]
    assert any("Sec-WebSocket-Key" in line for line in mock_side)  # headers were logged
    assert not any(KEY in line for line in mock_side)


def tone(milliseconds: int, amplitude: float = 0.3) -> bytes:
    """PCM16 at 24 kHz: a 440 Hz tone loud enough to be speech."""
    samples = 24 * milliseconds
    peak = amplitude * 32767
    return struct.pack(
        f"<{samples}h",
        *(round(peak * math.sin(2 * math.pi * 440 * n / 24000)) for n in range(samples)),
    )


def append(ws: ClientConnection, pcm: bytes) -> None:
    send(ws, type="input_audio_buffer.append", audio=base64.b64encode(pcm).decode())


def test_server_vad_hears_a_turn_commits_it_and_answers(openai_mock: MockServer) -> None:
    openai_mock.realtime.script_reply("I heard you.")
    with session(openai_mock) as ws:
        append(ws, bytes(4800))  # 100 ms of silence first
        append(ws, tone(300))
        started = recv(ws)
        append(ws, bytes(14400))  # 300 ms of silence ends the turn after 200 ms
        events = until(ws, "response.done")
    assert started["type"] == "input_audio_buffer.speech_started"
    assert started["audio_start_ms"] == 0  # 100 ms in, minus 300 ms of prefix padding
    assert collapse(types(events))[:5] == [
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
    ]
    assert events[0]["audio_end_ms"] == 600
    assert events[0]["item_id"] == started["item_id"] == events[1]["item_id"]
    assert events[-1]["response"]["output"][0]["content"][0]["transcript"] == "I heard you."


def test_speech_interrupts_an_active_response(openai_mock: MockServer) -> None:
    openai_mock.realtime.set_pace(0.05)
    with session(openai_mock) as ws:
        send(ws, type="response.create")
        assert recv(ws)["type"] == "response.created"
        append(ws, tone(100))
        events = until(ws, "response.done")
    assert "input_audio_buffer.speech_started" in types(events)
    done = events[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"]["reason"] == "turn_detected"


def test_without_turn_detection_loud_audio_waits_for_a_commit(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        send(
            ws,
            type="session.update",
            session={"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        )
        recv(ws)
        append(ws, tone(300) + bytes(24000))
        send(ws, type="input_audio_buffer.commit")
        committed = recv(ws)
    assert committed["type"] == "input_audio_buffer.committed"


def test_pings_are_answered(openai_mock: MockServer) -> None:
    with session(openai_mock) as ws:
        assert ws.ping(b"keepalive").wait(TIMEOUT)


def test_a_message_over_the_limit_is_closed_with_1009(openai_mock: MockServer) -> None:
    from openapiopenai.mock._ws_transport import MAX_MESSAGE_BYTES

    with session(openai_mock) as ws:
        ws.send("x" * (MAX_MESSAGE_BYTES + 1))
        with pytest.raises(websockets.ConnectionClosedError) as closed:
            ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
