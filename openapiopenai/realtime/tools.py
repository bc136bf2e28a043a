"""Function tools answered by Python functions, on any Realtime conversation (``model=``) or
call (``call_id=`` sideband).

::

    tools = FunctionTools([opening_hours, order_status])
    conn.session.update({"type": "realtime", "tools": tools.definitions()})
    tools.serve(conn)

Each function becomes a tool: its name, the first paragraph of its docstring as description,
and the JSON Schema of its parameters made by pydantic from its type hints. When the model
calls one, its arguments are checked against that same schema, the function runs in a thread
of its own (reading events goes on meanwhile), and its result goes back as the call's
``function_call_output``; once the response that called it is done and every call of that
response has its output, ``response.create`` lets the model answer with it.

Arguments that do not fit, and a function that raises, become an output the model reads
(``{"error": "..."}``) so the conversation goes on; the traceback goes to the
``openapiopenai`` logger with anything shaped like a key masked. Raise :class:`ToolError` to
tell the model what went wrong in your own words.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from openapiopenai._secrets import redact
from openapiopenai.configuration import LOGGER_NAME
from openapiopenai.exceptions import ApiValueError, RealtimeConnectionClosedError
from openapiopenai.models import (
    RealtimeServerEventResponseDone,
    RealtimeServerEventResponseFunctionCallArgumentsDone,
)
from openapiopenai.realtime._protocol import ServerEvent
from openapiopenai.realtime._tool_schema import (
    FunctionTool,
    ToolArgumentsError,
    describe,
    encode_output,
)
from openapiopenai.realtime.connection import RealtimeConnection

if TYPE_CHECKING:
    from openapiopenai.models.realtime_function_tool import RealtimeFunctionToolDict

logger = logging.getLogger(LOGGER_NAME)

F = TypeVar("F", bound=Callable[..., Any])
CallDone = RealtimeServerEventResponseFunctionCallArgumentsDone
#: A response that ended so is not followed by ``response.create``: the caller cut it off
#: (their own turn brings the next response) or it failed.
_NO_FOLLOW_UP = frozenset({"cancelled", "failed"})


class ToolError(Exception):
    """Raised by a tool function to tell the model what went wrong: the message is sent to
    the model as the call's error output (any other exception is sent only by its type)."""


@dataclass
class _Response:
    """The function calls of one response: how many still run, and whether it is done."""

    running: int = 0
    done: bool = False
    follow_up: bool = True


class FunctionTools:
    """Python functions offered to the model as function tools, and the code that answers
    the model's calls of them. Safe to share between connections and threads."""

    def __init__(self, functions: Iterable[Callable[..., Any]] = ()) -> None:
        self._tools: dict[str, FunctionTool] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running = 0
        self._closed = False
        #: The responses with calls, per connection: a connection that closes is dropped
        #: whole (its responses can never be done), so a long-lived set does not grow.
        self._responses: dict[RealtimeConnection, dict[str, _Response]] = {}
        for function in functions:
            self.register(function)

    # -- declaring -------------------------------------------------------------------------

    def register(
        self, function: F, *, name: str | None = None, description: str | None = None
    ) -> F:
        """Offer ``function`` as a tool (also a decorator); returns it unchanged.

        ``name`` defaults to its ``__name__``, ``description`` to the first paragraph of its
        docstring. Every parameter needs a type hint; ``typing.Annotated[int,
        pydantic.Field(ge=1, description=...)]`` adds bounds and words to the schema, and a
        default makes a parameter optional.
        """
        tool = describe(function, name=name, description=description)
        with self._lock:
            if tool.name in self._tools:
                raise ApiValueError(f"a tool named {tool.name} is registered already", ["name"])
            self._tools[tool.name] = tool
        return function

    @property
    def names(self) -> list[str]:
        """The tools' names, in the order they were registered."""
        return list(self._tools)

    def tool(self, name: str) -> FunctionTool:
        """The tool named ``name`` (its function, definition, and argument checks)."""
        try:
            return self._tools[name]
        except KeyError:
            raise ApiValueError(
                f"no tool is named {name!r}; known: {self.names}", ["name"]
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def definitions(self) -> list[RealtimeFunctionToolDict]:
        """The tools as ``session.tools`` takes them (in ``session.update`` or when
        accepting a call): ``type``, ``name``, ``description`` and ``parameters``."""
        return [tool.definition() for tool in self._tools.values()]

    # -- answering -------------------------------------------------------------------------

    def handle(self, conn: RealtimeConnection, event: ServerEvent) -> bool:
        """Look at one received event; ``True`` when it is the call of one of these tools,
        which is then answered in a worker thread.

        Give it every event (it watches ``response.done`` to know when to ask for the
        answer); calls of tools it does not know are left to you (``False``).
        """
        if isinstance(event, RealtimeServerEventResponseDone):
            self._response_done(conn, event)
            return False
        if not isinstance(event, CallDone) or event.name not in self._tools:
            return False
        tool = self._tools[event.name]
        with self._lock:
            if self._closed:
                raise RuntimeError("these FunctionTools are closed: no call can start")
            self._drop_closed_connections()
            responses = self._responses.setdefault(conn, {})
            response = responses.setdefault(event.response_id, _Response())
            response.running += 1
            self._running += 1
        worker = threading.Thread(
            target=self._answer,
            args=(conn, tool, event),
            name=f"openapiopenai tool {tool.name}",
            daemon=True,
        )
        worker.start()
        return True

    def serve(
        self, conn: RealtimeConnection, *, until: Callable[[ServerEvent], bool] | None = None
    ) -> None:
        """Read ``conn``'s events and answer the tool calls among them, until ``until(event)``
        is true or the connection closes normally (an abnormal close raises
        :class:`~openapiopenai.RealtimeConnectionClosedError`)."""
        try:
            for event in conn:
                self.handle(conn, event)
                if until is not None and until(event):
                    return
        finally:
            if conn.close_code is not None:
                self._forget_connection(conn)

    def _answer(self, conn: RealtimeConnection, tool: FunctionTool, event: CallDone) -> None:
        """The worker: run the tool, send its output, then ask for the answer if it is time."""
        try:
            output = run_tool(tool, event.arguments, event.call_id)
            conn.conversation.item.create(
                {"type": "function_call_output", "call_id": event.call_id, "output": output}
            )
            self._call_finished(conn, event.response_id)
        except RealtimeConnectionClosedError as closed:
            logger.debug("realtime: tool %s answered after the close (%s)", tool.name, closed)
            self._forget(conn, event.response_id)
        except Exception:  # a worker has no caller to raise to: say it in the log, masked
            trace = redact(traceback.format_exc())
            logger.error("realtime: the output of tool %s was not sent\n%s", tool.name, trace)
            self._forget(conn, event.response_id)
        finally:
            with self._lock:
                self._running -= 1
                self._idle.notify_all()

    def _call_finished(self, conn: RealtimeConnection, response_id: str) -> None:
        """One call's output is sent; the last one of a done response asks for the answer."""
        with self._lock:
            response = self._responses.get(conn, {}).get(response_id)
            if response is None:
                return
            response.running -= 1
            ready = response.done and response.running == 0
            if ready:
                self._forget_locked(conn, response_id)
        if ready and response.follow_up:
            conn.response.create()

    def _response_done(
        self, conn: RealtimeConnection, event: RealtimeServerEventResponseDone
    ) -> None:
        """A response ended: if its calls are all answered, ask for the answer now."""
        response_id = event.response.id or ""
        with self._lock:
            response = self._responses.get(conn, {}).get(response_id)
            if response is None:
                return
            response.done = True
            response.follow_up = event.response.status not in _NO_FOLLOW_UP
            ready = response.running == 0
            if ready:
                self._forget_locked(conn, response_id)
        if ready and response.follow_up:
            conn.response.create()

    def _forget(self, conn: RealtimeConnection, response_id: str) -> None:
        with self._lock:
            self._forget_locked(conn, response_id)

    def _forget_locked(self, conn: RealtimeConnection, response_id: str) -> None:
        """Drop one response of ``conn``, and ``conn`` once none is left; the lock is held."""
        responses = self._responses.get(conn, {})
        responses.pop(response_id, None)
        if not responses:
            self._responses.pop(conn, None)

    def _forget_connection(self, conn: RealtimeConnection) -> None:
        """``conn`` has closed: none of its responses can end, so none is kept."""
        with self._lock:
            self._responses.pop(conn, None)

    def _drop_closed_connections(self) -> None:
        """Forget the connections that closed while read by :meth:`handle` alone (nothing
        saw them end); the lock is held."""
        for conn in [conn for conn in self._responses if conn.close_code is not None]:
            del self._responses[conn]

    # -- closing ---------------------------------------------------------------------------

    def close(self, timeout: float | None = None) -> bool:
        """Start no more calls and wait (at most ``timeout`` seconds) for running ones;
        ``True`` when none is left running."""
        with self._lock:
            self._closed = True
            return self._idle.wait_for(lambda: self._running == 0, timeout)

    def __enter__(self) -> FunctionTools:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FunctionTools({self.names})"


def run_tool(tool: FunctionTool, arguments: str, call_id: str = "") -> str:
    """The output for one call: the function's result, or an error the model can read."""
    try:
        result = tool.call(tool.parse(arguments))
        return encode_output(result)
    except ToolArgumentsError as wrong:
        logger.warning("realtime: tool %s called with wrong arguments: %s", tool.name, wrong)
        return _error_output(f"wrong arguments for {tool.name}: {wrong}")
    except ToolError as refused:
        return _error_output(str(refused))
    except Exception as failure:
        trace = redact(traceback.format_exc())
        logger.error("realtime: tool %s failed (call %s)\n%s", tool.name, call_id, trace)
        return _error_output(f"{tool.name} failed ({type(failure).__name__}); try something else")


def _error_output(message: str) -> str:
    return json.dumps({"error": message})


__all__ = ["FunctionTool", "FunctionTools", "ToolArgumentsError", "ToolError", "run_tool"]
