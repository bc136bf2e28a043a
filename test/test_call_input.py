"""What a call is given and what it gives back: answers that survive copying, arguments the
wire cannot carry refused before any I/O, headers that would break the connection refused."""

from __future__ import annotations

import copy
import http.client
import json
import pickle
from collections.abc import Iterator

import pytest

from openapiopenai import (
    ApiClient,
    ApiConnectionError,
    ApiResponseDecodeError,
    ApiTransportError,
    ApiValueError,
    Configuration,
    RealtimeApi,
    RealtimeCallAnswer,
)
from openapiopenai.mock import MockServer
from test.conftest import API_KEY
from test.faults import RawReplyServer, http_response

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


@pytest.fixture
def api(openai_mock: MockServer) -> Iterator[RealtimeApi]:
    configuration = Configuration(
        host=openai_mock.url, access_token=API_KEY, retries=0, ignore_environment=True
    )
    with ApiClient(configuration) as client:
        yield RealtimeApi(client)


@pytest.mark.parametrize(
    "duplicate",
    [copy.copy, copy.deepcopy, lambda answer: pickle.loads(pickle.dumps(answer))],
    ids=["copy", "deepcopy", "pickle"],
)
def test_a_call_answer_keeps_its_text_and_call_id_when_copied(
    api: RealtimeApi, duplicate: object
) -> None:
    answer = api.create_realtime_call(OFFER)
    assert answer.call_id is not None

    duplicated = duplicate(answer)  # type: ignore[operator]

    assert isinstance(duplicated, RealtimeCallAnswer)
    assert str(duplicated) == str(answer)
    assert duplicated.call_id == answer.call_id


# -- text the wire cannot carry ------------------------------------------------------------

LONE_SURROGATE = "\ud800"


@pytest.mark.parametrize("session", [None, {"type": "realtime", "model": "gpt-realtime"}])
def test_an_offer_with_a_lone_surrogate_is_refused_naming_sdp(
    api: RealtimeApi, openai_mock: MockServer, session: dict[str, str] | None
) -> None:
    with pytest.raises(ApiValueError, match=r"\bsdp\b") as refused:
        api.create_realtime_call(OFFER + "a=x" + LONE_SURROGATE + "\r\n", session=session)

    assert "UTF-8" in str(refused.value)
    assert refused.value.__cause__ is None
    assert openai_mock.requests == []


def test_a_call_id_with_a_lone_surrogate_is_refused_naming_call_id(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    with pytest.raises(ApiValueError, match=r"\bcall_id\b") as refused:
        api.hangup_realtime_call("rtc_" + LONE_SURROGATE)

    assert "UTF-8" in str(refused.value)
    assert openai_mock.requests == []


# -- answers that are not what they claim ----------------------------------------------------


def test_a_corrupt_gzip_body_is_reported_as_such_not_as_a_connection_failure() -> None:
    reply = http_response(
        200,
        "OK",
        b"\x1f\x8bnot really gzip",
        Content_Type="application/json",
        Content_Encoding="gzip",
    )
    with RawReplyServer(reply) as server:
        configuration = Configuration(
            host=server.url, access_token=API_KEY, retries=0, ignore_environment=True
        )
        with ApiClient(configuration) as client, pytest.raises(ApiTransportError) as failed:
            RealtimeApi(client).create_realtime_client_secret({})

    assert isinstance(failed.value, ApiResponseDecodeError)
    assert not isinstance(failed.value, ApiConnectionError)
    assert "could not connect" not in str(failed.value)
    assert "gzip" in str(failed.value)


# -- the mock ---------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [900, 100_000])
def test_the_mock_answers_deeply_nested_json_with_a_400(
    openai_mock: MockServer, depth: int
) -> None:
    body = b'{"session": ' + b"[" * depth + b"]" * depth + b"}"
    host, port = openai_mock.url.removeprefix("http://").split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(
            "POST",
            "/v1/realtime/client_secrets",
            body=body,
            headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
        )
        answer = connection.getresponse()
        payload = json.loads(answer.read())
    finally:
        connection.close()

    assert answer.status == 400
    assert payload["error"]["type"] == "invalid_request_error"


# -- headers that would break the connection -----------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Content-Length", "transfer-encoding", "HOST", "Connection", "Keep-Alive", "TE", "Upgrade"],
)
def test_framing_headers_are_refused_before_anything_is_sent(
    api: RealtimeApi, openai_mock: MockServer, name: str
) -> None:
    with pytest.raises(ApiValueError, match=name) as refused:
        api.create_realtime_client_secret({}, _headers={name: "10"})

    assert "framing" in str(refused.value)
    assert openai_mock.requests == []
    api.create_realtime_client_secret({})  # the kept-alive connection is still in step
    assert len(openai_mock.requests) == 1


@pytest.mark.parametrize("name", ["Content-Length", "Transfer-Encoding", "Host"])
def test_framing_headers_are_refused_as_default_headers(name: str) -> None:
    with ApiClient(Configuration(ignore_environment=True)) as client:
        with pytest.raises(ApiValueError, match=name):
            client.set_default_header(name, "10")

        assert name not in client.default_headers
