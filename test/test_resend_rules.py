"""What may be sent again: a request that creates something (a call) or acts on a call is sent
again only when it cannot have reached the server or the answer says nothing was done;
minting a key is sent again as before. Against the mock and a closed port on 127.0.0.1."""

from __future__ import annotations

import pytest

from openapiopenai.exceptions import (
    ApiConnectionError,
    ApiConnectionResetError,
    ApiTimeoutError,
    ConflictException,
    ServiceException,
)
from openapiopenai.mock import MockServer, Scripted
from test.conftest import OFFER
from test.conftest import quick_api as _api
from test.faults import unused_port


def test_a_call_whose_answer_timed_out_is_not_opened_again(openai_mock: MockServer) -> None:
    openai_mock.delay_next(1.0, count=3)
    api = _api(openai_mock.url, timeout=(5, 0.3))

    with pytest.raises(ApiTimeoutError) as lost:
        api.create_realtime_call(OFFER, session={"type": "realtime"})

    assert lost.value.attempts == 1
    assert len(openai_mock.requests) == 1


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        (Scripted(action="reset"), ApiConnectionResetError),
        (Scripted(action="close"), ApiConnectionResetError),
        (Scripted(status=500, body=b'{"error": {"message": "boom"}}'), ServiceException),
        (Scripted(status=502), ServiceException),
        (Scripted(status=504), ServiceException),
        (Scripted(status=409), ConflictException),
    ],
    ids=["reset", "closed", "500", "502", "504", "409"],
)
def test_a_call_that_may_have_been_opened_is_not_sent_again(
    openai_mock: MockServer, behaviour: Scripted, error: type[Exception]
) -> None:
    openai_mock.enqueue(behaviour, behaviour, behaviour)
    api = _api(openai_mock.url)

    with pytest.raises(error) as failed:
        api.create_realtime_call(OFFER)

    assert getattr(failed.value, "attempts", None) == 1
    assert len(openai_mock.requests) == 1


@pytest.mark.parametrize(
    "refusal",
    [
        Scripted(status=429, headers={"Retry-After": "0"}),
        Scripted(status=408),
        Scripted(status=503),
        Scripted(status=500, headers={"x-should-retry": "true"}),
    ],
    ids=["429", "408", "503", "x-should-retry"],
)
def test_a_call_refused_before_anything_was_done_is_sent_again(
    openai_mock: MockServer, refusal: Scripted
) -> None:
    openai_mock.enqueue(refusal)
    api = _api(openai_mock.url)

    answer = api.create_realtime_call_with_http_info(OFFER)

    assert answer.attempts == 2
    assert len(openai_mock.calls) == 1


def test_a_call_that_could_not_connect_is_sent_again() -> None:
    api = _api(f"http://127.0.0.1:{unused_port()}/v1")

    with pytest.raises(ApiConnectionError) as lost:
        api.create_realtime_call(OFFER)

    assert lost.value.attempts == 3


@pytest.mark.parametrize("operation", ["hangup", "refer", "reject", "accept"])
def test_call_control_is_not_sent_again_after_a_server_error(
    openai_mock: MockServer, operation: str
) -> None:
    openai_mock.enqueue(*(Scripted(status=500) for _ in range(3)))
    api = _api(openai_mock.url)
    send = {
        "hangup": lambda: api.hangup_realtime_call("rtc_1"),
        "refer": lambda: api.refer_realtime_call("rtc_1", {"target_uri": "tel:+14155550123"}),
        "reject": lambda: api.reject_realtime_call("rtc_1"),
        "accept": lambda: api.accept_realtime_call("rtc_1", {"type": "realtime"}),
    }[operation]

    with pytest.raises(ServiceException) as failed:
        send()

    assert failed.value.attempts == 1
    assert len(openai_mock.requests) == 1


def test_minting_a_key_is_still_sent_again_after_a_timeout(openai_mock: MockServer) -> None:
    openai_mock.delay_next(1.0, count=2)
    api = _api(openai_mock.url, timeout=(5, 0.3))

    answer = api.create_realtime_client_secret_with_http_info({})

    assert answer.attempts == 3  # an unused key expires by itself: sending again is harmless
    assert len(openai_mock.requests) == 3
