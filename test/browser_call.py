"""Voice calls from the token broker's page in headless Chromium, against the mock's WebRTC peer.

Run by test/test_browser_call.py in a child process, inside a loopback-only network namespace
when it can be had: the mock, the broker and Chromium all live here, so no packet can leave the
machine. Prints nothing; writes what it saw as JSON to ``--out`` for the test to assert on.

    python -m test.browser_call --out result.json [--repeat 10] [--screenshot page.png]

Each flow is played ``--repeat`` times: "key" (the page gets a short-lived key and posts its
offer to the mock itself) and "server" (the broker posts the offer). Then a key that expires
before its offer arrives, OpenAI rate limiting the broker, and a call through the server where
the model calls a tool the broker answers while a second page tries to hang it up. Times are
the page's own ``performance.now()`` readings.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright import sync_api

from openapiopenai.mock import MockServer
from test.browser import CHROMIUM, WEBRTC_FLAGS
from test.test_token_broker import API_KEY, BROKER_DIR, broker_process

WAIT_MS = 20_000
#: The broker's settings here: the bundled ones, with room for many calls from one address.
SETTINGS = {"rate_limit_burst": 200, "rate_limit_per_minute": 600, "upstream_retries": 0}


class Clock:
    """The mock's clock; moving ``offset`` on ages every key it minted."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def interfaces() -> list[str]:
    """The network interfaces of this process's namespace (from /proc, which follows it)."""
    lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    return sorted(line.split(":")[0].strip() for line in lines)


def state(page: Any) -> str:
    return str(page.get_attribute("#state", "data-state"))


def wait_state(page: Any, *names: str) -> str:
    """Wait (bounded) until the page's call state is one of ``names``; return it."""
    page.wait_for_function(
        "(names) => names.includes(document.querySelector('#state').dataset.state)",
        arg=list(names),
        timeout=WAIT_MS,
    )
    return state(page)


def event_types(page: Any) -> list[str]:
    types: list[str] = page.eval_on_selector_all(
        "#events li", "items => items.map(i => i.dataset.type)"
    )
    return types


def one_call(
    page: Any, broker_url: str, mock: MockServer, flow: str, shot: Path | None
) -> dict[str, Any]:
    """Load the page, hold one call in ``flow`` and hang up; what the page and mock showed."""
    page.goto(broker_url + "/")
    wait_state(page, "idle")
    page.select_option("#voice", "cedar")
    page.check(f"#flow-{flow}")
    page.click("#call")
    result: dict[str, Any] = {"flow": flow, "state": wait_state(page, "connected", "error")}
    if result["state"] != "connected":
        result["status"] = page.inner_text("#status")
        return result
    unset = "\u2013"  # what the page shows before session.created
    page.wait_for_function(
        "(unset) => document.querySelector('#session-voice').textContent !== unset", arg=unset
    )
    result["model"] = page.inner_text("#session-model")
    result["voice"] = page.inner_text("#session-voice")
    call_id = page.inner_text("#call-id")
    result["call_id"] = call_id
    result["key_shown"] = page.inner_text("#key")
    result["key_in_page"] = bool(re.search(r"ek_[0-9a-f]{6}", page.content()))
    page.click("#send-update")
    page.wait_for_selector("#events li[data-type='session.updated']", timeout=WAIT_MS)
    page.wait_for_function("() => Number(document.querySelector('#packets').dataset.packets) > 0")
    result["packets"] = int(page.get_attribute("#packets", "data-packets"))
    page.click("#respond")
    page.wait_for_selector("#events li[data-type='response.done']", timeout=WAIT_MS)
    result["events"] = event_types(page)
    result["level_seen"] = page.evaluate("document.querySelector('#level').value")
    record = mock.calls.get(call_id)
    result["mock_session_voice"] = (
        record.session["audio"]["output"]["voice"] if record and record.session else None
    )
    result["mock_active_before_hangup"] = call_id in _active(mock)
    if shot is not None:
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    page.click("#hangup")
    result["end_state"] = wait_state(page, "ended", "error")
    result["hangup_result"] = hangup_result(page)
    result["times"] = page.evaluate("window.callTimes")
    deadline = time.monotonic() + 10
    while call_id in _active(mock) and time.monotonic() < deadline:
        time.sleep(0.05)
    result["mock_hung_up"] = bool(record and record.hung_up)
    result["mock_active_after_hangup"] = call_id in _active(mock)
    return result


def hangup_result(page: Any) -> str:
    """What the page says of its hang-up, once it knows: the broker's answer may come after
    the data channel has closed and the call shows as ended."""
    unset = "\u2013"
    page.wait_for_function(
        "(unset) => document.querySelector('#hangup-result').textContent !== unset", arg=unset
    )
    return str(page.inner_text("#hangup-result"))


def _active(mock: MockServer) -> list[str]:
    """The calls the mock's WebRTC peer still holds."""
    rtc = mock._rtc
    return rtc.calls if rtc is not None else []


def expired_key(page: Any, broker_url: str, clock: Clock) -> dict[str, Any]:
    """A key that expires between the broker minting it and the offer reaching the mock."""

    def age_keys(route: Any) -> None:
        clock.offset = 3600.0
        route.continue_()

    page.goto(broker_url + "/")
    wait_state(page, "idle")
    page.check("#flow-key")
    page.route("**/v1/realtime/calls", age_keys)
    try:
        page.click("#call")
        result = {
            "state": wait_state(page, "error", "connected"),
            "status": page.inner_text("#status"),
        }
    finally:
        page.unroute("**/v1/realtime/calls")
        clock.offset = 0.0
    return result


def upstream_busy(page: Any, broker_url: str, mock: MockServer) -> dict[str, Any]:
    """OpenAI rate limits the broker: the page says when to try again."""
    page.goto(broker_url + "/")
    wait_state(page, "idle")
    page.check("#flow-key")
    mock.fail_next(status=429, retry_after=7, headers={"x-request-id": "req_e2e429"})
    page.click("#call")
    return {"state": wait_state(page, "error", "connected"), "status": page.inner_text("#status")}


def event_texts(page: Any) -> list[str]:
    texts: list[str] = page.eval_on_selector_all(
        "#events li", "items => items.map(i => i.textContent)"
    )
    return texts


def tool_call(context: Any, broker_url: str, mock: MockServer) -> dict[str, Any]:
    """A call through the server where the model calls a tool the broker answers; then a
    second page tries to hang up the first page's call."""
    page = context.new_page()
    page.goto(broker_url + "/")
    wait_state(page, "idle")
    page.check("#flow-server")
    page.click("#call")
    result: dict[str, Any] = {"state": wait_state(page, "connected", "error")}
    if result["state"] != "connected":
        result["status"] = page.inner_text("#status")
        return result
    result["tools"] = page.inner_text("#tools")
    call_id = page.inner_text("#call-id")
    mock.realtime.script_tool_call("days_until", {"date": "2000-01-01"})
    page.click("#respond")
    page.wait_for_function(
        """() => [...document.querySelectorAll("#events li")].some(
            (li) => li.textContent.includes("tool returned"))""",
        timeout=WAIT_MS,
    )
    result["events"] = event_texts(page)
    result["tool_outputs"] = [
        event["item"]["output"]
        for event in mock.realtime.received
        if event["type"] == "conversation.item.create"
        and event["item"].get("type") == "function_call_output"
    ]
    result["other_page"] = other_page_hangs_up(context, broker_url, call_id)
    record = mock.calls.get(call_id)
    result["hung_up_by_other_page"] = bool(record and record.hung_up)
    result["state_after_other_page"] = state(page)
    page.click("#hangup")
    result["end_state"] = wait_state(page, "ended", "error")
    result["hangup_result"] = hangup_result(page)
    result["hung_up"] = bool(record and record.hung_up)
    page.close()
    return result


def other_page_hangs_up(context: Any, broker_url: str, call_id: str) -> list[dict[str, Any]]:
    """A second page knows the first page's call id, not its token: what /hangup answers."""
    other = context.new_page()
    other.goto(broker_url + "/")
    wait_state(other, "idle")
    answers: list[dict[str, Any]] = other.evaluate(
        """async (callId) => {
            const answers = [];
            for (const token of ["not-the-token", ""]) {
                const response = await fetch("/hangup", {
                    method: "POST",
                    headers: { "Content-Type": "application/json" },
                    body: JSON.stringify({ call_id: callId, call_token: token }),
                });
                const payload = await response.json().catch(() => ({}));
                answers.push({ status: response.status, type: (payload.error || {}).type });
            }
            return answers;
        }""",
        call_id,
    )
    other.close()
    return answers


def run(repeat: int, shot: Path | None) -> dict[str, Any]:
    """Every scenario, in one mock, one broker and one browser."""
    outcome: dict[str, Any] = {"interfaces": interfaces(), "keys": [], "requests": []}
    clock = Clock()
    mock = MockServer(webrtc=True, clock=clock)
    base = mock.start()
    with tempfile.TemporaryDirectory() as scratch:
        config = json.loads((BROKER_DIR / "config.json").read_text())
        config_path = Path(scratch) / "config.json"
        config_path.write_text(json.dumps({**config, **SETTINGS}))
        env = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": base}
        args = ("--config", str(config_path), "--realtime-url", f"{base}/realtime")
        with (
            broker_process(Path(scratch), *args, env=env) as broker,
            sync_api.sync_playwright() as pw,
        ):
            context = pw.chromium.launch_persistent_context(
                str(Path(scratch) / "profile"),
                executable_path=CHROMIUM,
                headless=True,
                args=WEBRTC_FLAGS,
                viewport={"width": 900, "height": 1000},
                timeout=60_000,
            )
            try:
                page = context.new_page()
                page.set_default_timeout(WAIT_MS)
                page.on("response", lambda r: _note(outcome, r))
                calls = []
                for index in range(repeat):
                    for flow in ("key", "server"):
                        outcome["requests"].append({"flow": flow})
                        picture = (
                            shot if (shot is not None and index == 0 and flow == "key") else None
                        )
                        calls.append(one_call(page, broker.url, mock, flow, picture))
                outcome["calls"] = calls
                outcome["requests"].append({"flow": "expired"})
                outcome["expired"] = expired_key(page, broker.url, clock)
                outcome["requests"].append({"flow": "busy"})
                outcome["busy"] = upstream_busy(page, broker.url, mock)
                outcome["requests"].append({"flow": "tools"})
                outcome["tools"] = tool_call(context, broker.url, mock)
            finally:
                context.close()
            outcome["broker_log"] = broker.stop()
    mock.stop()
    return outcome


def _note(outcome: dict[str, Any], response: Any) -> None:
    """Record each request the page made, and any key it received."""
    url = str(response.url)
    outcome["requests"].append({"url": url, "status": response.status})
    if url.endswith("/session") and response.status == 200:
        outcome["keys"].append(response.json()["value"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    args.out.write_text(json.dumps(run(args.repeat, args.screenshot)))


if __name__ == "__main__":
    main()
