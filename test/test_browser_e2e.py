"""The token broker's page in real headless Chromium (Debian's package, driven by Playwright).

The broker runs as the script people run, in front of the mock OpenAI; the browser loads the
page, gets a key, watches the countdown, and meets a rate limit. Nothing leaves loopback: the
Connect button, the only part that needs the internet, is never pressed.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openapiopenai.mock import MockServer
from test.test_token_broker import API_KEY, SECRET_SHAPE, broker_process

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not Path(CHROMIUM).is_file():
    pytest.skip(
        "Chromium not found at /usr/bin/chromium; run .ci/browser-setup to install it",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright is not installed; run .ci/browser-setup (pip install '.[browser]')",
)


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:
    """A page in a fresh headless Chromium profile, and the list of errors the page reports."""
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 900, "height": 760},
            timeout=60_000,
        )
        try:
            page = context.new_page()
            page.set_default_timeout(20_000)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
            page.on(
                "console",
                lambda message: (
                    errors.append(f"console: {message.text}") if message.type == "error" else None
                ),
            )
            yield page, errors
        finally:
            context.close()


def countdown_seconds(page: Any) -> int:
    return int(page.get_attribute("#countdown", "data-seconds"))


def test_page_gets_a_masked_key_counts_down_and_explains_a_rate_limit(
    tmp_path: Path, openai_mock: MockServer, browser_page: tuple[Any, list[str]]
) -> None:
    page, errors = browser_page
    env = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": openai_mock.url}
    with broker_process(tmp_path, "--retries", "0", env=env) as broker:
        page.goto(broker.url + "/")
        page.wait_for_selector("#voice option[value='cedar']", state="attached")
        page.select_option("#voice", "cedar")

        with page.expect_response(lambda r: r.url.endswith("/session")) as minted:
            page.click("#get-key")
        session = minted.value.json()
        key = session["client_secret"]["value"]
        page.wait_for_function("() => document.querySelector('#countdown').dataset.seconds")

        # The key is shown masked, never in clear; the session is the server's fixed one.
        shown = page.inner_text("#key")
        assert key.startswith("ek_")
        assert shown != key
        assert re.fullmatch(r"ek_•+" + re.escape(key[-4:]), shown)
        assert key not in page.content()
        assert page.inner_text("#model") == "gpt-realtime"
        assert page.inner_text("#voice-used") == "cedar"
        assert page.inner_text("#request-id") == session["request_id"]
        assert openai_mock.requests[-1].json()["voice"] == "cedar"
        assert page.is_enabled("#connect")

        # The countdown is live: read it, wait about 1.5 s, read it again.
        first = countdown_seconds(page)
        assert 100 <= first <= 120
        page.wait_for_timeout(1500)
        page.wait_for_function(
            f"() => Number(document.querySelector('#countdown').dataset.seconds) < {first}",
            timeout=15_000,
        )
        second = countdown_seconds(page)
        assert 0 < second < first
        assert page.inner_text("#countdown") == f"{second} s"

        # OpenAI rate limits the broker: the page says when to try again.
        openai_mock.fail_next(status=429, retry_after=7, headers={"x-request-id": "req_e2e429"})
        page.click("#get-key")
        page.wait_for_function(
            "() => document.querySelector('#status').textContent.includes('try again')"
        )
        status = page.inner_text("#status")
        assert "try again in 7 s" in status
        assert "req_e2e429" in status
        assert page.get_attribute("#status", "class") == "error"
        assert page.is_disabled("#get-key")
        assert page.inner_text("#key") == shown

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "token_broker.png"), full_page=True)
        log = broker.stop()

    # The only console error is the failed /session fetch itself (HTTP 503), which is expected.
    unexpected = [e for e in errors if "status of 503" not in e]
    assert unexpected == []
    assert session["request_id"] in log
    assert "req_e2e429" in log
    assert API_KEY not in log
    assert key not in log
    assert not SECRET_SHAPE.search(log)
