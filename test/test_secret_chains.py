"""Credentials stay out of what an exception drags along (``__cause__``, ``__context__``), on
every path that raises with a key in its input."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from openapiopenai import ApiClient, Configuration, RealtimeApi, webhooks
from openapiopenai.exceptions import OpenApiException
from openapiopenai.mock import MockServer
from openapiopenai.models import MCPTool, RealtimeCreateClientSecretResponse
from test.conftest import API_KEY
from test.faults import unused_port

EPHEMERAL = "ek_68af296e8e408191a1120ab6383263c2"
#: A credential with no recognisable shape: only the exact value can give it away.
PLAIN_TOKEN = "mcp7d4f0c2a9b1e5f3a8c6dQ"
WEBHOOK_SECRET = "whsec_ZG9jcy1leGFtcGxlLXNlY3JldC1ub3QtYS1yZWFsLW9uZQ=="


def _chained(error: BaseException) -> Iterator[BaseException]:
    """Every exception reachable from ``error`` through ``__cause__`` and ``__context__``."""
    seen: set[int] = set()
    pending = [error.__cause__, error.__context__]
    while pending:
        linked = pending.pop()
        if linked is None or id(linked) in seen:
            continue
        seen.add(id(linked))
        yield linked
        pending += [linked.__cause__, linked.__context__]


def _assert_no_secret_chained(error: BaseException, *secrets: str) -> None:
    texts = ["".join(traceback.format_exception(error))]
    for linked in _chained(error):
        texts += [str(linked), repr(linked), repr(linked.args), repr(vars(linked))]
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"{secret[:6]}... reachable in: {text[:300]!r}"


def _raised(action: Callable[[], object]) -> OpenApiException:
    with pytest.raises(OpenApiException) as caught:
        action()
    return caught.value


def _answer(**fields: Any) -> dict[str, Any]:
    return {
        "value": EPHEMERAL,
        "expires_at": 1893456000,
        "session": {"type": "a-newer-type"},
        **fields,
    }


def _valid_answer() -> RealtimeCreateClientSecretResponse:
    answer = RealtimeCreateClientSecretResponse.from_dict(_answer())
    assert answer is not None
    return answer


#: A wrong value for ``expires_at`` that holds the key: pydantic's own error quotes it.
BAD_EXPIRY = {"value": EPHEMERAL}

MODEL_PATHS: dict[str, Callable[[], object]] = {
    "from_dict": lambda: RealtimeCreateClientSecretResponse.from_dict(
        _answer(expires_at=BAD_EXPIRY)
    ),
    "from_json": lambda: RealtimeCreateClientSecretResponse.from_json(
        f'{{"value": "{EPHEMERAL}", "expires_at": "x{EPHEMERAL}", "session": {{}}}}'
    ),
    "constructor": lambda: RealtimeCreateClientSecretResponse(**_answer(expires_at=BAD_EXPIRY)),
    "assignment": lambda: setattr(_valid_answer(), "expires_at", BAD_EXPIRY),
    "model_copy": lambda: MCPTool(type="mcp", server_label="s").model_copy(
        update={"server_label": [PLAIN_TOKEN]}
    ),
    "request": lambda: MCPTool(
        type="mcp", server_label="s", authorization=PLAIN_TOKEN, headers={"X-Key": [PLAIN_TOKEN]}
    ),
    "to_json": lambda: MCPTool(
        type="mcp", server_label="s", authorization=PLAIN_TOKEN + "\ud800"
    ).to_json_bytes(),
}


SETTING_PATHS: dict[str, Callable[[], object]] = {
    "access_token": lambda: Configuration(access_token=API_KEY + "\n", ignore_environment=True),
    "host": lambda: Configuration(host=f"http://u:{API_KEY}@h/v1", ignore_environment=True),
    "default_header": lambda: ApiClient(Configuration(ignore_environment=True)).set_default_header(
        "Authorization", f"Bearer {API_KEY}\u20ac"
    ),
    "request_auth": lambda: RealtimeApi(
        ApiClient(
            Configuration(access_token="x", host="http://127.0.0.1:9", ignore_environment=True)
        )
    ).hangup_realtime_call("rtc_1", _request_auth=API_KEY + "\x1b"),
    "webhook_secret": lambda: webhooks.unwrap(b"{}", {}, secret=f"whsec_{API_KEY}!"),
}


@pytest.mark.parametrize("path", SETTING_PATHS.values(), ids=SETTING_PATHS.keys())
def test_refused_settings_carry_no_key_in_their_chain(path: Callable[[], object]) -> None:
    _assert_no_secret_chained(_raised(path), API_KEY)


@pytest.mark.parametrize("path", MODEL_PATHS.values(), ids=MODEL_PATHS.keys())
def test_model_errors_carry_no_key_in_their_chain(path: Callable[[], object]) -> None:
    _assert_no_secret_chained(_raised(path), EPHEMERAL, PLAIN_TOKEN)


@pytest.fixture
def api(openai_mock: MockServer) -> Iterator[RealtimeApi]:
    configuration = Configuration(
        host=openai_mock.url, access_token=API_KEY, retries=0, ignore_environment=True
    )
    with ApiClient(configuration) as client:
        yield RealtimeApi(client)


def test_an_invalid_answer_with_a_key_carries_no_key_in_its_chain(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.respond_next(200, _answer(expires_at={"value": EPHEMERAL}))

    error = _raised(lambda: api.create_realtime_client_secret({}))

    _assert_no_secret_chained(error, EPHEMERAL, API_KEY)


def test_an_error_answer_echoing_the_key_carries_no_key_in_its_chain(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.respond_next(401, {"error": {"message": f"Incorrect API key: {API_KEY}"}})

    error = _raised(lambda: api.hangup_realtime_call("rtc_1", _request_auth=PLAIN_TOKEN))

    _assert_no_secret_chained(error, API_KEY, PLAIN_TOKEN)


def test_a_refused_connection_carries_no_key_in_its_chain() -> None:
    configuration = Configuration(
        host=f"http://127.0.0.1:{unused_port()}/v1",
        access_token=API_KEY,
        retries=0,
        ignore_environment=True,
    )
    with ApiClient(configuration) as client:
        error = _raised(lambda: RealtimeApi(client).create_realtime_client_secret({}))

    _assert_no_secret_chained(error, API_KEY)


def test_a_bad_request_carries_no_key_in_its_chain(api: RealtimeApi) -> None:
    session = {"type": "realtime", "tools": [{"type": "mcp", "server_label": [PLAIN_TOKEN]}]}

    error = _raised(lambda: api.create_realtime_call("v=0\r\n", session=session))

    _assert_no_secret_chained(error, PLAIN_TOKEN)


def test_a_signed_webhook_that_cannot_be_read_carries_nothing_in_its_chain() -> None:
    body = f'{{"type": "realtime.call.incoming", "data": {{"call_id": 5, "k": "{EPHEMERAL}"}}}}'
    headers = webhooks.sign(body, secret=WEBHOOK_SECRET)

    error = _raised(lambda: webhooks.unwrap(body, headers, secret=WEBHOOK_SECRET))

    _assert_no_secret_chained(error, EPHEMERAL, WEBHOOK_SECRET)
