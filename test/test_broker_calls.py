"""The broker ends only the calls it opened, for the page that opened them: a call id alone
(from a log, a webhook, a guess) ends nothing. Over real HTTP, in front of the mock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.mock import MockServer
from test.test_token_broker import (
    API_KEY,
    OFFER,
    Answer,
    RunningBroker,
    call,
    post_offer,
    running_broker,
)


@pytest.fixture
def broker(openai_mock: MockServer) -> Iterator[RunningBroker]:
    with running_broker(openai_mock.url) as running:
        yield running


def _opened(broker: RunningBroker) -> tuple[str, str]:
    """A call opened through the broker: its id and the token its page got."""
    answer = post_offer(broker)
    assert answer.status == 201
    return answer.headers["X-Call-Id"], answer.headers["X-Call-Token"]


def _hangup(broker: RunningBroker, body: dict[str, Any], **kwargs: Any) -> Answer:
    return call(broker.url, "POST", "/hangup", body, **kwargs)


def test_the_page_that_opened_a_call_can_end_it(
    broker: RunningBroker, openai_mock: MockServer
) -> None:
    call_id, token = _opened(broker)

    ended = _hangup(broker, {"call_id": call_id, "call_token": token})
    again = _hangup(broker, {"call_id": call_id, "call_token": token})

    assert ended.status == 204
    assert openai_mock.calls[call_id].hung_up
    assert again.status == 403  # ended and forgotten: the token ends nothing more


def test_a_call_id_without_its_token_ends_nothing(
    broker: RunningBroker, openai_mock: MockServer
) -> None:
    call_id, token = _opened(broker)
    requests_before = len(openai_mock.requests)
    forged = ("y" if token[0] == "x" else "x") + token[1:]  # one character off, never the same

    answers = [
        _hangup(broker, {"call_id": call_id, "call_token": forged}),
        _hangup(broker, {"call_id": call_id, "call_token": token[:-1]}),
        _hangup(broker, {"call_id": call_id, "call_token": ""}),
        _hangup(broker, {"call_id": call_id}, headers={"Origin": "https://shop.example"}),
    ]

    assert [answer.status for answer in answers] == [403, 403, 400, 400]
    assert answers[0].error["type"] == "call_not_yours"
    assert not openai_mock.calls[call_id].hung_up
    assert len(openai_mock.requests) == requests_before


def _opened_elsewhere(openai_mock: MockServer) -> str:
    """A call the broker had no part in, as a SIP call answered by another service."""
    configuration = Configuration(
        host=openai_mock.url, access_token=API_KEY, ignore_environment=True
    )
    with ApiClient(configuration) as client:
        elsewhere = RealtimeApi(client).create_realtime_call(OFFER)
    assert elsewhere.call_id is not None
    return elsewhere.call_id


def test_a_bare_call_id_ends_no_call(broker: RunningBroker, openai_mock: MockServer) -> None:
    call_id = _opened_elsewhere(openai_mock)

    refused = _hangup(broker, {"call_id": call_id})  # no Origin: a local process, say

    assert refused.status == 400
    assert refused.error["param"] == "call_token"
    assert not openai_mock.calls[call_id].hung_up


def test_a_call_this_broker_never_opened_is_refused(
    broker: RunningBroker, openai_mock: MockServer
) -> None:
    elsewhere = _opened_elsewhere(openai_mock)
    _, token = _opened(broker)  # a token of this broker's, for another call

    refused = _hangup(broker, {"call_id": elsewhere, "call_token": token})

    assert refused.status == 403
    assert refused.error["type"] == "call_not_yours"
    assert not openai_mock.calls[elsewhere].hung_up


def test_one_pages_token_does_not_end_another_pages_call(
    broker: RunningBroker, openai_mock: MockServer
) -> None:
    first_id, _ = _opened(broker)
    _, second_token = _opened(broker)

    refused = _hangup(broker, {"call_id": first_id, "call_token": second_token})

    assert refused.status == 403
    assert not openai_mock.calls[first_id].hung_up


def test_call_ids_are_not_logged_in_full_at_info(broker: RunningBroker) -> None:
    call_id, token = _opened(broker)
    assert _hangup(broker, {"call_id": call_id, "call_token": token}).status == 204

    info = [line for line in broker.log.lines if " DEBUG " not in line]

    assert any(f"opened call call_id={call_id[:12]}..." in line for line in info)
    assert any(f"hung up call_id={call_id[:12]}..." in line for line in info)
    assert not [line for line in info if call_id in line]
    assert not [line for line in broker.log.lines if token in line]


@pytest.mark.parametrize(
    "body",
    [
        {"call_id": "rtc_1", "call_token": 7},
        {"call_id": "rtc_1", "call_token": "t", "more": 1},
        {"call_token": "t"},
    ],
)
def test_hangup_refuses_a_malformed_body_before_looking(
    broker: RunningBroker, openai_mock: MockServer, body: dict[str, Any]
) -> None:
    answer = _hangup(broker, body)

    assert answer.status == 400
    assert openai_mock.requests == []
