"""Transport failures reach the caller as SDK exceptions, never as raw urllib3/socket errors.

Each fault is real: a closed port, a TCP reset, a body shorter than its Content-Length, a
peer that is not speaking HTTP, a connection the server drops while it sits in the pool.
"""

from __future__ import annotations

import http.client

import pytest
import urllib3

from openapiopenai import ApiClient, Configuration, RealtimeApi, RetryPolicy
from openapiopenai.exceptions import (
    ApiConnectionError,
    ApiConnectionResetError,
    ApiIncompleteResponseError,
    ApiTimeoutError,
    ApiTransportError,
    OpenApiException,
    UnexpectedResponseException,
)
from openapiopenai.mock import MockServer, Scripted
from test.conftest import API_KEY
from test.faults import IdleClosingServer, RawReplyServer, unused_port


def _api(host: str, retries: object = 0, **settings: object) -> RealtimeApi:
    configuration = Configuration(host=host, access_token=API_KEY, retries=retries, **settings)  # type: ignore[arg-type]
    return RealtimeApi(ApiClient(configuration))


def _assert_sdk_error(error: BaseException, expected: type[ApiTransportError]) -> None:
    """Exactly ``expected``, an SDK exception, with the low-level reason chained."""
    assert type(error) is expected
    assert isinstance(error, OpenApiException)
    assert not isinstance(error, urllib3.exceptions.HTTPError)
    assert error.__cause__ is not None
    assert API_KEY not in str(error)


def test_connection_refused() -> None:
    with pytest.raises(ApiTransportError) as raised:
        _api(f"http://127.0.0.1:{unused_port()}/v1").create_realtime_session({})

    _assert_sdk_error(raised.value, ApiConnectionError)
    assert isinstance(raised.value, ConnectionError)
    assert isinstance(raised.value.__cause__, urllib3.exceptions.NewConnectionError)
    assert raised.value.attempts == 1
    assert str(raised.value).startswith("could not connect")


def test_connection_reset(openai_mock: MockServer) -> None:
    openai_mock.enqueue(Scripted(action="reset"))

    with pytest.raises(ApiTransportError) as raised:
        _api(openai_mock.url).create_realtime_session({})

    _assert_sdk_error(raised.value, ApiConnectionResetError)
    assert isinstance(raised.value.__cause__, urllib3.exceptions.ProtocolError)
    assert len(openai_mock.requests) == 1


def test_connection_closed_without_an_answer(openai_mock: MockServer) -> None:
    openai_mock.enqueue(Scripted(action="close"))

    with pytest.raises(ApiTransportError) as raised:
        _api(openai_mock.url).create_realtime_session({})

    _assert_sdk_error(raised.value, ApiConnectionResetError)
    assert isinstance(raised.value.__cause__, urllib3.exceptions.ProtocolError)


def test_truncated_body(openai_mock: MockServer) -> None:
    partial = b'{"client_secret": {"value": "ek_partialsecret0123456789'
    openai_mock.enqueue(Scripted(action="truncate", body=partial))

    with pytest.raises(ApiTransportError) as raised:
        _api(openai_mock.url).create_realtime_session({})

    _assert_sdk_error(raised.value, ApiIncompleteResponseError)
    assert "partialsecret" not in str(raised.value)
    cause = raised.value.__cause__
    assert isinstance(cause, urllib3.exceptions.ProtocolError)
    assert any(isinstance(arg, http.client.IncompleteRead) for arg in cause.args)


def test_truncated_bodies_are_retried(openai_mock: MockServer) -> None:
    openai_mock.enqueue(Scripted(action="truncate"), Scripted(action="truncate"))
    retries = RetryPolicy(total=2, backoff_factor=0.01, backoff_jitter=0)

    response = _api(openai_mock.url, retries=retries).create_realtime_session_with_http_info({})

    assert response.attempts == 3
    assert response.data.client_secret.value.startswith("ek_")


def test_truncated_error_body(openai_mock: MockServer) -> None:
    openai_mock.enqueue(Scripted(action="truncate", status=500, body=b'{"error": {"mess'))

    with pytest.raises(ApiTransportError) as raised:
        _api(openai_mock.url).create_realtime_session({})

    _assert_sdk_error(raised.value, ApiIncompleteResponseError)


def test_read_timeout(openai_mock: MockServer) -> None:
    openai_mock.enqueue(Scripted(action="hang"))

    with pytest.raises(ApiTransportError) as raised:
        _api(openai_mock.url, timeout=0.3).create_realtime_session({})

    _assert_sdk_error(raised.value, ApiTimeoutError)
    assert isinstance(raised.value.__cause__, urllib3.exceptions.ReadTimeoutError)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n", ApiConnectionResetError),
        (b"HTTP/1.1 abc Broken\r\n\r\n", ApiConnectionResetError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}", UnexpectedResponseException),
    ],
    ids=["not-http", "bad-status", "bad-length"],
)
def test_peer_not_speaking_http(reply: bytes, expected: type[OpenApiException]) -> None:
    with RawReplyServer(reply) as server, pytest.raises(OpenApiException) as raised:
        _api(server.url + "/v1").create_realtime_session({})

    assert type(raised.value) is expected
    assert not isinstance(raised.value, urllib3.exceptions.HTTPError)
    assert len(server.seen) == 1


def test_success_status_with_a_body_that_is_not_a_session(openai_mock: MockServer) -> None:
    openai_mock.respond_next(200, b"<html>maintenance</html>", {"Content-Type": "text/html"})

    with pytest.raises(UnexpectedResponseException) as raised:
        _api(openai_mock.url).create_realtime_session({})

    assert raised.value.status == 200
    assert raised.value.body == "<html>maintenance</html>"


def test_stale_pooled_connection_is_replaced_transparently() -> None:
    # retries=0: no retry may hide a failed send on the dead connection.
    with IdleClosingServer() as server:
        api = _api(server.url + "/v1", retries=0)
        first = api.create_realtime_session({})
        assert server.closed.acquire(timeout=5), "the server did not close the idle connection"

        second = api.create_realtime_session({})

    assert first.id == second.id == "sess_raw"
    assert len(server.seen) == 2
    assert server.connections == 2  # the dropped connection was noticed and replaced


def test_stale_connections_across_many_calls() -> None:
    with IdleClosingServer() as server:
        api = _api(server.url + "/v1", retries=0)
        for _ in range(5):
            api.create_realtime_session({})
            assert server.closed.acquire(timeout=5)

    assert server.connections == 5


def test_client_recovers_after_each_fault(openai_mock: MockServer) -> None:
    api = _api(openai_mock.url, timeout=0.3)
    for action in ("reset", "close", "truncate", "hang"):
        openai_mock.enqueue(Scripted(action=action))
        with pytest.raises(ApiTransportError):
            api.create_realtime_session({})
        assert api.create_realtime_session({}).client_secret.value.startswith("ek_")
