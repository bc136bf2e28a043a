"""What an ``ApiClient`` keeps between calls stays the same size however many calls it makes,
and holds the key in a bounded number of places: nothing per call id, nothing per multipart
boundary. Measured on a client that really talked to the mock on 127.0.0.1."""

from __future__ import annotations

import gc
import types
from collections.abc import Iterator

import pytest

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.mock import MockServer
from test.conftest import API_KEY, OFFER

#: Not walked into: shared by everything, not state of the client.
_NOT_STATE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
)


def _reachable(root: object) -> list[object]:
    """Every object the client references, directly or not (classes and modules aside)."""
    seen = {id(root): root}
    pending = [root]
    while pending:
        for referent in gc.get_referents(pending.pop()):
            if not isinstance(referent, _NOT_STATE) and id(referent) not in seen:
                seen[id(referent)] = referent
                pending.append(referent)
    return list(seen.values())


@pytest.fixture
def client(openai_mock: MockServer) -> Iterator[ApiClient]:
    configuration = Configuration(
        host=openai_mock.url, access_token=API_KEY, retries=0, ignore_environment=True
    )
    with ApiClient(configuration) as api_client:
        yield api_client


def _calls_and_hangups(api: RealtimeApi, count: int) -> None:
    for _ in range(count):
        answer = api.create_realtime_call(OFFER, session={"type": "realtime"})
        assert answer.call_id is not None
        api.hangup_realtime_call(answer.call_id)


def test_the_client_keeps_nothing_per_call(client: ApiClient) -> None:
    api = RealtimeApi(client)
    _calls_and_hangups(api, 5)
    api.create_realtime_client_secret({})
    settled = len(_reachable(client))

    _calls_and_hangups(api, 100)
    api.create_realtime_client_secret({})
    kept = _reachable(client)

    assert len(kept) <= settled + 10  # a few objects of slack; a per-call cache adds hundreds
    assert not [item for item in kept if isinstance(item, str) and "rtc_" in item]


def test_the_key_sits_in_a_bounded_number_of_header_sets(client: ApiClient) -> None:
    api = RealtimeApi(client)
    _calls_and_hangups(api, 50)
    api.create_realtime_client_secret({})

    bearer = f"Bearer {API_KEY}"
    holders = [
        item for item in _reachable(client) if isinstance(item, dict) and bearer in item.values()
    ]

    # One header set per kind of body sent (JSON, SDP offer, multipart offer, none).
    assert len(holders) <= 4
