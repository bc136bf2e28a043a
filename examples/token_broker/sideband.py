"""The broker's side of the calls it opens: a sideband connection per call, on which the model's
tool calls are answered by Python functions (``call_tools.py``) while the page talks.

``POST /call`` opens the call at OpenAI, then :meth:`Sidebands.open` joins it over WebSocket
(``RealtimeApi.connect(call_id=...)``) before the page gets its answer, so the tools are ready
from the call's first word. The connection ends with the call (the page or the broker hangs
up, the peer connection closes), at the call's time limit, or when the broker stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from call_registry import short_call_id

from openapiopenai import ApiException, RealtimeApi
from openapiopenai.exceptions import RealtimeConnectionClosedError
from openapiopenai.realtime import AnyRealtimeConnection
from openapiopenai.realtime.tools import FunctionTools

LOG = logging.getLogger("token_broker.sideband")
#: How long joining a call may take before the call goes on without tools.
CONNECT_TIMEOUT_SECONDS = 10.0


class Sidebands:
    """The sideband connections of the calls in progress, at most ``max_calls`` at once."""

    def __init__(
        self,
        api: RealtimeApi,
        functions: list[Callable[..., Any]],
        *,
        max_calls: int,
        time_limit_seconds: float,
    ) -> None:
        self.api = api
        self.tools = FunctionTools(functions)
        self.max_calls = max_calls
        self.time_limit_seconds = time_limit_seconds
        self._open: dict[str, AnyRealtimeConnection] = {}
        #: Lines taken by calls still being joined: counted against ``max_calls`` at once.
        self._joining = 0
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def definitions(self) -> list[dict[str, Any]]:
        """The tools as the call's session declares them."""
        return self.tools.definitions()

    def open(self, call_id: str) -> bool:
        """Join call ``call_id`` and answer its tool calls from now on; False (logged) when
        every line is busy or the call cannot be joined: the call then goes on without tools."""
        if not self._take_line(call_id):
            return False
        try:
            # A dropped sideband re-joins its call, so its tools keep being answered.
            conn = self.api.connect(
                call_id=call_id, reconnect=True, _request_timeout=CONNECT_TIMEOUT_SECONDS
            )
        except Exception as failed:  # refused, unreachable, or anything else: no tools
            with self._lock:
                self._joining -= 1
            # the type alone: a message may quote what the service or a library said
            LOG.warning(
                "no sideband for call_id=%s: %s", short_call_id(call_id), type(failed).__name__
            )
            return False
        return self._serve_in_thread(call_id, conn)

    def _serve_in_thread(self, call_id: str, conn: AnyRealtimeConnection) -> bool:
        """Give the joined call its line and a thread to serve it; False (logged, ``conn``
        closed) when the broker is stopping or no thread can be had."""
        thread = threading.Thread(
            target=self._serve, args=(call_id, conn), name="sideband", daemon=True
        )
        with self._lock:
            self._joining -= 1
            why = "the broker is stopping" if self._closing else _started(thread)
            if why is None:  # started under the lock, so close_all never sees it unstarted
                self._open[call_id] = conn
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
                LOG.info("sideband open call_id=%s", short_call_id(call_id))
                return True
        conn.close()  # joined while the broker stopped (close_all has gone past it), or no thread
        LOG.warning("no sideband for call_id=%s: %s", short_call_id(call_id), why)
        return False

    def _take_line(self, call_id: str) -> bool:
        """Count a call being joined against ``max_calls`` before joining it; False (logged)
        when every line is taken or the broker is stopping."""
        with self._lock:
            if self._closing:
                why = "the broker is stopping"
            elif len(self._open) + self._joining >= self.max_calls:
                why = f"{self.max_calls} open"
            else:
                self._joining += 1
                return True
        LOG.warning("no sideband for call_id=%s: %s", short_call_id(call_id), why)
        return False

    def _serve(self, call_id: str, conn: AnyRealtimeConnection) -> None:
        """Answer tool calls until the call ends or its time is up."""
        timer = threading.Timer(self.time_limit_seconds, conn.close)
        timer.daemon = True
        timer.start()
        try:
            self.tools.serve(conn, until=lambda event: _log_tool_call(call_id, event))
        except RealtimeConnectionClosedError as closed:
            LOG.warning("sideband of call_id=%s closed %s", short_call_id(call_id), closed.code)
        except ApiException as refused:  # re-joining after a drop was refused (404: call ended)
            LOG.warning(
                "sideband of call_id=%s could not re-join: HTTP %s",
                short_call_id(call_id),
                refused.status,
            )
        except Exception:
            LOG.exception("sideband of call_id=%s failed", short_call_id(call_id))
        finally:
            timer.cancel()
            conn.close()
            with self._lock:
                self._open.pop(call_id, None)
            LOG.info("sideband closed call_id=%s", short_call_id(call_id))

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)

    def close_all(self, timeout: float = 5.0) -> None:
        """The broker stops: close every sideband (the calls go on without tools) and open
        no more."""
        with self._lock:
            self._closing = True
            connections = list(self._open.values())
            threads = list(self._threads)
        for conn in connections:
            conn.close()
        for thread in threads:
            thread.join(timeout)
        self.tools.close(timeout)


def _started(thread: threading.Thread) -> str | None:
    """Start ``thread``; ``None`` once it runs, else why it could not start."""
    try:
        thread.start()
    except RuntimeError:  # the OS refused one more thread
        return "no thread could be started for it"
    return None


def _log_tool_call(call_id: str, event: Any) -> bool:
    """Log each tool the model calls (its name, never its arguments); never stops serving."""
    if event.type == "response.function_call_arguments.done":
        LOG.info("tool call call_id=%s name=%s", short_call_id(call_id), str(event.name)[:64])
    return False
