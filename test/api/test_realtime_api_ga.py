"""The GA operations of RealtimeApi: exact request bytes, media types, paths and answers.

Every call goes to the package's mock on 127.0.0.1, which records what arrived; answers are
scripted with ``respond_next`` so each test pins one exchange. Multipart bodies are parsed
with the standard library's MIME parser, not by hand.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import Iterator
from typing import Any

import pytest

import openapiopenai
from openapiopenai import (
    ApiClient,
    ApiTypeError,
    ApiValidationError,
    ApiValueError,
    Configuration,
    NotFoundException,
    RealtimeApi,
    RealtimeCallAnswer,
    UnexpectedResponseException,
)
from openapiopenai.mock import MockServer
from openapiopenai.models import (
    RealtimeCallReferRequest,
    RealtimeCallRejectRequest,
    RealtimeCreateClientSecretRequest,
    RealtimeCreateClientSecretResponse,
    RealtimeSessionCreateRequestGA,
    RealtimeSessionCreateResponseGA,
    RealtimeTranscriptionSessionCreateResponseGA,
)
from test.conftest import API_KEY, OFFER

ANSWER = "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
EPHEMERAL = "ek_68af296e8e408191a1120ab6383263c2"
GA_SESSION = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_C9CiUVUzUzYIssh3ELY1d",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "You are a friendly assistant.",
    "tools": [],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "tracing": None,
    "truncation": "auto",
    "prompt": None,
    "expires_at": 0,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 200,
                "idle_timeout_ms": None,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0},
    },
    "include": None,
}


@pytest.fixture
def api(openai_mock: MockServer) -> Iterator[RealtimeApi]:
    configuration = Configuration(
        host=openai_mock.url, access_token=API_KEY, retries=0, ignore_environment=True
    )
    with ApiClient(configuration) as client:
        yield RealtimeApi(client)


def _last(server: MockServer) -> Any:
    return server.requests[-1]


def _client_secret_answer(**session: Any) -> dict[str, Any]:
    return {"value": EPHEMERAL, "expires_at": 1893456000, "session": {**GA_SESSION, **session}}


# -- client secrets -------------------------------------------------------------------------


def test_client_secret_sends_exactly_what_was_set(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.respond_next(200, _client_secret_answer())
    request = RealtimeCreateClientSecretRequest(
        expires_after={"anchor": "created_at", "seconds": 120},
        session=RealtimeSessionCreateRequestGA(
            model="gpt-realtime", audio={"output": {"voice": "marin"}}
        ),
    )
    secret = api.create_realtime_client_secret(request)
    sent = _last(openai_mock)
    assert sent.path == "/v1/realtime/client_secrets"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json() == {
        "expires_after": {"anchor": "created_at", "seconds": 120},
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "audio": {"output": {"voice": "marin"}},
        },
    }
    assert isinstance(secret, RealtimeCreateClientSecretResponse)
    assert isinstance(secret.session, RealtimeSessionCreateResponseGA)
    assert secret.value == EPHEMERAL
    assert EPHEMERAL not in repr(secret) and EPHEMERAL not in str(secret)
    assert secret.expires_at_datetime.year == 2030


def test_client_secret_empty_request_is_an_empty_object(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.respond_next(200, _client_secret_answer())
    api.create_realtime_client_secret({})
    assert _last(openai_mock).body == b"{}"


def test_client_secret_dict_session_resolved_by_type(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.respond_next(
        200,
        {
            "value": EPHEMERAL,
            "expires_at": 1,
            "session": {
                "type": "transcription",
                "id": "sess_1",
                "object": "realtime.transcription_session",
            },
        },
    )
    secret = api.create_realtime_client_secret({"session": {"type": "transcription"}})
    assert _last(openai_mock).json() == {"session": {"type": "transcription"}}
    assert isinstance(secret.session, RealtimeTranscriptionSessionCreateResponseGA)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"session": {"model": "gpt-realtime"}}, "session"),
        (
            {"session": {"type": "realtime", "audio": {"output": {"speed": 2}}}},
            "session.audio.output.speed",
        ),
        ({"session": {"type": "realtime", "tool_choice": "sometimes"}}, "session.tool_choice"),
        ({"expires_after": {"anchor": "created_at", "seconds": 5}}, "expires_after.seconds"),
        ({"sesion": {}}, "sesion"),
    ],
)
def test_client_secret_bad_input_refused_before_io(
    api: RealtimeApi, openai_mock: MockServer, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ApiValidationError) as caught:
        api.create_realtime_client_secret(body)
    assert caught.value.errors[0].field == field
    assert openai_mock.requests == []


def test_client_secret_newer_server_values_never_break(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    newer = _client_secret_answer(
        tool_choice="a-new-mode",
        audio={
            "input": {"format": {"type": "audio/opus"}, "turn_detection": {"type": "future_vad"}},
            "output": {"voice": "a-new-voice", "speed": 4.0},
        },
        brand_new_field={"x": 1},
    )
    openai_mock.respond_next(200, newer)
    secret = api.create_realtime_client_secret({})
    assert secret.to_dict()["session"] == newer["session"]
    assert secret.session.additional_properties == {"brand_new_field": {"x": 1}}


def test_client_secret_with_http_info(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.respond_next(200, _client_secret_answer(), {"x-request-id": "req_42"})
    info = api.create_realtime_client_secret_with_http_info({})
    assert info.status_code == 200 and info.request_id == "req_42"
    assert info.data.value == EPHEMERAL
    assert EPHEMERAL not in repr(info)


def test_translation_and_transcription_endpoints(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.respond_next(
        200,
        {
            "value": EPHEMERAL,
            "expires_at": 1,
            "session": {
                "id": "sess_1",
                "type": "translation",
                "expires_at": 1,
                "model": "gpt-realtime-translate",
                "audio": {"output": {"language": "es"}},
            },
        },
    )
    translation = api.create_realtime_translation_client_secret(
        {"session": {"model": "gpt-realtime-translate", "audio": {"output": {"language": "es"}}}}
    )
    assert _last(openai_mock).path == "/v1/realtime/translations/client_secrets"
    assert translation.session.model == "gpt-realtime-translate"
    assert EPHEMERAL not in repr(translation)

    openai_mock.respond_next(200, {"client_secret": {"value": EPHEMERAL, "expires_at": 1}})
    transcription = api.create_realtime_transcription_session({})
    assert _last(openai_mock).path == "/v1/realtime/transcription_sessions"
    assert transcription.client_secret is not None
    assert transcription.client_secret.value == EPHEMERAL
    assert EPHEMERAL not in repr(transcription)

    openai_mock.respond_next(
        200, {"client_secret": None, "object": "realtime.transcription_session"}
    )
    assert api.create_realtime_transcription_session({}).client_secret is None


# -- calls ----------------------------------------------------------------------------------


def test_call_with_only_sdp_sends_application_sdp(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.respond_next(
        201,
        ANSWER,
        {"Content-Type": "application/sdp", "Location": "/v1/realtime/calls/rtc_abc123"},
    )
    answer = api.create_realtime_call(OFFER)
    sent = _last(openai_mock)
    assert sent.path == "/v1/realtime/calls"
    assert sent.headers["Content-Type"] == "application/sdp"
    assert sent.headers["Accept"] == "application/sdp"
    assert sent.body == OFFER.encode()
    assert isinstance(answer, RealtimeCallAnswer) and isinstance(answer, str)
    assert answer == ANSWER
    assert answer.call_id == "rtc_abc123"


def test_call_with_session_sends_multipart(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.respond_next(
        201, ANSWER, {"Content-Type": "application/sdp", "Location": "/v1/realtime/calls/rtc_x"}
    )
    answer = api.create_realtime_call(
        OFFER, session={"model": "gpt-realtime", "audio": {"output": {"voice": "cedar"}}}
    )
    sent = _last(openai_mock)
    content_type = sent.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + sent.body
    )
    parts = {
        part.get_param("name", header="content-disposition"): part for part in message.iter_parts()
    }
    assert set(parts) == {"sdp", "session"}
    assert parts["sdp"].get_content_type() == "application/sdp"
    assert parts["sdp"].get_payload(decode=True).decode() == OFFER
    assert parts["session"].get_content_type() == "application/json"
    assert json.loads(parts["session"].get_payload(decode=True)) == {
        "type": "realtime",
        "model": "gpt-realtime",
        "audio": {"output": {"voice": "cedar"}},
    }
    assert answer.call_id == "rtc_x"


@pytest.mark.parametrize(
    ("sdp", "session", "error"),
    [
        ("", None, ApiValueError),
        ("   ", None, ApiValueError),
        (b"v=0", None, ApiTypeError),
        (OFFER, {"type": "transcription"}, ApiValidationError),
        (OFFER, {"voice": "marin"}, ApiValidationError),
        (OFFER, ["not", "a", "session"], ApiTypeError),
    ],
)
def test_call_bad_arguments_refused_before_io(
    api: RealtimeApi, openai_mock: MockServer, sdp: Any, session: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        api.create_realtime_call(sdp, session=session)
    assert openai_mock.requests == []


def test_call_answer_that_is_not_sdp_is_unexpected(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.respond_next(201, {"not": "sdp"}, {"Content-Type": "application/json"})
    with pytest.raises(UnexpectedResponseException) as caught:
        api.create_realtime_call(OFFER)
    assert caught.value.status == 201


def test_call_without_location_has_no_call_id(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.respond_next(201, ANSWER, {"Content-Type": "application/sdp"})
    assert api.create_realtime_call(OFFER).call_id is None


def test_call_with_http_info(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.respond_next(
        201, ANSWER, {"Content-Type": "application/sdp", "Location": "/v1/realtime/calls/rtc_y"}
    )
    info = api.create_realtime_call_with_http_info(OFFER)
    assert info.status_code == 201
    assert info.data.call_id == "rtc_y"
    assert info.headers is not None and info.headers["Location"].endswith("rtc_y")


def test_accept_sends_the_session(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.respond_next(200, b"")
    result = api.accept_realtime_call(
        "rtc_123", RealtimeSessionCreateRequestGA(model="gpt-realtime", instructions="Hi")
    )
    sent = _last(openai_mock)
    assert result is None
    assert sent.path == "/v1/realtime/calls/rtc_123/accept"
    assert sent.json() == {"type": "realtime", "model": "gpt-realtime", "instructions": "Hi"}


def test_hangup_sends_no_body(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.respond_next(200, b"")
    assert api.hangup_realtime_call("rtc_123") is None
    sent = _last(openai_mock)
    assert sent.path == "/v1/realtime/calls/rtc_123/hangup"
    assert sent.body == b""
    assert "Content-Type" not in sent.headers


def test_refer_and_reject(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.respond_next(200, b"")
    api.refer_realtime_call("rtc_1", RealtimeCallReferRequest(target_uri="tel:+14155550123"))
    assert _last(openai_mock).json() == {"target_uri": "tel:+14155550123"}

    openai_mock.respond_next(200, b"")
    api.reject_realtime_call("rtc_1")
    sent = _last(openai_mock)
    assert sent.path == "/v1/realtime/calls/rtc_1/reject"
    assert sent.body == b""  # no status invented: the service defaults to 603

    openai_mock.respond_next(200, b"")
    api.reject_realtime_call("rtc_1", RealtimeCallRejectRequest(status_code=486))
    assert _last(openai_mock).json() == {"status_code": 486}


@pytest.mark.parametrize(
    ("call", "body"),
    [
        ("refer_realtime_call", {}),
        ("refer_realtime_call", {"target_uri": 5}),
        ("reject_realtime_call", {"status_code": "486"}),
        ("reject_realtime_call", {"reason": "busy"}),
    ],
)
def test_call_control_bad_bodies_refused_before_io(
    api: RealtimeApi, openai_mock: MockServer, call: str, body: dict[str, Any]
) -> None:
    with pytest.raises(ApiValidationError):
        getattr(api, call)("rtc_1", body)
    assert openai_mock.requests == []


@pytest.mark.parametrize(
    ("call_id", "path"),
    [
        ("../client_secrets", "/v1/realtime/calls/..%2Fclient_secrets/hangup"),
        ("..", "/v1/realtime/calls/%2E%2E/hangup"),
        (".", "/v1/realtime/calls/%2E/hangup"),
        ("rtc 1?x=1#y", "/v1/realtime/calls/rtc%201%3Fx%3D1%23y/hangup"),
        ("rtc_%2F", "/v1/realtime/calls/rtc_%252F/hangup"),
    ],
)
def test_call_id_is_always_one_path_segment(
    api: RealtimeApi, openai_mock: MockServer, call_id: str, path: str
) -> None:
    openai_mock.respond_next(200, b"")
    api.hangup_realtime_call(call_id)
    assert _last(openai_mock).path == path


@pytest.mark.parametrize(
    ("call_id", "error"), [("", ApiValueError), (None, ApiTypeError), (42, ApiTypeError)]
)
def test_missing_call_id_refused_before_io(
    api: RealtimeApi, openai_mock: MockServer, call_id: Any, error: type[Exception]
) -> None:
    for call in (
        lambda: api.hangup_realtime_call(call_id),
        lambda: api.accept_realtime_call(call_id, {}),
        lambda: api.refer_realtime_call(call_id, {"target_uri": "tel:+1"}),
        lambda: api.reject_realtime_call(call_id),
    ):
        with pytest.raises(error):
            call()
    assert openai_mock.requests == []


def test_unknown_call_is_a_typed_error_with_request_id(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.fail_next(status=404, message="Call not found", headers={"x-request-id": "req_9"})
    with pytest.raises(NotFoundException) as caught:
        api.hangup_realtime_call("rtc_gone")
    assert caught.value.request_id == "req_9"
    assert "Call not found" in str(caught.value)


def test_call_control_is_retried_like_every_operation(openai_mock: MockServer) -> None:
    configuration = Configuration(
        host=openai_mock.url, access_token=API_KEY, retries=1, ignore_environment=True
    )
    openai_mock.fail_next(status=503, headers={"retry-after-ms": "1"})
    openai_mock.respond_next(200, b"")
    with ApiClient(configuration) as client:
        RealtimeApi(client).hangup_realtime_call("rtc_1")
    assert [r.path for r in openai_mock.requests] == ["/v1/realtime/calls/rtc_1/hangup"] * 2


def test_per_call_options_apply(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.respond_next(200, b"")
    api.hangup_realtime_call("rtc_1", _headers={"X-Trace": "t1"}, _request_auth="sk-other")
    sent = _last(openai_mock)
    assert sent.headers["X-Trace"] == "t1"
    assert sent.headers["Authorization"] == "Bearer sk-other"


def test_unknown_option_is_a_type_error(api: RealtimeApi, openai_mock: MockServer) -> None:
    with pytest.raises(ApiTypeError, match="_request_timout"):
        api.hangup_realtime_call("rtc_1", _request_timout=3)  # type: ignore[call-arg]
    assert openai_mock.requests == []


def test_content_type_option_only_for_json_bodies(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    with pytest.raises(ApiValueError, match="JSON body"):
        api.create_realtime_call(OFFER, _content_type="application/json")
    assert openai_mock.requests == []


def test_without_preload_content_returns_the_raw_response(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.respond_next(201, ANSWER, {"Content-Type": "application/sdp"})
    raw = api.create_realtime_call_without_preload_content(OFFER)
    try:
        assert raw.status == 201
        assert raw.read() == ANSWER.encode()
    finally:
        raw.release_conn()


def test_every_operation_has_three_variants() -> None:
    operations = [
        "create_realtime_client_secret",
        "create_realtime_session",
        "create_realtime_call",
        "accept_realtime_call",
        "hangup_realtime_call",
        "refer_realtime_call",
        "reject_realtime_call",
        "create_realtime_transcription_session",
        "create_realtime_translation_client_secret",
    ]
    for name in operations:
        for suffix in ("", "_with_http_info", "_without_preload_content"):
            assert callable(getattr(openapiopenai.RealtimeApi, name + suffix)), name + suffix
