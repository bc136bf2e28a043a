"""Credentials stay secret: not in repr/str, exceptions, tracebacks, logs or debug output.

The API key is checked both in OpenAI's ``sk-...`` shape (which the SDK also recognises by
pattern) and in a free-form shape, as used with gateways, that only an exact match can catch.
The ephemeral key is meant for the browser: readable and serialised, but never displayed.
"""

from __future__ import annotations

import http.client
import logging
import traceback
from collections.abc import Iterator

import pytest

import openapiopenai
import openapiopenai.configuration as configuration_module
from openapiopenai import ApiClient, Configuration, RealtimeApi, RetryPolicy
from openapiopenai.exceptions import (
    ApiException,
    ApiTransportError,
    ApiValueError,
    OpenApiException,
    UnauthorizedException,
)
from openapiopenai.mock import MockServer, Scripted
from test.conftest import API_KEY
from test.faults import unused_port

#: A key with no recognisable prefix: only knowing the exact value can hide it.
GATEWAY_KEY = "gateway7d4f0c2a9b1e5f3a8c6d"
KEYS = [API_KEY, GATEWAY_KEY]
QUICK_RETRIES = RetryPolicy(total=2, backoff_factor=0.01, backoff_jitter=0)


def _api(host: str, key: str = API_KEY, **settings: object) -> RealtimeApi:
    settings.setdefault("retries", QUICK_RETRIES)
    configuration = Configuration(host=host, access_token=key, **settings)  # type: ignore[arg-type]
    return RealtimeApi(ApiClient(configuration))


def _renderings(error: BaseException) -> list[str]:
    """Every way an exception typically ends up in front of a person."""
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if error.__cause__ is not None:
        texts += [str(error.__cause__), repr(error.__cause__)]
    return texts


def _assert_absent(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text, f"secret found in: {text[:200]!r}"


@pytest.fixture
def sdk_logger_restored() -> Iterator[logging.Logger]:
    """Undo what ``debug=True`` does to the ``openapiopenai`` logger, for the tests after."""
    logger = logging.getLogger(configuration_module.LOGGER_NAME)
    level, handlers = logger.level, list(logger.handlers)
    handler = configuration_module._debug_handler
    saved_level = configuration_module._saved_level
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers
    configuration_module._debug_handler = handler
    configuration_module._saved_level = saved_level
    configuration_module._debug_configurations.clear()


# -- repr and str --------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_configuration_and_client_never_show_the_key(key: str) -> None:
    configuration = Configuration(access_token=key, organization="org-1", project="proj_1")
    client = ApiClient(configuration)

    _assert_absent(key, repr(configuration), str(configuration), repr(client), str(client))
    assert "org-1" in repr(configuration)  # the repr is still useful
    assert configuration.access_token == key  # and the key itself is readable


def test_auth_settings_are_the_one_place_the_key_is_exposed() -> None:
    settings = Configuration(access_token=API_KEY).auth_settings()

    assert settings["ApiKeyAuth"]["value"] == f"Bearer {API_KEY}"


def test_api_response_and_session_hide_both_keys(openai_mock: MockServer) -> None:
    response = _api(openai_mock.url).create_realtime_session_with_http_info({})
    session = response.data
    ephemeral = session.client_secret.value

    assert ephemeral.startswith("ek_")
    shown = [
        repr(response),
        str(response),
        repr(session),
        str(session),
        session.to_str(),
        repr(session.client_secret),
        str(session.client_secret),
        session.client_secret.to_str(),
        f"{session}",
    ]
    for secret in (API_KEY, ephemeral):
        _assert_absent(secret, *shown)


def test_ephemeral_key_is_readable_and_serialised(openai_mock: MockServer) -> None:
    session = _api(openai_mock.url).create_realtime_session({})
    ephemeral = session.client_secret.value

    assert session.to_dict()["client_secret"]["value"] == ephemeral
    assert ephemeral in session.to_json()
    assert ephemeral.encode() in session.to_json_bytes()
    assert session.client_secret.to_dict()["value"] == ephemeral
    assert "ek_***" in repr(session) or "***" in repr(session.client_secret)


# -- exceptions ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_401_echoing_the_key_does_not_show_it(openai_mock: MockServer, key: str) -> None:
    message = f"Incorrect API key provided: {key}. You can find your API key in settings."
    openai_mock.respond_next(
        401,
        {"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}},
    )

    with pytest.raises(UnauthorizedException) as raised:
        _api(openai_mock.url, key=key).create_realtime_session({})

    _assert_absent(key, *_renderings(raised.value))
    assert "Incorrect API key provided" in str(raised.value)
    assert raised.value.code == "invalid_api_key"


@pytest.mark.parametrize("key", KEYS)
def test_plain_error_body_echoing_the_key_does_not_show_it(
    openai_mock: MockServer, key: str
) -> None:
    openai_mock.respond_next(502, f"upstream gateway refused credential {key}")

    with pytest.raises(ApiException) as raised:
        _api(openai_mock.url, key=key, retries=0).create_realtime_session({})

    _assert_absent(key, *_renderings(raised.value))
    assert "HTTP response body" in str(raised.value)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("fault", ["reset", "close", "truncate", "hang"])
def test_transport_errors_do_not_show_the_key(
    openai_mock: MockServer, key: str, fault: str
) -> None:
    openai_mock.enqueue(Scripted(action=fault))

    with pytest.raises(ApiTransportError) as raised:
        _api(openai_mock.url, key=key, retries=0, timeout=0.3).create_realtime_session({})

    _assert_absent(key, *_renderings(raised.value))


def test_connection_refused_does_not_show_the_key() -> None:
    with pytest.raises(ApiTransportError) as raised:
        _api(f"http://127.0.0.1:{unused_port()}/v1", key=GATEWAY_KEY).create_realtime_session({})

    _assert_absent(GATEWAY_KEY, *_renderings(raised.value))


def test_key_missing_error_names_the_fix_not_a_key() -> None:
    api = RealtimeApi(ApiClient(Configuration(host="http://127.0.0.1:9/v1")))

    with pytest.raises(ApiValueError, match="OPENAI_API_KEY"):
        api.create_realtime_session({})


# -- logs and debug output ----------------------------------------------------------------


def _exercise(openai_mock: MockServer, key: str) -> list[str]:
    """Success, retried 500, 401 echoing the key, reset, refused: returns the ephemeral keys."""
    api = _api(openai_mock.url, key=key)
    ephemeral = [api.create_realtime_session({}).client_secret.value]
    openai_mock.fail_next(1, 500, retry_after=0)
    ephemeral.append(api.create_realtime_session({}).client_secret.value)
    openai_mock.respond_next(401, {"error": {"message": f"Incorrect API key provided: {key}"}})
    with pytest.raises(UnauthorizedException):
        api.create_realtime_session({})
    openai_mock.enqueue(Scripted(action="reset"))
    ephemeral.append(api.create_realtime_session({}).client_secret.value)
    with pytest.raises(ApiTransportError):
        _api(f"http://127.0.0.1:{unused_port()}/v1", key=key).create_realtime_session({})
    return ephemeral


def _log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = [caplog.text]
    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            texts.append("".join(traceback.format_exception(record.exc_info[1])))
    return texts


@pytest.mark.parametrize("key", KEYS)
def test_no_log_record_at_any_level_contains_a_key(
    openai_mock: MockServer, caplog: pytest.LogCaptureFixture, key: str
) -> None:
    caplog.set_level(logging.DEBUG)  # root: urllib3's loggers and the SDK's propagate here
    for name in ("urllib3", "urllib3.connectionpool", "urllib3.util.retry"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.DEBUG

    ephemeral = _exercise(openai_mock, key)

    loggers = {record.name for record in caplog.records}
    assert "openapiopenai" in loggers
    assert "urllib3.connectionpool" in loggers
    assert "urllib3.util.retry" in loggers
    texts = _log_texts(caplog)
    for secret in (key, *ephemeral):
        _assert_absent(secret, *texts)
    assert all("Authorization:" not in text for text in texts)


@pytest.mark.usefixtures("sdk_logger_restored")
def test_debug_mode_logs_summaries_without_secrets(
    openai_mock: MockServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    api = _api(openai_mock.url, key=GATEWAY_KEY, debug=True)

    ephemeral = api.create_realtime_session({"instructions": "debug"}).client_secret.value
    openai_mock.fail_next(1, 503, retry_after=0)
    api.create_realtime_session({})

    assert http.client.HTTPConnection.debuglevel == 0
    summaries = [r.getMessage() for r in caplog.records if r.name == "openapiopenai"]
    assert any("-> 200" in message and "attempts 2" in message for message in summaries)
    assert all("Authorization" not in message for message in summaries)
    out, err = capfd.readouterr()
    for secret in (GATEWAY_KEY, ephemeral):
        _assert_absent(secret, out, err, *_log_texts(caplog))
    assert "Authorization" not in out + err
    assert "Bearer" not in out + err


@pytest.mark.usefixtures("sdk_logger_restored")
def test_debug_mode_leaves_other_loggers_alone(openai_mock: MockServer) -> None:
    root_level = logging.getLogger().level
    urllib3_level = logging.getLogger("urllib3").level

    _api(openai_mock.url, debug=True).create_realtime_session({})

    assert logging.getLogger().level == root_level
    assert logging.getLogger("urllib3").level == urllib3_level
    assert logging.getLogger("openapiopenai").isEnabledFor(logging.DEBUG)


# -- header injection ---------------------------------------------------------------------

LINE_BREAKS = ["\r\n", "\n", "\r", "\0"]


@pytest.mark.parametrize("breaker", LINE_BREAKS, ids=repr)
@pytest.mark.parametrize("setting", ["access_token", "organization", "project"])
def test_line_breaks_in_credentials_are_refused(
    openai_mock: MockServer, setting: str, breaker: str
) -> None:
    value = f"{API_KEY}{breaker}X-Injected: yes"

    with pytest.raises(ApiValueError) as raised:
        Configuration(host=openai_mock.url, **{"access_token": API_KEY, setting: value})

    assert setting in str(raised.value)
    _assert_absent(API_KEY, str(raised.value))
    assert openai_mock.requests == []


@pytest.mark.parametrize("setting", ["access_token", "organization", "project"])
def test_line_breaks_set_later_are_refused_and_change_nothing(
    openai_mock: MockServer, setting: str
) -> None:
    configuration = Configuration(host=openai_mock.url, access_token=API_KEY)
    api = RealtimeApi(ApiClient(configuration))
    before = getattr(configuration, setting)

    with pytest.raises(ApiValueError):
        setattr(configuration, setting, "value\r\nX-Injected: yes")

    assert getattr(configuration, setting) == before
    api.create_realtime_session({})
    assert all("X-Injected" not in r.headers for r in openai_mock.requests)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Trace": "abc\r\nX-Injected: yes"},
        {"X-Trace": "abc\nX-Injected: yes"},
        {"X-Trace\r\nX-Injected": "yes"},
        {"X-Trace\n": "yes"},
        {"Authorization": f"Bearer {API_KEY}\r\nX-Injected: yes"},
    ],
    ids=["value-crlf", "value-lf", "name-crlf", "name-lf", "auth-value"],
)
def test_line_breaks_in_per_call_headers_are_refused(
    api: RealtimeApi, openai_mock: MockServer, headers: dict[str, str]
) -> None:
    with pytest.raises(ApiValueError) as raised:
        api.create_realtime_session({}, _headers=headers)

    _assert_absent(API_KEY, str(raised.value))
    assert openai_mock.requests == []


@pytest.mark.parametrize("auth", ["token\r\nX-Injected: yes", {"value": "Bearer t\nX: y"}])
def test_line_breaks_in_per_call_auth_are_refused(
    api: RealtimeApi, openai_mock: MockServer, auth: object
) -> None:
    with pytest.raises(ApiValueError):
        api.create_realtime_session({}, _request_auth=auth)  # type: ignore[arg-type]

    assert openai_mock.requests == []


def test_line_breaks_in_default_headers_are_refused(
    api_client: ApiClient, openai_mock: MockServer
) -> None:
    with pytest.raises(ApiValueError):
        api_client.set_default_header("X-Team", "a\r\nX-Injected: yes")
    with pytest.raises(ApiValueError):
        api_client.user_agent = "agent\nX-Injected: yes"

    RealtimeApi(api_client).create_realtime_session({})
    assert "X-Injected" not in openai_mock.requests[0].headers


# -- redirects ----------------------------------------------------------------------------


@pytest.fixture
def other_origin() -> Iterator[MockServer]:
    """A second mock on another port: a different origin on the same loopback address."""
    server = MockServer()
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_another_origin_is_not_followed(
    openai_mock: MockServer, other_origin: MockServer, status: int
) -> None:
    # Everything a gateway setup may send: org/project headers, an extra key-bearing header,
    # a header-style per-call auth, and the body.
    config = Configuration(
        host=openai_mock.url, access_token=API_KEY, organization="org-x", project="proj-y"
    )
    target = other_origin.url + "/realtime/sessions"
    openai_mock.respond_next(status, b"", {"Location": target, "Content-Length": "0"})

    with ApiClient(config) as client, pytest.raises(ApiException) as raised:
        RealtimeApi(client).create_realtime_session(
            {"instructions": "follow me"},
            _headers={"X-Api-Key": "sk-extra-0123456789abcdef"},
            _request_auth={"in": "header", "key": "api-key", "value": "gateway-secret-42"},
        )

    assert raised.value.status == status
    assert type(raised.value) is ApiException
    assert f"Redirect not followed, to: {target}" in str(raised.value)
    assert len(openai_mock.requests) == 1
    assert other_origin.requests == []


@pytest.mark.parametrize(
    "location", ["/v1/realtime/sessions", "{same}/realtime/sessions", ""], ids=str
)
def test_same_origin_and_relative_redirects_are_not_followed_either(
    api: RealtimeApi, openai_mock: MockServer, location: str
) -> None:
    headers = {"Location": location.format(same=openai_mock.url)} if location else {}
    openai_mock.respond_next(307, b"", headers)

    with pytest.raises(ApiException) as raised:
        api.create_realtime_session({})

    assert raised.value.status == 307
    assert raised.value.attempts == 1
    assert (location.format(same=openai_mock.url) or "(no Location header)") in str(raised.value)
    assert len(openai_mock.requests) == 1


def test_redirect_location_is_named_without_credentials_or_keys(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    location = "https://user:hunter2@evil.example/steal?key=sk-leaked-0123456789abcdef"
    openai_mock.respond_next(302, b"", {"Location": location})

    with pytest.raises(ApiException) as raised:
        api.create_realtime_session({})

    text = str(raised.value)
    assert "https://***@evil.example/steal?key=sk-***" in text
    assert "hunter2" not in text
    assert "sk-leaked" not in text


def test_every_sdk_error_is_an_openapi_exception() -> None:
    # The families the tests above rely on all share the one base class.
    for error_class in (ApiException, ApiTransportError, ApiValueError, openapiopenai.ApiTypeError):
        assert issubclass(error_class, OpenApiException)


@pytest.mark.usefixtures("sdk_logger_restored")
def test_debug_off_again_stops_logging(
    openai_mock: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger(configuration_module.LOGGER_NAME)
    level, handlers = logger.level, list(logger.handlers)
    api = _api(openai_mock.url, debug=True)
    api.create_realtime_session({})
    assert any(r.name == "openapiopenai" for r in caplog.records)

    api.api_client.configuration.debug = False
    caplog.clear()
    api.create_realtime_session({})

    assert logger.level == level
    assert logger.handlers == handlers
    assert [r for r in caplog.records if r.name == "openapiopenai"] == []


@pytest.mark.usefixtures("sdk_logger_restored")
def test_debug_stays_on_while_any_configuration_has_it() -> None:
    logger = logging.getLogger(configuration_module.LOGGER_NAME)
    level = logger.level
    first = Configuration(debug=True, ignore_environment=True)
    second = Configuration(debug=True, ignore_environment=True)
    Configuration(ignore_environment=True)  # debug off by default: changes nothing

    second.debug = False
    assert logger.level == logging.DEBUG

    first.debug = False
    assert logger.level == level


# -- credentials in the base URL ----------------------------------------------------------


@pytest.mark.parametrize("host", ["http://user:pw-hunter2@127.0.0.1/v1", "https://sk-abc@h/v1"])
def test_credentials_in_host_refused_without_echoing_them(host: str) -> None:
    with pytest.raises(ApiValueError, match="access_token") as raised:
        Configuration(host=host, ignore_environment=True)
    _assert_absent("hunter2", *_renderings(raised.value))
    _assert_absent("sk-abc", *_renderings(raised.value))

    configuration = Configuration(ignore_environment=True)
    with pytest.raises(ApiValueError, match="access_token"):
        configuration.host = host
    assert "hunter2" not in repr(configuration)


# -- header values the HTTP client cannot send -------------------------------------------------

UNSENDABLE = {
    "byte-order mark": "\ufeffsk-bom-0123456789abcdefghij",
    "trailing newline": "sk-newline-0123456789abcdef\n",
    "terminal escape": "sk-escape-0123456789abcdef\x1b[2J",
    "emoji": "sk-emoji-0123456789abcdef\U0001f511",
}


@pytest.mark.parametrize("value", UNSENDABLE.values(), ids=UNSENDABLE.keys())
@pytest.mark.parametrize("setting", ["access_token", "organization", "project"])
def test_unsendable_credentials_are_refused_naming_the_setting(setting: str, value: str) -> None:
    with pytest.raises(ApiValueError) as raised:
        Configuration(**{setting: value})  # type: ignore[arg-type]

    assert setting in str(raised.value)
    for text in _renderings(raised.value):
        _assert_absent(value.strip(), text)
        _assert_absent(value[:10].lstrip("\ufeff"), text)


@pytest.mark.parametrize("value", UNSENDABLE.values(), ids=UNSENDABLE.keys())
def test_unsendable_proxy_header_is_refused_naming_the_header(value: str) -> None:
    with pytest.raises(ApiValueError) as raised:
        Configuration(proxy="http://127.0.0.1:3128", proxy_headers={"Proxy-Authorization": value})

    assert "proxy_headers['Proxy-Authorization']" in str(raised.value)
    for text in _renderings(raised.value):
        _assert_absent(value[:10].lstrip("\ufeff"), text)


def test_unsendable_proxy_credentials_are_refused_without_quoting_them() -> None:
    # Built here so that the traceback's source line does not quote it either.
    proxy = "http://user:p%E2%82%AC" + "ss-secret@127.0.0.1:3128"
    with pytest.raises(ApiValueError) as raised:
        Configuration(proxy=proxy)

    assert "proxy credentials" in str(raised.value)
    for text in _renderings(raised.value):
        _assert_absent("ss-secret", text)


@pytest.mark.parametrize("value", UNSENDABLE.values(), ids=UNSENDABLE.keys())
def test_unsendable_per_call_values_are_refused_before_sending(
    api: RealtimeApi, openai_mock: MockServer, value: str
) -> None:
    attempts = [
        lambda: api.create_realtime_session({}, _request_auth=value),
        lambda: api.create_realtime_session(
            {}, _request_auth={"in": "header", "key": "api-key", "value": value}
        ),
        lambda: api.create_realtime_session({}, _headers={"X-Api-Key": value}),
        lambda: api.api_client.set_default_header("X-Api-Key", value),
    ]
    for attempt in attempts:
        with pytest.raises(ApiValueError) as raised:
            attempt()
        for text in _renderings(raised.value):
            _assert_absent(value[:10].lstrip("\ufeff"), text)

    assert openai_mock.requests == []


def test_a_tab_in_a_header_value_is_still_allowed(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    api.create_realtime_session({}, _headers={"X-Note": "a\tb"})

    assert openai_mock.requests[0].headers["X-Note"] == "a\tb"
