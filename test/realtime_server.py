"""Real WebSocket servers on 127.0.0.1 for the Realtime connection tests.

:class:`ScriptedServer` is a ``websockets`` server whose every connection runs a script the
test gives (send these events, answer those); it can refuse handshakes with any status first.
:class:`SilentServer` speaks just enough of the protocol (``websockets``' sans-I/O server) to
open a connection and send one event, then never reads again: a peer that never answers a
close frame.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.sync.server import Server, ServerConnection, serve

LOOPBACK = "127.0.0.1"
#: Seconds any blocking step of a test server waits at most, so nothing hangs.
WAIT = 10.0

Script = Callable[["Peer"], None]


@dataclass(frozen=True)
class Refusal:
    """An HTTP answer to an upgrade request instead of the switch to WebSocket."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Peer:
    """The server's side of one connection, as a script sees it."""

    def __init__(self, connection: ServerConnection, server: ScriptedServer) -> None:
        self.connection = connection
        self.server = server

    def send(self, event: dict[str, Any]) -> None:
        self.connection.send(json.dumps(event))

    def send_text(self, text: str) -> None:
        self.connection.send(text)

    def recv(self) -> dict[str, Any]:
        """The next client event, parsed; also recorded on the server."""
        message = self.connection.recv(WAIT)
        event: dict[str, Any] = json.loads(message)
        with self.server.lock:
            self.server.received.append(event)
        return event

    def close(self, code: int = 1000, reason: str = "") -> None:
        self.connection.close(code, reason)

    def drop(self) -> None:
        """Cut the TCP connection without a close frame."""
        with suppress(OSError):
            self.connection.socket.shutdown(socket.SHUT_RDWR)
        self.connection.socket.close()


def session_created(event_id: str = "event_1") -> dict[str, Any]:
    return {
        "type": "session.created",
        "event_id": event_id,
        "session": {"type": "realtime", "id": "sess_1", "object": "realtime.session"},
    }


class ScriptedServer:
    """A ``websockets`` server on 127.0.0.1 that runs ``script`` for each connection.

    ``refusals`` are answered, one per upgrade request, before any is accepted. ``requests``
    records every upgrade request (path and headers); ``received`` every client event a script
    read.
    """

    def __init__(
        self,
        script: Script,
        *,
        refusals: list[Refusal] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.script = script
        self.refusals = list(refusals or [])
        self.requests: list[tuple[str, Headers]] = []
        self.received: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()
        self._scheme = "https" if ssl_context is not None else "http"
        self._server: Server = serve(
            self._handle,
            LOOPBACK,
            0,
            ssl=ssl_context,
            process_request=self._process_request,
            max_size=None,
            compression=None,
        )
        self.port = int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL to give ``Configuration(host=...)``."""
        host = "localhost" if self._scheme == "https" else LOOPBACK
        return f"{self._scheme}://{host}:{self.port}/v1"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._thread.join(WAIT)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        with self.lock:
            self.requests.append((request.path, request.headers))
            refusal = self.refusals.pop(0) if self.refusals else None
        if refusal is None:
            return None
        response = connection.respond(refusal.status, json.dumps(refusal.body or {}))
        response.headers["Content-Type"] = "application/json"
        for name, value in refusal.headers.items():
            response.headers[name] = value
        return response

    def _handle(self, connection: ServerConnection) -> None:
        try:
            self.script(Peer(connection, self))
        except ConnectionClosed:
            pass
        except BaseException as failure:  # recorded for the test to see
            with self.lock:
                self.errors.append(failure)


class SilentServer:
    """Accepts one WebSocket connection, sends ``first`` and then never reads again; with
    ``reset``, it then resets the connection (TCP RST) instead."""

    def __init__(self, first: dict[str, Any], *, reset: bool = False) -> None:
        self.first = first
        self.reset = reset
        self._listener = socket.create_server((LOOPBACK, 0))
        self._listener.settimeout(WAIT)
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._listener.getsockname()[1]}/v1"

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()
        self._thread.join(WAIT)
        self._listener.close()

    def _serve(self) -> None:
        with suppress(OSError):
            conn, _ = self._listener.accept()
            with conn:
                conn.settimeout(WAIT)
                protocol = ServerProtocol()
                events: list[object] = []
                while not events:
                    protocol.receive_data(conn.recv(65536))
                    events = protocol.events_received()
                request = events[0]
                assert isinstance(request, Request)
                protocol.send_response(protocol.accept(request))
                protocol.send_text(json.dumps(self.first).encode())
                for data in protocol.data_to_send():
                    conn.sendall(data)
                if self.reset:  # closed on leaving ``with conn``, at once: a reset
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                # Whatever arrives now (the close frame) is never read, never answered.
                self._release.wait(WAIT)
