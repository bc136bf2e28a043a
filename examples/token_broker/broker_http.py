"""The broker's HTTP plumbing: its answers and refusals, the request bodies it reads (each with
a size limit), the per-client rate limit, and text made safe for its log."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

JSON_TYPE = "application/json"
SDP_TYPE = "application/sdp"
#: What a call id from the page must look like before it is sent on to OpenAI.
CALL_ID_SHAPE = re.compile(r"rtc_[A-Za-z0-9_-]{1,128}")
#: The fields of a ``POST /hangup`` body: the call, and the token its page got with it.
HANGUP_FIELDS = frozenset({"call_id", "call_token"})
WSGIEnviron = Mapping[str, Any]
StartResponse = Callable[..., Any]


class RateLimiter:
    """One token bucket per client address: ``burst`` requests at once, then a steady rate.

    At most ``max_clients`` buckets are kept (least recently seen dropped first), so a flood
    of addresses cannot grow memory without bound.
    """

    def __init__(
        self,
        burst: int,
        per_minute: float,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst = float(burst)
        self._per_second = per_minute / 60.0
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Spend one token: 0.0 if allowed, otherwise the seconds until a token is available."""
        with self._lock:
            now = self._clock()
            tokens, seen = self._buckets.pop(client, (self._burst, now))
            tokens = min(self._burst, tokens + (now - seen) * self._per_second)
            allowed = tokens >= 1.0
            self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
            return 0.0 if allowed else (1.0 - tokens) / self._per_second


@dataclass
class Reply:
    """An HTTP answer before the common headers are added."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)


class Refusal(Exception):
    """Ends a request early with an error answer."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def json_reply(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """A JSON answer."""
    return Reply(status, json.dumps(payload).encode(), headers=list(headers))


def error_reply(
    status: int,
    kind: str,
    message: str,
    *,
    request_id: str | None = None,
    retry_after: int | None = None,
    param: str | None = None,
) -> Reply:
    """The broker's error shape: ``{"error": {message, type, param, request_id, retry_after}}``."""
    error = {
        "message": message,
        "type": kind,
        "param": param,
        "request_id": request_id,
        "retry_after": retry_after,
    }
    headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
    return json_reply(status, {"error": error}, headers)


def read_json_object(environ: WSGIEnviron, limit: int) -> dict[str, Any]:
    """The request body as a JSON object, at most ``limit`` bytes; an empty body is ``{}``."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refusal(error_reply(400, "invalid_request", "Bad Content-Length.")) from None
    if length > limit:
        raise Refusal(error_reply(413, "body_too_large", f"The body may be at most {limit} bytes."))
    if length <= 0:
        return {}
    content_type = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
    if content_type != JSON_TYPE:
        raise Refusal(error_reply(415, "unsupported_media_type", "Send application/json."))
    raw = environ["wsgi.input"].read(length)
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested too deeply
        parsed = None
    if not isinstance(parsed, dict):
        raise Refusal(error_reply(400, "invalid_request", "The body must be a JSON object."))
    return parsed


def read_hangup(body: Mapping[str, Any]) -> tuple[str, str]:
    """``call_id`` and ``call_token`` of a hangup request, both text, nothing else."""
    unknown = sorted(set(body) - HANGUP_FIELDS)
    wrong = [name for name in sorted(HANGUP_FIELDS) if not isinstance(body.get(name), str)]
    if unknown or wrong:
        raise Refusal(
            error_reply(
                400,
                "invalid_request",
                'Send {"call_id": ..., "call_token": ...} as the call was opened with.',
                param=(wrong or unknown)[0][:40],
            )
        )
    call_id, token = str(body["call_id"]), str(body["call_token"])
    if not CALL_ID_SHAPE.fullmatch(call_id):
        raise Refusal(
            error_reply(400, "invalid_request", "That is not a call id.", param="call_id")
        )
    if not token:
        raise Refusal(
            error_reply(400, "invalid_request", "The call token is empty.", param="call_token")
        )
    return call_id, token


def query_params(environ: WSGIEnviron) -> dict[str, str]:
    """The query string's parameters (the last of each name); a malformed one is a 400."""
    text = str(environ.get("QUERY_STRING", ""))
    try:
        parsed = parse_qs(text, strict_parsing=bool(text), max_num_fields=10)
    except ValueError:
        raise Refusal(error_reply(400, "invalid_request", "Bad query string.")) from None
    return {name: values[-1] for name, values in parsed.items()}


def read_offer(environ: WSGIEnviron, limit: int) -> str:
    """The page's SDP offer: ``application/sdp``, at most ``limit`` bytes, starting ``v=0``."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refusal(error_reply(400, "invalid_request", "Bad Content-Length.")) from None
    if length > limit:
        raise Refusal(
            error_reply(413, "body_too_large", f"The offer may be at most {limit} bytes.")
        )
    content_type = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
    if content_type != SDP_TYPE:
        raise Refusal(
            error_reply(415, "unsupported_media_type", "Send the offer as application/sdp.")
        )
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    offer = raw.decode("utf-8", "replace")
    if not offer.startswith("v=0"):
        raise Refusal(
            error_reply(400, "invalid_request", "The body must be an SDP offer.", param="sdp")
        )
    return offer


def method_not_allowed(allow: str) -> Reply:
    reply = error_reply(405, "method_not_allowed", f"Use {allow}.")
    reply.headers.append(("Allow", allow))
    return reply


def client_address(environ: WSGIEnviron) -> str:
    """The peer address. Behind a reverse proxy, derive it from a header your proxy sets."""
    return printable(str(environ.get("REMOTE_ADDR", "unknown")), 64)


def printable(text: str, limit: int) -> str:
    """``text`` safe for a log line: control and non-ASCII characters escaped, at most
    ``limit`` characters, so a client cannot forge lines or send terminal escapes."""
    escaped = text[:limit].encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in escaped)
    return escaped + ("..." if len(text) > limit else "")


def shown(value: object) -> str:
    """A value from upstream (ids, names, error text) made safe for the log."""
    return printable(str(value), 200)


def host_name(host: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8000`` -> ``::1``), lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def content_security_policy(realtime_url: str) -> str:
    """Scripts and styles from this server only; fetches to it and the Realtime API only."""
    parts = urlsplit(realtime_url)
    realtime_origin = f"{parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; "
        f"connect-src 'self' {realtime_origin}; media-src 'self' blob: mediastream:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
