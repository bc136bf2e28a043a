"""The mock server as its users meet it: context manager, pytest fixture, ``python -m``, faults."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import urllib3

import openapiopenai
from openapiopenai.mock import (
    DEMO_CALL_ID,
    SESSION_DEFAULTS,
    MockServer,
    RecordedRequest,
    Scripted,
    pytest_plugin,
)
from test.conftest import first_line, standalone_mock

KEY = "sk-mock-test-0123456789abcdefghijkl"
JSON = {"Content-Type": "application/json"}
AUTH = {**JSON, "Authorization": f"Bearer {KEY}"}


def post(
    url: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None
) -> urllib3.BaseHTTPResponse:
    """One raw POST to the sessions path, no retries: what the mock says is what we see."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return urllib3.request(
        "POST",
        f"{url}/realtime/sessions",
        body=raw,
        headers=AUTH if headers is None else headers,
        retries=False,
        timeout=30,
    )


def sdk(
    url: str, *, retries: int = 0, api_key: str = KEY, timeout: float = 30
) -> openapiopenai.RealtimeApi:
    """The SDK aimed at ``url`` with quick retries."""
    configuration = openapiopenai.Configuration(
        host=url,
        access_token=api_key,
        retries=openapiopenai.RetryPolicy(total=retries, backoff_factor=0.01, backoff_jitter=0),
        timeout=timeout,
    )
    return openapiopenai.RealtimeApi(openapiopenai.ApiClient(configuration))


def error_of(response: urllib3.BaseHTTPResponse) -> dict[str, Any]:
    body = json.loads(response.data)
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "code", "param"}
    return error


# -- ways to run it --------------------------------------------------------------------------


def test_context_manager_serves_then_releases_the_port() -> None:
    with MockServer() as url:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/v1")
        session = sdk(url).create_realtime_session({"voice": "marin"})
        assert session.voice == "marin"

    with pytest.raises(openapiopenai.ApiConnectionError):
        sdk(url).create_realtime_session({})


def test_fixture_is_running_and_has_a_configuration(
    openai_mock: MockServer, openai_mock_configuration: openapiopenai.Configuration
) -> None:
    assert openai_mock_configuration.host == openai_mock.url
    with openapiopenai.ApiClient(openai_mock_configuration) as client:
        session = openapiopenai.RealtimeApi(client).create_realtime_session({})

    assert session.client_secret.value.startswith("ek_")
    assert len(openai_mock.requests) == 1


def test_plugin_is_registered_as_pytest11_entry_point() -> None:
    plugins = {entry.name: entry.value for entry in entry_points(group="pytest11")}

    assert plugins.get("openapiopenai") == pytest_plugin.__name__


def test_fixture_reaches_a_project_without_conftest(tmp_path: Path) -> None:
    """A user's project gets ``openai_mock`` just by installing the package."""
    (tmp_path / "test_user.py").write_text(
        "import openapiopenai\n"
        "def test_mint(openai_mock, openai_mock_configuration):\n"
        "    api = openapiopenai.RealtimeApi(openapiopenai.ApiClient(openai_mock_configuration))\n"
        "    assert api.create_realtime_session({}).client_secret.value.startswith('ek_')\n"
        "    assert openai_mock.requests[0].path == '/v1/realtime/sessions'\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.mark.parametrize(
    ("api_key", "stop_signal"), [(None, signal.SIGTERM), (KEY, signal.SIGINT)], ids=["term", "int"]
)
def test_module_prints_its_url_and_serves_until_stopped(
    api_key: str | None, stop_signal: signal.Signals
) -> None:
    args = [sys.executable, "-m", "openapiopenai.mock", "--port", "0"]
    if api_key:
        args += ["--api-key", api_key]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
        try:
            url = first_line(child.stdout, timeout=60).strip()
            assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")

            assert sdk(url).create_realtime_session({"voice": "ash"}).voice == "ash"
            assert DEMO_CALL_ID in first_line(child.stdout, timeout=60)
            sdk(url).hangup_realtime_call(DEMO_CALL_ID)  # the announced call is there
            wrong_key = post(url, {}, {**JSON, "Authorization": "Bearer sk-some-other-key"})
            assert wrong_key.status == (401 if api_key else 200)
            assert child.poll() is None

            child.send_signal(stop_signal)
            assert child.wait(timeout=30) == 0
            assert child.stderr is not None and child.stderr.read() == ""
        finally:
            child.kill()

    with pytest.raises(openapiopenai.ApiConnectionError):
        sdk(url).create_realtime_session({})


def test_module_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openapiopenai.mock", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0
    assert "--port" in result.stdout and "--api-key" in result.stdout


def test_module_scripts_replies_and_tool_calls_in_order() -> None:
    """``--reply`` and ``--tool-call``: the standalone mock's next responses, in the given order."""
    pytest.importorskip("websockets", reason="the realtime extra")
    from openapiopenai.models import (
        RealtimeServerEventResponseDone,
        RealtimeServerEventResponseFunctionCallArgumentsDone,
    )

    script = ["--reply", "Hi there", "--tool-call", "get_weather", '{"city": "Paris"}']
    with standalone_mock(*script, "--reply", "Sunny") as url:
        said: list[object] = []
        with sdk(url).connect(model="gpt-realtime", receive_timeout=30) as conn:
            conn.session.update({"type": "realtime", "output_modalities": ["text"]})
            for _ in range(4):
                conn.response.create()
                for event in conn:
                    if isinstance(event, RealtimeServerEventResponseFunctionCallArgumentsDone):
                        said.append((event.name, json.loads(event.arguments)))
                    elif isinstance(event, RealtimeServerEventResponseDone):
                        output = event.to_dict()["response"]["output"]
                        if output[0]["type"] == "message":
                            said.append(output[0]["content"][0]["text"])
                        break

    assert said[:3] == ["Hi there", ("get_weather", {"city": "Paris"}), "Sunny"]
    assert said[3] != "Sunny"  # then the default reply


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [("{city", "ARGUMENTS is not JSON"), ("[1]", "ARGUMENTS must be a JSON object")],
)
def test_module_refuses_tool_call_arguments_that_are_not_an_object(
    arguments: str, complaint: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openapiopenai.mock", "--tool-call", "f", arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert f"--tool-call f: {complaint}" in result.stderr


def test_unknown_call_404_says_how_to_make_one(openai_mock: MockServer) -> None:
    """A mock in the test's own process has no demo call; its 404 tells how to make one."""
    api = sdk(openai_mock.url)
    session = {"type": "realtime", "model": "gpt-realtime"}
    with pytest.raises(openapiopenai.NotFoundException) as missing:
        api.accept_realtime_call(DEMO_CALL_ID, session)

    assert "mock.incoming_call(call_id)" in str(missing.value)
    assert f"python -m openapiopenai.mock` starts with one waiting, {DEMO_CALL_ID}" in str(
        missing.value
    )
    openai_mock.incoming_call(DEMO_CALL_ID)  # as the message says
    api.accept_realtime_call(DEMO_CALL_ID, session)
    assert openai_mock.calls[DEMO_CALL_ID].actions[0][0] == "accept"


# -- what it answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [JSON, {**JSON, "Authorization": "Basic dXNlcjpwYXNz"}, {**JSON, "Authorization": "Bearer "}],
    ids=["none", "basic", "empty-bearer"],
)
def test_401_without_a_bearer_token(openai_mock: MockServer, headers: dict[str, str]) -> None:
    response = post(openai_mock.url, {}, headers)

    assert response.status == 401
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert "API key" in error["message"]


def test_401_for_another_key_when_one_is_required() -> None:
    with MockServer(api_key=KEY) as url:
        refused = post(url, {}, {**JSON, "Authorization": "Bearer sk-not-the-right-one"})
        accepted = post(url, {})

    assert refused.status == 401
    assert error_of(refused)["code"] == "invalid_api_key"
    assert "sk-not-the-right-one" not in refused.data.decode()
    assert accepted.status == 200


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"input_audio_format": "mp3"}, "input_audio_format", "invalid_value"),
        ({"modalities": ["text", "video"]}, "modalities.1", "invalid_value"),
        ({"turn_detection": {"type": "loud_vad"}}, "turn_detection.type", "invalid_value"),
        ({"speed": 1.6}, "speed", "invalid_value"),
        ({"speed": 0.2}, "speed", "invalid_value"),
        (
            {"client_secret": {"expires_after": {"anchor": "created_at", "seconds": 7201}}},
            "client_secret.expires_after.seconds",
            "invalid_value",
        ),
        ({"temperature": "warm"}, "temperature", "invalid_value"),
        ({"voice": 7}, "voice", "invalid_value"),
        ({"modalities": "audio"}, "modalities", "invalid_value"),
        ({"instructions": "hi", "voise": "marin"}, "voise", "unknown_parameter"),
        (
            {"turn_detection": {"type": "server_vad", "treshold": 0.4}},
            "turn_detection.treshold",
            "unknown_parameter",
        ),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else None,
)
def test_400_names_the_offending_field(
    openai_mock: MockServer, body: dict[str, Any], param: str, code: str
) -> None:
    response = post(openai_mock.url, body)

    assert response.status == 400
    error = error_of(response)
    assert error["param"] == param
    assert error["code"] == code
    assert error["type"] == "invalid_request_error"
    assert param in error["message"]


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"text"'])
def test_400_for_a_body_that_is_not_an_object(openai_mock: MockServer, body: bytes) -> None:
    response = post(openai_mock.url, body)

    assert response.status == 400
    assert error_of(response)["param"] is None


def test_400_reaches_the_sdk_as_bad_request(openai_mock: MockServer) -> None:
    request = openapiopenai.RealtimeSessionCreateRequest().with_additional_properties(audio_speed=2)

    with pytest.raises(openapiopenai.BadRequestException) as caught:
        sdk(openai_mock.url).create_realtime_session(request)

    assert caught.value.param == "audio_speed"
    assert caught.value.code == "unknown_parameter"


def test_200_echoes_the_request_over_the_defaults(openai_mock: MockServer) -> None:
    asked = {
        "model": "gpt-realtime-mini",
        "voice": "marin",
        "instructions": "Answer in French.",
        "modalities": ["text"],
        "turn_detection": None,
        "tracing": "auto",
        "speed": 1.25,
    }
    before = int(time.time())
    response = post(openai_mock.url, asked)
    after = int(time.time())

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    session = json.loads(response.data)
    for name, value in asked.items():
        assert session[name] == value, name
    for name in set(SESSION_DEFAULTS) - set(asked):
        assert session[name] == SESSION_DEFAULTS[name], name
    assert session["id"].startswith("sess_")
    assert session["object"] == "realtime.session"
    secret = session["client_secret"]
    assert set(secret) == {"value", "expires_at"}
    assert secret["value"].startswith("ek_") and len(secret["value"]) >= 20
    assert before + 60 <= secret["expires_at"] <= after + 60


@pytest.mark.parametrize("seconds", [10, 600, 7200])
def test_key_lifetime_honours_expires_after(openai_mock: MockServer, seconds: int) -> None:
    request = {"client_secret": {"expires_after": {"anchor": "created_at", "seconds": seconds}}}
    before = int(time.time())
    session = sdk(openai_mock.url).create_realtime_session(request)
    after = int(time.time())

    assert before + seconds <= session.client_secret.expires_at <= after + seconds
    assert "expires_after" not in session.client_secret.to_dict()


def test_every_key_is_new(openai_mock: MockServer) -> None:
    api = sdk(openai_mock.url)
    keys = {api.create_realtime_session({}).client_secret.value for _ in range(5)}

    assert len(keys) == 5


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/realtime/sessions", 200),
        ("POST", "/v1/realtime/sessions?beta=1", 200),
        ("GET", "/v1/realtime/sessions", 405),
        ("POST", "/v1/realtime/session", 404),
        ("POST", "/v1/chat/completions", 404),
        ("GET", "/", 404),
        ("DELETE", "/v1/realtime/sessions", 405),
    ],
)
def test_status_for_each_path_and_method(
    openai_mock: MockServer, method: str, path: str, status: int
) -> None:
    base = openai_mock.url.removesuffix("/v1")
    response = urllib3.request(
        method, base + path, body=b"{}", headers=AUTH, retries=False, timeout=30
    )

    assert response.status == status
    assert response.headers["x-request-id"].startswith("req_")
    if status != 200:
        assert error_of(response)["type"] == "invalid_request_error"


def test_every_answer_has_its_own_request_id(openai_mock: MockServer) -> None:
    openai_mock.fail_next(status=429)
    openai_mock.fail_next(status=500)
    openai_mock.respond_next(200, b"not json")
    responses = [
        post(openai_mock.url, {}),  # scripted 429
        post(openai_mock.url, {}),  # scripted 500
        post(openai_mock.url, {}),  # scripted raw body
        post(openai_mock.url, {}),  # normal 200
        post(openai_mock.url, {"speed": 9}),  # 400
        post(openai_mock.url, {}, JSON),  # 401
    ]

    assert [r.status for r in responses] == [429, 500, 200, 200, 400, 401]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(request_id.startswith("req_") for request_id in ids)
    assert len(set(ids)) == len(ids)


def test_scripted_request_id_is_kept(openai_mock: MockServer) -> None:
    openai_mock.fail_next(status=503, headers={"x-request-id": "req_chosen"})

    with pytest.raises(openapiopenai.ServiceException) as caught:
        sdk(openai_mock.url).create_realtime_session({})

    assert caught.value.request_id == "req_chosen"


# -- scripted faults -------------------------------------------------------------------------


def test_fail_next_counts_down_then_recovers(openai_mock: MockServer) -> None:
    openai_mock.fail_next(2, status=429, retry_after=1.5)

    first, second, third = (post(openai_mock.url, {}) for _ in range(3))

    assert [first.status, second.status, third.status] == [429, 429, 200]
    assert first.headers["Retry-After"] == "1.5"
    assert error_of(first)["code"] == "rate_limit_exceeded"
    assert error_of(first)["type"] == "requests"
    assert "Retry-After" not in third.headers


def test_sdk_retries_through_fail_next(openai_mock: MockServer) -> None:
    openai_mock.fail_next(2, status=429, retry_after=0)

    answer = sdk(openai_mock.url, retries=2).create_realtime_session_with_http_info({})

    assert answer.status_code == 200
    assert answer.attempts == 3
    assert len(openai_mock.requests) == 3


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_reach_the_sdk(openai_mock: MockServer, status: int) -> None:
    openai_mock.fail_next(status=status, message="The engine is overloaded.")

    with pytest.raises(openapiopenai.ServiceException) as caught:
        sdk(openai_mock.url).create_realtime_session({})

    assert caught.value.status == status
    assert caught.value.message == "The engine is overloaded."
    assert caught.value.type == "server_error"


def test_fail_next_with_extra_headers(openai_mock: MockServer) -> None:
    openai_mock.fail_next(status=429, headers={"retry-after-ms": "250", "x-should-retry": "false"})

    with pytest.raises(openapiopenai.TooManyRequestsException) as caught:
        sdk(openai_mock.url, retries=2).create_realtime_session({})

    assert caught.value.retry_after == 0.25
    assert len(openai_mock.requests) == 1  # x-should-retry: false was honoured


def test_delay_next_answers_normally_but_late(openai_mock: MockServer) -> None:
    openai_mock.delay_next(0.3)

    started = time.monotonic()
    response = post(openai_mock.url, {"voice": "sage"})
    elapsed = time.monotonic() - started
    quick = post(openai_mock.url, {"voice": "sage"})

    assert response.status == 200
    assert json.loads(response.data)["voice"] == "sage"
    assert elapsed >= 0.3
    assert quick.status == 200


def test_delay_longer_than_the_timeout_times_out(openai_mock: MockServer) -> None:
    openai_mock.delay_next(10)

    started = time.monotonic()
    with pytest.raises(openapiopenai.ApiTimeoutError):
        sdk(openai_mock.url, timeout=0.2).create_realtime_session({})

    assert time.monotonic() - started < 9  # the client gave up, it did not wait for the answer


def test_client_hanging_up_early_prints_nothing() -> None:
    """A client that times out before a delayed answer must not make the server print errors."""
    code = (
        "import openapiopenai\n"
        "from openapiopenai.mock import MockServer\n"
        "server = MockServer()\n"
        "url = server.start()\n"
        "server.delay_next(1)\n"
        "config = openapiopenai.Configuration(\n"
        "    host=url, access_token='sk-x', retries=0, timeout=0.1\n"
        ")\n"
        "client = openapiopenai.ApiClient(config)\n"
        "try:\n"
        "    openapiopenai.RealtimeApi(client).create_realtime_session({})\n"
        "except openapiopenai.ApiTimeoutError:\n"
        "    print('timed out')\n"
        "client.close()\n"
        "server._stopping.wait(2)  # the handler wakes up and writes to the closed socket\n"
        "server.stop()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "timed out\n"
    assert result.stderr == ""


def test_respond_next_sends_exactly_that(openai_mock: MockServer) -> None:
    openai_mock.respond_next(418, {"error": {"message": "teapot"}}, headers={"X-Extra": "1"})

    response = post(openai_mock.url, {})

    assert response.status == 418
    assert json.loads(response.data) == {"error": {"message": "teapot"}}
    assert response.headers["X-Extra"] == "1"


def test_enqueued_reset_is_a_transport_error(openai_mock: MockServer) -> None:
    openai_mock.enqueue(Scripted(action="reset"))

    with pytest.raises(openapiopenai.ApiConnectionResetError):
        sdk(openai_mock.url).create_realtime_session({})


def test_stop_releases_a_hanging_request() -> None:
    server = MockServer()
    url = server.start()
    server.enqueue(Scripted(action="hang"))
    failures: list[BaseException] = []

    def call() -> None:
        try:
            sdk(url, timeout=60).create_realtime_session({})
        except BaseException as failure:
            failures.append(failure)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    for _ in range(600):
        if server.requests:
            break
        time.sleep(0.05)
    server.stop()
    caller.join(timeout=30)

    assert not caller.is_alive()
    assert failures and isinstance(failures[0], openapiopenai.ApiTransportError)


# -- recorded requests -----------------------------------------------------------------------


def test_requests_are_recorded_as_sent(openai_mock: MockServer) -> None:
    api = sdk(openai_mock.url)
    api.create_realtime_session({"voice": "verse"})
    post(openai_mock.url, b"{bad", {**AUTH, "X-Trace": "abc"})

    first, second = openai_mock.requests
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path) == ("POST", "/v1/realtime/sessions")
    assert first.json() == {"voice": "verse"}
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert (
        first.headers["User-Agent"] == f"openapiopenai/{openapiopenai.__version__} python/{python}"
    )
    assert second.body == b"{bad"
    assert second.headers["X-Trace"] == "abc"


def test_clear_forgets_requests_and_script(openai_mock: MockServer) -> None:
    post(openai_mock.url, {})
    openai_mock.fail_next(3)

    openai_mock.clear()

    assert openai_mock.requests == []
    assert post(openai_mock.url, {}).status == 200


def test_concurrent_requests_are_all_answered_and_recorded(openai_mock: MockServer) -> None:
    api = sdk(openai_mock.url)
    results: list[str] = []

    def call() -> None:
        results.append(api.create_realtime_session({}).client_secret.value)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(set(results)) == 8
    assert len(openai_mock.requests) == 8


# -- hostile clients -------------------------------------------------------------------------


def _raw_exchange(base_url: str, request: bytes) -> bytes:
    """Send ``request`` as is and read the whole answer (the mock closes the connection)."""
    host, port = base_url.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", " ", "\u0661"])
def test_400_for_a_bad_content_length(openai_mock: MockServer, length: str) -> None:
    request = (
        "POST /v1/realtime/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-x\r\n"
        f"Content-Length: {length}\r\n\r\n{{}}"
    ).encode()

    answer = _raw_exchange(openai_mock.url, request)

    assert answer.startswith(b"HTTP/1.1 400 "), answer[:80]
    assert b"Content-Length must be a non-negative integer" in answer
    assert openai_mock.requests == []


def test_413_for_a_body_too_large_to_read(openai_mock: MockServer) -> None:
    request = (
        "POST /v1/realtime/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-x\r\n"
        f"Content-Length: {10**12}\r\n\r\n{{}}"
    ).encode()

    answer = _raw_exchange(openai_mock.url, request)

    assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]
    assert openai_mock.requests == []


def test_history_is_bounded() -> None:
    mock = MockServer(history=3)
    url = mock.start()
    try:
        configuration = openapiopenai.Configuration(host=url, access_token="sk-x", retries=0)
        with openapiopenai.ApiClient(configuration) as client:
            api = openapiopenai.RealtimeApi(client)
            for index in range(5):
                api.create_realtime_session({"instructions": str(index)})
    finally:
        mock.stop()

    assert [request.json()["instructions"] for request in mock.requests] == ["2", "3", "4"]
    assert MockServer().history == 10_000
    with pytest.raises(ValueError, match="history"):
        MockServer(history=0)


def test_unknown_call_sideband_404_says_how_to_make_one(openai_mock: MockServer) -> None:
    """The WebSocket side's 404 for a call it does not know gives the same hint; a call that
    ended gets the service's words alone (making one would not help)."""
    api = sdk(openai_mock.url)
    with pytest.raises(openapiopenai.NotFoundException) as missing:
        api.connect(call_id=DEMO_CALL_ID)

    assert "mock.incoming_call(call_id)" in str(missing.value)
    openai_mock.incoming_call(DEMO_CALL_ID)  # as the message says
    api.accept_realtime_call(DEMO_CALL_ID, {"type": "realtime", "model": "gpt-realtime"})
    with api.connect(call_id=DEMO_CALL_ID) as conn:
        assert conn.recv().type == "session.created"
    api.hangup_realtime_call(DEMO_CALL_ID)
    with pytest.raises(openapiopenai.NotFoundException) as ended:
        api.connect(call_id=DEMO_CALL_ID)
    assert f"No active call found with id '{DEMO_CALL_ID}'" in str(ended.value)
    assert "incoming_call" not in str(ended.value)
