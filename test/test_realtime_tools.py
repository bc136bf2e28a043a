"""Function tools from Python functions: schemas from type hints, and calls answered over a real
WebSocket to the mock, on a new session and on a call's sideband."""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import threading
import weakref
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import pydantic
import pytest

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.exceptions import ApiTypeError, ApiValueError
from openapiopenai.mock import MockServer
from openapiopenai.models import (
    RealtimeServerEventConversationItemAdded,
    RealtimeServerEventError,
    RealtimeServerEventResponseDone,
    RealtimeServerEventResponseFunctionCallArgumentsDone,
    RealtimeServerEventSessionUpdated,
)
from openapiopenai.realtime import RealtimeConnection, ServerEvent
from openapiopenai.realtime.tools import FunctionTools, ToolError, run_tool
from test.conftest import API_KEY

CallDone = RealtimeServerEventResponseFunctionCallArgumentsDone
BOUND = 10  # seconds any one wait may take before the test fails instead of hanging


def opening_hours(day: Literal["monday", "saturday", "sunday"] = "monday") -> str:
    """When the bakery is open on a day.

    Not part of the description.
    """
    return "closed" if day == "sunday" else f"{day}: 7 to 18"


def order_status(
    order_id: Annotated[int, pydantic.Field(ge=1, le=9999, description="The order number")],
    detail: bool = False,
) -> dict[str, Any]:
    """The status of a bakery order."""
    return {"order_id": order_id, "status": "ready for pickup", "detail": detail}


@pytest.fixture
def api(openai_mock: MockServer) -> Iterator[RealtimeApi]:
    configuration = Configuration(host=openai_mock.url, access_token=API_KEY, retries=0)
    with ApiClient(configuration) as client:
        yield RealtimeApi(client)


def answered(event: ServerEvent) -> bool:
    """True for the ``response.done`` of a spoken or written answer (not of a tool call)."""
    if not isinstance(event, RealtimeServerEventResponseDone):
        return False
    output = event.to_dict()["response"]["output"]
    return bool(output) and output[0]["type"] == "message"


def answer_text(event: ServerEvent) -> str:
    return str(event.to_dict()["response"]["output"][0]["content"][0]["text"])


def text_session(conn: RealtimeConnection, tools: FunctionTools) -> None:
    """A text-only session that offers ``tools``; waits for its ``session.updated``."""
    conn.session.update(
        {"type": "realtime", "output_modalities": ["text"], "tools": tools.definitions()}
    )
    for event in conn:
        if isinstance(event, RealtimeServerEventSessionUpdated):
            return


def serve_until_answered(tools: FunctionTools, conn: RealtimeConnection) -> ServerEvent:
    """Serve ``conn`` until an answer is done; that answer's ``response.done``."""
    seen: list[ServerEvent] = []

    def done(event: ServerEvent) -> bool:
        seen.append(event)
        return answered(event)

    tools.serve(conn, until=done)
    assert seen and answered(seen[-1]), "the connection closed before the answer"
    return seen[-1]


def outputs_sent(mock: MockServer) -> list[str]:
    return [
        event["item"]["output"]
        for event in mock.realtime.received
        if event["type"] == "conversation.item.create"
        and event["item"]["type"] == "function_call_output"
    ]


# -- schemas ------------------------------------------------------------------------------


def test_definitions_come_from_the_signature_and_docstring() -> None:
    tools = FunctionTools([opening_hours, order_status])
    hours, status = tools.definitions()

    assert hours == {
        "type": "function",
        "name": "opening_hours",
        "description": "When the bakery is open on a day.",
        "parameters": {
            "type": "object",
            "properties": {
                "day": {
                    "type": "string",
                    "enum": ["monday", "saturday", "sunday"],
                    "default": "monday",
                }
            },
            "additionalProperties": False,
        },
    }
    assert status["parameters"]["properties"]["order_id"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 9999,
        "description": "The order number",
    }
    assert status["parameters"]["properties"]["detail"] == {"type": "boolean", "default": False}
    assert status["parameters"]["required"] == ["order_id"]
    assert tools.names == ["opening_hours", "order_status"]


def test_the_decorator_registers_and_leaves_the_function_as_it_was() -> None:
    tools = FunctionTools()

    @tools.register
    def transfer_to_person(reason: str, json: str | None = None) -> str:
        """Hand the caller to a member of staff."""
        return f"transferring: {reason}"

    assert transfer_to_person("cake") == "transferring: cake"
    assert "transfer_to_person" in tools
    (definition,) = tools.definitions()
    assert definition["description"] == "Hand the caller to a member of staff."
    # a parameter may share a name with pydantic's own attributes
    assert set(definition["parameters"]["properties"]) == {"reason", "json"}
    assert definition["parameters"]["required"] == ["reason"]


def test_a_name_and_description_can_be_given() -> None:
    tools = FunctionTools()
    tools.register(lambda: "ok", name="ping", description="Check the line.")
    assert tools.definitions() == [
        {
            "type": "function",
            "name": "ping",
            "description": "Check the line.",
            "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
        }
    ]


def test_functions_a_schema_cannot_describe_are_refused_by_name() -> None:
    tools = FunctionTools([order_status])

    def untyped(order_id):  # type: ignore[no-untyped-def]
        return order_id

    def variadic(*ids: int) -> None:
        return None

    with pytest.raises(ApiTypeError, match="parameter order_id needs a type hint"):
        tools.register(untyped)
    with pytest.raises(ApiTypeError, match="parameter ids must be passable by name"):
        tools.register(variadic)
    with pytest.raises(ApiValueError, match="order_status is registered already"):
        tools.register(order_status)
    with pytest.raises(ApiValueError, match="'<lambda>' is not allowed"):
        tools.register(lambda: None)
    assert tools.names == ["order_status"]


def test_arguments_are_checked_by_the_schema_the_model_was_given() -> None:
    tools = FunctionTools([order_status])
    tool = tools.tool("order_status")

    assert json.loads(run_tool(tool, '{"order_id": 42}'))["status"] == "ready for pickup"
    wrong = json.loads(run_tool(tool, '{"order_id": 0, "shop": "east"}'))["error"]
    assert "order_id: Input should be greater than or equal to 1" in wrong
    assert "shop: Extra inputs are not permitted" in wrong
    assert "Invalid JSON" in json.loads(run_tool(tool, "{order"))["error"]
    assert "order_id: Field required" in json.loads(run_tool(tool, ""))["error"]


def test_outputs_text_as_it_is_and_the_rest_as_json() -> None:
    @dataclasses.dataclass
    class Loaf:
        name: str
        grams: int

    tools = FunctionTools()
    tools.register(lambda: "plain text", name="text")
    tools.register(lambda: Loaf("rye", 750), name="loaf")
    tools.register(lambda: object(), name="unencodable")

    assert run_tool(tools.tool("text"), "{}") == "plain text"
    assert json.loads(run_tool(tools.tool("loaf"), "{}")) == {"name": "rye", "grams": 750}
    assert "unencodable failed" in json.loads(run_tool(tools.tool("unencodable"), "{}"))["error"]


def test_a_tool_error_tells_the_model_in_its_own_words() -> None:
    def order_status(order_id: int) -> str:
        raise ToolError(f"there is no order {order_id}")

    tool = FunctionTools([order_status]).tool("order_status")
    assert json.loads(run_tool(tool, '{"order_id": 7}')) == {"error": "there is no order 7"}


# -- calls over the WebSocket -------------------------------------------------------------


def test_a_tool_round_trip(api: RealtimeApi, openai_mock: MockServer) -> None:
    openai_mock.realtime.script_tool_call("order_status", {"order_id": 42})
    with (
        FunctionTools([opening_hours, order_status]) as tools,
        api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn,
    ):
        text_session(conn, tools)
        conn.response.create()
        answer = serve_until_answered(tools, conn)

    (output,) = outputs_sent(openai_mock)
    assert json.loads(output) == {"order_id": 42, "status": "ready for pickup", "detail": False}
    assert output in answer_text(answer)
    offered = openai_mock.realtime.received[0]["session"]["tools"]
    assert [tool["name"] for tool in offered] == ["opening_hours", "order_status"]


def test_wrong_arguments_get_an_error_output_and_the_session_goes_on(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    openai_mock.realtime.script_tool_call("order_status", {"order_id": "the big one"})
    openai_mock.realtime.script_reply("Which order number is it?")
    openai_mock.realtime.script_tool_call("order_status", {"order_id": 42})
    with (
        FunctionTools([order_status]) as tools,
        api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn,
    ):
        text_session(conn, tools)
        conn.response.create()
        first = serve_until_answered(tools, conn)
        conn.response.create()
        second = serve_until_answered(tools, conn)

    wrong, right = outputs_sent(openai_mock)
    assert "order_id: Input should be a valid integer" in json.loads(wrong)["error"]
    assert first is not second and answer_text(first) != answer_text(second)
    assert answer_text(first) == "Which order number is it?"
    assert json.loads(right)["order_id"] == 42


def test_a_raising_function_gets_an_error_output_and_a_logged_traceback_without_the_key(
    api: RealtimeApi, openai_mock: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    def order_status(order_id: int) -> str:
        raise ConnectionError(f"order database refused key {API_KEY}")

    openai_mock.realtime.script_tool_call("order_status", {"order_id": 42})
    with (
        caplog.at_level(logging.ERROR, logger="openapiopenai"),
        FunctionTools([order_status]) as tools,
        api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn,
    ):
        text_session(conn, tools)
        conn.response.create()
        answer = serve_until_answered(tools, conn)

    (output,) = outputs_sent(openai_mock)
    assert json.loads(output) == {
        "error": "order_status failed (ConnectionError); try something else"
    }
    assert output in answer_text(answer)
    assert "Traceback (most recent call last)" in caplog.text
    assert "ConnectionError: order database refused key sk-***" in caplog.text
    assert API_KEY not in caplog.text
    assert API_KEY[3:] not in caplog.text


def test_a_slow_function_does_not_hold_up_reading_events(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    release = threading.Event()
    running = threading.Event()

    def order_status(order_id: int) -> str:
        running.set()
        assert release.wait(BOUND), "the reader never saw the event sent while the tool ran"
        return f"order {order_id} is ready"

    openai_mock.realtime.script_tool_call("order_status", {"order_id": 42})
    seen_while_running: list[str] = []
    errors: list[ServerEvent] = []
    with (
        FunctionTools([order_status]) as tools,
        api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn,
    ):
        text_session(conn, tools)
        conn.response.create()
        for event in conn:
            if tools.handle(conn, event):
                assert running.wait(BOUND)
                conn.session.update({"type": "realtime", "instructions": "Be quick."})
            elif isinstance(event, RealtimeServerEventSessionUpdated):
                seen_while_running.append(event.type)
                assert not outputs_sent(openai_mock)  # the tool still runs
                release.set()
            elif isinstance(event, RealtimeServerEventError):
                errors.append(event)
            elif answered(event):
                break

    assert seen_while_running == ["session.updated"]
    assert outputs_sent(openai_mock) == ["order 42 is ready"]
    # the answer was asked for once, after the output, not while the call's response was on
    creates = [e["type"] for e in openai_mock.realtime.received if e["type"].startswith(("r", "c"))]
    assert creates[-2:] == ["conversation.item.create", "response.create"]
    assert errors == []


def test_tools_answer_on_a_call_sideband(api: RealtimeApi, openai_mock: MockServer) -> None:
    tools = FunctionTools([opening_hours, order_status])
    call_id = openai_mock.incoming_call()
    api.accept_realtime_call(
        call_id,
        {
            "type": "realtime",
            "model": "gpt-realtime",
            "output_modalities": ["text"],
            "tools": tools.definitions(),
        },
    )
    openai_mock.realtime.script_tool_call("opening_hours", {"day": "sunday"})
    with tools, api.connect(call_id=call_id, receive_timeout=BOUND) as conn:
        conn.response.create()
        answer = serve_until_answered(tools, conn)
        tools_of_call = openai_mock.realtime.sessions[0].session["tools"]

    assert outputs_sent(openai_mock) == ["closed"]
    assert "closed" in answer_text(answer)
    assert [tool["name"] for tool in tools_of_call] == ["opening_hours", "order_status"]


def test_close_waits_for_running_calls_and_then_refuses_new_ones(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    release = threading.Event()
    running = threading.Event()

    def order_status(order_id: int) -> str:
        running.set()
        release.wait(BOUND)
        return "ready"

    tools = FunctionTools([order_status])
    openai_mock.realtime.script_tool_call("order_status", {"order_id": 1})
    openai_mock.realtime.script_reply("It is ready.")
    openai_mock.realtime.script_tool_call("order_status", {"order_id": 2})
    with api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn:
        text_session(conn, tools)
        conn.response.create()
        tools.serve(conn, until=lambda event: isinstance(event, CallDone))
        assert running.wait(BOUND)
        assert tools.close(timeout=0) is False  # still running
        release.set()
        assert tools.close() is True
        serve_until_answered(tools, conn)  # a closed set still asks for the answer
        conn.response.create()
        with pytest.raises(RuntimeError, match="closed"):
            tools.serve(conn)
    assert outputs_sent(openai_mock) == ["ready"]


def test_a_cancelled_response_gets_the_output_but_no_new_response(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    # the call's response stays on until it is cancelled, however late the cancel comes
    openai_mock.realtime.script_tool_call(
        "opening_hours", {"day": "saturday"}, hold_until_cancel=True
    )
    with (
        FunctionTools([opening_hours]) as tools,
        api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn,
    ):
        text_session(conn, tools)
        conn.response.create()
        done = None
        output_added = False
        for event in conn:
            if tools.handle(conn, event):
                conn.response.cancel()  # as when the caller starts speaking
            elif isinstance(event, RealtimeServerEventResponseDone):
                done = event
            elif isinstance(event, RealtimeServerEventConversationItemAdded):
                output_added |= event.to_dict()["item"]["type"] == "function_call_output"
            if done is not None and output_added:
                break
        assert tools.close(BOUND)

    assert done is not None and done.response.status == "cancelled"
    assert outputs_sent(openai_mock) == ["saturday: 7 to 18"]
    sent = [event["type"] for event in openai_mock.realtime.received]
    assert set(sent[-2:]) == {"response.cancel", "conversation.item.create"}
    assert sent.count("response.create") == 1


def test_a_call_answered_after_the_connection_closed_is_dropped_quietly(
    api: RealtimeApi, openai_mock: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()

    def order_status(order_id: int) -> str:
        release.wait(BOUND)
        return "too late"

    tools = FunctionTools([order_status])
    openai_mock.realtime.script_tool_call("order_status", {"order_id": 1})
    with caplog.at_level(logging.DEBUG, logger="openapiopenai"):
        with api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn:
            text_session(conn, tools)
            conn.response.create()
            tools.serve(conn, until=lambda event: isinstance(event, CallDone))
        release.set()
        assert tools.close(BOUND)

    assert outputs_sent(openai_mock) == []
    assert "tool order_status answered after the close" in caplog.text
    assert "Traceback" not in caplog.text


def join_tool_workers(tools: FunctionTools) -> None:
    """Wait (bounded) until no call of ``tools`` runs, and with it its references."""
    with tools._idle:
        assert tools._idle.wait_for(lambda: tools._running == 0, BOUND)


def test_a_connection_that_closes_before_its_response_is_done_is_not_kept(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    tools = FunctionTools([opening_hours])
    # the output is sent, then the connection ends before the call's response.done
    openai_mock.realtime.script_tool_call("opening_hours", {}, hold_until_cancel=True)
    openai_mock.realtime.close(code=1000, on="conversation.item.create")
    with api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn:
        text_session(conn, tools)
        conn.response.create()
        tools.serve(conn)
    assert tools.close(BOUND)
    join_tool_workers(tools)
    closed = weakref.ref(conn)
    del conn
    gc.collect()

    assert (
        openai_mock.realtime.received[-1]["type"] == "response.create"
    )  # the close took the output
    assert closed() is None, "the tools still hold the closed connection"


def test_a_connection_read_by_handle_alone_is_let_go_once_closed(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    tools = FunctionTools([opening_hours])
    openai_mock.realtime.script_tool_call("opening_hours", {}, hold_until_cancel=True)
    openai_mock.realtime.close(code=1000, on="conversation.item.create")
    with api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn:
        text_session(conn, tools)
        conn.response.create()
        for event in conn:
            tools.handle(conn, event)
    join_tool_workers(tools)
    closed = weakref.ref(conn)
    del conn

    openai_mock.realtime.script_tool_call("opening_hours", {"day": "sunday"})
    with tools, api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn:
        text_session(conn, tools)
        conn.response.create()
        serve_until_answered(tools, conn)
    gc.collect()

    assert outputs_sent(openai_mock) == ["closed"]  # the first output was taken by the close
    assert closed() is None, "the tools still hold the first, closed connection"


def test_calls_of_other_tools_are_left_to_the_caller(
    api: RealtimeApi, openai_mock: MockServer
) -> None:
    tools = FunctionTools([opening_hours])
    openai_mock.realtime.script_tool_call("transfer_to_person", {"reason": "a wedding cake"})
    left: list[CallDone] = []
    with tools, api.connect(model="gpt-realtime", receive_timeout=BOUND) as conn:
        text_session(conn, tools)
        conn.response.create()
        for event in conn:
            if not tools.handle(conn, event) and isinstance(event, CallDone):
                left.append(event)
            if isinstance(event, RealtimeServerEventResponseDone):
                break

    assert [call.name for call in left] == ["transfer_to_person"]
    assert outputs_sent(openai_mock) == []
    assert "transfer_to_person" not in tools and len(tools) == 1
    assert repr(tools) == "FunctionTools(['opening_hours'])"
    with pytest.raises(ApiValueError, match="no tool is named 'transfer_to_person'"):
        tools.tool("transfer_to_person")


def test_a_coroutine_function_is_run_to_its_end() -> None:
    async def opening_hours(day: str) -> str:
        """When the bakery is open."""
        return f"{day}: 7 to 18"

    tool = FunctionTools([opening_hours]).tool("opening_hours")
    assert run_tool(tool, '{"day": "friday"}') == "friday: 7 to 18"
