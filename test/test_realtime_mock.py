"""The SDK's Realtime connection against the package's mock: whole turns, tools, sideband, and
every client and server event type through a real socket."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.exceptions import ApiValidationError, RealtimeConnectionClosedError
from openapiopenai.mock import MockServer
from openapiopenai.models import (
    RealtimeClientEvent,
    RealtimeServerEvent,
    RealtimeServerEventError,
    RealtimeServerEventResponseAudioDelta,
    RealtimeServerEventResponseDone,
    RealtimeServerEventResponseFunctionCallArgumentsDone,
    RealtimeServerEventSessionCreated,
    RealtimeTranslationServerEvent,
    RealtimeTranslationServerEventSessionOutputAudioDelta,
)
from openapiopenai.models.openapi_model import OpenApiModel
from openapiopenai.realtime import RealtimeConnection, UnknownServerEvent
from openapiopenai.realtime._protocol import event_classes
from test.conftest import API_KEY

SPEC = "spec/realtime-ga.openapi.yaml"


@pytest.fixture
def api(openai_mock: MockServer) -> Iterator[RealtimeApi]:
    configuration = Configuration(host=openai_mock.url, access_token=API_KEY, retries=0)
    with ApiClient(configuration) as client:
        yield RealtimeApi(client)


def _until(conn: RealtimeConnection, kind: type[OpenApiModel]) -> list[OpenApiModel]:
    """Events up to and including the first of class ``kind``."""
    events: list[OpenApiModel] = []
    for event in conn:
        events.append(event)
        if isinstance(event, kind):
            return events
    raise AssertionError(f"the connection closed before {kind.__name__}")


def _text_session(conn: RealtimeConnection) -> None:
    assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)
    conn.session.update({"type": "realtime", "output_modalities": ["text"]})
    conn.recv()


def test_a_text_turn(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.realtime.script_reply("Hello from the mock.")
    with api.connect(model="gpt-realtime", receive_timeout=10) as conn:
        _text_session(conn)
        conn.conversation.item.create(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
        )
        conn.response.create()
        events = _until(conn, RealtimeServerEventResponseDone)

    assert not [event for event in events if isinstance(event, UnknownServerEvent)]
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")  # type: ignore[attr-defined]
    assert text == "Hello from the mock."
    assert events[-1].response.status == "completed"  # type: ignore[attr-defined]


def test_an_audio_turn_gives_pcm_bytes(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.realtime.script_reply("Spoken words.")
    with api.connect(model="gpt-realtime", receive_timeout=10) as conn:
        conn.recv()
        conn.input_audio_buffer.append(b"\x00\x00" * 4800)  # 200 ms of silence
        conn.input_audio_buffer.commit()
        conn.response.create({"output_modalities": ["audio"]})
        events = _until(conn, RealtimeServerEventResponseDone)

    audio = b"".join(
        e.delta_bytes for e in events if isinstance(e, RealtimeServerEventResponseAudioDelta)
    )
    transcript = "".join(
        e.delta  # type: ignore[attr-defined]
        for e in events
        if e.type == "response.output_audio_transcript.delta"
    )
    assert len(audio) > 0 and len(audio) % 2 == 0
    assert transcript == "Spoken words."
    assert not [event for event in events if isinstance(event, UnknownServerEvent)]


def test_a_function_call_round_trip(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.realtime.script_tool_call("get_weather", {"city": "Paris"})
    with api.connect(model="gpt-realtime", receive_timeout=10) as conn:
        _text_session(conn)
        conn.response.create()
        events = _until(conn, RealtimeServerEventResponseDone)
        call = next(
            e for e in events if isinstance(e, RealtimeServerEventResponseFunctionCallArgumentsDone)
        )
        conn.conversation.item.create(
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": 21}'}
        )
        conn.response.create()
        answer = _until(conn, RealtimeServerEventResponseDone)

    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Paris"})
    said = answer[-1].to_dict()["response"]["output"][0]["content"][0]["text"]
    assert '{"temp": 21}' in said


def test_a_sideband_drives_an_accepted_sip_call(api: RealtimeApi, openai_mock: MockServer) -> None:
    call_id = openai_mock.incoming_call()
    api.accept_realtime_call(call_id, {"type": "realtime", "model": "gpt-realtime"})
    with api.connect(call_id=call_id, receive_timeout=10) as conn:
        created = conn.recv()
        conn.session.update({"type": "realtime", "instructions": "Be brief."})
        updated = conn.recv()

    assert isinstance(created, RealtimeServerEventSessionCreated)
    assert updated.to_dict()["session"]["instructions"] == "Be brief."


def test_an_error_event_leads_back_to_its_cause(api: RealtimeApi, openai_mock: MockServer) -> None:
    with api.connect(model="gpt-realtime", receive_timeout=10) as conn:
        conn.recv()
        sent = conn.conversation.item.delete("item_does_not_exist")
        error = conn.recv()
        assert isinstance(error, RealtimeServerEventError)
        cause = conn.sent_event(error.error.event_id)

    assert error.error.event_id == sent
    assert cause is not None and cause.to_dict()["item_id"] == "item_does_not_exist"
    assert conn.sent_event(sent) is None  # closing lets go of what was sent


def test_a_drop_from_the_mock_raises_1006(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.realtime.drop()
    with (
        api.connect(model="gpt-realtime", receive_timeout=10) as conn,
        pytest.raises(RealtimeConnectionClosedError) as raised,
    ):
        list(conn)
    assert raised.value.code == 1006


def test_a_hung_mock_still_lets_close_return(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.realtime.hang()
    conn = api.connect(model="gpt-realtime", receive_timeout=10)
    conn.recv()
    conn.close()
    assert conn.close_code is not None


# -- every event type --------------------------------------------------------------------------


def _spec_examples() -> dict[str, dict[str, Any]]:
    """The spec's example of each event, by its schema name (trailing commas, which four of
    them have, removed; the DTMF example's stray space in ``type`` too)."""
    from codegen.spec import load_specs

    document = next(s.document for s in load_specs() if s.file == SPEC.split("/")[1])
    examples = {}
    for name, schema in document["components"]["schemas"].items():
        example = (schema.get("x-oaiMeta") or {}).get("example")
        if example and "Event" in name:
            cleaned = re.sub(r",(\s*[}\]])", r"\1", example)
            try:
                parsed = json.loads(cleaned)
            except ValueError:
                continue  # not JSON (a commented JavaScript sample)
            parsed["type"] = parsed["type"].strip()
            examples[name] = parsed
    return examples


@pytest.mark.parametrize(
    ("union", "translation"),
    [(RealtimeServerEvent, False), (RealtimeTranslationServerEvent, True)],
    ids=["conversation", "translation"],
)
def test_every_server_event_type_arrives_as_its_class(
    api: RealtimeApi, openai_mock: MockServer, union: Any, translation: bool
) -> None:
    examples = _spec_examples()
    classes = event_classes(union)
    connect = (
        (lambda: api.connect_translation(model="gpt-realtime-translate", receive_timeout=10))
        if translation
        else (lambda: api.connect(model="gpt-realtime", receive_timeout=10))
    )
    with connect() as conn:
        conn.recv()  # session.created
        received = []
        for model in classes.values():
            example = {"event_id": "event_pushed", **examples[model.__name__]}
            assert openai_mock.realtime.push(example) == 1
            received.append((model, example, conn.recv()))

    assert len(received) == len(classes) >= (6 if translation else 40)
    for model, example, event in received:
        assert type(event) is model, model.__name__
        assert event.to_dict() == example, model.__name__


def test_every_client_event_type_is_sent_as_given(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    examples = _spec_examples()
    classes = event_classes(RealtimeClientEvent)
    with api.connect(model="gpt-realtime", receive_timeout=10) as conn:
        conn.recv()
        sent = {}
        for kind, model in classes.items():
            example = {**examples.get(model.__name__, {"type": kind}), "event_id": f"mine_{kind}"}
            try:
                conn.send(example)
            except ApiValidationError as refused:  # the spec's example breaks its own schema
                pytest.fail(f"{model.__name__}: {refused}")
            sent[example["event_id"]] = example
        conn.send({"type": "session.update", "session": {"type": "realtime"}, "event_id": "last"})
        # Every client event is answered, so reading keeps up until the last one has arrived.
        while not any(e.get("event_id") == "last" for e in openai_mock.realtime.received):
            conn.recv()

    received = {e["event_id"]: e for e in openai_mock.realtime.received if e.get("event_id")}
    for event_id, example in sent.items():
        assert received[event_id] == example, example["type"]
    assert len(sent) == len(classes) == 11


def test_a_transcription_session(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.realtime.script_transcription("Book a table for two.")
    with api.connect(intent="transcription", receive_timeout=10) as conn:
        created = conn.recv()
        conn.session.update(
            {
                "type": "transcription",
                "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
            }
        )
        conn.input_audio_buffer.append(b"\x00\x00" * 4800)
        conn.input_audio_buffer.commit()
        events = []
        for event in conn:
            events.append(event)
            if event.type == "conversation.item.input_audio_transcription.completed":
                break

    assert created.to_dict()["session"]["type"] == "transcription"
    assert not [event for event in events if isinstance(event, UnknownServerEvent)]
    assert events[-1].to_dict()["transcript"] == "Book a table for two."


def test_a_translation_session_gives_audio_bytes(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.realtime.script_translation("Good morning", "Bonjour")
    with api.connect_translation(model="gpt-realtime-translate", receive_timeout=10) as conn:
        conn.recv()
        conn.session.update({"audio": {"output": {"language": "fr"}}})
        conn.input_audio_buffer.append(b"\x00\x00" * 24000)  # one second
        conn.session.close()
        events = list(conn)  # the mock closes normally after session.closed

    audio = [
        e for e in events if isinstance(e, RealtimeTranslationServerEventSessionOutputAudioDelta)
    ]
    assert audio and all(len(e.delta_bytes) > 0 for e in audio)
    said = "".join(
        e.delta  # type: ignore[attr-defined]
        for e in events
        if e.type == "session.output_transcript.delta"
    )
    assert said == "Bonjour"
    assert events[-1].type == "session.closed"
    assert not [event for event in events if isinstance(event, UnknownServerEvent)]
