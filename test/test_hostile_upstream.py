"""The SDK against an upstream that attacks it: compression bombs, huge or dripping bodies,
hostile ``Retry-After`` values, deeply nested JSON, and echoed credentials.

Every peer is real: the package's mock or a raw server on 127.0.0.1 from test/faults.py.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
import traceback
import tracemalloc
import zlib
from collections.abc import Iterator

import pytest

from openapiopenai import ApiClient, Configuration, RealtimeApi, RetryPolicy
from openapiopenai.exceptions import (
    ApiException,
    ApiResponseTooLargeError,
    ApiTimeoutError,
    ApiTransportError,
    ApiValueError,
    TooManyRequestsException,
    UnexpectedResponseException,
)
from openapiopenai.mock import MockServer
from test.conftest import API_KEY
from test.faults import (
    DripServer,
    RawReplyServer,
    StreamingServer,
    http_response,
    session_body,
)

MIB = 1024 * 1024
#: What the compression bomb inflates to.
BOMB_INFLATED = 1024 * MIB


def _api(host: str, **settings: object) -> RealtimeApi:
    settings.setdefault("retries", 0)
    configuration = Configuration(host=host, access_token=API_KEY, **settings)  # type: ignore[arg-type]
    return RealtimeApi(ApiClient(configuration))


def _texts(error: BaseException) -> str:
    """Everything a person may see of an exception, chained causes included."""
    return "\n".join([str(error), repr(error), "".join(traceback.format_exception(error))])


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 GiB of zeros, gzip-compressed to about 1 MiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MIB)
    parts = [packer.compress(zeros) for _ in range(BOMB_INFLATED // MIB)]
    parts.append(packer.flush())
    return b"".join(parts)


@pytest.fixture
def bomb_server(gzip_bomb: bytes) -> Iterator[StreamingServer]:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        f"Content-Length: {len(gzip_bomb)}\r\n\r\n"
    ).encode()
    with StreamingServer(head, gzip_bomb, 1) as server:
        yield server


# -- size ------------------------------------------------------------------------------------


def test_compression_bomb_stops_at_the_limit_with_bounded_memory(
    bomb_server: StreamingServer, gzip_bomb: bytes
) -> None:
    api = _api(bomb_server.url + "/v1")
    tracemalloc.start()
    try:
        with pytest.raises(ApiResponseTooLargeError) as raised:
            api.create_realtime_session({})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    limit = Configuration.__init__.__kwdefaults__["max_response_bytes"]
    assert limit == 4 * MIB
    assert "max_response_bytes" in str(raised.value)
    assert isinstance(raised.value, ApiTransportError)
    # Inflated, the body is 1 GiB: the read stopped near the 4 MiB limit instead.
    print(f"compression bomb: peak traced memory {peak / MIB:.1f} MiB")
    assert peak < 3 * limit, f"peak {peak / MIB:.1f} MiB"


def test_compression_bomb_is_refused_even_under_a_small_limit(
    bomb_server: StreamingServer,
) -> None:
    with pytest.raises(ApiResponseTooLargeError, match=r"max_response_bytes \(1000 bytes\)"):
        _api(bomb_server.url + "/v1", max_response_bytes=1000).create_realtime_session({})


def test_a_plain_body_over_the_limit_is_not_read_whole() -> None:
    declared = 50 * MIB
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    ).encode()
    with (
        StreamingServer(head, b" " * MIB, declared // MIB) as server,
        pytest.raises(ApiResponseTooLargeError),
    ):
        _api(server.url + "/v1").create_realtime_session({})


def test_error_bodies_are_bounded_too(openai_mock: MockServer) -> None:
    openai_mock.respond_next(500, b'{"error": {"message": "' + b"x" * 5000 + b'"}}')

    with pytest.raises(ApiResponseTooLargeError):
        _api(openai_mock.url, max_response_bytes=4096).create_realtime_session({})


def test_a_body_within_the_limit_is_read(openai_mock: MockServer) -> None:
    body = session_body("y" * 3000)
    openai_mock.respond_next(200, body)

    api = _api(openai_mock.url, max_response_bytes=len(body))
    info = api.create_realtime_session_with_http_info({})

    assert info.raw_data == body
    assert info.data.instructions == "y" * 3000


def test_a_compressed_body_within_the_limit_is_decoded(openai_mock: MockServer) -> None:
    body = session_body("compressed")
    openai_mock.respond_next(200, gzip.compress(body), {"Content-Encoding": "gzip"})

    info = _api(openai_mock.url).create_realtime_session_with_http_info({})

    assert info.raw_data == body
    assert info.data.instructions == "compressed"


def test_a_body_without_a_length_is_read_to_its_end() -> None:
    body = session_body("until close")
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    with RawReplyServer(reply + body) as server:
        info = _api(server.url + "/v1").create_realtime_session_with_http_info({})
    with RawReplyServer(reply + body) as server, pytest.raises(ApiResponseTooLargeError):
        _api(server.url + "/v1", max_response_bytes=len(body) - 1).create_realtime_session({})

    assert info.raw_data == body
    assert info.data.instructions == "until close"


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "4MB", None])
def test_max_response_bytes_must_be_a_positive_int(value: object) -> None:
    with pytest.raises(ApiValueError, match="max_response_bytes must be a positive int"):
        Configuration(max_response_bytes=value)  # type: ignore[arg-type]


# -- deadline --------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_deadline_bounds_an_upstream_that_drips(phase: str) -> None:
    body = session_body()
    reply = http_response(200, "OK", body, Content_Type="application/json")
    split = 12 if phase == "headers" else len(reply) - len(body) + 5
    # One byte every 0.2 s: never a read timeout, about 80 s for the whole answer. The
    # server stops after 60 bytes (12 s) so that, without a deadline, this test still ends.
    drip = reply[split:]
    with DripServer(reply[:split], drip[:60], pause=0.2) as server:
        api = _api(server.url + "/v1", timeout=5, deadline=1.0)
        with pytest.raises(ApiTimeoutError, match="deadline of 1 s") as raised:
            api.create_realtime_session({})

    assert isinstance(raised.value, TimeoutError)


def test_deadline_also_stops_retries(openai_mock: MockServer) -> None:
    openai_mock.delay_next(0.4, count=10)
    api = _api(
        openai_mock.url,
        timeout=0.3,
        deadline=1.0,
        retries=RetryPolicy(total=10, backoff_factor=0.01, backoff_jitter=0),
    )

    with pytest.raises(ApiTimeoutError):
        api.create_realtime_session({})

    assert len(openai_mock.requests) < 10


def test_a_call_within_its_deadline_is_unaffected(openai_mock: MockServer) -> None:
    api = _api(openai_mock.url, deadline=30)

    for _ in range(3):  # the pooled connection is reused and is not shut afterwards
        assert api.create_realtime_session({}).client_secret.value.startswith("ek_")
    time.sleep(0.1)
    assert api.create_realtime_session({}).client_secret.value.startswith("ek_")


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "5", True])
def test_deadline_must_be_positive_and_finite(value: object) -> None:
    with pytest.raises(ApiValueError, match="deadline must be None or a positive"):
        Configuration(deadline=value)  # type: ignore[arg-type]


# -- Retry-After -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-30", "1e400"])
def test_unusable_retry_after_falls_back_to_backoff(openai_mock: MockServer, value: str) -> None:
    openai_mock.fail_next(1, 429, headers={"Retry-After": value})
    api = _api(openai_mock.url, retries=RetryPolicy(total=1, backoff_factor=0.01, backoff_jitter=0))

    info = api.create_realtime_session_with_http_info({})

    assert info.attempts == 2


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "-30"}, None),
        ({"retry-after-ms": "nan"}, None),
        ({"retry-after-ms": "-1"}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
    ],
)
def test_retry_after_attribute_is_finite_and_not_negative(
    openai_mock: MockServer, headers: dict[str, str], expected: float | None
) -> None:
    openai_mock.fail_next(1, 429, headers=headers)

    with pytest.raises(TooManyRequestsException) as raised:
        _api(openai_mock.url).create_realtime_session({})

    assert raised.value.retry_after == expected


# -- hostile bodies --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 500])
def test_deeply_nested_error_body_is_an_api_exception(openai_mock: MockServer, status: int) -> None:
    openai_mock.respond_next(status, b'{"error": ' + b"[" * 100_000)

    with pytest.raises(ApiException) as raised:
        _api(openai_mock.url).create_realtime_session({})

    assert raised.value.status == status
    assert raised.value.error is None


def test_deeply_nested_success_body_is_an_unexpected_response(openai_mock: MockServer) -> None:
    openai_mock.respond_next(200, b"[" * 100_000)

    with pytest.raises(UnexpectedResponseException):
        _api(openai_mock.url).create_realtime_session({})


@pytest.mark.parametrize(
    ("auth", "secret"),
    [
        ({"in": "header", "key": "api-key", "value": "gateway-secret-42"}, "gateway-secret-42"),
        ("tenant-token-0123456789", "tenant-token-0123456789"),
        ({"in": "header", "key": "Authorization", "value": "Basic dXNlcjpwYXNz"}, "dXNlcjpwYXNz"),
    ],
    ids=["header", "bare-token", "basic"],
)
def test_per_call_key_echoed_in_an_error_is_masked(
    openai_mock: MockServer, auth: object, secret: str
) -> None:
    echoed = {"error": {"message": f"Key {secret} is not valid", "code": secret}}
    openai_mock.respond_next(401, json.dumps(echoed))

    with pytest.raises(ApiException) as raised:
        _api(openai_mock.url).create_realtime_session({}, _request_auth=auth)  # type: ignore[arg-type]

    assert secret not in _texts(raised.value)
    assert raised.value.message is not None and "is not valid" in raised.value.message
    assert secret in (raised.value.body or "")  # the body stays verbatim, as documented


def test_debug_log_escapes_the_request_id_the_server_sent(
    openai_mock: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    openai_mock.respond_next(200, session_body(), {"x-request-id": "req_\x1b[2J\x07caf\u00e9"})
    caplog.set_level(logging.DEBUG, logger="openapiopenai")

    _api(openai_mock.url).create_realtime_session({})

    lines = [record.getMessage() for record in caplog.records]
    assert any("request id req_\\x1b[2J\\x07caf\\xe9" in line for line in lines), lines
    assert all(line.isprintable() for line in lines)
