"""Every wait between attempts (``Retry-After``, backoff) ends at the call's deadline: a wait
that would pass it is not taken. Against the mock and a closed port on 127.0.0.1; the
assertions count attempts and requests, not seconds."""

from __future__ import annotations

import pytest

from openapiopenai import RetryPolicy
from openapiopenai.exceptions import (
    ApiConnectionError,
    ApiTimeoutError,
    TooManyRequestsException,
)
from openapiopenai.mock import MockServer
from test.conftest import quick_api as _api
from test.faults import unused_port

# -- waits end at the deadline ---------------------------------------------------------------


def test_a_retry_after_longer_than_the_deadline_is_not_waited_for(
    openai_mock: MockServer,
) -> None:
    openai_mock.fail_next(1, 429, retry_after=6)
    api = _api(openai_mock.url, RetryPolicy(total=2, max_retry_after=60), deadline=1.0)

    with pytest.raises(TooManyRequestsException) as refused:
        api.create_realtime_client_secret({})

    # The answer that could not be waited for is the result: with the server's own wait.
    assert refused.value.attempts == 1
    assert refused.value.retry_after == 6
    assert len(openai_mock.requests) == 1


def test_a_backoff_longer_than_the_deadline_is_not_waited_for() -> None:
    slow = RetryPolicy(total=2, backoff_factor=3, backoff_jitter=0)
    api = _api(f"http://127.0.0.1:{unused_port()}/v1", slow, deadline=1.0)

    with pytest.raises(ApiConnectionError) as lost:
        api.create_realtime_client_secret({})

    assert not isinstance(lost.value, ApiTimeoutError)
    assert lost.value.attempts == 1


def test_a_wait_that_fits_in_the_deadline_is_still_taken(openai_mock: MockServer) -> None:
    openai_mock.fail_next(1, 429, retry_after=0.2)
    api = _api(openai_mock.url, RetryPolicy(total=2, backoff_factor=5), deadline=5.0)

    answer = api.create_realtime_client_secret_with_http_info({})

    assert answer.attempts == 2
