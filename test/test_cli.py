"""The ``openapiopenai`` command, run as users run it: the installed script and ``python -m``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from openapiopenai import __version__
from openapiopenai.cli import main
from openapiopenai.mock import DEMO_CALL_ID, MockServer, Scripted

API_KEY = "sk-cli-test-0123456789abcdefghijklmnop"
SCRIPT = Path(sys.executable).with_name("openapiopenai")
COMMANDS = {
    "script": [str(SCRIPT)],
    "module": [sys.executable, "-m", "openapiopenai"],
}


@pytest.fixture(params=sorted(COMMANDS))
def command(request: pytest.FixtureRequest) -> list[str]:
    """Each way the command is started: the console script in the venv, and ``python -m``."""
    if request.param == "script":
        assert SCRIPT.exists(), f"console script not installed at {SCRIPT}"
    return COMMANDS[request.param]


def run(
    command: Sequence[str], *args: str, api_key: str | None = None, tz: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command with a clean OPENAI_* environment; bounded so a hang fails the test."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")}
    if api_key is not None:
        env["OPENAI_API_KEY"] = api_key
    if tz is not None:
        env["TZ"] = tz
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """A failure is exactly one ``openapiopenai: error: ...`` line on stderr, no traceback."""
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("openapiopenai: error: ")
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0]
    return lines[0]


# -- through a subprocess --------------------------------------------------------------------


def test_mock_prints_summary_with_masked_key(command: list[str]) -> None:
    result = run(
        command, "sessions", "create", "--mock", "--model", "gpt-realtime-mini", "--voice", "cedar"
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"^model:\s+gpt-realtime-mini$", out, re.M)
    assert re.search(r"^voice:\s+cedar$", out, re.M)
    assert re.search(r"^key:\s+ek_\*\*\* ", out, re.M)
    seconds_left = int(re.search(r"\((\d+) s left\)", out).group(1))  # type: ignore[union-attr]
    assert 50 <= seconds_left <= 60
    assert not re.search(r"ek_[A-Za-z0-9_-]{4,}", out)
    assert result.stderr == ""


@pytest.mark.parametrize(("tz", "name", "offset"), [("UTC0", "UTC", 0), ("XYZ-9", "XYZ", 9 * 3600)])
def test_expiry_is_shown_in_local_time(tz: str, name: str, offset: int) -> None:
    before = int(time.time())
    result = run(
        COMMANDS["module"], "sessions", "create", "--mock", "--expires-after", "7200", tz=tz
    )
    after = int(time.time())

    assert result.returncode == 0, result.stderr
    shown = re.search(r"^expires:\s+(\S+ \S+) (\S+) \(", result.stdout, re.M)
    assert shown is not None, result.stdout
    assert shown.group(2) == name
    possible = {
        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(moment + 7200 + offset))
        for moment in range(before, after + 1)
    }
    assert shown.group(1) in possible


def test_mock_json_has_the_key_and_the_asked_lifetime(command: list[str]) -> None:
    before = int(time.time())
    result = run(command, "sessions", "create", "--mock", "--json", "--expires-after", "600")
    after = int(time.time())

    assert result.returncode == 0, result.stderr
    session = json.loads(result.stdout)
    assert session["client_secret"]["value"].startswith("ek_")
    assert len(session["client_secret"]["value"]) > 20
    assert before + 600 <= session["client_secret"]["expires_at"] <= after + 600
    assert session["object"] == "realtime.session"


def test_base_url_and_key_from_environment(command: list[str], openai_mock: MockServer) -> None:
    result = run(
        command,
        "sessions",
        "create",
        "--base-url",
        openai_mock.url,
        "--voice",
        "marin",
        "--modalities",
        "audio, text",
        "--instructions",
        "Be brief.",
        "--json",
        api_key=API_KEY,
    )

    assert result.returncode == 0, result.stderr
    sent = openai_mock.requests[-1]
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.json() == {
        "voice": "marin",
        "instructions": "Be brief.",
        "modalities": ["audio", "text"],
    }
    assert json.loads(result.stdout)["voice"] == "marin"
    assert API_KEY not in result.stdout + result.stderr


def test_user_agent_names_sdk_and_python(openai_mock: MockServer) -> None:
    result = run(
        COMMANDS["module"], "sessions", "create", "--base-url", openai_mock.url, api_key=API_KEY
    )

    assert result.returncode == 0, result.stderr
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert (
        openai_mock.requests[-1].headers["User-Agent"]
        == f"openapiopenai/{__version__} python/{python}"
    )


def test_no_key_is_one_line_and_sends_nothing(command: list[str], openai_mock: MockServer) -> None:
    result = run(command, "sessions", "create", "--base-url", openai_mock.url)

    assert_one_error_line(result, "OPENAI_API_KEY")
    assert result.returncode == 1
    assert openai_mock.requests == []


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [("--voice", "", "voice"), ("--modalities", "foo", "modalities")],
)
def test_invalid_value_names_the_field(
    command: list[str], option: str, value: str, field: str
) -> None:
    result = run(command, "sessions", "create", "--mock", option, value)

    line = assert_one_error_line(result, field)
    assert result.returncode == 2
    assert result.stdout == ""
    if field == "modalities":
        assert "'text' or 'audio'" in line


def test_rate_limit_is_one_line(command: list[str], openai_mock: MockServer) -> None:
    openai_mock.fail_next(status=429, retry_after=1)

    result = run(
        command,
        "sessions",
        "create",
        "--base-url",
        openai_mock.url,
        "--retries",
        "0",
        api_key=API_KEY,
    )

    line = assert_one_error_line(result, "HTTP 429", "rate_limit_exceeded", "request id req_")
    assert result.returncode == 1
    assert len(openai_mock.requests) == 1
    assert API_KEY not in line


@pytest.mark.parametrize("level", [[], ["sessions"], ["sessions", "create"]])
def test_help_at_every_level(command: list[str], level: list[str]) -> None:
    result = run(command, *level, "--help")

    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: openapiopenai {' '.join(level)}".rstrip())
    assert result.stderr == ""


def test_version(command: list[str]) -> None:
    result = run(command, "--version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"openapiopenai {__version__}"


# -- in process, for the rarer paths ---------------------------------------------------------


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``main()`` here and return its exit status, stdout and stderr."""
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_retries_then_reports_attempts(
    capsys: pytest.CaptureFixture[str], openai_mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    openai_mock.fail_next(2, status=503, retry_after=0)

    status, out, err = call(
        capsys, "sessions", "create", "--base-url", openai_mock.url, "--retries", "1"
    )

    assert status == 1
    assert out == ""
    assert err.startswith("openapiopenai: error: HTTP 503")
    assert "2 attempts" in err
    assert len(openai_mock.requests) == 2


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            {"error": {"message": "Bad voice.", "type": "invalid_request_error", "param": "voice"}},
            "HTTP 400 Bad Request: Bad voice. (param=voice, request id req_",
        ),
        (200, b"<html>not json</html>", "HTTP 200 OK: The response body is not a valid"),
        (404, b"", "HTTP 404 Not Found (request id req_"),
    ],
)
def test_server_answers_become_one_line(
    capsys: pytest.CaptureFixture[str],
    openai_mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    body: object,
    expected: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    openai_mock.respond_next(status, body)

    code, out, err = call(capsys, "sessions", "create", "--base-url", openai_mock.url)

    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"openapiopenai: error: {expected}")


@pytest.mark.parametrize("key", [API_KEY, "gateway7d4f0c2a9b1e5f3a8c6d"])
def test_refusal_echoing_the_key_does_not_print_it(
    capsys: pytest.CaptureFixture[str],
    openai_mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", key)
    error = {"message": f"Incorrect API key provided: {key}.", "code": "invalid_api_key"}
    openai_mock.respond_next(401, {"error": error})

    code, out, err = call(capsys, "sessions", "create", "--base-url", openai_mock.url)

    assert code == 1
    assert out == ""
    assert err.startswith("openapiopenai: error: HTTP 401 Unauthorized: Incorrect API key")
    assert key not in err


def test_base_url_from_environment(
    capsys: pytest.CaptureFixture[str], openai_mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_mock.url)

    status, out, _ = call(capsys, "sessions", "create", "--json")

    assert status == 0
    assert json.loads(out)["client_secret"]["value"].startswith("ek_")
    assert len(openai_mock.requests) == 1


def test_mock_never_receives_the_real_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")

    status, out, err = call(capsys, "sessions", "create", "--mock")

    assert status == 0, err
    assert "ek_***" in out


def test_refused_connection_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    with MockServer() as url:
        pass  # stopped: its port now refuses connections

    status, out, err = call(capsys, "sessions", "create", "--base-url", url, "--retries", "0")

    assert status == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("openapiopenai: error: could not connect")
    assert url in err


def test_timeout_is_one_line(
    capsys: pytest.CaptureFixture[str], openai_mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    openai_mock.delay_next(5)

    status, _, err = call(
        capsys,
        "sessions",
        "create",
        "--base-url",
        openai_mock.url,
        "--retries",
        "0",
        "--timeout",
        "0.2",
    )

    assert status == 1
    assert err.startswith("openapiopenai: error: timed out")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expires-after", "5"], "client_secret.expires_after.seconds"),
        (["--model", " "], "invalid --model: must not be empty"),
        (["--base-url", "ftp://example.com"], "host must be an http:// or https:// URL"),
        (["--retries", "-1"], "retries must be 0 or more"),
        (["--timeout", "0"], "timeout must be a finite number of seconds above 0, not 0.0"),
        (["--timeout", "-1"], "timeout must be a finite number of seconds above 0, not -1.0\n"),
        (["--timeout", "nan"], "timeout must be a finite number of seconds"),
        (["--timeout", "inf"], "timeout must be a finite number of seconds"),
        (["--mock", "--timeout=-inf"], "timeout must be a finite number of seconds"),
    ],
)
def test_bad_values_are_usage_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status, out, err = call(capsys, "sessions", "create", *args)

    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert message in err


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["sessions"],
        ["sessions", "create", "--expires-after", "soon"],
        ["sessions", "create", "--mock", "--base-url", "http://x"],
    ],
)
def test_argument_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: openapiopenai")
    assert "openapiopenai: error: " in err


def test_ctrl_c_while_waiting_is_one_line(openai_mock: MockServer) -> None:
    openai_mock.enqueue(Scripted(action="hang"))
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")}
    env["OPENAI_API_KEY"] = API_KEY
    args = [*COMMANDS["module"], "sessions", "create", "--base-url", openai_mock.url]
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        try:
            for _ in range(600):  # the request reaches the mock, which then says nothing
                if openai_mock.requests or process.poll() is not None:
                    break
                time.sleep(0.05)
            assert openai_mock.requests, "the command never sent its request"
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()

    assert process.returncode == 130
    assert out == ""
    assert err == "openapiopenai: error: interrupted\n"


def test_import_does_not_load_the_cli() -> None:
    code = "import sys, openapiopenai; print('openapiopenai.cli' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "False"


# -- client-secrets and calls ----------------------------------------------------------------


def test_client_secret_from_the_mock_masks_the_key(command: list[str]) -> None:
    result = run(command, "client-secrets", "create", "--mock", "--voice", "cedar")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^type:\s+realtime$", result.stdout, re.M)
    assert re.search(r"^voice:\s+cedar$", result.stdout, re.M)
    assert re.search(r"^key:\s+ek_\*\*\* ", result.stdout, re.M)
    assert not re.search(r"ek_[A-Za-z0-9_-]{4,}", result.stdout)


def test_client_secret_json_sends_exactly_the_options(
    capsys: pytest.CaptureFixture[str], openai_mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    code, out, err = call(
        capsys,
        "client-secrets",
        "create",
        "--base-url",
        openai_mock.url,
        "--model",
        "gpt-realtime-mini",
        "--instructions",
        "Be brief.",
        "--expires-after",
        "120",
        "--json",
    )
    assert code == 0, err
    assert openai_mock.requests[-1].path == "/v1/realtime/client_secrets"
    assert openai_mock.requests[-1].json() == {
        "session": {"type": "realtime", "model": "gpt-realtime-mini", "instructions": "Be brief."},
        "expires_after": {"anchor": "created_at", "seconds": 120},
    }
    secret = json.loads(out)
    assert secret["value"].startswith("ek_")
    assert secret["session"]["model"] == "gpt-realtime-mini"


def test_transcription_client_secret(
    capsys: pytest.CaptureFixture[str], openai_mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    code, out, err = call(
        capsys,
        "client-secrets",
        "create",
        "--type",
        "transcription",
        "--model",
        "gpt-4o-transcribe",
        "--base-url",
        openai_mock.url,
    )
    assert code == 0, err
    assert openai_mock.requests[-1].json() == {
        "session": {
            "type": "transcription",
            "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
        }
    }
    assert re.search(r"^type:\s+transcription$", out, re.M)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--type", "transcription", "--voice", "marin"], "--voice applies to realtime"),
        (["--expires-after", "5"], "expires_after.seconds"),
        (["--model", " "], "invalid --model: must not be empty"),
    ],
)
def test_client_secret_bad_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code, _, err = call(capsys, "client-secrets", "create", "--mock", *args)
    assert code == 2
    assert expected in err


@pytest.mark.parametrize(
    ("args", "action", "body"),
    [
        (
            ["accept", "--voice", "marin"],
            "accept",
            {"type": "realtime", "audio": {"output": {"voice": "marin"}}},
        ),
        (["hangup"], "hangup", None),
        (
            ["refer", "--target-uri", "tel:+14155550123"],
            "refer",
            {"target_uri": "tel:+14155550123"},
        ),
        (["reject", "--status-code", "486"], "reject", {"status_code": 486}),
        (["reject"], "reject", None),
    ],
)
def test_calls_control_a_sip_call(
    capsys: pytest.CaptureFixture[str],
    openai_mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    action: str,
    body: dict[str, object] | None,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    call_id = openai_mock.incoming_call()
    verb, *options = args
    code, out, err = call(capsys, "calls", verb, call_id, *options, "--base-url", openai_mock.url)
    assert code == 0, err
    sent = openai_mock.requests[-1]
    assert sent.path == f"/v1/realtime/calls/{call_id}/{action}"
    assert (sent.json() if sent.body else None) == body
    assert out.split()[-1] == call_id


def test_calls_on_an_unknown_call_is_one_line(
    capsys: pytest.CaptureFixture[str], openai_mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    code, _, err = call(capsys, "calls", "hangup", "rtc_unknown", "--base-url", openai_mock.url)
    assert code == 1
    assert err.startswith("openapiopenai: error: HTTP 404")
    assert len(err.strip().splitlines()) == 1


def test_unknown_session_type_is_an_argument_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["client-secrets", "create", "--type", "translation", "--mock"])
    assert exited.value.code == 2
    assert "invalid choice: 'translation'" in capsys.readouterr().err


def test_calls_empty_call_id_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = call(capsys, "calls", "hangup", "", "--mock")
    assert code == 2
    assert "CALL_ID" in err


@pytest.mark.parametrize(
    "args",
    [
        ["accept", "--voice", "marin"],
        ["hangup"],
        ["refer", "--target-uri", "tel:+1415"],
        ["reject"],
    ],
)
def test_calls_with_mock_act_on_its_waiting_sip_call(command: list[str], args: list[str]) -> None:
    verb, *options = args
    result = run(command, "calls", verb, DEMO_CALL_ID, *options, "--mock")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == DEMO_CALL_ID


@pytest.mark.parametrize("verb", ["accept", "hangup", "refer", "reject"])
def test_calls_with_mock_refuse_another_call_and_say_why(
    capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    options = ["--target-uri", "tel:+1415"] if verb == "refer" else []
    code, out, err = call(capsys, "calls", verb, "rtc_from_my_webhook", *options, "--mock")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "--mock starts a fresh mock" in err and DEMO_CALL_ID in err and "--base-url" in err


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["client-secrets", "create", "--voice", ""], "--voice"),
        (["client-secrets", "create", "--model", " "], "--model"),
        (["client-secrets", "create", "--type", "transcription", "--model", ""], "--model"),
        (["client-secrets", "create", "--instructions", ""], "--instructions"),
        (["sessions", "create", "--voice", ""], "--voice"),
        (["sessions", "create", "--modalities", ""], "--modalities"),
        (["sessions", "create", "--modalities", "audio,,text"], "--modalities"),
        (["calls", "accept", "rtc_1", "--voice", ""], "--voice"),
        (["calls", "refer", "rtc_1", "--target-uri", " "], "--target-uri"),
    ],
)
def test_empty_values_are_refused_alike_before_sending(
    capsys: pytest.CaptureFixture[str],
    openai_mock: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    option: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    code, out, err = call(capsys, *args, "--base-url", openai_mock.url)
    assert (code, out) == (2, "")
    assert err == f"openapiopenai: error: invalid {option}: must not be empty\n"
    assert openai_mock.requests == []


def test_transcription_client_secret_shows_its_model(command: list[str]) -> None:
    model = "gpt-4o-mini-transcribe"
    args = ["client-secrets", "create", "--type", "transcription", "--model", model, "--mock"]
    result = run(command, *args)
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^model:\s+{model}$", result.stdout, re.M), result.stdout


def test_empty_base_url_is_refused_not_replaced_by_the_real_api(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    code, out, err = call(capsys, "client-secrets", "create", "--base-url", "")
    assert (code, out) == (2, "")
    assert err == "openapiopenai: error: invalid --base-url: must not be empty\n"


def test_a_summary_shows_what_the_server_said_without_terminal_controls(
    capsys: pytest.CaptureFixture[str], openai_mock: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    session = {"type": "realtime", "object": "realtime.session", "id": "sess_\x1b[2J1"}
    session["model"] = "gpt-realtime\x1b]0;x\x07"
    secret = {"value": "ek_0123456789abcdef0123", "expires_at": 1_900_000_000, "session": session}
    openai_mock.respond_next(200, secret)

    status, out, err = call(capsys, "client-secrets", "create", "--base-url", openai_mock.url)

    assert status == 0, err
    assert "session: sess_[2J1\n" in out and "model:   gpt-realtime]0;x\n" in out
    assert "\x1b" not in out and "\x07" not in out
