"""One ApiClient shared by many threads: every caller gets its own answer, nothing fails.

The mock echoes ``instructions``, so each call sends a distinct string and checks that the
session it got back carries that same string: a mixed-up connection would show at once.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

import pytest

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.mock import MockServer
from test.conftest import API_KEY

THREADS = 16
CALLS_PER_THREAD = 125  # 2,000 calls in all


def _run_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(index)`` on ``count`` threads started together; returns what they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as error:  # collected and asserted on by the caller
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker thread is stuck"
    return errors


def test_sixteen_threads_two_thousand_calls_each_get_their_own_answer(
    openai_mock: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="urllib3")
    configuration = Configuration(
        host=openai_mock.url, access_token=API_KEY, connection_pool_maxsize=THREADS, retries=0
    )
    client = ApiClient(configuration)
    mismatches: list[tuple[str, str | None]] = []
    sent: list[str] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        api = RealtimeApi(client)
        for call in range(CALLS_PER_THREAD):
            instructions = f"thread {index} call {call} {uuid.uuid4().hex}"
            session = api.create_realtime_session({"instructions": instructions})
            with lock:
                sent.append(instructions)
                if session.instructions != instructions:
                    mismatches.append((instructions, session.instructions))

    with client:
        errors = _run_threads(THREADS, work)

    assert errors == []
    assert mismatches == []
    assert len(sent) == len(set(sent)) == THREADS * CALLS_PER_THREAD
    received = {request.json()["instructions"] for request in openai_mock.requests}
    assert received == set(sent)
    # A pool as large as the number of threads never has to throw connections away.
    assert not [r for r in caplog.records if "Connection pool is full" in r.getMessage()]


def test_settings_changed_while_threads_call_are_applied_whole(openai_mock: MockServer) -> None:
    configuration = Configuration(host=openai_mock.url, access_token=API_KEY, retries=0)
    client = ApiClient(configuration)
    projects = [f"proj_{n}" for n in range(20)]
    stop = threading.Event()

    def work(index: int) -> None:
        api = RealtimeApi(client)
        if index == 0:
            for project in projects:
                configuration.project = project
                api.create_realtime_session({})
            stop.set()
            return
        while not stop.is_set():
            api.create_realtime_session({})

    with client:
        errors = _run_threads(4, work)

    assert errors == []
    seen = {request.headers.get("OpenAI-Project") for request in openai_mock.requests}
    assert seen <= {None, *projects}
    assert projects[-1] in seen
    assert all(r.headers["Authorization"] == f"Bearer {API_KEY}" for r in openai_mock.requests)
