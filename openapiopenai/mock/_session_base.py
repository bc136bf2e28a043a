"""What every mock Realtime session shares: its connections, and the dispatch of client events.

Each client event gets the service's answer, sent to every connection of the session; an
``error`` event goes only to the connection whose event caused it, and names that event in
``error.event_id``. Nothing here touches a socket: a connection is anything that can send an
event, close and abort (a WebSocket, a WebRTC data channel), and the hub is ``mock.realtime``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

from openapiopenai.mock import _shapes
from openapiopenai.mock._realtime_checks import EventRefused
from openapiopenai.mock._realtime_turns import Reply

#: Answers one client event (the event as a JSON object) on a session.
Handlers = Mapping[str, Callable[[Any, dict[str, Any]], None]]


class Connection(Protocol):
    """One client's connection to a session: a WebSocket, or a WebRTC data channel."""

    def send_event(self, event: Mapping[str, Any]) -> None:
        """Send one server event to this client."""

    def close(self, code: int = 1000, reason: str = "") -> None:
        """End the connection with a close frame."""

    def abort(self) -> None:
        """Drop the connection at once: the mock is stopping."""


class Hub(Protocol):
    """What a session asks of the mock's WebSocket side (``mock.realtime``): what the test
    scripted, and the bookkeeping of live connections and received events."""

    pace: float

    def next_reply(self) -> Reply | None:
        """The scripted reply for the next response, if any."""
        ...

    def next_transcript(self, configured: bool) -> str | None:
        """What the next committed audio says, if it is transcribed."""
        ...

    def record(self, event: Mapping[str, Any]) -> None:
        """Remember a client event."""

    def connected(self, conn: Connection, session: SessionBase) -> None:
        """``conn`` is attached to ``session`` from now on."""

    def disconnected(self, conn: Connection) -> None:
        """``conn`` is gone."""


def error_event(
    refused: EventRefused, client_event_id: object, kind: str = "invalid_request_error"
) -> dict[str, Any]:
    """The ``error`` event for a refused client event, naming it in ``error.event_id``."""
    return {
        "type": "error",
        "event_id": _shapes.new_id("event_"),
        "error": {
            "type": kind,
            "code": refused.code,
            "message": refused.message,
            "param": refused.param,
            "event_id": client_event_id if isinstance(client_event_id, str) else None,
        },
    }


class SessionBase:
    """What realtime and translation sessions share: connections and event dispatch."""

    handlers: ClassVar[Handlers] = {}

    def __init__(self, hub: Hub, session: dict[str, Any]) -> None:
        self.hub = hub
        self.session = session
        self.call_id: str | None = None
        self._connections: list[Connection] = []
        self._lock = threading.RLock()
        self.closed = False

    def attach(self, conn: Connection, *, announce: bool = True) -> None:
        """Add a connection; it gets ``session.created`` first, as on the service (unless
        ``announce`` is false: a WebRTC data channel had its own already)."""
        self.hub.connected(conn, self)
        with self._lock:
            self._connections.append(conn)
            if announce:
                conn.send_event(self._event("session.created", {"session": self.session}))

    @property
    def connections(self) -> list[Connection]:
        """The connections attached now."""
        with self._lock:
            return list(self._connections)

    def detach(self, conn: Connection) -> None:
        """Forget a connection that has gone."""
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        self.hub.disconnected(conn)

    def receive(self, text: str, origin: Connection) -> None:
        """Answer one client event (JSON text) from ``origin``."""
        try:
            event = json.loads(text)
        except ValueError as exc:
            refused = EventRefused(
                f"Invalid JSON in the event: {exc}.", code="invalid_json", param=None
            )
            origin.send_event(error_event(refused, None))
            return
        if isinstance(event, dict):
            self.hub.record(event)
        client_event_id = event.get("event_id") if isinstance(event, dict) else None
        try:
            handler = self.handlers[self._event_type(event)]
            with self._lock:
                handler(self, event)
        except EventRefused as refused:
            origin.send_event(error_event(refused, client_event_id))
        except Exception:  # a bug here must still answer, as the service does
            failed = EventRefused(
                "The server had an error while processing your request.", code="server_error"
            )
            origin.send_event(error_event(failed, client_event_id, kind="server_error"))

    def _event_type(self, event: object) -> str:
        if not isinstance(event, dict):
            raise EventRefused("Invalid type for 'event': expected an object.", code="invalid_type")
        kind = event.get("type")
        if kind is None:
            raise EventRefused(
                "Missing required parameter: 'type'.",
                code="missing_required_parameter",
                param="type",
            )
        if kind not in self.handlers:
            supported = ", ".join(f"'{name}'" for name in self.handlers)
            raise EventRefused(
                f"Invalid value: '{kind}'. Supported values are: {supported}.",
                code="invalid_value",
                param="type",
            )
        return str(kind)

    def _event(self, kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": kind, "event_id": _shapes.new_id("event_"), **fields}

    def emit(self, kind: str, **fields: Any) -> None:
        """Send a server event to every connection of this session."""
        event = self._event(kind, fields)
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            conn.send_event(event)

    def close_connections(self, code: int, reason: str) -> None:
        """Close every connection of this session."""
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            conn.close(code, reason)
