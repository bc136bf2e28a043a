"""The socket side of the mock's WebSocket endpoint.

The HTTP server hands over a request that asks for an upgrade; this module checks it like the
service (path, key, query), completes the handshake with websockets' sans-I/O
``ServerProtocol`` on the same socket, then reads frames in the handler's thread and passes
each message to the session (:mod:`openapiopenai.mock.realtime_ws`). Sending is thread-safe:
a response may stream from its own thread, and a sideband's events come from other sessions.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from websockets.datastructures import Headers
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import CLOSED, OPEN
from websockets.server import ServerProtocol

from openapiopenai.mock._answers import Refused, bearer_token
from openapiopenai.mock._session_base import SessionBase
from openapiopenai.mock._ws_faults import Fault

if TYPE_CHECKING:
    from openapiopenai.mock._http_server import MockRequestHandler

#: The largest client message accepted: a 15 MiB audio append with room to spare.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
#: How long the mock waits for the client's part of a closing handshake.
CLOSE_TIMEOUT = 2.0
#: How long a hung connection stays silent at most.
HANG_LIMIT = 30.0
REALTIME_PATHS = ("/v1/realtime", "/v1/realtime/translations")
BETA_MESSAGE = (
    "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
)


class Hub(Protocol):
    """What the socket side asks of ``mock.realtime``: the session to join, and the faults."""

    def open_session(self, path: str, query: Mapping[str, str], token: str) -> SessionBase:
        """The session a handshake joins or creates, or ``Refused``."""
        ...

    def has_faults_on(self) -> bool:
        """Whether a fault waits for a client event."""
        ...

    def take_fault(self, *, after: str | None = None, on: str | None = None) -> Fault | None:
        """The first pending fault for this moment, if any."""
        ...


def serve(
    hub: Hub,
    handler: MockRequestHandler,
    *,
    check_auth: Callable[[str], None],
    stopping: threading.Event,
) -> None:
    """Answer one upgrade request: refuse it as the service would, or run the session.

    ``check_auth`` refuses a key the mock does not accept; ``stopping`` is set when it stops.
    """
    handler.close_connection = True
    target = urlsplit(handler.path)
    headers = {name.lower(): value for name, value in handler.headers.items()}
    try:
        if target.path not in REALTIME_PATHS:
            raise Refused(404, f"Invalid URL (GET {target.path})")
        token = bearer_token(headers.get("authorization", ""))
        check_auth(token)
        session = hub.open_session(target.path, dict(parse_qsl(target.query)), token)
    except Refused as refused:
        handler._send(*refused.answer)
        return
    protocol = ServerProtocol(max_size=MAX_MESSAGE_BYTES)
    # http.server has read the request already: hand it to the protocol as it came, but for
    # the key, which is checked by now and must not reach websockets' debug log.
    kept = [
        (name, value)
        for name, value in handler.headers.items()
        if name.lower() not in ("authorization", "cookie")
    ]
    protocol.receive_data(Request(handler.path, Headers(kept)).serialize())
    (request,) = protocol.events_received()
    assert isinstance(request, Request)
    response = protocol.accept(request)
    response.headers["x-request-id"] = "req_" + secrets.token_hex(8)
    protocol.send_response(response)
    peer = WebSocketPeer(hub, handler.connection, protocol, stopping)
    with peer._lock:
        peer._flush()
    if response.status_code != 101:
        return
    if "realtime=v1" in headers.get("openai-beta", "").replace(" ", ""):
        peer.refuse_beta()
    else:
        peer.run(session)


class WebSocketPeer:
    """One client's WebSocket: the sans-I/O protocol, its socket, and the faults to play."""

    def __init__(
        self,
        hub: Hub,
        sock: socket.socket,
        protocol: ServerProtocol,
        stopping: threading.Event,
    ) -> None:
        self._hub = hub
        self._sock = sock
        self._protocol = protocol
        self._stopping = stopping
        self._lock = threading.Lock()
        self._hung = False

    # -- sending (any thread) --------------------------------------------------------------

    def send_event(self, event: Mapping[str, Any]) -> None:
        """Send one server event as a text message, then play a fault due after it."""
        data = json.dumps(event).encode()
        with self._lock:
            if self._hung or self._protocol.state is not OPEN:
                return
            self._protocol.send_text(data)
            self._flush()
        fault = self._hub.take_fault(after=str(event.get("type")))
        if fault is not None:
            self.play(fault)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; drop the connection if the client never finishes it."""
        with self._lock:
            if self._protocol.state is not OPEN:
                return
            self._protocol.send_close(code, reason)
            self._flush()
        timer = threading.Timer(CLOSE_TIMEOUT, self.abort)
        timer.daemon = True
        timer.start()

    def abort(self) -> None:
        """Drop the TCP connection at once, without a close frame."""
        with contextlib.suppress(OSError):  # already gone
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def play(self, fault: Fault) -> None:
        """Misbehave as the test asked."""
        if fault.action == "drop":
            self.abort()
        elif fault.action == "close":
            self.close(fault.code, fault.reason)
        elif fault.action == "delay":
            self._stopping.wait(fault.seconds)
        elif fault.action == "garbage":
            with self._lock:
                self._send_raw(fault.data)
        else:  # hang
            self._hung = True

    def refuse_beta(self) -> None:
        """Answer a beta-shaped connection as the service does: an error, then close."""
        error = {
            "type": "invalid_request_error",
            "code": "beta_api_shape_disabled",
            "message": BETA_MESSAGE,
            "param": None,
            "event_id": None,
        }
        self.send_event(
            {"type": "error", "event_id": "event_" + secrets.token_hex(12), "error": error}
        )
        self.close(1000, "")
        self._read_until_closed(None)

    def _flush(self) -> None:
        """Write what the protocol has queued; the caller holds the lock."""
        for data in self._protocol.data_to_send():
            if data:
                self._send_raw(data)
            else:
                self._shutdown_write()

    def _send_raw(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # the client is gone; the reader notices
            self._sock.sendall(data)

    def _shutdown_write(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)

    # -- reading (the handler's thread) ----------------------------------------------------

    def run(self, session: SessionBase) -> None:
        """Attach to ``session`` and answer the client's messages until the connection ends."""
        session.attach(self)
        try:
            self._read_until_closed(session)
        finally:
            session.detach(self)
            self.abort()

    def _read_until_closed(self, session: SessionBase | None) -> None:
        while not self._hung:
            try:
                data = self._sock.recv(65536)
            except OSError:  # reset, dropped by a fault, or the close timeout passed
                return
            with self._lock:
                if data:
                    self._protocol.receive_data(data)
                else:
                    self._protocol.receive_eof()
                frames = self._protocol.events_received()
                self._flush()
                state = self._protocol.state
                closing = self._protocol.close_expected()
            if not data or state is CLOSED:
                return
            for frame in frames:
                if not isinstance(frame, Frame) or session is None:
                    continue
                if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                    self._dispatch(session, bytes(frame.data))
            if closing:
                self._sock.settimeout(CLOSE_TIMEOUT)
        self._stopping.wait(HANG_LIMIT)

    def _dispatch(self, session: SessionBase, data: bytes) -> None:
        """Pass one message to the session, unless a fault is due on its type."""
        if self._hung:
            return
        text = data.decode("utf-8", errors="replace")
        fault = self._hub.take_fault(on=_peek_type(text)) if self._hub.has_faults_on() else None
        if fault is not None:
            self.play(fault)
            if fault.action != "delay":
                return
        session.receive(text, self)


def _peek_type(text: str) -> str:
    """The ``type`` of a client event, or ``""`` if it has none."""
    try:
        event = json.loads(text)
    except ValueError:
        return ""
    kind = event.get("type") if isinstance(event, dict) else None
    return kind if isinstance(kind, str) else ""


__all__ = ["MAX_MESSAGE_BYTES", "WebSocketPeer", "serve"]
