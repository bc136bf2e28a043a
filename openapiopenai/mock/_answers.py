"""The mock's HTTP answers and refusals, in the service's error shape, and its auth helper.

Shared by the HTTP routes and the WebSocket handshake, which refuse requests alike.
"""

from __future__ import annotations

import json
from typing import Any

#: An HTTP answer: status, headers, body.
Answer = tuple[int, dict[str, str], bytes]


class Refused(Exception):
    """A request the service turns down: becomes an OpenAI error body with this status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.answer = error_answer(status, message, kind, param=param, code=code)


def json_answer(status: int, body: Any) -> Answer:
    """A JSON answer with ``status``."""
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def empty_ok() -> Answer:
    """200 with no body, as the call actions answer."""
    return 200, {}, b""


def bearer_token(authorization: str) -> str:
    """The token of a ``Bearer`` Authorization header; ``""`` for none or another scheme."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def error_body(status: int, message: str | None = None) -> bytes:
    """The service's error body for ``status``, with its usual words unless ``message``."""
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


def error_answer(
    status: int, message: str, kind: str, *, param: str | None = None, code: str | None = None
) -> Answer:
    """An OpenAI error answer: ``{"error": {message, type, code, param}}``."""
    error = {"message": message, "type": kind, "code": code, "param": param}
    return status, {"Content-Type": "application/json"}, json.dumps({"error": error}).encode()


def header_number(value: float) -> str:
    """A number as a header value: ``5`` rather than ``5.0``."""
    return str(int(value)) if float(value).is_integer() else str(value)
