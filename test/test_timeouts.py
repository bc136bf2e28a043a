"""Timeouts: the defaults, every way to set them, and that a silent peer cannot hang a call.

Each fault uses a short timeout and asserts only a generous upper bound (the call came back
instead of hanging); the number of attempts proves the timeout applied to each one.
"""

from __future__ import annotations

import time

import pytest
import urllib3

import openapiopenai
from openapiopenai import ApiClient, Configuration, RealtimeApi, RetryPolicy
from openapiopenai.exceptions import ApiTimeoutError, ApiTransportError, OpenApiException
from openapiopenai.mock import MockServer, Scripted
from test.conftest import API_KEY
from test.faults import blackhole_listener

#: Far above any short timeout used here, far below "hung".
NO_HANG = 5.0


def _api(host: str, **settings: object) -> RealtimeApi:
    return RealtimeApi(ApiClient(Configuration(host=host, access_token=API_KEY, **settings)))  # type: ignore[arg-type]


def test_default_timeout_is_connect_5s_read_60s() -> None:
    timeout = Configuration(access_token=API_KEY).timeout

    assert isinstance(timeout, urllib3.Timeout)
    assert timeout.connect_timeout == 5.0
    assert timeout.read_timeout == 60.0


@pytest.mark.parametrize(
    ("setting", "connect", "read"),
    [
        (3, 3, 3),
        (0.25, 0.25, 0.25),
        ((1.5, 20), 1.5, 20),
        ((None, 7.0), None, 7.0),
        (urllib3.Timeout(connect=2.0, read=9.0), 2.0, 9.0),
    ],
)
def test_timeout_setting_forms(setting: object, connect: float | None, read: float) -> None:
    timeout = Configuration(access_token=API_KEY, timeout=setting).timeout  # type: ignore[arg-type]

    assert timeout.connect_timeout == connect
    assert timeout.read_timeout == read


@pytest.mark.parametrize("setting", ["5", True, (1, 2, 3), [1, 2]])
def test_timeout_setting_rejects_other_types(setting: object) -> None:
    with pytest.raises(openapiopenai.ApiTypeError, match="timeout"):
        Configuration(access_token=API_KEY, timeout=setting)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "setting", [0.3, (2.0, 0.3), urllib3.Timeout(connect=2.0, read=0.3)], ids=str
)
def test_silent_server_times_out_with_configured_read_timeout(
    openai_mock: MockServer, setting: object
) -> None:
    openai_mock.enqueue(Scripted(action="hang"))
    api = _api(openai_mock.url, timeout=setting, retries=0)

    started = time.monotonic()
    with pytest.raises(ApiTimeoutError) as raised:
        api.create_realtime_session({})

    assert time.monotonic() - started < NO_HANG
    error = raised.value
    assert isinstance(error, OpenApiException)
    assert isinstance(error, ApiTransportError)
    assert isinstance(error, TimeoutError)
    assert error.attempts == 1
    assert isinstance(error.__cause__, urllib3.exceptions.ReadTimeoutError)
    assert len(openai_mock.requests) == 1


def test_each_attempt_gets_the_timeout_and_timeouts_are_retried(openai_mock: MockServer) -> None:
    openai_mock.enqueue(*(Scripted(action="hang") for _ in range(3)))
    retries = RetryPolicy(total=2, backoff_factor=0.01, backoff_jitter=0)
    api = _api(openai_mock.url, timeout=0.2, retries=retries)

    started = time.monotonic()
    with pytest.raises(ApiTimeoutError) as raised:
        api.create_realtime_session({})

    assert time.monotonic() - started < 3 * NO_HANG
    assert raised.value.attempts == 3
    assert "after 3 attempts" in str(raised.value)
    assert len(openai_mock.requests) == 3


def test_timeouts_then_success_returns_the_session(openai_mock: MockServer) -> None:
    openai_mock.enqueue(Scripted(action="hang"))
    retries = RetryPolicy(total=2, backoff_factor=0.01, backoff_jitter=0)
    api = _api(openai_mock.url, timeout=0.2, retries=retries)

    response = api.create_realtime_session_with_http_info({"instructions": "second try"})

    assert response.data.instructions == "second try"
    assert response.attempts == 2
    assert len(openai_mock.requests) == 2


def test_per_call_timeout_overrides_the_configured_one(openai_mock: MockServer) -> None:
    # Configured for a minute: only the per-call value can make this return quickly.
    openai_mock.enqueue(Scripted(action="hang"))
    api = _api(openai_mock.url, timeout=60, retries=0)

    started = time.monotonic()
    with pytest.raises(ApiTimeoutError):
        api.create_realtime_session({}, _request_timeout=0.2)

    assert time.monotonic() - started < NO_HANG


@pytest.mark.parametrize("per_call", [(5.0, 0.3), urllib3.Timeout(connect=5.0, read=0.3)], ids=str)
def test_per_call_timeout_accepts_pair_and_timeout_object(
    openai_mock: MockServer, per_call: object
) -> None:
    openai_mock.enqueue(Scripted(action="hang"))
    api = _api(openai_mock.url, retries=0)

    started = time.monotonic()
    with pytest.raises(ApiTimeoutError):
        api.create_realtime_session({}, _request_timeout=per_call)  # type: ignore[arg-type]

    assert time.monotonic() - started < NO_HANG


def test_per_call_timeout_does_not_change_the_next_call(openai_mock: MockServer) -> None:
    api = _api(openai_mock.url, timeout=(5.0, 30.0), retries=0)
    openai_mock.delay_next(0.5)

    # 0.5 s delay, 30 s configured read timeout: the per-call 0.1 s of the first call is gone.
    with pytest.raises(ApiTimeoutError):
        api.create_realtime_session({}, _request_timeout=0.1)
    openai_mock.clear()
    openai_mock.delay_next(0.5)
    assert api.create_realtime_session({}).client_secret.value.startswith("ek_")


def test_connect_that_never_completes_times_out() -> None:
    with blackhole_listener() as port:
        api = _api(f"http://127.0.0.1:{port}/v1", timeout=(0.3, 60.0), retries=0)

        started = time.monotonic()
        with pytest.raises(ApiTimeoutError) as raised:
            api.create_realtime_session({})

    assert time.monotonic() - started < NO_HANG
    assert raised.value.attempts == 1
    assert isinstance(raised.value.__cause__, urllib3.exceptions.ConnectTimeoutError)


def test_connect_timeouts_are_retried() -> None:
    retries = RetryPolicy(total=2, backoff_factor=0.01, backoff_jitter=0)
    with blackhole_listener() as port:
        api = _api(f"http://127.0.0.1:{port}/v1", timeout=(0.3, 60.0), retries=retries)

        started = time.monotonic()
        with pytest.raises(ApiTimeoutError) as raised:
            api.create_realtime_session({})

    assert time.monotonic() - started < 3 * NO_HANG
    assert raised.value.attempts == 3


def test_changed_timeout_applies_to_the_next_call(openai_mock: MockServer) -> None:
    configuration = Configuration(host=openai_mock.url, access_token=API_KEY, retries=0)
    api = RealtimeApi(ApiClient(configuration))
    api.create_realtime_session({})  # the client has prepared its settings once

    configuration.timeout = 0.3
    openai_mock.enqueue(Scripted(action="hang"))
    started = time.monotonic()
    with pytest.raises(ApiTimeoutError):
        api.create_realtime_session({})

    assert time.monotonic() - started < NO_HANG
