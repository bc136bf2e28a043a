"""Shared fixtures: the SDK pointed at a real mock server on 127.0.0.1, with a clean environment.

The ``openai_mock`` fixture itself comes from the package's pytest plugin
(``openapiopenai.mock.pytest_plugin``), the same one users get.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pytest

import openapiopenai
from openapiopenai.configuration import Configuration
from openapiopenai.mock import MockServer
from test import browser
from test.faults import TLSMaterial, TLSMockServer

if TYPE_CHECKING:
    from openapiopenai.realtime import RealtimeConnection

# The same plugin module users get through the pytest11 entry point; pyproject's addopts blocks
# the entry point (-p no:openapiopenai) so coverage is already running when the package loads.
pytest_plugins = ["openapiopenai.mock.pytest_plugin"]

API_KEY = "sk-test-0123456789abcdefghijklmnopqrstuv"

#: Retries that wait hundredths of a second, for tests of what is retried and when.
QUICK = openapiopenai.RetryPolicy(total=2, backoff_factor=0.01, backoff_jitter=0)


def quick_api(
    host: str, retries: openapiopenai.RetryPolicy = QUICK, **settings: object
) -> openapiopenai.RealtimeApi:
    """A client of ``host`` with the test key, ``retries`` and no environment settings."""
    configuration = Configuration(
        host=host,
        access_token=API_KEY,
        retries=retries,
        ignore_environment=True,
        **settings,  # type: ignore[arg-type]
    )
    return openapiopenai.RealtimeApi(openapiopenai.ApiClient(configuration))


# Chromium tests run inside a loopback-only network namespace where one can be made:
# test_browser_e2e.py runs this module there, so the suite itself does not collect it.
collect_ignore = (
    ["test_mock_webrtc_browser.py"]
    if not browser.isolated() and not browser.missing() and browser.namespace_refused() is None
    else []
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's OPENAI_* variables or leaves a default behind."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    yield
    Configuration.set_default(None)
    openapiopenai.ApiClient.set_default(None)


@pytest.fixture
def configuration(openai_mock: MockServer) -> Configuration:
    """A configuration aimed at the mock, with a fake key and quick retries."""
    return Configuration(
        host=openai_mock.url,
        access_token=API_KEY,
        retries=openapiopenai.RetryPolicy(total=2, backoff_factor=0.01, backoff_jitter=0),
    )


@pytest.fixture
def api_client(configuration: Configuration) -> Iterator[openapiopenai.ApiClient]:
    with openapiopenai.ApiClient(configuration) as client:
        yield client


@pytest.fixture
def api(api_client: openapiopenai.ApiClient) -> openapiopenai.RealtimeApi:
    return openapiopenai.RealtimeApi(api_client)


@pytest.fixture
def no_retry_configuration(openai_mock: MockServer) -> Configuration:
    """Like ``configuration`` but never retrying, so a scripted error status is final."""
    return Configuration(host=openai_mock.url, access_token=API_KEY, retries=0)


@pytest.fixture
def no_retry_api(
    no_retry_configuration: Configuration,
) -> Iterator[openapiopenai.RealtimeApi]:
    """A ``RealtimeApi`` on ``no_retry_configuration``."""
    with openapiopenai.ApiClient(no_retry_configuration) as client:
        yield openapiopenai.RealtimeApi(client)


def sent_json(mock: MockServer) -> object:
    """The JSON body of the last request the mock received."""
    assert mock.requests, "the mock received no request"
    return mock.requests[-1].json()


#: An ephemeral key as the service returns it; tests check it never leaks into text.
#: A minimal SDP offer, enough for the mock to open a call.
OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"

EPHEMERAL_KEY = "ek_68af0c1e2b7d4e5f9a0b1c2d3e4f5a6b"


def canned_session(**fields: object) -> dict[str, object]:
    """A 200 body as the service returns it, for scripting with ``MockServer.respond_next``."""
    return {
        "id": "sess_canned",
        "object": "realtime.session",
        "model": "gpt-realtime",
        "client_secret": {"value": EPHEMERAL_KEY, "expires_at": 1_900_000_000},
        **fields,
    }


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSMaterial:
    """A trustme CA with a server certificate for localhost/127.0.0.1 and a client certificate."""
    return TLSMaterial.create(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def https_mock(tls: TLSMaterial) -> Iterator[TLSMockServer]:
    """The mock server behind real TLS, with a certificate from the ``tls`` CA."""
    server = TLSMockServer(tls.server_context())
    server.start()
    yield server
    server.stop()


def first_line(stream: IO[str] | None, timeout: float) -> str:
    """The first line a child prints, without blocking forever if it prints nothing."""
    assert stream is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    return lines.get(timeout=timeout)


@contextmanager
def standalone_mock(*options: str) -> Iterator[str]:
    """``python -m openapiopenai.mock OPTIONS`` in a process of its own; yields its URL."""
    command = [sys.executable, "-m", "openapiopenai.mock", *options]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        try:
            url = first_line(child.stdout, timeout=60).strip()
            assert url.startswith("http://127.0.0.1:"), url
            yield url
        finally:
            child.terminate()
            child.wait(timeout=30)


def drop_first_sideband(
    mock: MockServer, conn: RealtimeConnection, *, call_gone: bool = False
) -> None:
    """Drop the sideband that joined a call before ``conn`` (an example's own): session.updated
    reaches it first. With ``call_gone``, its re-join is refused as for a call that ended
    meanwhile."""
    assert conn.recv().type == "session.created"
    mock.realtime.drop(after="session.updated")
    if call_gone:
        mock.fail_next(5, 404, message="call not found")
    conn.session.update({"type": "realtime"})
    assert conn.recv().type == "session.updated"


def bench_smoke(module: str, tmp_path: Path, timeout: float) -> tuple[dict[str, Any], str]:
    """``python -m MODULE --smoke --json ...`` from the checkout: its results and what it
    printed. It runs in a session of its own, killed whole on a timeout: a bench starts
    servers of its own, which would outlive it."""
    out = tmp_path / f"{module}.json"
    command = [sys.executable, "-m", module, "--smoke", "--json", str(out)]
    with subprocess.Popen(
        command,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as child:
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            raise
    assert child.returncode == 0, stderr
    return json.loads(out.read_text()), stdout
