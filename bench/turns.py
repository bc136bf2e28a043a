"""A text turn with a tool call, as the mock's server sends it, for the parse benchmark.

The user asks, the model calls a function, the client sends its output, the model answers in
text: the events a tool-using agent or a call's sideband mostly receives, conversation items
in many of them. Recorded once per run from the mock (in this process) with websockets' own
client, so the bytes are the service's shape without any SDK code on the receiving side.
"""

from __future__ import annotations

import json
from typing import Any

from bench import API_KEY

QUESTION = "What is the weather in Paris?"
ANSWER = "It is sunny in Paris today, twenty one degrees, with a light wind from the west."
TOOL_OUTPUT = '{"sky": "clear", "celsius": 21, "wind": "light, west"}'


def _user_message(text: str) -> dict[str, Any]:
    content = [{"type": "input_text", "text": text}]
    item = {"type": "message", "role": "user", "content": content}
    return {"type": "conversation.item.create", "item": item}


def record_turns(turns: int) -> list[bytes]:
    """The server messages of ``turns`` text-and-tool turns in one session (its first two
    events, ``session.created`` and ``session.updated``, left out)."""
    from websockets.sync.client import connect

    from openapiopenai.mock import MockServer

    mock = MockServer()
    received: list[bytes] = []
    with (
        mock as url,
        connect(
            url.replace("http", "ws", 1) + "/realtime?model=gpt-realtime",
            additional_headers={"Authorization": f"Bearer {API_KEY}"},
        ) as ws,
    ):
        ws.recv()
        session = {"type": "realtime", "output_modalities": ["text"]}
        ws.send(json.dumps({"type": "session.update", "session": session}))
        ws.recv()
        for _ in range(turns):
            call_id = mock.realtime.script_tool_call("get_weather", {"city": "Paris"})
            mock.realtime.script_reply(ANSWER)
            ws.send(json.dumps(_user_message(QUESTION)))
            ws.send(json.dumps({"type": "response.create"}))
            received += _until_done(ws)
            output = {"type": "function_call_output", "call_id": call_id, "output": TOOL_OUTPUT}
            ws.send(json.dumps({"type": "conversation.item.create", "item": output}))
            ws.send(json.dumps({"type": "response.create"}))
            received += _until_done(ws)
    return received


def _until_done(ws: Any) -> list[bytes]:
    """Messages up to and including ``response.done``, as the bytes the socket gave."""
    messages: list[bytes] = []
    while True:
        message = ws.recv(timeout=10, decode=False)
        messages.append(message)
        if json.loads(message)["type"] == "response.done":
            return messages


def openai_python_parser() -> Any:
    """openai-python's own ``parse_event`` of a server message, if it is installed (it is not
    a dependency of this project, and never installed for the benchmark)."""
    import importlib.util

    if importlib.util.find_spec("openai") is None:
        return None
    try:
        from openai.resources.realtime.realtime import RealtimeConnection  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    connection = object.__new__(RealtimeConnection)
    return connection.parse_event
