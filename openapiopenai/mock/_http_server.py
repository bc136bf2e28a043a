"""The mock's HTTP/1.1 server: reads each request (by length or chunked), records it, plays a
scripted fault or hands it over (to the routes, or to the WebSocket side for an upgrade).
"""

from __future__ import annotations

import secrets
import socket
import struct
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from openapiopenai.mock._answers import Answer, error_answer
from openapiopenai.mock._records import RecordedRequest, Scripted

#: Largest request body the mock reads; a longer one gets 413.
MAX_BODY_BYTES = 1024 * 1024


class UpgradeTaker(Protocol):
    """The WebSocket side (``mock.realtime``): takes over a request asking for an upgrade."""

    def serve(self, handler: MockRequestHandler) -> None:
        """Answer the upgrade request, then run the WebSocket on its socket."""


class ServedMock(Protocol):
    """What the handler asks of the mock it answers for (a ``MockServer``)."""

    _stopping: threading.Event

    @property
    def realtime(self) -> UpgradeTaker:
        """The WebSocket side."""
        ...

    def answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """The service's answer to a request."""
        ...

    def _record(self, request: RecordedRequest) -> None: ...

    def _next_behaviour(self) -> Scripted | None: ...


class MockHttpServer(ThreadingHTTPServer):
    """A threaded HTTP server that answers for one mock."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog (5) overflows when a pool opens many connections at
    # once; the kernel then falls back to SYN cookies and some connects get reset.
    request_queue_size = 128
    mock: ServedMock

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up first (timeouts, resets): that is expected here."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class MockRequestHandler(BaseHTTPRequestHandler):
    """Answers one connection's requests for the mock of its server."""

    protocol_version = "HTTP/1.1"
    error_content_type = "application/json"

    @property
    def mock(self) -> ServedMock:
        """The mock this handler answers for."""
        server = self.server
        assert isinstance(server, MockHttpServer)
        return server.mock

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: tests and benchmarks do not want a line per request."""

    def _handle(self) -> None:
        mock = self.mock
        body = self._read_body()
        if body is None:
            return
        mock._record(RecordedRequest(self.command, self.path, dict(self.headers.items()), body))
        behaviour = mock._next_behaviour()
        if behaviour is not None and behaviour.delay:
            mock._stopping.wait(behaviour.delay)
        if behaviour is not None and behaviour.action not in ("respond", "normal"):
            self._misbehave(behaviour)
            return
        if behaviour is not None and behaviour.action == "respond":
            status = behaviour.status or 200
            headers = {"Content-Type": "application/json", **behaviour.headers}
            payload = behaviour.body or b""
        elif self.headers.get("Upgrade", "").lower() == "websocket":
            mock.realtime.serve(self)
            return
        else:
            status, headers, payload = mock.answer(
                self.command, self.path, dict(self.headers.items()), body
            )
        self._send(status, headers, payload)

    def _read_body(self) -> bytes | None:
        """The request body, by Content-Length or chunked; ``None`` after answering 400 (it
        cannot be framed) or 413 (it is too large), closing the connection."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = self._read_chunked()
            if body is None:
                self._refuse(400, "Invalid chunked body.")
            return body
        declared = self.headers.get("Content-Length", "0").strip()
        if not (declared.isascii() and declared.isdigit()):
            self._refuse(400, "Content-Length must be a non-negative integer.")
            return None
        length = int(declared)
        if length > MAX_BODY_BYTES:
            self._refuse(413, f"The body may be at most {MAX_BODY_BYTES} bytes.")
            return None
        return self.rfile.read(length) if length else b""

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True
        status, headers, payload = error_answer(status, message, "invalid_request_error")
        self._send(status, {**headers, "Connection": "close"}, payload)

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                return None
            total += size
            if size < 0 or total > MAX_BODY_BYTES:
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, status: int, headers: Mapping[str, str], payload: bytes) -> None:
        self.send_response(status)
        names = {name.lower() for name in headers}
        if "x-request-id" not in names:
            self.send_header("x-request-id", "req_" + secrets.token_hex(8))
        for name, value in headers.items():
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _misbehave(self, behaviour: Scripted) -> None:
        self.close_connection = True
        if behaviour.action == "hang":
            self.mock._stopping.wait(30)
        elif behaviour.action == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif behaviour.action == "truncate":
            payload = behaviour.body or b'{"client_secret": {"value": "ek_'
            headers = {"Content-Length": str(len(payload) + 100), **behaviour.headers}
            self._send(behaviour.status or 200, headers, payload)
            self.wfile.flush()

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle  # noqa: N815

    def __getattr__(self, name: str) -> Any:
        """Any other method (OPTIONS, TRACE, QUERY, ...) is answered too: 405, like the service."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)
