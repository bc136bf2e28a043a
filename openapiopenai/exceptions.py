"""Every error the SDK raises, all rooted at :class:`OpenApiException`.

Four families:

* input errors (``ApiTypeError``, ``ApiValueError``, ``ApiValidationError``), raised before any
  network I/O;
* :class:`ApiException`, the server answered with an error status or an unreadable body;
* :class:`ApiTransportError`, no usable answer arrived (refused, reset, truncated, TLS, timeout);
* :class:`WebhookVerificationError`, a webhook received from OpenAI cannot be trusted or read.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from openapiopenai._secrets import redact

if TYPE_CHECKING:
    from pydantic import ValidationError
    from urllib3.response import BaseHTTPResponse

_BODY_PREVIEW_CHARS = 2000


class OpenApiException(Exception):
    """Base class of every exception raised by openapiopenai."""


class ApiTypeError(OpenApiException, TypeError):
    """An argument has the wrong type."""

    def __init__(
        self,
        msg: str,
        path_to_item: Sequence[str | int] | None = None,
        valid_classes: tuple[type, ...] | None = None,
        key_type: bool | None = None,
    ) -> None:
        self.path_to_item = list(path_to_item or [])
        self.valid_classes = valid_classes
        self.key_type = key_type
        super().__init__(_with_path(msg, self.path_to_item))


class ApiValueError(OpenApiException, ValueError):
    """An argument has an acceptable type but a value that is not allowed."""

    def __init__(self, msg: str, path_to_item: Sequence[str | int] | None = None) -> None:
        self.path_to_item = list(path_to_item or [])
        super().__init__(_with_path(msg, self.path_to_item))


class ApiAttributeError(OpenApiException, AttributeError):
    """An attribute that the model does not have was read or written."""

    def __init__(self, msg: str, path_to_item: Sequence[str | int] | None = None) -> None:
        self.path_to_item = list(path_to_item or [])
        super().__init__(_with_path(msg, self.path_to_item))


class ApiKeyError(OpenApiException, KeyError):
    """A key that does not exist was looked up."""

    def __init__(self, msg: str, path_to_item: Sequence[str | int] | None = None) -> None:
        self.path_to_item = list(path_to_item or [])
        super().__init__(_with_path(msg, self.path_to_item))


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: where it is (``turn_detection.type``) and what is wrong."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ApiValidationError(ApiValueError):
    """A model was given data it cannot hold; ``errors`` lists every offending field."""

    def __init__(self, model: str, errors: Sequence[FieldError]) -> None:
        self.model = model
        self.errors = list(errors)
        lines = "\n".join(f"  {error}" for error in self.errors)
        count = len(self.errors)
        plural = "s" if count != 1 else ""
        # Values are echoed to say what was wrong; anything shaped like a key is masked.
        OpenApiException.__init__(
            self, redact(f"{count} invalid field{plural} in {model}:\n{lines}")
        )
        self.path_to_item = [self.errors[0].field] if self.errors else []

    @classmethod
    def from_pydantic(
        cls, model: str, error: ValidationError, *, show_input: bool = True
    ) -> ApiValidationError:
        """Turn pydantic's report into one line per field, naming what is allowed.

        The alternatives of a union (``4096`` or ``"inf"``) become one line: "A, or B".
        """
        grouped: dict[str, list[str]] = {}
        shown_input: dict[str, str] = {}
        for item in error.errors():
            field, message = _field_problem(item, model)
            messages = grouped.setdefault(field, [])
            if message not in messages:
                messages.append(message)
            if (
                show_input
                and item["type"] != "extra_forbidden"
                and _is_short_scalar(item.get("input"))
            ):
                shown_input[field] = f" (got {item['input']!r})"
        return cls(
            model,
            [
                FieldError(field, ", or ".join(messages) + shown_input.get(field, ""))
                for field, messages in grouped.items()
            ],
        )


def _field_problem(item: Any, model: str) -> tuple[str, str]:
    """The dotted wire path of one pydantic error, and what is wrong there."""
    location = [str(part) for part in _wire_location(model, item["loc"])]
    context = item.get("ctx") or {}
    message = str(item["msg"])
    if item["type"] == "extra_forbidden":
        unknown = str(context.get("field", location[-1] if location else "?"))
        if "field" in context:
            location.append(unknown)
        message = _unknown_field_message(unknown, context.get("known", ()))
    return ".".join(location) or "(root)", message


def _wire_location(model: str, loc: Sequence[str | int]) -> list[str | int]:
    """The caller's path in ``loc``: through the generated shapes when ``model`` is generated
    (so map keys such as ``City`` stay), else the parts that look like wire names."""
    from openapiopenai.models._locations import wire_location  # the shapes: only on errors

    path = wire_location(model, loc)
    return path if path is not None else [part for part in loc if _is_field_name(part)]


def _is_field_name(part: str | int) -> bool:
    """Wire names and list indexes; not the union-member tags pydantic adds to a location
    (``constrained-int``, ``literal['inf']``, a model class name)."""
    return isinstance(part, int) or (part.isidentifier() and part.islower())


#: Beta session fields and where a GA session keeps them: a pointer for a name (or a typo of
#: one) that a model without it, but with its new home, does not know.
_MOVED_IN_GA = {
    "voice": "audio.output.voice",
    "speed": "audio.output.speed",
    "output_audio_format": "audio.output.format",
    "input_audio_format": "audio.input.format",
    "turn_detection": "audio.input.turn_detection",
    "input_audio_transcription": "audio.input.transcription",
    "input_audio_noise_reduction": "audio.input.noise_reduction",
    "modalities": "output_modalities",
}


def _unknown_field_message(name: str, known: Sequence[str]) -> str:
    message = "unknown field."
    if known:
        import difflib

        moved = {
            old: new
            for old, new in _MOVED_IN_GA.items()
            if old not in known and new.split(".")[0] in known
        }
        close = difflib.get_close_matches(name, [*known, *moved], n=1)
        if close:
            message = f"unknown field; did you mean {moved.get(close[0], close[0])!r}?"
        message += f" Known fields: {', '.join(known)}."
    return (
        message + " To send a field this SDK does not know yet, use with_additional_properties()."
    )


def _is_short_scalar(value: object) -> bool:
    if isinstance(value, str):
        return len(value) <= 60
    return value is None or isinstance(value, (bool, int, float))


def _with_path(msg: str, path: Sequence[str | int]) -> str:
    if not path:
        return msg
    rendered = "".join(f"[{p}]" if isinstance(p, int) else f"['{p}']" for p in path)
    return f"{msg} at {rendered}"


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """The ``error`` object OpenAI puts in the body of a failed response."""

    message: str | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None

    @classmethod
    def from_body(cls, body: bytes | str | None) -> ErrorDetail | None:
        """Read ``{"error": {...}}``; ``None`` when the body is not shaped that way."""
        if not body:
            return None
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse
            return None
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if not isinstance(error, dict):
            return None
        return cls(*(_as_text(error.get(key)) for key in ("message", "type", "code", "param")))

    def redacted(self, *secrets: str | None) -> ErrorDetail:
        """A copy with ``secrets`` and anything shaped like a key masked in every member."""
        return ErrorDetail(
            *(
                None if value is None else redact(value, *secrets)
                for value in (self.message, self.type, self.code, self.param)
            )
        )


def _as_text(value: object) -> str | None:
    return None if value is None else str(value)


class ApiException(OpenApiException):
    """The server answered, but not with what was asked for.

    ``status``, ``reason``, ``headers`` and ``body`` describe the answer; ``request_id`` is
    its ``x-request-id``; ``error`` (and the shortcuts ``message``, ``type``, ``code``,
    ``param``) hold the parsed OpenAI error when the body has one; ``attempts`` counts the
    requests sent, retries included.

    ``error`` and its shortcuts are safe to show: the key that was sent, and anything shaped
    like a key, are masked in them. ``body`` is the server's text verbatim, unmasked, for
    code that must parse it; do not print or log it as is.
    """

    status_codes: ClassVar[frozenset[int]] = frozenset()

    def __init__(
        self,
        status: int | None = None,
        reason: str | None = None,
        http_resp: BaseHTTPResponse | None = None,
        *,
        body: str | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        attempts: int = 1,
        detail: str | None = None,
        secrets: Sequence[str | None] = (),
    ) -> None:
        if http_resp is not None:
            status = http_resp.status if status is None else status
            reason = http_resp.reason if reason is None else reason
            headers = http_resp.headers if headers is None else headers
            if body is None:
                body = http_resp.data.decode("utf-8", errors="replace")
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.data = data
        self.attempts = attempts
        self.detail = detail
        self.request_id = headers.get("x-request-id") if headers is not None else None
        error = ErrorDetail.from_body(body) if status is None or status >= 300 else None
        self.error = error.redacted(*secrets) if error is not None else None
        # ``secrets`` (the key that was sent) are masked in the message and not kept.
        super().__init__(self._render(secrets))

    @property
    def message(self) -> str | None:
        """OpenAI's human-readable error message, when the body carried one."""
        return self.error.message if self.error else None

    @property
    def type(self) -> str | None:
        """OpenAI's error type, e.g. ``invalid_request_error``."""
        return self.error.type if self.error else None

    @property
    def code(self) -> str | None:
        """OpenAI's machine-readable error code, e.g. ``rate_limit_exceeded``."""
        return self.error.code if self.error else None

    @property
    def param(self) -> str | None:
        """The request field OpenAI blames, e.g. ``voice``."""
        return self.error.param if self.error else None

    @classmethod
    def from_response(
        cls,
        *,
        http_resp: BaseHTTPResponse,
        body: str | None = None,
        data: Any = None,
        attempts: int = 1,
        secrets: Sequence[str | None] = (),
    ) -> ApiException:
        """Build the exception subclass that matches the response status."""
        exception_class = exception_class_for_status(http_resp.status)
        return exception_class(
            http_resp=http_resp, body=body, data=data, attempts=attempts, secrets=secrets
        )

    def _render(self, secrets: Sequence[str | None] = ()) -> str:
        lines = [f"({self.status})" + (f" {self.reason}" if self.reason else "")]
        if self.detail:
            lines.append(self.detail)
        if self.error and self.error.message:
            lines.append(f"Error: {self.error.message}" + self._error_tags())
        if self.status is not None and 300 <= self.status < 400:
            lines.append(f"Redirect not followed, to: {self._location()}")
        if self.request_id:
            lines.append(f"Request ID: {self.request_id}")
        if self.attempts > 1:
            lines.append(f"Attempts: {self.attempts}")
        if self.body and not self.error and self.status is not None and self.status >= 300:
            lines.append(f"HTTP response body: {self.body[:_BODY_PREVIEW_CHARS]}")
        return redact("\n".join(lines), *secrets)

    def _location(self) -> str:
        """The ``Location`` of a redirect, without any user:password part (keys masked later)."""
        location = self.headers.get("Location") if self.headers is not None else None
        if not location:
            return "(no Location header)"
        try:
            parts = urlsplit(location)
        except ValueError:  # e.g. an unclosed "[": nothing of it is shown
            return "(a Location header that is not a URL)"
        if "@" in parts.netloc:
            location = parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()
        return location[:_BODY_PREVIEW_CHARS]

    def _error_tags(self) -> str:
        assert self.error is not None
        tags = [f"{name}={value}" for name, value in self._error_fields() if value]
        return f" ({', '.join(tags)})" if tags else ""

    def _error_fields(self) -> list[tuple[str, str | None]]:
        assert self.error is not None
        return [("type", self.error.type), ("code", self.error.code), ("param", self.error.param)]


class BadRequestException(ApiException):
    """400: the request was malformed or named an unknown value."""

    status_codes = frozenset({400})


class UnauthorizedException(ApiException):
    """401: the API key is missing, wrong or revoked."""

    status_codes = frozenset({401})


class ForbiddenException(ApiException):
    """403: the key is valid but may not do this (organization, project, region)."""

    status_codes = frozenset({403})


class NotFoundException(ApiException):
    """404: the URL does not exist; check ``Configuration.host``."""

    status_codes = frozenset({404})


class ConflictException(ApiException):
    """409: the request conflicts with the server's state; retried by default."""

    status_codes = frozenset({409})


class UnprocessableEntityException(ApiException):
    """422: the request was well formed but its content was refused."""

    status_codes = frozenset({422})


class TooManyRequestsException(ApiException):
    """429: rate limit or quota reached; ``retry_after`` says when to try again, if known."""

    status_codes = frozenset({429})

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait (``retry-after-ms`` or ``Retry-After``), if given."""
        return retry_after_seconds(self.headers) if self.headers is not None else None


class ServiceException(ApiException):
    """5xx: the server failed; retried by default."""

    status_codes = frozenset(range(500, 600))


class UnexpectedResponseException(ApiException):
    """A success status whose body is not the JSON this endpoint promises (``body`` keeps it)."""


_STATUS_CLASSES: dict[int, type[ApiException]] = {
    code: cls
    for cls in (
        BadRequestException,
        UnauthorizedException,
        ForbiddenException,
        NotFoundException,
        ConflictException,
        UnprocessableEntityException,
        TooManyRequestsException,
        ServiceException,
    )
    for code in cls.status_codes
}


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a response asks for: ``retry-after-ms``, else ``Retry-After`` in seconds or as
    an HTTP date. ``None`` when absent, unreadable, negative or not finite (``nan``, ``inf``)."""
    millis = headers.get("retry-after-ms")
    header = headers.get("retry-after")
    try:
        if millis is not None:
            seconds = float(millis) / 1000
        elif header is not None:
            seconds = _seconds_or_date(header)
        else:
            return None
    except (ValueError, TypeError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _seconds_or_date(value: str) -> float:
    """``Retry-After``: a number of seconds, or the HTTP date to wait until (past dates: 0)."""
    try:
        return float(value)
    except ValueError:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())


def exception_class_for_status(status: int) -> type[ApiException]:
    """The most specific :class:`ApiException` subclass for an HTTP status."""
    return _STATUS_CLASSES.get(status, ApiException)


class ApiTransportError(OpenApiException):
    """No usable answer arrived. ``attempts`` counts the requests sent; ``__cause__`` has why."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        self.attempts = attempts
        suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
        super().__init__(redact(message) + suffix)


class ApiConnectionError(ApiTransportError, ConnectionError):
    """The connection could not be made: refused, unreachable, unknown host, proxy refused."""


class ApiConnectionResetError(ApiConnectionError):
    """The connection was reset or closed before the whole response arrived."""


class ApiIncompleteResponseError(ApiConnectionResetError):
    """The body ended before its declared Content-Length."""


class ApiProxyError(ApiConnectionError):
    """The proxy could not be reached, refused the tunnel or asked for credentials."""


class ApiTLSError(ApiTransportError):
    """The TLS handshake failed: untrusted or mismatched certificate, or protocol error."""


class ApiTimeoutError(ApiTransportError, TimeoutError):
    """Connecting or waiting for the response took longer than the configured timeout."""


class RealtimeConnectionClosedError(ApiConnectionResetError):
    """A Realtime WebSocket conversation ended other than normally: ``code`` and ``reason``
    are the close frame's, or 1006 when the peer dropped the connection without one."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(
            f"the Realtime connection closed with code {code}: {reason or '(no reason)'}"
        )


class RealtimeReconnectFailedError(RealtimeConnectionClosedError):
    """A Realtime connection opened with ``reconnect=`` lost its link (``code``, ``reason``)
    and every re-handshake allowed failed; ``attempts`` says how many were made and
    ``__cause__`` holds the last one's failure."""

    def __init__(self, code: int, reason: str, *, attempts: int) -> None:
        super().__init__(code, reason)
        self.attempts = attempts
        self.args = (f"{self.args[0]}; reconnecting failed after {attempts} attempts",)


class RealtimeSendQueueFullError(RealtimeConnectionClosedError):
    """A send while a reconnecting Realtime connection is down (``code``, ``reason``: the
    lost link's close) did not fit in its queue: the event was not sent and will not be."""

    def __init__(self, code: int, reason: str, *, queued: int, size: int, limit: int) -> None:
        super().__init__(code, reason)
        self.args = (
            f"{self.args[0]}; the event ({size} bytes) does not fit in the send queue while "
            f"reconnecting ({queued} of queue_bytes={limit} bytes used)",
        )


class MissingDependencyError(OpenApiException, ImportError):
    """An optional feature's package is not installed; the message names it and the extra."""

    @classmethod
    def of(cls, feature: str, package: str, extra: str) -> MissingDependencyError:
        """``feature`` needs ``package``: the error that says how to install it."""
        return cls(
            f"{feature} needs {package}, which is not installed: {install_hint(package, extra)}"
        )


def install_hint(package: str, extra: str) -> str:
    """How to get an optional dependency: the package itself, or this checkout's extra.

    Never ``pip install 'openapiopenai[extra]'``: that name on the public index is another
    project, which would replace this SDK.
    """
    return f"pip install {package} (or, in a checkout of this SDK, pip install -e '.[{extra}]')"


class WebhookVerificationError(OpenApiException, ValueError):
    """A received webhook cannot be trusted or read; answer its sender with a 4xx status.

    Raised as is when the signature checks out but the body is not a JSON event object.
    Messages never quote the secret or a signature.
    """


class InvalidWebhookSignatureError(WebhookVerificationError):
    """The webhook is not proven to come from OpenAI: a ``webhook-*`` header is missing or
    malformed, its timestamp is outside the tolerance, or no signature matches the secret."""


class ApiResponseTooLargeError(ApiTransportError):
    """The response body grew past ``Configuration.max_response_bytes`` (decoded) and was
    abandoned; never retried."""


class ApiResponseDecodeError(ApiTransportError):
    """The response body could not be decoded as its ``Content-Encoding`` says (e.g. a corrupt
    gzip stream); never retried."""


__all__ = [
    "ApiAttributeError",
    "ApiConnectionError",
    "ApiConnectionResetError",
    "ApiException",
    "ApiIncompleteResponseError",
    "ApiKeyError",
    "ApiProxyError",
    "ApiResponseDecodeError",
    "ApiResponseTooLargeError",
    "ApiTLSError",
    "ApiTimeoutError",
    "ApiTransportError",
    "ApiTypeError",
    "ApiValidationError",
    "ApiValueError",
    "BadRequestException",
    "ConflictException",
    "ErrorDetail",
    "FieldError",
    "ForbiddenException",
    "InvalidWebhookSignatureError",
    "MissingDependencyError",
    "NotFoundException",
    "OpenApiException",
    "RealtimeConnectionClosedError",
    "RealtimeReconnectFailedError",
    "RealtimeSendQueueFullError",
    "ServiceException",
    "TooManyRequestsException",
    "UnauthorizedException",
    "UnexpectedResponseException",
    "UnprocessableEntityException",
    "WebhookVerificationError",
    "exception_class_for_status",
    "retry_after_seconds",
]
