"""Function tools answered by Python functions, on any Realtime conversation (``model=``) or
call (``call_id=`` sideband).

::

    tools = FunctionTools([opening_hours, order_status])
    conn.session.update({"type": "realtime", "tools": tools.definitions()})
    tools.serve(conn)

Each function becomes a tool: its name, the first paragraph of its docstring as description,
and the JSON Schema of its parameters made by pydantic from its type hints. When the model
calls one, its arguments are checked against that same schema, the function runs on a worker
thread (at most ``max_workers`` at once, 16 by default; reading events goes on meanwhile), and
its result goes back as the call's ``function_call_output``. Once the response that called it
is done and every function call of that response has its output (the calls you answer
yourself included: the service's ``conversation.item.added`` of your output shows it),
``response.create`` lets the model answer with them.

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
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from openapiopenai._secrets import redact
from openapiopenai.configuration import LOGGER_NAME
from openapiopenai.exceptions import ApiValueError, RealtimeConnectionClosedError
from openapiopenai.models import (
    RealtimeServerEventConversationItemAdded,
    RealtimeServerEventConversationItemDone,
    RealtimeServerEventResponseDone,
    RealtimeServerEventResponseFunctionCallArgumentsDone,
)
from openapiopenai.realtime._protocol import ServerEvent
from openapiopenai.realtime._reconnect import Reconnected
from openapiopenai.realtime._tool_schema import (
    FunctionTool,
    ToolArgumentsError,
    describe,
    encode_output,
)
from openapiopenai.realtime.connection import AnyRealtimeConnection

if TYPE_CHECKING:
    from openapiopenai.models.realtime_function_tool import RealtimeFunctionToolDict

logger = logging.getLogger(LOGGER_NAME)

F = TypeVar("F", bound=Callable[..., Any])
CallDone = RealtimeServerEventResponseFunctionCallArgumentsDone
#: The events by which the service shows an item it has: a caller's own outputs among them.
_ITEM_EVENTS = (RealtimeServerEventConversationItemAdded, RealtimeServerEventConversationItemDone)
#: Tool calls run at once by default (per FunctionTools): more wait for a free worker.
DEFAULT_MAX_WORKERS = 16
#: A response that ended so is not followed by ``response.create``: the caller cut it off
#: (their own turn brings the next response) or it failed.
_NO_FOLLOW_UP = frozenset({"cancelled", "failed"})


class ToolError(Exception):
    """Raised by a tool function to tell the model what went wrong: the message is sent to
    the model as the call's error output (any other exception is sent only by its type)."""


@dataclass
class _Response:
    """The function calls of one response (these tools' and the caller's), which of them have
    their output, and whether the response is done."""

    calls: set[str] = field(default_factory=set)
    answered: set[str] = field(default_factory=set)
    #: How many of the calls are of these tools: only then is the answer theirs to ask for.
    own: int = 0
    done: bool = False
    follow_up: bool = True


class FunctionTools:
    """Python functions offered to the model as function tools, and the code that answers
    the model's calls of them. Safe to share between connections and threads."""

    def __init__(
        self,
        functions: Iterable[Callable[..., Any]] = (),
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
    ) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ApiValueError(
                f"max_workers must be a positive int, not {max_workers!r}", ["max_workers"]
            )
        #: Runs the calls, at most ``max_workers`` at once; the others wait in order.
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="openapiopenai tools")
        self._tools: dict[str, FunctionTool] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running = 0
        self._closed = False
        #: The responses with calls, per connection: a connection that closes is dropped
        #: whole (its responses can never be done), so a long-lived set does not grow.
        self._responses: dict[AnyRealtimeConnection, dict[str, _Response]] = {}
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

    def handle(self, conn: AnyRealtimeConnection, event: ServerEvent | Reconnected) -> bool:
        """Look at one received event; ``True`` when it is the call of one of these tools,
        which is then answered by a worker thread.

        Give it every event: it watches ``response.done``, and the
        ``conversation.item.added`` of each ``function_call_output`` (yours included), to
        ask for the answer once every call of a response has its output. Calls of tools it
        does not know are left to you (``False``). After a
        :class:`~openapiopenai.realtime.Reconnected` marker, the responses it waited for are
        forgotten (a model session's calls are gone; outputs still running are sent, but no
        ``response.create`` follows them).
        """
        if isinstance(event, Reconnected):
            self._forget_connection(conn)
            return False
        if isinstance(event, RealtimeServerEventResponseDone):
            self._response_done(conn, event)
            return False
        if isinstance(event, _ITEM_EVENTS):
            self._output_seen(conn, event.item)
            return False
        if not isinstance(event, CallDone):
            return False
        tool = self._tools.get(event.name)
        self._call_seen(conn, event, tool is not None)
        if tool is None:
            return False
        self._start(conn, tool, event)
        return True

    def serve(
        self, conn: AnyRealtimeConnection, *, until: Callable[[ServerEvent], bool] | None = None
    ) -> None:
        """Read ``conn``'s events and answer the tool calls among them, until ``until(event)``
        is true or the connection closes normally (an abnormal close raises
        :class:`~openapiopenai.RealtimeConnectionClosedError`). With ``reconnect=`` it goes on
        through a reconnect; ``until`` sees server events only, never the marker."""
        try:
            for event in conn:
                self.handle(conn, event)
                if isinstance(event, Reconnected):
                    continue
                if until is not None and until(event):
                    return
        finally:
            if conn.close_code is not None:
                self._forget_connection(conn)

    def _call_seen(self, conn: AnyRealtimeConnection, event: CallDone, own: bool) -> None:
        """Count a function call of its response; one of these tools' is counted running."""
        with self._lock:
            if own and self._closed:
                raise RuntimeError("these FunctionTools are closed: no call can start")
            self._drop_closed_connections()
            responses = self._responses.setdefault(conn, {})
            response = responses.setdefault(event.response_id, _Response())
            response.calls.add(event.call_id)
            if own:
                response.own += 1
                self._running += 1

    def _start(self, conn: AnyRealtimeConnection, tool: FunctionTool, event: CallDone) -> None:
        """Hand the call to a worker; if none can be had, answer it with an error at once."""
        claim = threading.Lock()  # a call is answered once: by its worker or here

        def work() -> None:
            if claim.acquire(blocking=False):
                self._deliver(
                    conn, tool, event, lambda: run_tool(tool, event.arguments, event.call_id)
                )

        try:
            self._pool.submit(work)
        except Exception:  # no thread for it (the OS refused one, or the interpreter ends)
            if claim.acquire(blocking=False):
                trace = redact(traceback.format_exc())
                logger.error("realtime: tool %s could not be started\n%s", tool.name, trace)
                refused = _error_output(f"{tool.name} could not be started; try again later")
                self._deliver(conn, tool, event, lambda: refused)

    def _deliver(
        self,
        conn: AnyRealtimeConnection,
        tool: FunctionTool,
        event: CallDone,
        output: Callable[[], str],
    ) -> None:
        """Work out one call's output and send it, then ask for the answer if it is time; the
        call has ended then, whatever happened."""
        try:
            conn.conversation.item.create(
                {"type": "function_call_output", "call_id": event.call_id, "output": output()}
            )
            self._answered(conn, event.response_id, event.call_id)
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

    def _output_seen(self, conn: AnyRealtimeConnection, item: Any) -> None:
        """The service has a ``function_call_output`` item: that call is answered."""
        if _field(item, "type") != "function_call_output":
            return
        call_id = _field(item, "call_id")
        with self._lock:
            responses = self._responses.get(conn, {})
            response_id = next((rid for rid, r in responses.items() if call_id in r.calls), None)
        if response_id is not None:
            self._answered(conn, response_id, str(call_id))

    def _answered(self, conn: AnyRealtimeConnection, response_id: str, call_id: str) -> None:
        """One call of a response has its output; the last one of a done response asks for
        the answer."""
        with self._lock:
            response = self._responses.get(conn, {}).get(response_id)
            if response is None:
                return
            response.answered.add(call_id)
            ready = self._take_if_ready(conn, response_id, response)
        if ready:
            self._follow_up(conn)

    def _response_done(
        self, conn: AnyRealtimeConnection, event: RealtimeServerEventResponseDone
    ) -> None:
        """A response ended: if its calls are all answered, ask for the answer now."""
        response_id = event.response.id or ""
        with self._lock:
            response = self._responses.get(conn, {}).get(response_id)
            if response is None:
                return
            response.done = True
            response.follow_up = event.response.status not in _NO_FOLLOW_UP
            for item in event.response.output or ():
                if _field(item, "type") == "function_call":
                    response.calls.add(str(_field(item, "call_id")))
            ready = self._take_if_ready(conn, response_id, response)
        if ready:
            self._follow_up(conn)

    def _take_if_ready(
        self, conn: AnyRealtimeConnection, response_id: str, response: _Response
    ) -> bool:
        """Whether to ask for the answer to ``response`` now: it is done, it called these
        tools and every call has its output. A finished response is forgotten (so the answer
        is asked once); the lock is held."""
        if not response.done:
            return False
        # the caller's calls alone (the caller asks), or cut off or failed: no answer to ask
        nothing_to_ask = response.own == 0 or not response.follow_up
        if not nothing_to_ask and not response.calls <= response.answered:
            return False
        self._forget_locked(conn, response_id)
        return not nothing_to_ask

    @staticmethod
    def _follow_up(conn: AnyRealtimeConnection) -> None:
        """Ask for the model's answer; a link that has closed meanwhile ends quietly (reading
        it tells how it closed)."""
        try:
            conn.response.create()
        except RealtimeConnectionClosedError as closed:
            logger.debug("realtime: no answer asked for, the connection closed (%s)", closed)

    def _forget(self, conn: AnyRealtimeConnection, response_id: str) -> None:
        with self._lock:
            self._forget_locked(conn, response_id)

    def _forget_locked(self, conn: AnyRealtimeConnection, response_id: str) -> None:
        """Drop one response of ``conn``, and ``conn`` once none is left; the lock is held."""
        responses = self._responses.get(conn, {})
        responses.pop(response_id, None)
        if not responses:
            self._responses.pop(conn, None)

    def _forget_connection(self, conn: AnyRealtimeConnection) -> None:
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
        ``True`` when none is left running. Idle workers then end; a running call goes on
        to its end (Python waits for it at exit)."""
        with self._lock:
            self._closed = True
            idle = self._idle.wait_for(lambda: self._running == 0, timeout)
        self._pool.shutdown(wait=False)  # idle workers end; running calls finish first
        return idle

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


def _field(item: Any, name: str) -> Any:
    """A field of a conversation item: a model, or the mapping kept for a newer item type."""
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


__all__ = ["FunctionTool", "FunctionTools", "ToolArgumentsError", "ToolError", "run_tool"]
