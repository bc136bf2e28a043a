"""``openapiopenai realtime chat``: a text conversation with a Realtime model in the terminal.

Each line typed is a user message; the model's answer streams back as it is written (text
output). ``/quit`` or the end of input (Ctrl-D) ends the session. What the server says (the
model's text, its errors; a close reason or a refusal, printed by the command) is shown
without control characters, so it cannot move the cursor or retitle the terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from openapiopenai._terminal import printable
from openapiopenai.api.realtime_api import RealtimeApi
from openapiopenai.models import RealtimeServerEventError, RealtimeServerEventResponseTextDelta
from openapiopenai.realtime import AnyRealtimeConnection, Reconnected

if TYPE_CHECKING:
    from openapiopenai.models.realtime_session_create_request_ga import (
        RealtimeSessionCreateRequestGADict,
    )

QUIT = "/quit"
#: How long one event may take to come before the chat gives up on the server.
DEFAULT_RECEIVE_TIMEOUT = 60.0


@dataclass(frozen=True)
class ChatOptions:
    """What the command line sets for the conversation."""

    model: str
    instructions: str | None = None
    receive_timeout: float = DEFAULT_RECEIVE_TIMEOUT


class ChatError(Exception):
    """The server refused something the chat sent; the message is the server's, in words."""


def run_chat(
    api: RealtimeApi, options: ChatOptions, read_line: Callable[[str], str], out: TextIO
) -> None:
    """Hold the conversation: ``read_line(prompt)`` gives each line (``EOFError`` at the end),
    ``out`` shows the answers."""
    with api.connect(
        model=options.model, receive_timeout=options.receive_timeout, reconnect=True
    ) as conn:
        _configure(conn, options)
        out.write(f"Talking to {options.model}. Type a message; {QUIT} or Ctrl-D ends.\n")
        out.flush()
        while (line := _next_line(read_line, out)) is not None:
            if line:
                _turn(conn, line, out)


def _next_line(read_line: Callable[[str], str], out: TextIO) -> str | None:
    """The next message typed, stripped; ``None`` at ``/quit`` or the end of input."""
    try:
        line = read_line("you> ").strip()
    except EOFError:
        out.write("\n")  # the shell's prompt on a line of its own
        return None
    return None if line == QUIT else line


def _configure(conn: AnyRealtimeConnection, options: ChatOptions) -> None:
    """Text answers (and the instructions, if any); waits until the server has taken them."""
    session: RealtimeSessionCreateRequestGADict = {
        "type": "realtime",
        "output_modalities": ["text"],
    }
    if options.instructions is not None:
        session["instructions"] = options.instructions
    sent = conn.session.update(session)
    _wait_for(conn, "session.updated", sent, None)


def _turn(conn: AnyRealtimeConnection, line: str, out: TextIO) -> None:
    """Send one user message, and stream the answer to ``out`` as it arrives."""
    sent = {
        conn.conversation.item.create(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": line}]}
        ),
        conn.response.create(),
    }
    out.write("model> ")
    out.flush()
    try:
        _wait_for(conn, "response.done", sent, out)
    finally:
        out.write("\n")
        out.flush()


def _wait_for(
    conn: AnyRealtimeConnection, kind: str, sent: str | set[str], out: TextIO | None
) -> None:
    """Read events until one of type ``kind``, writing text deltas to ``out``; an ``error``
    caused by an event in ``sent`` raises :class:`ChatError`, others are shown and skipped."""
    mine = {sent} if isinstance(sent, str) else sent
    for event in conn:
        if isinstance(event, Reconnected):
            if out is not None:
                out.write("[reconnected: a new conversation begins]")
                out.flush()
            if kind == "response.done" and not mine & event.resent:
                return  # the turn went out on the lost link: the new session has no answer
        elif isinstance(event, RealtimeServerEventResponseTextDelta) and out is not None:
            out.write(printable(event.delta))
            out.flush()
        elif isinstance(event, RealtimeServerEventError):
            said = printable(event.error.message)
            if event.error.event_id in mine:
                raise ChatError(f"the server refused it: {said}")
            if out is not None:
                out.write(f"[server error: {said}]")
        elif event.type == kind:
            if kind == "response.done":
                _raise_if_failed(event.to_dict())
            return
    raise ChatError("the server ended the conversation")


def _raise_if_failed(done: dict[str, object]) -> None:
    """A response that failed says why instead of printing nothing."""
    response = done.get("response")
    if not isinstance(response, dict) or response.get("status") != "failed":
        return
    details = response.get("status_details")
    error = details.get("error") if isinstance(details, dict) else None
    why = error.get("message") if isinstance(error, dict) else None
    raise ChatError(f"the response failed: {printable(str(why or 'no reason given'))}")
