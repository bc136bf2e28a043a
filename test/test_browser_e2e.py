"""Voice calls from the token broker's page in real headless Chromium, both flows, end to end.

The mock (with its WebRTC peer), the broker (run as the script people run) and Debian's
Chromium (driven by Playwright) play every scenario once in a child process, test/browser_call.py,
inside a loopback-only network namespace (see test/browser.py); the tests here assert on what
it reports. Scenarios: a call with a short-lived key, a call through the server, a key that
expired before its offer arrived, OpenAI rate limiting the broker, and a call through the server
where the model calls a tool the broker answers while a second page tries to hang it up.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from test import browser
from test.test_token_broker import API_KEY, SECRET_SHAPE

if browser.missing():
    if os.environ.get("OPENAPIOPENAI_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"browser tests required, but: {browser.missing()}")
    pytest.skip(str(browser.missing()), allow_module_level=True)

SCREENSHOT = browser.ARTIFACTS / "browser-call.png"
CHILD_TIMEOUT = 300


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Everything the child saw, plus whether it ran isolated and what it wrote to stderr."""
    out = tmp_path_factory.mktemp("browser") / "outcome.json"
    command = [sys.executable, "-m", "test.browser_call", "--out", str(out)]
    finished, isolated = browser.run_isolated(
        [*command, "--screenshot", str(SCREENSHOT)], timeout=CHILD_TIMEOUT
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    result: dict[str, Any] = json.loads(out.read_text())
    result["isolated"] = isolated
    result["stderr"] = finished.stderr
    return result


def calls_in(outcome: dict[str, Any], flow: str) -> list[dict[str, Any]]:
    found = [call for call in outcome["calls"] if call["flow"] == flow]
    assert found, f"no {flow} call was played"
    return found


def requests_of(outcome: dict[str, Any], flow: str) -> list[str]:
    """The URLs the page fetched while playing ``flow``."""
    urls: list[str] = []
    current = None
    for entry in outcome["requests"]:
        if "flow" in entry:
            current = entry["flow"]
        elif current == flow:
            urls.append(entry["url"])
    return urls


def test_the_browser_ran_where_no_packet_can_leave(outcome: dict[str, Any]) -> None:
    if os.geteuid() == 0:
        assert outcome["isolated"], "as root the browser must run in the loopback namespace"
    if outcome["isolated"]:
        assert outcome["interfaces"] == ["lo"]


@pytest.mark.parametrize("flow", ["key", "server"])
def test_a_call_connects_reports_its_session_hears_audio_and_hangs_up(
    outcome: dict[str, Any], flow: str
) -> None:
    for call in calls_in(outcome, flow):
        assert call["state"] == "connected", call.get("status")
        # session.created: the server's model and the voice the page chose
        assert (call["model"], call["voice"]) == ("gpt-realtime", "cedar")
        assert call["mock_session_voice"] == "cedar"
        assert call["call_id"].startswith("rtc_")
        events = call["events"]
        assert events[:2] == ["session.created", "session.updated"]
        assert events[-1] == "response.done"
        assert "response.output_audio_transcript.done" in events
        # remote audio arrives (RTP packets, and a level once the response speaks)
        assert call["packets"] > 0
        if flow == "key":
            # The mock plays its tone only while no sideband shares the call: the broker joins
            # every call it opens, so there the audio travels as events instead.
            assert call["level_seen"] > 0
        # Hang up: the page closes its connection, which ends the call at the mock; a call the
        # broker opened, the broker also ends with the page's call token.
        assert call["mock_active_before_hangup"] is True
        assert call["hangup_result"] == ("HTTP 204" if flow == "server" else "connection closed")
        assert call["end_state"] == "ended"
        assert call["mock_hung_up"] is (flow == "server")
        assert call["mock_active_after_hangup"] is False
        times = call["times"]
        assert times["start"] < times["connected"] < times["hangup"] <= times["ended"]


def test_the_key_flow_shows_the_key_masked_and_posts_the_offer_to_the_realtime_url(
    outcome: dict[str, Any],
) -> None:
    for call in calls_in(outcome, "key"):
        assert re.fullmatch(r"ek_•+[0-9a-f]{4}", call["key_shown"])
        assert call["key_in_page"] is False
    urls = requests_of(outcome, "key")
    assert any(url.endswith("/session") for url in urls)
    assert any(re.fullmatch(r"http://127\.0\.0\.1:\d+/v1/realtime/calls", url) for url in urls)


def test_the_server_flow_never_gives_the_page_a_key(outcome: dict[str, Any]) -> None:
    urls = requests_of(outcome, "server")
    assert any(re.search(r"/call\?voice=cedar$", url) for url in urls)
    assert not any(url.endswith(("/session", "/realtime/calls")) for url in urls)
    for call in calls_in(outcome, "server"):
        assert call["key_shown"] == "\u2013"  # nothing to show
        assert call["key_in_page"] is False


def test_an_expired_key_is_explained_in_words(outcome: dict[str, Any]) -> None:
    expired = outcome["expired"]
    assert expired["state"] == "error"
    assert "HTTP 401" in expired["status"]
    assert "Invalid or expired ephemeral key provided." in expired["status"]
    assert "Get a new key and try again." in expired["status"]


def test_openai_rate_limiting_the_broker_says_when_to_try_again(outcome: dict[str, Any]) -> None:
    busy = outcome["busy"]
    assert busy["state"] == "error"
    assert "try again in 7 s" in busy["status"]
    assert "req_e2e429" in busy["status"]


def test_neither_the_brokers_log_nor_stderr_holds_a_secret(outcome: dict[str, Any]) -> None:
    keys = outcome["keys"]
    assert len(keys) >= 2 and all(key.startswith("ek_") for key in keys)
    for text in (outcome["broker_log"], outcome["stderr"]):
        assert "sk-" not in text and API_KEY not in text
        assert not any(key in text for key in keys)
        assert not SECRET_SHAPE.search(text)
    assert "opened call call_id=rtc_" in outcome["broker_log"]
    assert "hung up call_id=rtc_" in outcome["broker_log"]
    for call in outcome["calls"]:
        assert call["call_id"] not in outcome["broker_log"]  # only a prefix of it


def test_a_screenshot_of_the_connected_page_is_saved(outcome: dict[str, Any]) -> None:
    assert SCREENSHOT.read_bytes().startswith(b"\x89PNG")


def test_the_answerers_own_browser_test_passes_inside_the_namespace() -> None:
    """test_mock_webrtc_browser.py, which the suite leaves out when a namespace can be made."""
    if browser.namespace_refused() is not None:
        pytest.skip("no namespace here: the suite ran test_mock_webrtc_browser.py itself")
    module = str(Path("test") / "test_mock_webrtc_browser.py")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-cov", module]
    finished, isolated = browser.run_isolated(command, timeout=CHILD_TIMEOUT)
    assert isolated
    assert finished.returncode == 0, finished.stdout[-4000:]
    assert re.search(r"\b1 passed\b", finished.stdout), finished.stdout[-2000:]


def test_the_model_calls_a_tool_the_broker_answers_and_the_page_shows_the_reply(
    outcome: dict[str, Any],
) -> None:
    tools = outcome["tools"]
    assert tools["state"] == "connected", tools.get("status")
    assert tools["tools"] == "current_time, days_until"
    events = tools["events"]
    calls = [e for e in events if e.startswith("response.function_call_arguments.done")]
    assert calls == ['response.function_call_arguments.done: days_until({"date": "2000-01-01"})']
    [output] = tools["tool_outputs"]
    assert "2000-01-01 was" in output and "days ago" in output
    assert f"conversation.item.done: {output}" in events
    replies = [e for e in events if e.startswith("response.output_audio_transcript.done")]
    assert replies == [
        f"response.output_audio_transcript.done: The days_until tool returned: {output}"
    ]


def test_a_second_page_cannot_hang_up_the_first_pages_call(outcome: dict[str, Any]) -> None:
    tools = outcome["tools"]
    assert tools["other_page"] == [
        {"status": 403, "type": "call_not_yours"},
        {"status": 400, "type": "invalid_request"},
    ]
    assert tools["hung_up_by_other_page"] is False
    assert tools["state_after_other_page"] == "connected"
    # its own page still can
    assert (tools["hangup_result"], tools["end_state"], tools["hung_up"]) == (
        "HTTP 204",
        "ended",
        True,
    )
