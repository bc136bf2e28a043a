"""The broker's WSGI application: the page and its settings, ``POST /session`` (a client
secret), ``POST /call`` (the call opened from here) and ``POST /hangup``, behind the Host and
Origin allowlists, the rate limit and the size limits."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from broker_config import BrokerConfig
from broker_http import (
    SDP_TYPE,
    RateLimiter,
    Refusal,
    Reply,
    StartResponse,
    WSGIEnviron,
    bracketed,
    client_address,
    content_security_policy,
    error_reply,
    host_name,
    json_reply,
    method_not_allowed,
    printable,
    query_params,
    read_hangup,
    read_json_object,
    read_offer,
    shown,
)
from call_registry import CallRegistry, short_call_id
from call_tools import TOOLS
from sideband import Sidebands

from openapiopenai import (
    ApiException,
    ApiTimeoutError,
    ApiTransportError,
    NotFoundException,
    RealtimeApi,
    TooManyRequestsException,
)
from openapiopenai.models import RealtimeCreateClientSecretRequest, RealtimeSessionCreateRequestGA

HERE = Path(__file__).resolve().parent
LOG = logging.getLogger("token_broker")
ACCESS_LOG = logging.getLogger("token_broker.access")

#: Fields of the browser's JSON body that it is allowed to set; anything else is refused.
BROWSER_FIELDS = frozenset({"voice"})
#: Told to the browser when OpenAI rate limits us without saying for how long.
FALLBACK_RETRY_SECONDS = 5
#: The longest wait passed on to the browser, whatever OpenAI asks.
MAX_RETRY_SECONDS = 3600
#: The longest a call lasts (OpenAI ends sessions after 60 minutes): its sideband closes then.
CALL_TIME_LIMIT_SECONDS = 3600.0
STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}


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
        self._page_policy = content_security_policy(config.realtime_url)
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
            f"{scheme}://{bracketed(host)}:{port}" for host in self.config.allowed_hosts
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
            client_address(environ),
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
        if host_name(host) not in self.config.allowed_hosts:
            LOG.warning("refused host %s from %s", printable(host, 100), client_address(environ))
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
                return method_not_allowed("GET")
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
                reply = method_not_allowed("POST, OPTIONS")
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
        LOG.warning(
            "refused origin %s from %s", printable(str(origin), 100), client_address(environ)
        )
        raise Refusal(error_reply(403, "origin_not_allowed", "This origin may not call here."))

    def preflight(self, environ: WSGIEnviron) -> Reply:
        """Answer the browser's CORS preflight for a JSON POST."""
        if environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "POST") != "POST":
            return method_not_allowed("POST, OPTIONS")
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
        client = client_address(environ)
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
        voice = self.read_voice(read_json_object(environ, self.config.max_body_bytes))
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
            *(shown(value) for value in (answer.request_id, voice)),
            secret.expires_at,
            client_address(environ),
        )
        return json_reply(200, {"value": secret.value, "expires_at": secret.expires_at})

    def open_call(self, environ: WSGIEnviron) -> Reply:
        """The server-side flow: post the page's SDP offer to OpenAI with the server's key and
        session, and hand back the SDP answer and the call id. No key reaches the page."""
        voice = self.read_voice(query_params(environ))
        offer = read_offer(environ, self.config.max_offer_bytes)
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
            *(shown(value) for value in (short_call_id(call_id), answer.request_id, voice)),
            client_address(environ),
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
        call_id, token = read_hangup(read_json_object(environ, self.config.max_body_bytes))
        if not self.calls.holds(call_id, token):
            LOG.warning(
                "refused hangup of call_id=%s client=%s",
                shown(short_call_id(call_id)),
                client_address(environ),
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
            *(shown(value) for value in (short_call_id(call_id), answer.request_id)),
            client_address(environ),
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


def _upstream_failure(failed: ApiException, doing: str) -> Reply:
    """OpenAI answered with an error: tell the browser what it can act on, never the key."""
    LOG.warning(
        "upstream refused status=%s type=%s code=%s request_id=%s attempts=%s",
        failed.status,
        *(shown(value) for value in (failed.type, failed.code, failed.request_id)),
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
    LOG.warning("upstream unreachable: %s", shown(failed))
    if isinstance(failed, ApiTimeoutError):
        return error_reply(504, "upstream_timeout", "OpenAI did not answer in time; try again.")
    return error_reply(502, "upstream_unreachable", "Could not reach OpenAI; try again later.")
