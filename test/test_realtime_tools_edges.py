"""Function tools at the edges: a close right after ``response.done``, output that cannot be sent,
calls the caller answers itself, and a bounded number of workers; over real WebSockets (the mock,
or a scripted server on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from openapiopenai import RealtimeApi
from openapiopenai.exceptions import ApiValueError
from openapiopenai.mock import MockServer
from openapiopenai.models import RealtimeServerEventConversationItemAdded
from openapiopenai.realtime import ServerEvent
from openapiopenai.realtime.tools import FunctionTools
from test.conftest import quick_api
from test.realtime_server import Peer, ScriptedServer, session_created
from test.test_realtime_tools import (
    BOUND,
    CallDone,
    opening_hours,
    outputs_sent,
    serve_until_answered,
    text_session,
)


def call_done(call_id: str, name: str, arguments: str = "{}") -> dict[str, Any]:
    """``response.function_call_arguments.done`` of response ``resp_1``."""
    return {
        "type": "response.function_call_arguments.done",
        "event_id": f"event_{call_id}",
        "response_id": "resp_1",
        "item_id": f"item_{call_id}",
        "output_index": 0,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def response_done(*calls: tuple[str, str]) -> dict[str, Any]:
    """The ``response.done`` of ``resp_1``, whose output is the function calls ``calls``."""
    output = [
        {
            "type": "function_call",
            "id": f"item_{call_id}",
            "object": "realtime.item",
            "status": "completed",
            "call_id": call_id,
            "name": name,
            "arguments": "{}",
        }
        for call_id, name in calls
    ]
    response = {"object": "realtime.response", "id": "resp_1", "status": "completed"}
    return {
        "type": "response.done",
        "event_id": "event_done",
        "response": response | {"output": output},
    }


def echo_outputs(peer: Peer, count: int) -> None:
    """Read ``count`` client events, announcing each ``function_call_output`` as the service
    does (``conversation.item.added``), then close normally."""
    for index in range(count):
        event = peer.recv()
        item = event.get("item") or {}
        if item.get("type") == "function_call_output":
            added = {**item, "id": f"item_out_{index}", "object": "realtime.item"}
            peer.send({"type": "conversation.item.added", "event_id": f"e{index}", "item": added})
    peer.close(1000)


def test_serve_returns_quietly_when_a_normal_close_follows_response_done(
    no_retry_api: RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.realtime.script_tool_call("opening_hours", {"day": "sunday"})
    # the output reaches the service, which ends the session: the response.done before the
    # close is read after it, and its follow-up response.create meets the closed link
    openai_mock.realtime.close(code=1000, on="conversation.item.create")

    def after_the_close(event: ServerEvent) -> bool:
        if isinstance(event, CallDone):
            deadline = time.monotonic() + BOUND
            while conn.close_code is None and time.monotonic() < deadline:
                time.sleep(0.01)
        return False

    with (
        FunctionTools([opening_hours]) as tools,
        no_retry_api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn,
    ):
        text_session(conn, tools)
        conn.response.create()
        tools.serve(conn, until=after_the_close)  # returns: the close was normal

    assert conn.close_code == 1000
    # the close took the output (the mock records no event a fault replaces)
    assert [e["type"] for e in openai_mock.realtime.received] == [
        "session.update",
        "response.create",
    ]


def test_a_result_that_cannot_be_encoded_gets_an_error_output(
    no_retry_api: RealtimeApi, openai_mock: MockServer
) -> None:
    def file_name(index: int) -> str:
        """A name as os.listdir gives it for bytes that are not UTF-8."""
        return "report-\udcff.txt"

    openai_mock.realtime.script_tool_call("file_name", {"index": 1})
    with (
        FunctionTools([file_name]) as tools,
        no_retry_api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn,
    ):
        text_session(conn, tools)
        conn.response.create()
        serve_until_answered(tools, conn)

    (output,) = outputs_sent(openai_mock)
    error = "file_name failed (UnicodeEncodeError); try something else"
    assert json.loads(output) == {"error": error}


BOTH = (("call_mine", "opening_hours"), ("call_theirs", "transfer_to_person"))


def test_the_answer_waits_for_the_calls_the_caller_answers_itself() -> None:
    def script(peer: Peer) -> None:
        peer.send(session_created())
        peer.send(call_done("call_mine", "opening_hours"))
        peer.send(call_done("call_theirs", "transfer_to_person"))
        peer.send(response_done(*BOTH))
        echo_outputs(peer, 3)

    with ScriptedServer(script) as server, FunctionTools([opening_hours]) as tools:
        with quick_api(server.url, 0).connect(model="gpt-realtime", receive_timeout=BOUND) as conn:
            for event in conn:
                tools.handle(conn, event)
                # the caller answers its own call once the tool's output is in
                if (
                    isinstance(event, RealtimeServerEventConversationItemAdded)
                    and event.to_dict()["item"]["call_id"] == "call_mine"
                ):
                    output = {"type": "function_call_output", "call_id": "call_theirs"}
                    conn.conversation.item.create(output | {"output": "transferring"})
        assert server.errors == []
        sent = [(e["type"], (e.get("item") or {}).get("call_id")) for e in server.received]

    assert sent == [
        ("conversation.item.create", "call_mine"),
        ("conversation.item.create", "call_theirs"),
        ("response.create", None),
    ]


def test_no_answer_is_asked_for_a_response_with_no_call_of_these_tools() -> None:
    def script(peer: Peer) -> None:
        peer.send(session_created())
        peer.send(call_done("call_theirs", "transfer_to_person"))
        peer.send(response_done(("call_theirs", "transfer_to_person")))
        echo_outputs(peer, 1)

    with ScriptedServer(script) as server, FunctionTools([opening_hours]) as tools:
        with quick_api(server.url, 0).connect(model="gpt-realtime", receive_timeout=BOUND) as conn:
            for event in conn:
                if not tools.handle(conn, event) and isinstance(event, CallDone):
                    output = {"type": "function_call_output", "call_id": event.call_id}
                    conn.conversation.item.create(output | {"output": "transferring"})
        sent = [e["type"] for e in server.received]

    assert sent == ["conversation.item.create"]


def test_calls_beyond_max_workers_wait_for_a_free_worker() -> None:
    running: list[str] = []
    most = 0
    lock = threading.Lock()
    release = threading.Event()

    def opening_hours(day: str) -> str:
        nonlocal most
        with lock:
            running.append(day)
            most = max(most, len(running))
        release.wait(BOUND)
        with lock:
            running.remove(day)
        return f"{day}: 7 to 18"

    def two_running(event: ServerEvent) -> bool:
        if event.type == "response.done":  # every call was handed over: let them run
            deadline = time.monotonic() + BOUND
            while len(running) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            release.set()
        return False

    days = ["monday", "tuesday", "friday"]

    def script(peer: Peer) -> None:
        peer.send(session_created())
        for day in days:
            peer.send(call_done(f"call_{day}", "opening_hours", json.dumps({"day": day})))
        peer.send(response_done(*((f"call_{day}", "opening_hours") for day in days)))
        echo_outputs(peer, 4)

    with ScriptedServer(script) as server:
        tools = FunctionTools([opening_hours], max_workers=2)
        with quick_api(server.url, 0).connect(model="gpt-realtime", receive_timeout=BOUND) as conn:
            tools.serve(conn, until=two_running)
        assert tools.close(BOUND)
        sent = [(e["type"], (e.get("item") or {}).get("output")) for e in server.received]

    assert most == 2
    assert sorted(sent[:3]) == [
        ("conversation.item.create", f"{day}: 7 to 18") for day in sorted(days)
    ]
    assert sent[3] == ("response.create", None)


@pytest.mark.parametrize("max_workers", [0, -1, 1.5, True, "2"])
def test_max_workers_must_be_a_positive_int(max_workers: Any) -> None:
    with pytest.raises(ApiValueError, match="max_workers must be a positive int"):
        FunctionTools(max_workers=max_workers)


def test_a_worker_the_os_refuses_gets_an_error_output_and_close_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = threading.Thread.start

    def refuse_tool_threads(thread: threading.Thread) -> None:
        if thread.name.startswith("openapiopenai tool"):
            raise RuntimeError("can't start new thread")  # what CPython raises on EAGAIN
        start(thread)

    def script(peer: Peer) -> None:
        peer.send(session_created())
        peer.send(call_done("call_mine", "opening_hours"))
        peer.send(response_done(("call_mine", "opening_hours")))
        echo_outputs(peer, 2)

    with ScriptedServer(script) as server:
        tools = FunctionTools([opening_hours])
        with quick_api(server.url, 0).connect(model="gpt-realtime", receive_timeout=BOUND) as conn:
            monkeypatch.setattr(threading.Thread, "start", refuse_tool_threads)
            tools.serve(conn)
            monkeypatch.undo()
        sent = [(e["type"], (e.get("item") or {}).get("output")) for e in server.received]

    assert tools.close(timeout=5), "a call that never started is still counted as running"
    (kind, output), follow_up = sent
    assert kind == "conversation.item.create"
    error = "opening_hours could not be started; try again later"
    assert json.loads(str(output)) == {"error": error}
    assert follow_up == ("response.create", None)
