"""A faithful local fake of ``POST /v1/realtime/sessions``, on a real loopback HTTP server.

Use it to try the SDK with no key and no network, and to test your own code::

    from openapiopenai.mock import MockServer

    with MockServer() as base_url:   # e.g. "http://127.0.0.1:49152/v1"
        ...

It answers like the service: 401 without a Bearer token, 400 naming the offending field for an
invalid body, otherwise 200 with a session that echoes the request, fills in the service's
defaults and carries a fresh ``ek_...`` key. Like the service, it answers 400 "Unknown
parameter" for a field it does not know, even one sent on purpose with
``with_additional_properties()``; script the answer with ``respond_next`` to test such a
request. Every answer has an ``x-request-id``. Faults can be scripted for the next requests:
error statuses with ``Retry-After``, delays, a hang, a reset connection or a truncated body.
"""

from __future__ import annotations

import json
import secrets
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from openapiopenai.exceptions import ApiValidationError
from openapiopenai.models.realtime_session_create_request import RealtimeSessionCreateRequest

SESSIONS_PATH = "/v1/realtime/sessions"
DEFAULT_KEY_LIFETIME = 60
#: Largest request body the mock reads; a longer one gets 413.
MAX_BODY_BYTES = 1024 * 1024
#: Requests kept in ``MockServer.requests`` by default, the oldest dropped first.
MAX_RECORDED_REQUESTS = 10_000

#: What the service fills in when the request leaves a field out.
SESSION_DEFAULTS: dict[str, Any] = {
    "model": "gpt-realtime",
    "modalities": ["audio", "text"],
    "instructions": "You are a helpful, friendly assistant.",
    "voice": "alloy",
    "input_audio_format": "pcm16",
    "output_audio_format": "pcm16",
    "input_audio_transcription": None,
    "turn_detection": {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    },
    "input_audio_noise_reduction": None,
    "speed": 1.0,
    "tracing": None,
    "tools": [],
    "tool_choice": "auto",
    "temperature": 0.8,
    "max_response_output_tokens": "inf",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the mock received, for assertions in tests."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Scripted:
    """A canned behaviour for one upcoming request, instead of the normal answer.

    ``action`` is ``"respond"`` (send ``status``/``headers``/``body``), ``"hang"`` (say nothing
    until the client gives up or the server stops), ``"reset"`` (drop the connection with a TCP
    reset), ``"close"`` (close it cleanly without answering) or ``"truncate"`` (declare a longer
    Content-Length than the body sent, then close). ``delay`` seconds pass first.
    """

    action: str = "respond"
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay: float = 0.0


class MockServer:
    """A threaded HTTP/1.1 server on loopback that imitates ``POST /v1/realtime/sessions``.

    :param host: address to listen on (loopback by default).
    :param port: port; 0 picks a free one.
    :param api_key: if given, only this Bearer token is accepted; otherwise any non-empty one.
    :param max_recorded: requests kept in :attr:`requests` (the oldest are dropped), so a
        long-running mock does not grow without bound.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        max_recorded: int = MAX_RECORDED_REQUESTS,
    ) -> None:
        if max_recorded < 1:
            raise ValueError("max_recorded must be at least 1")
        self.api_key = api_key
        self.max_recorded = max_recorded
        self.requests: list[RecordedRequest] = []
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.mock = self
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL to use as ``Configuration.host``, e.g. ``http://127.0.0.1:8000/v1``."""
        address = self._httpd.server_address
        host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{address[1]}/v1"

    def start(self) -> str:
        """Serve in a background thread; returns :attr:`url`."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name="openapiopenai-mock",
            )
            self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and release the port; hanging requests are let go."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------

    def enqueue(self, *behaviours: Scripted) -> None:
        """Use these behaviours, in order, for the next requests."""
        with self._lock:
            self._script.extend(behaviours)

    def fail_next(
        self,
        count: int = 1,
        status: int = 429,
        *,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests with ``status`` and an OpenAI error body."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = _number(retry_after)
        body = _error_body(status, message)
        self.enqueue(*(Scripted(status=status, headers=extra, body=body) for _ in range(count)))

    def delay_next(self, seconds: float, count: int = 1) -> None:
        """Answer the next ``count`` requests normally, after ``seconds``."""
        self.enqueue(*(Scripted(action="normal", delay=seconds) for _ in range(count)))

    def respond_next(
        self, status: int, body: bytes | str | Any, headers: Mapping[str, str] | None = None
    ) -> None:
        """Answer the next request with exactly this status, body and headers."""
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        raw = body.encode() if isinstance(body, str) else body
        self.enqueue(Scripted(status=status, headers=dict(headers or {}), body=raw))

    def clear(self) -> None:
        """Forget recorded requests and pending scripted behaviours."""
        with self._lock:
            self.requests.clear()
            self._script.clear()

    # -- answering -------------------------------------------------------------------------

    def _next_behaviour(self) -> Scripted | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            if len(self.requests) > self.max_recorded:
                del self.requests[: len(self.requests) - self.max_recorded]

    def answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """The service's answer to a request: status, headers, body."""
        if path.split("?")[0] != SESSIONS_PATH:
            return _error(404, f"Invalid URL ({method} {path!s})", "invalid_request_error")
        if method != "POST":
            return _error(405, f"Method {method} not allowed", "invalid_request_error")
        token = _bearer_token(headers.get("Authorization", ""))
        if not token:
            return _error(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
            )
        if self.api_key is not None and token != self.api_key:
            return _error(
                401, "Incorrect API key provided.", "invalid_request_error", code="invalid_api_key"
            )
        try:
            request = RealtimeSessionCreateRequest.model_validate_json(body or b"{}", strict=True)
        except ValidationError as invalid:
            problem = ApiValidationError.from_pydantic("request", invalid, show_input=False)
            first = problem.errors[0]
            if first.field == "(root)":
                return _error(
                    400,
                    "We could not parse the JSON body of your request.",
                    "invalid_request_error",
                )
            if first.message.startswith("unknown field"):
                return _error(
                    400,
                    f"Unknown parameter: '{first.field}'.",
                    "invalid_request_error",
                    param=first.field,
                    code="unknown_parameter",
                )
            return _error(
                400,
                f"Invalid value for '{first.field}': {first.message}",
                "invalid_request_error",
                param=first.field,
                code="invalid_value",
            )
        return 200, {"Content-Type": "application/json"}, json.dumps(_session(request)).encode()


def _session(request: RealtimeSessionCreateRequest) -> dict[str, Any]:
    """The session the service would create for ``request``: echo plus defaults plus a key."""
    session: dict[str, Any] = {"id": "sess_" + secrets.token_hex(12), "object": "realtime.session"}
    session.update(SESSION_DEFAULTS)
    asked = request.to_dict()
    expires_after = (asked.pop("client_secret", None) or {}).get("expires_after") or {}
    session.update(asked)
    lifetime = int(expires_after.get("seconds", DEFAULT_KEY_LIFETIME))
    session["client_secret"] = {
        "value": "ek_" + secrets.token_urlsafe(24),
        "expires_at": int(time.time()) + lifetime,
    }
    return session


def _bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _error_body(status: int, message: str | None = None) -> bytes:
    kinds = {
        400: ("invalid_request_error", "Invalid request."),
        401: ("invalid_request_error", "Incorrect API key provided."),
        403: ("invalid_request_error", "You are not allowed to do this."),
        404: ("invalid_request_error", "Not found."),
        408: ("timeout", "The request timed out."),
        409: ("conflict", "The request conflicts with another one."),
        429: ("requests", "Rate limit reached for requests. Please try again shortly."),
    }
    kind, default = kinds.get(status, ("server_error", "The server had an error."))
    code = "rate_limit_exceeded" if status == 429 else None
    error = {"message": message or default, "type": kind, "code": code, "param": None}
    return json.dumps({"error": error}).encode()


def _error(
    status: int, message: str, kind: str, *, param: str | None = None, code: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    error = {"message": message, "type": kind, "code": code, "param": param}
    return status, {"Content-Type": "application/json"}, json.dumps({"error": error}).encode()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog (5) overflows when a pool opens many connections at
    # once; the kernel then falls back to SYN cookies and some connects get reset.
    request_queue_size = 128
    mock: MockServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up first (timeouts, resets): that is expected here."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    error_content_type = "application/json"

    @property
    def mock(self) -> MockServer:
        """The mock this handler answers for."""
        server = self.server
        assert isinstance(server, _Server)
        return server.mock

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: tests and benchmarks do not want a line per request."""

    def _handle(self) -> None:
        mock = self.mock
        length = self._content_length()
        if length is None:
            return
        body = self.rfile.read(length) if length else b""
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
        else:
            status, headers, payload = mock.answer(
                self.command, self.path, dict(self.headers.items()), body
            )
        self._send(status, headers, payload)

    def _content_length(self) -> int | None:
        """The declared body length; ``None`` after answering 400 or 413 when it is not a
        plain number or is too large (the body cannot be read safely, so the connection
        closes)."""
        declared = self.headers.get("Content-Length", "0").strip()
        if declared.isascii() and declared.isdigit() and int(declared) <= MAX_BODY_BYTES:
            return int(declared)
        self.close_connection = True
        too_large = declared.isascii() and declared.isdigit()
        status, headers, payload = _error(
            413 if too_large else 400,
            f"The body may be at most {MAX_BODY_BYTES} bytes."
            if too_large
            else "Content-Length must be a non-negative integer.",
            "invalid_request_error",
        )
        self._send(status, {**headers, "Connection": "close"}, payload)
        return None

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

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _handle  # noqa: N815


__all__ = ["MockServer", "RecordedRequest", "Scripted", "SESSION_DEFAULTS"]
