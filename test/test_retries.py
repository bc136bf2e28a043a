"""Retries: what is retried, how long between attempts, and what the caller learns at the end.

Server-driven waits use ``Retry-After: 0``/``1`` or a cap, and backoff is checked by calling
``get_backoff_time()`` on policies with a built history, so nothing here sleeps for long.
"""

from __future__ import annotations

import email.utils
import json
import time

import pytest
import urllib3
from urllib3.util.retry import RequestHistory

import openapiopenai
from openapiopenai import ApiClient, Configuration, RealtimeApi, RetryPolicy
from openapiopenai.exceptions import (
    ApiConnectionError,
    ApiConnectionResetError,
    ApiException,
    BadRequestException,
    ConflictException,
    ForbiddenException,
    NotFoundException,
    ServiceException,
    TooManyRequestsException,
    UnauthorizedException,
    UnprocessableEntityException,
)
from openapiopenai.mock import MockServer, Scripted
from test.conftest import API_KEY
from test.faults import unused_port

#: A backoff so long that a test taking it would fail its upper bound: the server's wait won.
SLOW_BACKOFF = RetryPolicy(total=2, backoff_factor=20, backoff_max=20, backoff_jitter=0)
NO_HANG = 10.0


def _api(host: str, retries: object = None, **settings: object) -> RealtimeApi:
    if retries is None:
        retries = RetryPolicy(total=2, backoff_factor=0.01, backoff_jitter=0)
    configuration = Configuration(host=host, access_token=API_KEY, retries=retries, **settings)  # type: ignore[arg-type]
    return RealtimeApi(ApiClient(configuration))


# -- settings ----------------------------------------------------------------------------


def test_default_is_two_retries_with_the_openai_policy() -> None:
    retries = Configuration(access_token=API_KEY).retries

    assert isinstance(retries, RetryPolicy)
    assert isinstance(retries, urllib3.Retry)
    assert retries.total == 2


def test_int_setting_makes_a_policy_and_retry_objects_are_kept() -> None:
    custom = RetryPolicy(total=5, backoff_factor=0.1)

    assert Configuration(access_token=API_KEY, retries=4).retries.total == 4
    assert Configuration(access_token=API_KEY, retries=0).retries.total == 0
    assert Configuration(access_token=API_KEY, retries=custom).retries is custom


@pytest.mark.parametrize("setting", [-1, 1.5, "2", True])
def test_bad_retry_settings_are_refused(setting: object) -> None:
    with pytest.raises((openapiopenai.ApiTypeError, openapiopenai.ApiValueError)):
        Configuration(access_token=API_KEY, retries=setting)  # type: ignore[arg-type]


def test_default_policy_retries_twice_end_to_end(openai_mock: MockServer) -> None:
    # Retry-After: 0 keeps the default backoff out of the way.
    openai_mock.fail_next(3, 500, retry_after=0)
    api = RealtimeApi(ApiClient(Configuration(host=openai_mock.url, access_token=API_KEY)))

    with pytest.raises(ServiceException) as raised:
        api.create_realtime_session({})

    assert raised.value.attempts == 3
    assert len(openai_mock.requests) == 3


# -- what is retried ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(openai_mock: MockServer, status: int) -> None:
    openai_mock.fail_next(1, status, retry_after=0)

    response = _api(openai_mock.url).create_realtime_session_with_http_info({})

    assert response.status_code == 200
    assert response.attempts == 2
    assert len(openai_mock.requests) == 2


@pytest.mark.parametrize(
    ("status", "exception_class"),
    [
        (400, BadRequestException),
        (401, UnauthorizedException),
        (403, ForbiddenException),
        (404, NotFoundException),
        (422, UnprocessableEntityException),
    ],
)
def test_client_errors_are_not_retried(
    openai_mock: MockServer, status: int, exception_class: type[ApiException]
) -> None:
    openai_mock.fail_next(3, status, retry_after=0)

    with pytest.raises(exception_class) as raised:
        _api(openai_mock.url).create_realtime_session({})

    assert raised.value.status == status
    assert raised.value.attempts == 1
    assert "Attempts" not in str(raised.value)
    assert len(openai_mock.requests) == 1


def test_exhausted_retries_raise_the_last_error_with_attempts(openai_mock: MockServer) -> None:
    openai_mock.fail_next(3, 429, retry_after=0)

    with pytest.raises(TooManyRequestsException) as raised:
        _api(openai_mock.url).create_realtime_session({})

    assert raised.value.attempts == 3
    assert "Attempts: 3" in str(raised.value)
    assert raised.value.code == "rate_limit_exceeded"
    assert raised.value.retry_after == 0
    assert len(openai_mock.requests) == 3


def test_conflict_is_retried_then_reported(openai_mock: MockServer) -> None:
    openai_mock.fail_next(2, 409, retry_after=0)

    with pytest.raises(ConflictException) as raised:
        _api(openai_mock.url, retries=RetryPolicy(total=1)).create_realtime_session({})

    assert raised.value.attempts == 2


def test_retries_zero_disables_retrying(openai_mock: MockServer) -> None:
    openai_mock.fail_next(1, 503, retry_after=0)

    with pytest.raises(ServiceException) as raised:
        _api(openai_mock.url, retries=0).create_realtime_session({})

    assert raised.value.attempts == 1
    assert len(openai_mock.requests) == 1


def test_x_should_retry_true_retries_a_400(openai_mock: MockServer) -> None:
    openai_mock.fail_next(1, 400, headers={"x-should-retry": "true"}, retry_after=0)

    response = _api(openai_mock.url).create_realtime_session_with_http_info({})

    assert response.attempts == 2
    assert len(openai_mock.requests) == 2


def test_x_should_retry_false_stops_a_500(openai_mock: MockServer) -> None:
    openai_mock.fail_next(1, 500, headers={"x-should-retry": "false"}, retry_after=0)

    with pytest.raises(ServiceException) as raised:
        _api(openai_mock.url).create_realtime_session({})

    assert raised.value.attempts == 1
    assert len(openai_mock.requests) == 1


def test_connection_reset_is_retried(openai_mock: MockServer) -> None:
    openai_mock.enqueue(Scripted(action="reset"))

    response = _api(openai_mock.url).create_realtime_session_with_http_info({})

    assert response.attempts == 2
    assert len(openai_mock.requests) == 2


def test_connection_resets_exhaust_retries(openai_mock: MockServer) -> None:
    openai_mock.enqueue(*(Scripted(action="reset") for _ in range(3)))

    with pytest.raises(ApiConnectionResetError) as raised:
        _api(openai_mock.url).create_realtime_session({})

    assert raised.value.attempts == 3
    assert "after 3 attempts" in str(raised.value)
    assert len(openai_mock.requests) == 3


def test_close_without_answer_is_retried(openai_mock: MockServer) -> None:
    openai_mock.enqueue(Scripted(action="close"))

    response = _api(openai_mock.url).create_realtime_session_with_http_info({})

    assert response.attempts == 2


def test_connection_refused_is_retried() -> None:
    with pytest.raises(ApiConnectionError) as raised:
        _api(f"http://127.0.0.1:{unused_port()}/v1").create_realtime_session({})

    assert raised.value.attempts == 3
    assert "after 3 attempts" in str(raised.value)


def test_every_attempt_sends_the_same_body(openai_mock: MockServer) -> None:
    openai_mock.fail_next(1, 500, retry_after=0)
    openai_mock.enqueue(Scripted(action="reset"))
    request = {"instructions": "Speak slowly. Ünïcode ✓", "voice": "marin", "temperature": 0.7}

    session = _api(openai_mock.url).create_realtime_session(request)

    bodies = [recorded.body for recorded in openai_mock.requests]
    assert len(bodies) == 3
    assert bodies[0] == bodies[1] == bodies[2]
    assert json.loads(bodies[0]) == request
    headers = [recorded.headers for recorded in openai_mock.requests]
    assert all(h["Authorization"] == f"Bearer {API_KEY}" for h in headers)
    assert session.instructions == request["instructions"]


# -- how long between attempts -----------------------------------------------------------


@pytest.mark.parametrize("header", [{"Retry-After": "0"}, {"retry-after-ms": "0"}])
def test_zero_retry_after_retries_at_once(openai_mock: MockServer, header: dict[str, str]) -> None:
    openai_mock.fail_next(1, 429, headers=header)

    started = time.monotonic()
    response = _api(openai_mock.url, retries=SLOW_BACKOFF).create_realtime_session_with_http_info(
        {}
    )

    assert time.monotonic() - started < NO_HANG  # the 20 s backoff was not used
    assert response.attempts == 2


def test_retry_after_seconds_is_waited(openai_mock: MockServer) -> None:
    openai_mock.fail_next(1, 503, retry_after=1)

    started = time.monotonic()
    response = _api(openai_mock.url, retries=SLOW_BACKOFF).create_realtime_session_with_http_info(
        {}
    )
    elapsed = time.monotonic() - started

    assert response.attempts == 2
    assert 0.9 <= elapsed < NO_HANG


def test_retry_after_ms_is_waited(openai_mock: MockServer) -> None:
    openai_mock.fail_next(1, 429, headers={"retry-after-ms": "300", "Retry-After": "30"})

    started = time.monotonic()
    response = _api(openai_mock.url, retries=SLOW_BACKOFF).create_realtime_session_with_http_info(
        {}
    )
    elapsed = time.monotonic() - started

    assert response.attempts == 2
    # retry-after-ms wins over Retry-After, and neither the 20 s backoff nor 30 s was used.
    assert 0.25 <= elapsed < NO_HANG


def test_retry_after_http_date_is_waited(openai_mock: MockServer) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    openai_mock.fail_next(1, 503, headers={"Retry-After": when})

    started = time.monotonic()
    response = _api(openai_mock.url, retries=SLOW_BACKOFF).create_realtime_session_with_http_info(
        {}
    )
    elapsed = time.monotonic() - started

    assert response.attempts == 2
    # The date has whole seconds, so the wait is between 1 and 2 s; not the 20 s backoff.
    assert 0.5 <= elapsed < NO_HANG


def test_retry_after_date_in_the_past_retries_at_once(openai_mock: MockServer) -> None:
    openai_mock.fail_next(1, 503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})

    started = time.monotonic()
    response = _api(openai_mock.url, retries=SLOW_BACKOFF).create_realtime_session_with_http_info(
        {}
    )

    assert time.monotonic() - started < NO_HANG
    assert response.attempts == 2


def test_retry_after_above_max_retry_after_falls_back_to_backoff(
    openai_mock: MockServer,
) -> None:
    # Following (or clamping to the cap) would wait 40 or 30 s; the backoff waits 10 ms.
    openai_mock.fail_next(1, 429, retry_after=40)
    retries = RetryPolicy(total=2, backoff_factor=0.01, backoff_jitter=0, max_retry_after=30)

    started = time.monotonic()
    response = _api(openai_mock.url, retries=retries).create_realtime_session_with_http_info({})

    assert time.monotonic() - started < NO_HANG
    assert response.attempts == 2


def test_unreadable_retry_after_falls_back_to_backoff(openai_mock: MockServer) -> None:
    openai_mock.fail_next(1, 503, headers={"Retry-After": "soon, maybe"})
    retries = RetryPolicy(total=2, backoff_factor=0.3, backoff_jitter=0)

    started = time.monotonic()
    response = _api(openai_mock.url, retries=retries).create_realtime_session_with_http_info({})
    elapsed = time.monotonic() - started

    assert response.attempts == 2
    assert 0.25 <= elapsed < NO_HANG


def test_max_retry_after_survives_policy_copies() -> None:
    policy = RetryPolicy(total=3, max_retry_after=1.5)

    assert policy.new(total=1).max_retry_after == 1.5
    assert policy.increment("POST", "/x", error=_reset()).max_retry_after == 1.5


# -- backoff, computed directly ----------------------------------------------------------


def _reset() -> urllib3.exceptions.ProtocolError:
    return urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError())


def _after(policy: RetryPolicy, failures: int) -> RetryPolicy:
    """``policy`` as it is after ``failures`` failed attempts."""
    history = tuple(
        RequestHistory("POST", "/v1/realtime/sessions", None, 500, None) for _ in range(failures)
    )
    return policy.new(history=history)


def test_backoff_grows_exponentially_without_jitter() -> None:
    policy = RetryPolicy(total=10, backoff_factor=0.5, backoff_jitter=0, backoff_max=100)

    delays = [_after(policy, failures).get_backoff_time() for failures in range(7)]

    assert delays == [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]


def test_backoff_is_capped_at_backoff_max() -> None:
    policy = RetryPolicy(total=20, backoff_factor=0.5, backoff_jitter=0.25, backoff_max=8.0)

    delays = [_after(policy, failures).get_backoff_time() for failures in range(5, 15)]

    assert all(delay == 8.0 for delay in delays[1:])
    assert max(delays) <= 8.0


def test_backoff_jitter_adds_a_bounded_random_amount() -> None:
    policy = RetryPolicy(total=10, backoff_factor=0.5, backoff_jitter=0.25, backoff_max=100)

    for failures, base in ((1, 0.5), (2, 1.0), (3, 2.0)):
        samples = {_after(policy, failures).get_backoff_time() for _ in range(200)}
        assert all(base <= delay <= base + 0.25 for delay in samples)
        assert len(samples) > 1  # really random, not a constant


def test_first_retry_waits_by_default() -> None:
    # urllib3's own Retry waits nothing before the first retry; this policy does.
    assert _after(RetryPolicy(), 1).get_backoff_time() >= 0.5


def test_redirects_reset_the_backoff_count() -> None:
    policy = RetryPolicy(total=10, backoff_factor=0.5, backoff_jitter=0, backoff_max=100)
    history = (
        RequestHistory("POST", "/a", None, 500, None),
        RequestHistory("POST", "/a", None, 500, None),
        RequestHistory("POST", "/a", None, 307, "/b"),
        RequestHistory("POST", "/b", None, 500, None),
    )

    assert policy.new(history=history).get_backoff_time() == 0.5


def test_zero_backoff_factor_means_no_wait() -> None:
    policy = RetryPolicy(total=5, backoff_factor=0, backoff_jitter=0.25)

    assert _after(policy, 3).get_backoff_time() == 0.0


def test_repr_names_the_policy_settings() -> None:
    text = repr(RetryPolicy(total=3, backoff_factor=0.25, max_retry_after=7))

    assert "total=3" in text
    assert "backoff_factor=0.25" in text
    assert "max_retry_after=7" in text
