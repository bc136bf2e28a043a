"""The broker answers the model's tool calls on the calls it opens, over a sideband connection
to each call; over real HTTP and WebSocket, in front of the mock."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.mock import MockServer
from openapiopenai.realtime import RealtimeConnection
from test.conftest import drop_first_sideband
from test.test_token_broker import (
    API_KEY,
    RunningBroker,
    call,
    capture_logs,
    post_offer,
    running_broker,
    tb,
)

BOUND = 10.0  # seconds any one wait may take before the test fails instead of hanging


@pytest.fixture
def broker(openai_mock: MockServer) -> Iterator[RunningBroker]:
    with running_broker(openai_mock.url) as running:
        yield running


@pytest.fixture
def api(openai_mock: MockServer) -> Iterator[RealtimeApi]:
    configuration = Configuration(
        host=openai_mock.url, access_token=API_KEY, ignore_environment=True
    )
    with ApiClient(configuration) as client:
        yield RealtimeApi(client)


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    return check()


def next_reply(conn: RealtimeConnection) -> str:
    """The words of the next response that says something (text or the audio's transcript)."""
    for event in conn:
        if event.type == "response.done":
            for item in event.to_dict()["response"].get("output") or []:
                for part in item.get("content") or []:
                    if part.get("transcript") or part.get("text"):
                        return str(part.get("transcript") or part.get("text"))
    raise AssertionError("the call ended before a reply")


def test_a_call_opened_here_gets_the_tools_and_the_broker_answers_them(
    broker: RunningBroker, openai_mock: MockServer, api: RealtimeApi
) -> None:
    answer = post_offer(broker, "?voice=cedar")
    assert answer.status == 201
    assert answer.headers["X-Call-Tools"] == "current_time, days_until"
    call_id = answer.headers["X-Call-Id"]
    session = openai_mock.calls[call_id].session
    assert session is not None
    assert [tool["name"] for tool in session["tools"]] == ["current_time", "days_until"]
    assert "IANA time zone" in session["tools"][0]["description"]
    assert f"sideband open call_id={call_id[:12]}..." in broker.log.text

    # Another connection to the call stands in for the page: it asks, the model calls a tool.
    openai_mock.realtime.script_tool_call("days_until", {"date": "2000-01-01"})
    with api.connect(call_id=call_id, receive_timeout=10) as page:
        assert page.recv().type == "session.created"
        page.conversation.item.create(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "?"}]}
        )
        page.response.create({"output_modalities": ["text"]})
        reply = next_reply(page)
    assert "The days_until tool returned" in reply
    assert "2000-01-01 was" in reply and "days ago" in reply


def test_the_reply_after_a_tool_call_carries_its_answer_and_hangup_closes_the_sideband(
    broker: RunningBroker, openai_mock: MockServer, api: RealtimeApi
) -> None:
    answer = post_offer(broker)
    call_id, token = answer.headers["X-Call-Id"], answer.headers["X-Call-Token"]
    openai_mock.realtime.script_tool_call("current_time", {"time_zone": "Mars/Olympus"})
    with api.connect(call_id=call_id, receive_timeout=10) as page:
        page.response.create({"output_modalities": ["text"]})
        reply = next_reply(page)
    outputs = [
        e["item"]["output"]
        for e in openai_mock.realtime.received
        if e["type"] == "conversation.item.create"
    ]
    assert (
        len(outputs) == 1 and "unknown time zone 'Mars/Olympus'" in json.loads(outputs[0])["error"]
    )
    assert "unknown time zone" in reply
    assert "tool call call_id=" in broker.log.text and "name=current_time" in broker.log.text

    assert (
        call(broker.url, "POST", "/hangup", {"call_id": call_id, "call_token": token}).status == 204
    )
    assert eventually(lambda: f"sideband closed call_id={call_id[:12]}..." in broker.log.text)


def test_without_call_tools_no_sideband_is_opened(openai_mock: MockServer) -> None:
    with running_broker(openai_mock.url, call_tools=False) as broker:
        answer = post_offer(broker)
        assert answer.status == 201
        assert "X-Call-Tools" not in answer.headers
        session = openai_mock.calls[answer.headers["X-Call-Id"]].session
        assert session is not None and not session.get("tools")
        assert all(r.method == "POST" for r in openai_mock.requests)


def test_the_key_flow_gets_no_tools(broker: RunningBroker, openai_mock: MockServer) -> None:
    assert broker.post({"voice": "cedar"}).status == 200
    minted = openai_mock.requests[-1].json()
    assert "tools" not in minted["session"]


def test_a_call_beyond_the_sideband_limit_goes_on_without_tools(openai_mock: MockServer) -> None:
    with running_broker(openai_mock.url, max_call_tools=1) as broker:
        first, second = post_offer(broker), post_offer(broker)
        assert first.headers["X-Call-Tools"] == "current_time, days_until"
        assert second.status == 201 and "X-Call-Tools" not in second.headers
        assert "no sideband for call_id=" in broker.log.text


def test_max_call_tools_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_call_tools"):
        tb.BrokerConfig(max_call_tools=0)


class HeldFirstConnect(RealtimeApi):
    """A RealtimeApi whose first ``connect`` waits, once under way, until the test lets it
    go on; it keeps every connection it opened."""

    def __init__(self, client: ApiClient) -> None:
        super().__init__(client)
        self.under_way = threading.Event()
        self.go_on = threading.Event()
        self.opened: list[RealtimeConnection] = []

    def connect(self, *args: Any, **kwargs: Any) -> RealtimeConnection:
        if not self.under_way.is_set():
            self.under_way.set()
            assert self.go_on.wait(BOUND), "the test never let the first join go on"
        conn = super().connect(*args, **kwargs)
        self.opened.append(conn)
        return conn


@pytest.fixture
def held_api(openai_mock: MockServer) -> Iterator[HeldFirstConnect]:
    configuration = Configuration(
        host=openai_mock.url, access_token=API_KEY, ignore_environment=True
    )
    with ApiClient(configuration) as client:
        yield HeldFirstConnect(client)


def accepted_call(mock: MockServer, api: RealtimeApi) -> str:
    call_id = mock.incoming_call()
    api.accept_realtime_call(call_id, {"type": "realtime", "model": "gpt-realtime"})
    return call_id


def open_in_thread(sidebands: Any, call_id: str) -> tuple[threading.Thread, list[bool]]:
    """``sidebands.open(call_id)`` in a thread of its own, as a second ``POST /call`` runs."""
    result: list[bool] = []
    opener = threading.Thread(target=lambda: result.append(sidebands.open(call_id)))
    opener.start()
    return opener, result


def test_calls_joined_at_once_never_exceed_the_sideband_limit(
    openai_mock: MockServer, held_api: HeldFirstConnect
) -> None:
    first, second = accepted_call(openai_mock, held_api), accepted_call(openai_mock, held_api)
    sidebands = tb.Sidebands(held_api, [], max_calls=1, time_limit_seconds=60)
    opener, opened = open_in_thread(sidebands, first)
    try:
        assert held_api.under_way.wait(BOUND)  # the first call is being joined
        second_opened = sidebands.open(second)
    finally:
        held_api.go_on.set()
        opener.join(BOUND)
    try:
        assert second_opened is False
        assert opened == [True] and len(sidebands) == 1
    finally:
        sidebands.close_all(BOUND)


def test_a_call_joined_while_the_broker_stops_is_closed_not_served(
    openai_mock: MockServer, held_api: HeldFirstConnect
) -> None:
    call_id = accepted_call(openai_mock, held_api)
    sidebands = tb.Sidebands(held_api, [], max_calls=2, time_limit_seconds=60)
    opener, opened = open_in_thread(sidebands, call_id)
    try:
        assert held_api.under_way.wait(BOUND)
        sidebands.close_all(BOUND)  # the broker stops while the call is being joined
    finally:
        held_api.go_on.set()
        opener.join(BOUND)
    (conn,) = held_api.opened
    closed_by_open = conn.close_code is not None
    sidebands.close_all(BOUND)  # whatever was left open (only before the fix)

    assert opened == [False] and len(sidebands) == 0
    assert closed_by_open, "the sideband joined while stopping was left open"
    assert sidebands.open(call_id) is False  # a stopped broker joins nothing more


def test_a_join_failing_any_other_way_leaves_the_call_without_tools(
    broker: RunningBroker, openai_mock: MockServer
) -> None:
    openai_mock.delay_next(0)  # the call opens upstream as usual...
    # ...then the sideband's upgrade is answered with a redirect to another origin
    elsewhere = {"Location": f"https://elsewhere.invalid/v1/realtime?key={API_KEY}"}
    openai_mock.respond_next(302, "", elsewhere)
    answer = post_offer(broker)

    assert answer.status == 201, answer.body
    assert "X-Call-Id" in answer.headers and "X-Call-Tools" not in answer.headers
    said = broker_lines(broker.log.text)
    assert "no sideband for call_id=" in said
    assert API_KEY not in said and "elsewhere.invalid" not in said
    # the line was given back: the next call gets its tools
    assert post_offer(broker).headers["X-Call-Tools"] == "current_time, days_until"


def broker_lines(log: str) -> str:
    """What the broker itself logged (the SDK's debug lines left out)."""
    return "\n".join(line for line in log.splitlines() if line.startswith("token_broker"))


class RefusingConnect(RealtimeApi):
    """A RealtimeApi whose ``connect`` fails as when the OS refuses websockets' thread."""

    def connect(self, *args: Any, **kwargs: Any) -> RealtimeConnection:
        raise RuntimeError(f"can't start new thread (key {API_KEY})")


def test_a_join_that_raises_anything_gives_its_line_back(
    openai_mock: MockServer, api: RealtimeApi
) -> None:
    call_id = accepted_call(openai_mock, api)
    refusing = RefusingConnect(api.api_client)
    sidebands = tb.Sidebands(refusing, [], max_calls=1, time_limit_seconds=60)
    with capture_logs() as log:
        joined = [sidebands.open(call_id), sidebands.open(call_id)]
    sidebands.close_all(BOUND)

    assert joined == [False, False]
    assert log.text.count("no sideband for call_id=") == 2
    assert "RuntimeError" in log.text and "1 open" not in log.text  # not "every line busy"
    assert API_KEY not in log.text


def test_a_sideband_no_thread_can_be_started_for_is_closed_and_its_line_given_back(
    openai_mock: MockServer, held_api: HeldFirstConnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    held_api.under_way.set()  # no holding here
    call_id = accepted_call(openai_mock, held_api)
    sidebands = tb.Sidebands(held_api, [], max_calls=1, time_limit_seconds=60)
    start = threading.Thread.start

    def refuse_sideband_threads(thread: threading.Thread) -> None:
        if thread.name == "sideband":
            raise RuntimeError("can't start new thread")
        start(thread)

    with capture_logs() as log:
        monkeypatch.setattr(threading.Thread, "start", refuse_sideband_threads)
        opened = sidebands.open(call_id)
        monkeypatch.undo()
        reopened = sidebands.open(call_id)
    sidebands.close_all(BOUND)

    assert opened is False and reopened is True
    assert "no thread could be started for it" in log.text
    first, _ = held_api.opened
    assert first.close_code is not None, "the joined sideband without a thread was left open"


def test_a_dropped_sideband_re_joins_its_call_and_tools_keep_being_answered(
    broker: RunningBroker, openai_mock: MockServer, api: RealtimeApi
) -> None:
    answer = post_offer(broker, "")
    call_id = answer.headers["X-Call-Id"]
    with api.connect(call_id=call_id, receive_timeout=10) as page:
        drop_first_sideband(openai_mock, page)
        (session,) = [s for s in openai_mock.realtime.sessions if s.call_id == call_id]
        assert eventually(lambda: len(session.connections) == 1)  # the broker's dropped...
        assert eventually(lambda: len(session.connections) == 2)  # ...and came back
        openai_mock.realtime.script_tool_call("days_until", {"date": "2000-01-01"})
        page.conversation.item.create(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "?"}]}
        )
        page.response.create({"output_modalities": ["text"]})
        reply = next_reply(page)
    assert "The days_until tool returned" in reply
    assert "realtime: reconnected after 1 attempts" in broker.log.text
    assert "sideband of call_id" not in broker.log.text  # it never ended


def test_a_sideband_refused_when_re_joining_ends_in_one_line(
    broker: RunningBroker, openai_mock: MockServer, api: RealtimeApi
) -> None:
    answer = post_offer(broker, "")
    call_id = answer.headers["X-Call-Id"]
    with api.connect(call_id=call_id, receive_timeout=10) as page:
        drop_first_sideband(openai_mock, page, call_gone=True)
        assert eventually(lambda: "could not re-join: HTTP 404" in broker.log.text)
    assert "Traceback" not in broker.log.text
    assert "sideband of call_id" in broker.log.text and "failed" not in broker_lines(
        broker.log.text
    )
