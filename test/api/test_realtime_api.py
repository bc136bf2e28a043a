"""RealtimeApi against the mock server on 127.0.0.1: what goes out, what comes back."""

from __future__ import annotations

import json
import time

import pytest
from urllib3 import Timeout
from urllib3.response import BaseHTTPResponse

import openapiopenai
from openapiopenai.api_response import ApiResponse
from openapiopenai.exceptions import ApiProxyError, ApiTimeoutError, ApiTypeError, ApiValueError
from openapiopenai.mock import MockServer
from test.conftest import API_KEY, EPHEMERAL_KEY, canned_session, sent_json
from test.faults import RawReplyServer, http_response


def test_empty_request_sends_empty_object(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    session = api.create_realtime_session(openapiopenai.RealtimeSessionCreateRequest())

    sent = openai_mock.requests[-1]
    assert sent.body == b"{}"
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert session.client_secret.value.startswith("ek_")


def test_null_turns_features_off(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    request = openapiopenai.RealtimeSessionCreateRequest(
        model="gpt-realtime", voice="marin", turn_detection=None, instructions=None
    )
    session = api.create_realtime_session(request)

    assert json.loads(openai_mock.requests[-1].body) == {
        "model": "gpt-realtime",
        "voice": "marin",
        "turn_detection": None,
    }
    assert session.turn_detection is None
    assert session.voice == "marin"


def test_error_status_raises_typed_exception(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.fail_next(status=400, message="Invalid voice")
    with pytest.raises(openapiopenai.BadRequestException) as caught:
        api.create_realtime_session({})
    assert caught.value.status == 400
    assert caught.value.message == "Invalid voice"
    assert "Invalid voice" in str(caught.value)
    assert caught.value.request_id and caught.value.request_id.startswith("req_")


# -- the three call forms -----------------------------------------------------------------


def test_with_http_info(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.respond_next(
        200, canned_session(voice="coral"), {"x-request-id": "req_info", "openai-version": "x"}
    )

    result = api.create_realtime_session_with_http_info(
        openapiopenai.RealtimeSessionCreateRequest(voice="coral")
    )

    assert isinstance(result, ApiResponse)
    assert result.status_code == 200
    assert result.headers is not None
    assert result.headers["x-request-id"] == "req_info"
    assert result.headers["openai-version"] == "x"
    assert result.request_id == "req_info"
    assert isinstance(result.data, openapiopenai.RealtimeSessionCreateResponse)
    assert result.data.voice == "coral"
    assert isinstance(result.raw_data, bytes)
    assert json.loads(result.raw_data) == canned_session(voice="coral")
    assert result.attempts == 1
    assert EPHEMERAL_KEY not in repr(result)


def test_with_http_info_counts_retries(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.fail_next(2, status=503)

    result = api.create_realtime_session_with_http_info({})

    assert result.attempts == 3
    assert result.data.client_secret.value.startswith("ek_")


def test_without_preload_content_returns_the_raw_response(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    response = api.create_realtime_session_without_preload_content({"voice": "echo"})
    try:
        assert isinstance(response, BaseHTTPResponse)
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        body = json.loads(response.read())
    finally:
        response.release_conn()
    assert body["voice"] == "echo"
    assert body["client_secret"]["value"].startswith("ek_")
    assert sent_json(openai_mock) == {"voice": "echo"}


def test_without_preload_content_does_not_raise_on_error_status(
    no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.fail_next(status=400, message="bad")
    response = no_retry_api.create_realtime_session_without_preload_content({})
    try:
        assert response.status == 400
        assert json.loads(response.read())["error"]["message"] == "bad"
    finally:
        response.release_conn()


@pytest.mark.parametrize("body", [[], "{}", b"{}", 42, None])
def test_body_of_wrong_type_refused_before_io(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer, body: object
) -> None:
    with pytest.raises(ApiTypeError):
        api.create_realtime_session(body)  # type: ignore[arg-type]
    assert openai_mock.requests == []


def test_dict_and_model_send_the_same(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    fields = {"voice": "sage", "turn_detection": None, "tools": [{"type": "function"}]}
    api.create_realtime_session(fields)
    api.create_realtime_session(openapiopenai.RealtimeSessionCreateRequest(**fields))
    assert openai_mock.requests[0].body == openai_mock.requests[1].body
    assert sent_json(openai_mock) == fields


def test_posts_to_the_sessions_path(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    api.create_realtime_session({})
    assert openai_mock.requests[-1].method == "POST"
    assert openai_mock.requests[-1].path == "/v1/realtime/sessions"


# -- per-call options ---------------------------------------------------------------------


def test_request_timeout_fires(
    no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.delay_next(20)
    started = time.monotonic()
    with pytest.raises(ApiTimeoutError):
        no_retry_api.create_realtime_session({}, _request_timeout=0.3)
    assert time.monotonic() - started < 15  # it gave up; it did not wait for the answer


@pytest.mark.parametrize("timeout", [30, 30.0, (5, 30), Timeout(connect=5, read=30)])
def test_request_timeout_forms_accepted(
    no_retry_configuration: openapiopenai.Configuration,
    openai_mock: MockServer,
    timeout: object,
) -> None:
    no_retry_configuration.timeout = 0.2
    openai_mock.delay_next(0.5)
    with openapiopenai.ApiClient(no_retry_configuration) as client:
        session = openapiopenai.RealtimeApi(client).create_realtime_session(
            {},
            _request_timeout=timeout,  # type: ignore[arg-type]
        )
    assert session.client_secret.value.startswith("ek_")


def test_request_timeout_bad_type_refused_before_io(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    with pytest.raises(ApiTypeError):
        api.create_realtime_session({}, _request_timeout="5")  # type: ignore[arg-type]
    assert openai_mock.requests == []


def test_request_auth_token(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    api.create_realtime_session({}, _request_auth="sk-per-call-0000000000000")
    assert openai_mock.requests[-1].headers["Authorization"] == "Bearer sk-per-call-0000000000000"

    api.create_realtime_session({})
    assert openai_mock.requests[-1].headers["Authorization"] == f"Bearer {API_KEY}"


def test_request_auth_setting_dict(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    other = openapiopenai.Configuration(access_token="sk-from-settings-00000000000")
    setting = other.auth_settings()["ApiKeyAuth"]

    api.create_realtime_session({}, _request_auth=setting)

    headers = openai_mock.requests[-1].headers
    assert headers["Authorization"] == "Bearer sk-from-settings-00000000000"
    assert [name.lower() for name in headers].count("authorization") == 1


@pytest.mark.parametrize(
    "auth",
    [
        {"in": "query", "key": "api_key", "value": "x"},
        {"in": "cookie", "key": "k", "value": "x"},
        "sk-bad\r\nX-Injected: 1",
        {"in": "header", "key": "Authorization", "value": "Bearer a\nb"},
    ],
)
def test_request_auth_refused_before_io(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer, auth: object
) -> None:
    with pytest.raises(ApiValueError):
        api.create_realtime_session({}, _request_auth=auth)  # type: ignore[arg-type]
    assert openai_mock.requests == []


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_content_type_json_accepted(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer, content_type: str
) -> None:
    api.create_realtime_session({}, _content_type=content_type)
    headers = openai_mock.requests[-1].headers
    assert headers["Content-Type"] == content_type
    assert [name.lower() for name in headers].count("content-type") == 1


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_content_type_not_json_refused_before_io(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer, content_type: str
) -> None:
    with pytest.raises(ApiValueError) as caught:
        api.create_realtime_session({}, _content_type=content_type)
    assert "_content_type" in str(caught.value)
    assert openai_mock.requests == []


def test_headers_sent_for_one_call(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    api.create_realtime_session(
        {}, _headers={"X-Client-Request-Id": "abc-123", "openai-project": "proj_call"}
    )
    first = openai_mock.requests[-1].headers
    api.create_realtime_session({})
    second = openai_mock.requests[-1].headers

    assert first["X-Client-Request-Id"] == "abc-123"
    assert first["openai-project"] == "proj_call"
    assert "X-Client-Request-Id" not in second
    assert "openai-project" not in second


def test_headers_override_configured_ones(
    openai_mock: MockServer,
) -> None:
    configuration = openapiopenai.Configuration(
        host=openai_mock.url, access_token=API_KEY, project="proj_config"
    )
    with openapiopenai.ApiClient(configuration) as client:
        openapiopenai.RealtimeApi(client).create_realtime_session(
            {}, _headers={"OpenAI-Project": "proj_call"}
        )
    headers = openai_mock.requests[-1].headers
    assert headers["OpenAI-Project"] == "proj_call"
    assert [name.lower() for name in headers].count("openai-project") == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Evil": "a\r\nX-Injected: 1"},
        {"X-Evil": "a\nb"},
        {"X-Evil": "a\rb"},
        {"X-Evil\r\nX-Injected": "1"},
        {"X-Nul": "a\0b"},
    ],
)
def test_headers_with_line_breaks_refused_before_io(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer, headers: dict[str, str]
) -> None:
    with pytest.raises(ApiValueError):
        api.create_realtime_session({}, _headers=headers)
    assert openai_mock.requests == []


@pytest.mark.parametrize("index", [1, 2, -1])
def test_host_index_out_of_range_refused_before_io(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer, index: int
) -> None:
    with pytest.raises(ApiValueError) as caught:
        api.create_realtime_session({}, _host_index=index)
    assert "host index" in str(caught.value)
    assert openai_mock.requests == []


def test_host_index_zero_targets_the_openai_server(openai_mock: MockServer) -> None:
    """Through a loopback proxy that refuses every tunnel: the target is visible, never reached."""
    refuse = http_response(403, "Forbidden", Connection="close")
    with RawReplyServer(refuse) as proxy:
        configuration = openapiopenai.Configuration(
            host=openai_mock.url, access_token=API_KEY, retries=0, proxy=proxy.url
        )
        assert configuration.get_host_from_settings(0) == "https://api.openai.com/v1"
        with openapiopenai.ApiClient(configuration) as client, pytest.raises(ApiProxyError):
            openapiopenai.RealtimeApi(client).create_realtime_session({}, _host_index=0)
    assert [(seen.method, seen.target) for seen in proxy.seen] == [
        ("CONNECT", "api.openai.com:443")
    ]
    assert "Authorization" not in proxy.seen[0].headers
    assert openai_mock.requests == []


def test_host_index_none_uses_the_configured_host(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    api.create_realtime_session({}, _host_index=None)
    assert len(openai_mock.requests) == 1


def test_request_by_keyword(api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
    request = openapiopenai.RealtimeSessionCreateRequest(voice="ballad")
    session = api.create_realtime_session(realtime_session_create_request=request)
    info = api.create_realtime_session_with_http_info(realtime_session_create_request=request)
    assert session.voice == info.data.voice == "ballad"
    assert [sent.json() for sent in openai_mock.requests] == [{"voice": "ballad"}] * 2
