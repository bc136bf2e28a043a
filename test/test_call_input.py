"""What a call is given and what it gives back: answers that survive copying, arguments the
wire cannot carry refused before any I/O, headers that would break the connection refused."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator

import pytest

from openapiopenai import ApiClient, ApiValueError, Configuration, RealtimeApi, RealtimeCallAnswer
from openapiopenai.mock import MockServer
from test.conftest import API_KEY

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
