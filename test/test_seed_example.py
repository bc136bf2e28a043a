"""The seed page's example, run as a script against the mock, as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from openapiopenai.mock import MockServer

TOKEN = "sk-seed-example-0123456789abcdef"

# The example of the seed page, with the ``import os`` it needs added.
EXAMPLE = """
import os

import openapiopenai
from openapiopenai.models.realtime_session_create_request import RealtimeSessionCreateRequest
from openapiopenai.models.realtime_session_create_response import RealtimeSessionCreateResponse
from openapiopenai.rest import ApiException
from pprint import pprint

# The host is optional; it defaults to https://api.openai.com/v1.
configuration = openapiopenai.Configuration(
    host = "https://api.openai.com/v1"
)

# Bearer authorization (ApiKeyAuth).
configuration = openapiopenai.Configuration(
    access_token = os.environ["BEARER_TOKEN"]
)

with openapiopenai.ApiClient(configuration) as api_client:
    api_instance = openapiopenai.RealtimeApi(api_client)
    realtime_session_create_request = openapiopenai.RealtimeSessionCreateRequest()

    try:
        api_response = api_instance.create_realtime_session(realtime_session_create_request)
        print("The response of RealtimeApi->create_realtime_session:\\n")
        pprint(api_response)
    except Exception as e:
        print("Exception when calling RealtimeApi->create_realtime_session: %s\\n" % e)
"""


def example_environment(base_url: str) -> dict[str, str]:
    """The current environment without OPENAI_* settings, plus the two the example needs."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")
    }
    environment["BEARER_TOKEN"] = TOKEN
    environment["OPENAI_BASE_URL"] = base_url
    return environment


def test_example_runs_as_a_script(openai_mock: MockServer) -> None:
    result = subprocess.run(
        [sys.executable, "-c", EXAMPLE],
        env=example_environment(openai_mock.url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    output = result.stdout
    assert "The response of RealtimeApi->create_realtime_session:" in output
    assert "Exception when calling" not in output
    assert "RealtimeSessionCreateResponse(" in output
    assert "id='sess_" in output
    assert "client_secret=RealtimeSessionCreateResponseClientSecret(value='ek_***'" in output
    assert TOKEN not in output + result.stderr

    assert len(openai_mock.requests) == 1
    sent = openai_mock.requests[0]
    assert sent.body == b"{}"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"


def test_example_runs_in_process(
    openai_mock: MockServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BEARER_TOKEN", TOKEN)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_mock.url)

    exec(compile(EXAMPLE, "seed_example", "exec"), {"__name__": "__main__"})

    output = capsys.readouterr().out
    assert "The response of RealtimeApi->create_realtime_session:" in output
    assert "Exception when calling" not in output
    assert "model='gpt-realtime'" in output
    assert "ek_***" in output
    sent = openai_mock.requests[-1]
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"


def test_example_reports_a_refusal(openai_mock: MockServer) -> None:
    """Its ``except`` branch prints the SDK's error, with the key masked."""
    openai_mock.fail_next(status=401, message=f"Incorrect API key provided: {TOKEN}.")
    result = subprocess.run(
        [sys.executable, "-c", EXAMPLE],
        env=example_environment(openai_mock.url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "Exception when calling RealtimeApi->create_realtime_session: (401)" in result.stdout
    assert "Incorrect API key provided" in result.stdout
    assert TOKEN not in result.stdout
