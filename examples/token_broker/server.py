#!/usr/bin/env python3
"""A token broker: it lets browsers hold voice calls with the Realtime API, using its API key.

Two flows, both behind the same checks (Host and Origin allowlists, rate limit, size limits):
``POST /session`` mints a short-lived client secret the page uses to post its SDP offer to
OpenAI itself; ``POST /call`` takes the page's offer and opens the call from here, so no key
reaches the browser. ``POST /hangup`` ends a call that ``POST /call`` opened, for the page that
holds its token (see call_registry.py). The session (model, instructions, key
lifetime) is fixed here, on the server; the browser may only pick a voice from an allowlist.
A plain WSGI application served by waitress (or any WSGI server, e.g. gunicorn); needs
``openapiopenai`` and ``waitress`` (and the ``webrtc`` extra for real calls with ``--mock``);
see README.md.

    python examples/token_broker/server.py --mock --port 8000     # offline, against a fake OpenAI
    OPENAI_API_KEY=sk-... python examples/token_broker/server.py  # the real service
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import math
import os
import re
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import waitress
from call_registry import CallRegistry, short_call_id
from call_tools import TOOLS
from sideband import Sidebands
from waitress import wasyncore

from openapiopenai import (
    ApiClient,
    ApiException,
    ApiTimeoutError,
    ApiTransportError,
    Configuration,
    NotFoundException,
    RealtimeApi,
    RetryPolicy,
    TooManyRequestsException,
)
from openapiopenai.exceptions import install_hint
from openapiopenai.models import RealtimeCreateClientSecretRequest, RealtimeSessionCreateRequestGA

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG = HERE / "config.json"
LOG = logging.getLogger("token_broker")
ACCESS_LOG = logging.getLogger("token_broker.access")

#: Fields of the browser's JSON body that it is allowed to set; anything else is refused.
BROWSER_FIELDS = frozenset({"voice"})
#: Told to the browser when OpenAI rate limits us without saying for how long.
FALLBACK_RETRY_SECONDS = 5
#: The longest wait passed on to the browser, whatever OpenAI asks.
MAX_RETRY_SECONDS = 3600
#: Host names the broker answers to unless configured otherwise: loopback only.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
JSON_TYPE = "application/json"
SDP_TYPE = "application/sdp"
#: The longest a call lasts (OpenAI ends sessions after 60 minutes): its sideband closes then.
CALL_TIME_LIMIT_SECONDS = 3600.0
#: What a call id from the page must look like before it is sent on to OpenAI.
CALL_ID_SHAPE = re.compile(r"rtc_[A-Za-z0-9_-]{1,128}")
#: The fields of a ``POST /hangup`` body: the call, and the token its page got with it.
HANGUP_FIELDS = frozenset({"call_id", "call_token"})
STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
WSGIEnviron = Mapping[str, Any]
StartResponse = Callable[..., Any]


# -- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerConfig:
    """What the broker mints and how it protects itself; loaded from JSON, see README.md."""

    model: str = "gpt-realtime"
    instructions: str = "You are a friendly voice assistant. Keep answers short."
    voices: tuple[str, ...] = ("marin", "cedar")
    default_voice: str = ""
    key_lifetime_seconds: int | None = None
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    allowed_origins: tuple[str, ...] = ()
    require_origin: bool = False
    rate_limit_burst: int = 5
    rate_limit_per_minute: float = 10.0
    max_body_bytes: int = 1024
    max_offer_bytes: int = 16 * 1024
    upstream_timeout_seconds: float = 15.0
    upstream_deadline_seconds: float = 20.0
    upstream_retries: int = 1
    max_retry_wait_seconds: float = 2.0
    realtime_url: str = "https://api.openai.com/v1/realtime"
    call_tools: bool = True
    max_call_tools: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "voices", tuple(self.voices))
        object.__setattr__(self, "allowed_origins", tuple(self.allowed_origins))
        object.__setattr__(self, "allowed_hosts", tuple(h.lower() for h in self.allowed_hosts))
        if not self.allowed_hosts:
            raise ValueError("allowed_hosts must list at least one host name")
        if not self.voices:
            raise ValueError("voices must list at least one voice")
        if not all(voice.strip() for voice in self.voices):
            raise ValueError("voices must not hold an empty name")
        for name in ("model", "instructions", "realtime_url"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name} must not be empty")
        if not self.default_voice:
            object.__setattr__(self, "default_voice", self.voices[0])
        if self.default_voice not in self.voices:
            raise ValueError(f"default_voice {self.default_voice!r} is not in voices")
        lifetime = self.key_lifetime_seconds
        if lifetime is not None and not 10 <= lifetime <= 7200:
            raise ValueError("key_lifetime_seconds must be between 10 and 7200")
        if self.rate_limit_burst < 1 or self.rate_limit_per_minute <= 0:
            raise ValueError("rate_limit_burst must be >= 1 and rate_limit_per_minute > 0")
        if self.max_body_bytes < 2 or self.upstream_retries < 0:
            raise ValueError("max_body_bytes must be >= 2 and upstream_retries >= 0")
        if self.max_call_tools < 1:
            raise ValueError("max_call_tools must be >= 1")
        if self.max_offer_bytes < 256:
            raise ValueError("max_offer_bytes must be >= 256 (an SDP offer is a few KiB)")
        for name in ("upstream_timeout_seconds", "upstream_deadline_seconds"):
            seconds = getattr(self, name)
            if not math.isfinite(seconds) or seconds <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        realtime = urlsplit(self.realtime_url)
        local = realtime.scheme == "http" and realtime.hostname in LOOPBACK_HOSTS
        if realtime.scheme != "https" and not local:
            raise ValueError("realtime_url must be an https:// URL (or http:// on loopback)")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> BrokerConfig:
        """Build from parsed JSON; unknown keys are an error so a typo cannot go unnoticed."""
        known = {item.name: item for item in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        for name, value in data.items():
            _check_type(name, value, known[name].type)
        return cls(**data)

    @classmethod
    def load(cls, path: Path) -> BrokerConfig:
        """Read a JSON config file."""
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the top level must be a JSON object")
        return cls.from_mapping(data)


def _check_type(name: str, value: Any, annotation: Any) -> None:
    """Refuse a JSON value whose type does not match the setting (e.g. a string for a number)."""
    text = str(annotation)
    if value is None and "None" in text:
        return
    if "tuple" in text:
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    elif text.startswith("bool"):
        ok = isinstance(value, bool)
    elif text.startswith("int"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif text.startswith("float"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"setting {name!r} must be of type {text}, got {value!r}")


# -- rate limiting ---------------------------------------------------------------------------


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


# -- answers ---------------------------------------------------------------------------------


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


# -- the application -------------------------------------------------------------------------


class Broker:
    """The WSGI application: the page, its public settings, ``POST /session``, ``POST /call``
    and ``POST /hangup``."""

    def __init__(
        self, config: BrokerConfig, api: RealtimeApi, limiter: RateLimiter | None = None
    ) -> None:
        self.config = config
        self.api = api
        self.limiter = limiter or RateLimiter(config.rate_limit_burst, config.rate_limit_per_minute)
        self._static = {
            path: (HERE.joinpath(name).read_bytes(), kind)
            for path, (name, kind) in STATIC_FILES.items()
        }
        self._page_policy = _content_security_policy(config.realtime_url)
        self.own_origins: frozenset[str] = frozenset()
        self.calls = CallRegistry()
        self.sidebands = (
            Sidebands(
                api,
                TOOLS,
                max_calls=config.max_call_tools,
                time_limit_seconds=CALL_TIME_LIMIT_SECONDS,
            )
            if config.call_tools
            else None
        )

    def serve_on(self, scheme: str, port: int) -> None:
        """Record where this app is served: its own origins are the allowed hosts on ``port``
        (from configuration, never from a request's ``Host``)."""
        self.own_origins = frozenset(
            f"{scheme}://{_bracketed(host)}:{port}" for host in self.config.allowed_hosts
        )

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> list[bytes]:
        try:
            self.check_host(environ)
            reply = self.route(environ)
        except Refusal as refusal:
            reply = refusal.reply
        except Exception:
            LOG.exception("unexpected failure")
            reply = error_reply(500, "broker_error", "The broker failed; see its log.")
        ACCESS_LOG.info(
            "%s %s %s %d",
            _client(environ),
            printable(str(environ.get("REQUEST_METHOD", "")), 16),
            printable(str(environ.get("PATH_INFO", "")), 200),
            reply.status,
        )
        headers = [
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Content-Length", str(len(reply.body))),
        ]
        if reply.body:
            headers.append(("Content-Type", reply.content_type))
        start_response(f"{reply.status} {HTTPStatus(reply.status).phrase}", headers + reply.headers)
        return [reply.body]

    def check_host(self, environ: WSGIEnviron) -> None:
        """Refuse a ``Host`` that is not one of ``allowed_hosts``: a page on another name that
        resolves here (DNS rebinding) must not be served, let alone get a key."""
        host = str(environ.get("HTTP_HOST", ""))
        if _host_name(host) not in self.config.allowed_hosts:
            LOG.warning("refused host %s from %s", printable(host, 100), _client(environ))
            raise Refusal(error_reply(400, "host_not_allowed", "This host name is not served."))

    def route(self, environ: WSGIEnviron) -> Reply:
        """Dispatch on path and method."""
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        action = {"/session": self.mint, "/call": self.open_call, "/hangup": self.hangup}
        if path in action:
            return self.browser_endpoint(method, environ, action[path])
        if path in self._static or path == "/config":
            if method != "GET":
                return _method_not_allowed("GET")
            return self.public_config() if path == "/config" else self.static(path)
        return error_reply(404, "not_found", f"Nothing at {path[:100]}")

    def static(self, path: str) -> Reply:
        """One of the page's files; the page itself gets a strict Content-Security-Policy."""
        body, kind = self._static[path]
        headers = [("X-Frame-Options", "DENY")]
        if path == "/":
            headers.append(("Content-Security-Policy", self._page_policy))
        return Reply(200, body, kind, headers)

    def public_config(self) -> Reply:
        """What the page needs to know: the fixed model, the voices it may offer, where to call
        (the page posts its offer to ``{realtime_url}/calls``)."""
        config = self.config
        return json_reply(
            200,
            {
                "model": config.model,
                "voices": list(config.voices),
                "default_voice": config.default_voice,
                "realtime_url": config.realtime_url,
            },
        )

    def browser_endpoint(
        self, method: str, environ: WSGIEnviron, action: Callable[[WSGIEnviron], Reply]
    ) -> Reply:
        """A ``POST`` endpoint for the page and its CORS preflight, behind the origin check and
        the rate limit."""
        cors = [("Vary", "Origin")]
        try:
            origin = self.check_origin(environ)
            if origin is not None:
                cors.append(("Access-Control-Allow-Origin", origin))
                cors.append(
                    ("Access-Control-Expose-Headers", "X-Call-Id, X-Call-Token, X-Call-Tools")
                )
            if method == "OPTIONS":
                reply = self.preflight(environ)
            elif method == "POST":
                self.check_rate(environ)
                reply = action(environ)
            else:
                reply = _method_not_allowed("POST, OPTIONS")
        except Refusal as refusal:
            reply = refusal.reply
        # Errors carry the CORS headers too, so an allowed page can read why it was refused.
        reply.headers.extend(cors)
        return reply

    def check_origin(self, environ: WSGIEnviron) -> str | None:
        """The request's Origin if it is allowed; refuses any other origin with 403.

        The page's own origin is always allowed. Requests without an Origin (not from a
        browser page) pass unless ``require_origin`` is set.
        """
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            if self.config.require_origin:
                raise Refusal(error_reply(403, "origin_required", "An Origin header is required."))
            return None
        if origin in self.own_origins or origin in self.config.allowed_origins:
            return str(origin)
        LOG.warning("refused origin %s from %s", printable(str(origin), 100), _client(environ))
        raise Refusal(error_reply(403, "origin_not_allowed", "This origin may not call here."))

    def preflight(self, environ: WSGIEnviron) -> Reply:
        """Answer the browser's CORS preflight for a JSON POST."""
        if environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "POST") != "POST":
            return _method_not_allowed("POST, OPTIONS")
        return Reply(
            204,
            headers=[
                ("Access-Control-Allow-Methods", "POST"),
                ("Access-Control-Allow-Headers", "Content-Type"),
                ("Access-Control-Max-Age", "600"),
            ],
        )

    def check_rate(self, environ: WSGIEnviron) -> None:
        """Spend one of the client's tokens, or refuse with 429 and when to try again."""
        client = _client(environ)
        wait = self.limiter.take(client)
        if wait > 0:
            seconds = math.ceil(wait)
            LOG.info("rate limited client=%s for %s s", client, seconds)
            raise Refusal(
                error_reply(
                    429,
                    "rate_limited",
                    f"Too many requests; try again in {seconds} s.",
                    retry_after=seconds,
                )
            )

    def mint(self, environ: WSGIEnviron) -> Reply:
        """Read the browser's choice, ask OpenAI for a client secret, return only the key and
        its expiry: the session stays the server's business (the call reports it)."""
        voice = self.read_voice(_read_json_object(environ, self.config.max_body_bytes))
        asked: dict[str, Any] = {"session": self.session_request(voice).to_dict()}
        if self.config.key_lifetime_seconds is not None:
            lifetime = self.config.key_lifetime_seconds
            asked["expires_after"] = {"anchor": "created_at", "seconds": lifetime}
        request = RealtimeCreateClientSecretRequest.from_dict(asked)
        try:
            answer = self.api.create_realtime_client_secret_with_http_info(request)
        except ApiException as failed:
            return _upstream_failure(failed, "create the key")
        except ApiTransportError as failed:
            return _transport_failure(failed)
        secret = answer.data
        LOG.info(
            "minted key request_id=%s voice=%s expires_at=%s client=%s",
            *(_shown(value) for value in (answer.request_id, voice)),
            secret.expires_at,
            _client(environ),
        )
        return json_reply(200, {"value": secret.value, "expires_at": secret.expires_at})

    def open_call(self, environ: WSGIEnviron) -> Reply:
        """The server-side flow: post the page's SDP offer to OpenAI with the server's key and
        session, and hand back the SDP answer and the call id. No key reaches the page."""
        voice = self.read_voice(_query(environ))
        offer = _read_offer(environ, self.config.max_offer_bytes)
        try:
            answer = self.api.create_realtime_call_with_http_info(
                offer, session=self.session_request(voice, tools=self.sidebands is not None)
            )
        except ApiException as failed:
            return _upstream_failure(failed, "open the call")
        except ApiTransportError as failed:
            return _transport_failure(failed)
        call_id = str(answer.data.call_id or "")
        LOG.info(
            "opened call call_id=%s request_id=%s voice=%s client=%s",
            *(_shown(value) for value in (short_call_id(call_id), answer.request_id, voice)),
            _client(environ),
        )
        headers = [("X-Call-Id", call_id)]
        if call_id:
            headers.append(("X-Call-Token", self.calls.open(call_id)))
        if call_id and self.sidebands is not None and self.sidebands.open(call_id):
            headers.append(("X-Call-Tools", ", ".join(self.sidebands.tools.names)))
        return Reply(201, str(answer.data).encode(), SDP_TYPE, headers)

    def hangup(self, environ: WSGIEnviron) -> Reply:
        """End a call this broker opened, for the page holding its token (``X-Call-Token``):
        a call id alone, or a call opened elsewhere (a SIP call), ends nothing."""
        call_id, token = _read_hangup(_read_json_object(environ, self.config.max_body_bytes))
        if not self.calls.holds(call_id, token):
            LOG.warning(
                "refused hangup of call_id=%s client=%s",
                _shown(short_call_id(call_id)),
                _client(environ),
            )
            raise Refusal(
                error_reply(
                    403,
                    "call_not_yours",
                    "This broker did not open that call for you (or it has ended).",
                    param="call_id",
                )
            )
        try:
            answer = self.api.hangup_realtime_call_with_http_info(call_id)
        except NotFoundException:
            self.calls.forget(call_id)
            return error_reply(404, "call_not_found", "No such call (it may have ended).")
        except ApiException as failed:
            return _upstream_failure(failed, "hang up")
        except ApiTransportError as failed:
            return _transport_failure(failed)
        self.calls.forget(call_id)
        LOG.info(
            "hung up call_id=%s request_id=%s client=%s",
            *(_shown(value) for value in (short_call_id(call_id), answer.request_id)),
            _client(environ),
        )
        return Reply(204)

    def read_voice(self, choice: Mapping[str, Any]) -> str:
        """The voice the browser chose (or the default); refuses any other field or voice."""
        unknown = sorted(set(choice) - BROWSER_FIELDS)
        if unknown:
            raise Refusal(
                error_reply(
                    400,
                    "invalid_request",
                    f"Field(s) not allowed: {', '.join(name[:40] for name in unknown)}. "
                    f"The browser may only choose: {', '.join(sorted(BROWSER_FIELDS))}.",
                    param=unknown[0][:40],
                )
            )
        voice = choice.get("voice", self.config.default_voice)
        if not isinstance(voice, str) or voice not in self.config.voices:
            raise Refusal(
                error_reply(
                    400,
                    "invalid_request",
                    f"Voice {str(voice)[:40]!r} is not offered; "
                    f"choose one of: {', '.join(self.config.voices)}.",
                    param="voice",
                )
            )
        return voice

    def session_request(self, voice: str, *, tools: bool = False) -> RealtimeSessionCreateRequestGA:
        """The session of every call: everything fixed by the server except the chosen voice;
        with ``tools``, the tools the broker answers on the call's sideband."""
        session: dict[str, Any] = {
            "type": "realtime",
            "model": self.config.model,
            "instructions": self.config.instructions,
            "audio": {"output": {"voice": voice}},
        }
        if tools and self.sidebands is not None:
            session["tools"] = self.sidebands.definitions()
        return RealtimeSessionCreateRequestGA.from_dict(session)


def _read_json_object(environ: WSGIEnviron, limit: int) -> dict[str, Any]:
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


def _read_hangup(body: Mapping[str, Any]) -> tuple[str, str]:
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


def _query(environ: WSGIEnviron) -> dict[str, str]:
    """The query string's parameters (the last of each name); a malformed one is a 400."""
    text = str(environ.get("QUERY_STRING", ""))
    try:
        parsed = parse_qs(text, strict_parsing=bool(text), max_num_fields=10)
    except ValueError:
        raise Refusal(error_reply(400, "invalid_request", "Bad query string.")) from None
    return {name: values[-1] for name, values in parsed.items()}


def _read_offer(environ: WSGIEnviron, limit: int) -> str:
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


def _upstream_failure(failed: ApiException, doing: str) -> Reply:
    """OpenAI answered with an error: tell the browser what it can act on, never the key."""
    LOG.warning(
        "upstream refused status=%s type=%s code=%s request_id=%s attempts=%s",
        failed.status,
        *(_shown(value) for value in (failed.type, failed.code, failed.request_id)),
        failed.attempts,
    )
    if isinstance(failed, TooManyRequestsException):
        wait = failed.retry_after  # finite and not negative, or None
        seconds = (
            FALLBACK_RETRY_SECONDS if wait is None else min(MAX_RETRY_SECONDS, math.ceil(wait))
        )
        return error_reply(
            503,
            "upstream_rate_limited",
            f"The voice service is busy; try again in {seconds} s.",
            request_id=failed.request_id,
            retry_after=seconds,
        )
    return error_reply(
        502,
        "upstream_error",
        f"OpenAI refused to {doing} (HTTP {failed.status}).",
        request_id=failed.request_id,
    )


def _transport_failure(failed: ApiTransportError) -> Reply:
    """No answer from OpenAI: 504 for a timeout, 502 otherwise."""
    LOG.warning("upstream unreachable: %s", _shown(failed))
    if isinstance(failed, ApiTimeoutError):
        return error_reply(504, "upstream_timeout", "OpenAI did not answer in time; try again.")
    return error_reply(502, "upstream_unreachable", "Could not reach OpenAI; try again later.")


def _method_not_allowed(allow: str) -> Reply:
    reply = error_reply(405, "method_not_allowed", f"Use {allow}.")
    reply.headers.append(("Allow", allow))
    return reply


def _client(environ: WSGIEnviron) -> str:
    """The peer address. Behind a reverse proxy, derive it from a header your proxy sets."""
    return printable(str(environ.get("REMOTE_ADDR", "unknown")), 64)


def printable(text: str, limit: int) -> str:
    """``text`` safe for a log line: control and non-ASCII characters escaped, at most
    ``limit`` characters, so a client cannot forge lines or send terminal escapes."""
    escaped = text[:limit].encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in escaped)
    return escaped + ("..." if len(text) > limit else "")


def _shown(value: object) -> str:
    """A value from upstream (ids, names, error text) made safe for the log."""
    return printable(str(value), 200)


def _host_name(host: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8000`` -> ``::1``), lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _content_security_policy(realtime_url: str) -> str:
    """Scripts and styles from this server only; fetches to it and the Realtime API only."""
    parts = urlsplit(realtime_url)
    realtime_origin = f"{parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; "
        f"connect-src 'self' {realtime_origin}; media-src 'self' blob: mediastream:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


# -- serving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServeOptions:
    """How waitress serves the broker. Every limit is set here on purpose, not left to
    waitress's defaults (100 connections, 120 s idle timeout checked every 30 s).

    Idle connections cost waitress a socket, not a thread: only complete requests reach the
    ``threads``. A connection silent for ``idle_timeout_seconds`` is closed at the next
    sweep, at most ``cleanup_interval_seconds`` later (35 s by default). Beyond
    ``connection_limit`` open connections new ones wait in the ``backlog``. Keep
    ``ulimit -n`` above ``connection_limit``; ``poll()`` is used, as ``select()`` cannot
    watch more than 1024 descriptors.
    """

    threads: int = 8
    connection_limit: int = 1000
    idle_timeout_seconds: float = 30.0
    cleanup_interval_seconds: float = 5.0
    backlog: int = 1024
    max_request_header_bytes: int = 16 * 1024
    max_request_body_bytes: int = 64 * 1024

    def waitress_settings(self) -> dict[str, Any]:
        """The same limits under waitress's names."""
        return {
            "threads": self.threads,
            "connection_limit": self.connection_limit,
            "channel_timeout": self.idle_timeout_seconds,
            "cleanup_interval": self.cleanup_interval_seconds,
            "backlog": self.backlog,
            "max_request_header_size": self.max_request_header_bytes,
            "max_request_body_size": self.max_request_body_bytes,
            # select(), waitress's default, fails on descriptors above 1023: poll() does not.
            "asyncore_use_poll": True,
            "ident": "token-broker",
            "expose_tracebacks": False,
        }


class CannotListenError(Exception):
    """The broker's address cannot be bound: the port is taken, or not ours to use."""

    def __init__(self, host: str, port: int, refused: OSError) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {refused.strerror or refused}")


class BrokerServer:
    """The broker on waitress: bound on creation, serving in :meth:`run` until :meth:`stop`."""

    def __init__(self, app: Broker, host: str, port: int, options: ServeOptions) -> None:
        self._map: dict[int, Any] = {}
        try:
            self._server = waitress.create_server(
                app, map=self._map, host=host, port=port, **options.waitress_settings()
            )
        except OSError as refused:
            raise CannotListenError(host, port, refused) from None
        self.host = str(self._server.effective_host)
        self.port = int(self._server.effective_port)
        app.serve_on("http", self.port)

    @property
    def url(self) -> str:
        return f"http://{_bracketed(self.host)}:{self.port}"

    def run(self) -> None:
        """Serve until :meth:`stop` (from another thread), Ctrl-C or SIGTERM."""
        try:
            self._server.run()
        finally:
            self._server.task_dispatcher.shutdown()

    def stop(self) -> None:
        """Close the listener and every connection; :meth:`run` then returns."""
        # The loop's own thread closes everything, so no socket is closed under its feet.
        try:
            self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._map))
        except OSError:
            # Its wake-up pipe is already closed (seen, rarely, when many servers start and
            # stop in one process): close from here; the loop ends once its map is empty.
            wasyncore.close_all(self._map)


def create_app(config: BrokerConfig, configuration: Configuration) -> tuple[Broker, ApiClient]:
    """The application and the SDK client it uses (close it when done)."""
    upstream = copy.copy(configuration)
    upstream.timeout = config.upstream_timeout_seconds
    upstream.deadline = config.upstream_deadline_seconds
    upstream.retries = RetryPolicy(
        total=config.upstream_retries, max_retry_after=config.max_retry_wait_seconds
    )
    client = ApiClient(upstream)
    return Broker(config, RealtimeApi(client)), client


def create_server(
    app: Broker, host: str, port: int, options: ServeOptions | None = None
) -> BrokerServer:
    """A bound, not yet serving, waitress server for ``app``."""
    return BrokerServer(app, host, port, options or ServeOptions())


def make_wsgi_app() -> Broker:
    """The broker for another WSGI server, e.g. ``gunicorn 'server:make_wsgi_app()'``.

    Reads ``$TOKEN_BROKER_CONFIG`` (default: config.json here) and the ``OPENAI_*``
    variables. Its own origins are unknown there: list the page's in ``allowed_origins``.
    """
    config = BrokerConfig.load(Path(os.environ.get("TOKEN_BROKER_CONFIG", DEFAULT_CONFIG)))
    configuration = Configuration()
    if not configuration.access_token:
        raise SystemExit("set OPENAI_API_KEY")
    return create_app(config, configuration)[0]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line flags; each one overrides the same setting from the config file."""
    parser = argparse.ArgumentParser(description="Mint ephemeral Realtime keys for browsers.")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="JSON config file")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    parser.add_argument("--mock", action="store_true", help="use a local fake OpenAI, no key")
    parser.add_argument("--model", help="model of every session")
    parser.add_argument("--instructions", help="instructions of every session")
    parser.add_argument("--voices", help="comma-separated voices the browser may choose from")
    parser.add_argument("--allow-origin", action="append", help="another allowed origin")
    parser.add_argument(
        "--allow-host", action="append", help="a host name to serve (replaces the loopback ones)"
    )
    parser.add_argument("--retries", type=int, help="retries of a failed call to OpenAI")
    parser.add_argument(
        "--realtime-url", help="where pages post their offers: {realtime_url}/calls"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> BrokerConfig:
    """The config file with the flags applied on top."""
    config = BrokerConfig.load(args.config)
    for flag in ("model", "instructions", "realtime_url"):
        _refuse_empty(flag, getattr(args, flag))
    for voice in [] if args.voices is None else args.voices.split(","):
        _refuse_empty("voices", voice)
    changes: dict[str, Any] = {}
    if args.model is not None:
        changes["model"] = args.model
    if args.instructions is not None:
        changes["instructions"] = args.instructions
    if args.voices is not None:
        changes["voices"] = tuple(voice.strip() for voice in args.voices.split(","))
        changes["default_voice"] = ""
    if args.allow_origin:
        changes["allowed_origins"] = (*config.allowed_origins, *args.allow_origin)
    if args.allow_host:
        changes["allowed_hosts"] = tuple(args.allow_host)
    if args.retries is not None:
        changes["upstream_retries"] = args.retries
    if args.realtime_url is not None:
        changes["realtime_url"] = args.realtime_url.rstrip("/")
    return dataclasses.replace(config, **changes) if changes else config


def _refuse_empty(flag: str, value: str | None) -> None:
    """An empty flag (or item of a list) is a mistake, often an unset shell variable: say so."""
    if value is not None and not value.strip():
        raise ValueError(f"invalid --{flag.replace('_', '-')}: must not be empty")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the broker until interrupted (Ctrl-C or SIGTERM)."""
    args = parse_args(argv)
    configure_logging(args.log_level)
    try:
        config = config_from_args(args)
    except (OSError, ValueError) as invalid:
        LOG.error("bad configuration: %s", invalid)
        return 2
    mock = None
    if args.mock:
        mock = _start_mock()
        configuration = Configuration(
            host=mock.url,
            access_token="sk-mock-local-only",  # noqa: S106 (the mock accepts any key)
            ignore_environment=True,
        )
        config = dataclasses.replace(config, realtime_url=f"{mock.url}/realtime")
    else:
        configuration = Configuration()
        if not configuration.access_token:
            LOG.error("set OPENAI_API_KEY (or use --mock to try it offline)")
            return 2
    app, client = create_app(config, configuration)
    try:
        server = create_server(app, args.host, args.port)
    except CannotListenError as refused:
        print(f"token broker: {refused}", file=sys.stderr)
        _close(app, client, mock)
        return 1
    signal.signal(signal.SIGTERM, _exit_on_signal)
    upstream = "a local mock" if mock else configuration.host
    print(f"Token broker on {server.url}/ (upstream: {upstream})", flush=True)
    LOG.info("model=%s voices=%s", config.model, ",".join(config.voices))
    try:
        server.run()  # waitress stops on Ctrl-C or SIGTERM (SystemExit) by itself
    except KeyboardInterrupt:
        pass
    finally:
        _close(app, client, mock)
    return 0


def _close(app: Broker, client: ApiClient, mock: Any) -> None:
    """Let go of what :func:`main` opened: the sidebands, the client and the local mock."""
    if app.sidebands is not None:
        app.sidebands.close_all()
    client.close()
    if mock is not None:
        mock.stop()


def configure_logging(level: str) -> None:
    """The broker's log at ``level``; the WebRTC and WebSocket libraries' chatter (each ICE
    check, each connection) only from WARNING on, unless ``level`` is DEBUG."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for chatty in ("aioice", "websockets"):
            logging.getLogger(chatty).setLevel(logging.WARNING)


def _start_mock() -> Any:
    """A local fake OpenAI; with the ``webrtc`` extra its calls are real WebRTC calls."""
    import importlib.util

    from openapiopenai.mock import MockServer

    webrtc = importlib.util.find_spec("aiortc") is not None
    if not webrtc:
        LOG.warning("no aiortc: calls get a canned answer; %s", install_hint("aiortc", "webrtc"))
    mock = MockServer(webrtc=webrtc)
    mock.start()
    return mock


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
