"""A faithful local fake of OpenAI's Realtime HTTP API, on a real loopback HTTP server.

Use it to try the SDK with no key and no network, and to test your own code::

    from openapiopenai.mock import MockServer

    with MockServer() as base_url:   # e.g. "http://127.0.0.1:49152/v1"
        ...

It serves every Realtime operation the way the service does: ``POST /realtime/client_secrets``
(a fresh ``ek_...`` key and the session echoed in the GA shape with the service's defaults),
``POST /realtime/calls`` (201, an SDP answer and ``Location: /v1/realtime/calls/rtc_...``),
``accept``/``hangup``/``refer``/``reject`` on a call it knows (200; 404 for one it does not),
``/realtime/transcription_sessions``, ``/realtime/translations/client_secrets`` and the older
``/realtime/sessions``. It answers 401 without a Bearer token, 400 naming the offending field
(``error.param`` is a dotted path) for an invalid body, 404 for an unknown path and 405 for a
wrong method. Like the service, it answers 400 "Unknown parameter" for a field it does not
know, even one sent on purpose with ``with_additional_properties()``; script the answer with
``respond_next`` to test such a request. Every answer has an ``x-request-id``.

It remembers what it did, for assertions: ``requests`` (the last ``history`` requests),
``minted(value)`` (the keys it issued), ``calls`` (each call and what was done to it). A SIP call
is played with ``incoming_call()`` or ``send_incoming_call(url, secret=...)``, which also posts
the signed ``realtime.call.incoming`` webhook. Faults can be scripted for the next requests:
error statuses with ``Retry-After``, delays, a hang, a reset connection or a truncated body.

``MockServer(webrtc=True)`` (needs the ``webrtc`` extra) answers ``POST /realtime/calls`` with a
real WebRTC peer (:mod:`openapiopenai.mock.webrtc`) instead of a canned SDP answer: a browser can
then hold a call with it on loopback. ``session.created`` reports the session the key was minted
for (or the one sent with the offer), ``hangup`` and the key's expiry end the call. Like the
service, that endpoint answers a browser's CORS preflight, so a page on another origin can call it.

The same URL speaks the Realtime WebSocket protocol (``GET /v1/realtime?model=...`` with an
Upgrade, ``?call_id=``, ``?intent=transcription``, ``/v1/realtime/translations``; needs the
``realtime`` extra): see :mod:`openapiopenai.mock.realtime_ws`, scripted through
``mock.realtime``.
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import socket
import struct
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

from pydantic import ValidationError

from openapiopenai.exceptions import ApiValidationError, ApiValueError, FieldError, install_hint
from openapiopenai.mock import _shapes
from openapiopenai.mock._shapes import (
    REALTIME_SESSION_DEFAULTS,
    TRANSCRIPTION_SESSION_DEFAULTS,
    canned_answer,
)
from openapiopenai.mock.realtime_ws import RealtimeMock
from openapiopenai.models.openapi_model import OpenApiModel, RequestModel
from openapiopenai.models.realtime_call_refer_request import RealtimeCallReferRequest
from openapiopenai.models.realtime_call_reject_request import RealtimeCallRejectRequest
from openapiopenai.models.realtime_create_client_secret_request import (
    RealtimeCreateClientSecretRequest,
)
from openapiopenai.models.realtime_session_create_request import RealtimeSessionCreateRequest
from openapiopenai.models.realtime_session_create_request_ga import (
    RealtimeSessionCreateRequestGA,
)
from openapiopenai.models.realtime_transcription_session_create_request import (
    RealtimeTranscriptionSessionCreateRequest,
)
from openapiopenai.models.realtime_translation_client_secret_create_request import (
    RealtimeTranslationClientSecretCreateRequest,
)

if TYPE_CHECKING:
    from openapiopenai.mock.webrtc import WebRtcAnswerer

SESSIONS_PATH = "/v1/realtime/sessions"
CLIENT_SECRETS_PATH = "/v1/realtime/client_secrets"
CALLS_PATH = "/v1/realtime/calls"
TRANSCRIPTION_SESSIONS_PATH = "/v1/realtime/transcription_sessions"
TRANSLATION_CLIENT_SECRETS_PATH = "/v1/realtime/translations/client_secrets"
#: What can be done to a call: ``POST /v1/realtime/calls/{call_id}/<action>``.
CALL_ACTIONS = ("accept", "hangup", "refer", "reject")
#: The incoming SIP call that ``python -m openapiopenai.mock`` (and the CLI's ``--mock``) has
#: waiting from the start, so the documented accept/refer/reject/hangup examples find a call.
DEMO_CALL_ID = "rtc_mock_sip_call"
#: Largest request body the mock reads; a longer one gets 413.
MAX_BODY_BYTES = 1024 * 1024

#: Lifetime of a key from ``/realtime/sessions`` and ``/realtime/transcription_sessions``.
DEFAULT_KEY_LIFETIME = 60
#: Lifetime of a client secret when ``expires_after`` is not given.
DEFAULT_CLIENT_SECRET_LIFETIME = 600
#: The SIP status a rejected call gets when the request names none (603 Decline).
DEFAULT_REJECT_STATUS = 603
#: How many requests, keys and calls the mock remembers by default (the oldest go first).
DEFAULT_HISTORY = 10_000

#: What the service fills in when a ``/realtime/sessions`` request leaves a field out.
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

#: Makes the SDP answer of ``POST /realtime/calls``: ``(offer_sdp, session, call_id) -> answer``.
#: ``session`` is the effective session (the service's defaults filled in).
Answerer = Callable[[str, Mapping[str, Any], str], str]

Answer = tuple[int, dict[str, str], bytes]
_Model = TypeVar("_Model", bound=RequestModel)


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


@dataclass(frozen=True)
class MintedKey:
    """An ephemeral key the mock issued, and the session it is bound to."""

    value: str = field(repr=False)  # a credential: kept out of repr
    expires_at: int
    session: Mapping[str, Any]
    #: The path that minted it, e.g. ``/v1/realtime/client_secrets``.
    path: str


@dataclass
class MockCall:
    """A call the mock knows (created over WebRTC or arrived over SIP) and what was done to it.

    ``actions`` lists every control request in order, as ``(action, detail)``: ``("accept",
    session as sent)``, ``("refer", target_uri)``, ``("reject", sip_status)``, ``("hangup",
    None)``; the other fields hold the latest of each.
    """

    call_id: str
    #: ``"webrtc"`` (``POST /realtime/calls``) or ``"sip"`` (:meth:`MockServer.incoming_call`).
    origin: str
    #: The effective session of a WebRTC call; ``None`` for a SIP call until it is accepted.
    session: Mapping[str, Any] | None = None
    offer: str | None = None
    answer: str | None = None
    sip_headers: list[dict[str, str]] = field(default_factory=list)
    accepted_with: Mapping[str, Any] | None = None
    referred_to: str | None = None
    rejected_with: int | None = None
    hung_up: bool = False
    actions: list[tuple[str, Any]] = field(default_factory=list)


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


#: What the mock's 404 for a call adds to the service's words: how a test makes one.
UNKNOWN_CALL_HINT = (
    "This mock knows the calls made by POST /realtime/calls and the SIP calls made to arrive"
    " with mock.incoming_call(call_id); `python -m openapiopenai.mock` starts with one waiting,"
    f" {DEMO_CALL_ID}, a MockServer() in your own process with none."
)


class _Refused(Exception):
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
        self.answer = _error(status, message, kind, param=param, code=code)


@dataclass(frozen=True)
class _Incoming:
    """A request on its way through :meth:`MockServer.answer`."""

    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    token: str
    call_id: str | None = None


class MockServer:
    """A threaded HTTP/1.1 server on loopback that imitates OpenAI's Realtime HTTP API.

    :param host: address to listen on (loopback by default).
    :param port: port; 0 picks a free one.
    :param api_key: if given, only this Bearer token is accepted (and, on
        ``POST /realtime/calls``, an unexpired ``ek_`` key this mock issued); otherwise any
        non-empty one, except an ``ek_`` key on ``/realtime/calls`` that it did not issue.
    :param answerer: makes the SDP answer of ``POST /realtime/calls`` from
        ``(offer_sdp, session, call_id)``; the default is a canned, well-formed answer.
    :param webrtc: answer ``POST /realtime/calls`` with a real WebRTC call instead (the
        ``webrtc`` extra); ``hangup`` and the key's expiry end it. Excludes ``answerer``.
    :param history: how many requests, issued keys and calls to remember (the oldest go first).
    :param clock: the time source (seconds since the epoch) for expiry: tests can move it on.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        *,
        answerer: Answerer | None = None,
        webrtc: bool = False,
        history: int = DEFAULT_HISTORY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(history, bool) or not isinstance(history, int) or history < 1:
            raise ApiValueError(f"history must be a positive int, not {history!r}")
        if webrtc and answerer is not None:
            raise ApiValueError("pass either answerer or webrtc=True, not both")
        if webrtc and importlib.util.find_spec("aiortc") is None:
            raise ApiValueError(
                "webrtc=True needs aiortc, which is not installed: "
                + install_hint("aiortc", "webrtc")
            )
        self.webrtc = webrtc
        self._rtc: WebRtcAnswerer | None = None
        self._rtc_lock = threading.Lock()
        self.api_key = api_key
        self.answerer: Answerer = answerer or canned_answer
        self.history = history
        self.clock = clock
        self.requests: list[RecordedRequest] = []
        self._keys: OrderedDict[str, MintedKey] = OrderedDict()
        self._calls: OrderedDict[str, MockCall] = OrderedDict()
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.realtime = RealtimeMock(self)
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
        self.realtime.close_all()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        with self._rtc_lock:
            rtc, self._rtc = self._rtc, None
        if rtc is not None:
            rtc.close()

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
        """Forget recorded requests and pending scripted behaviours (WebSocket ones too)."""
        with self._lock:
            self.requests.clear()
            self._script.clear()
        self.realtime.clear()

    # -- state: keys and calls -------------------------------------------------------------

    def minted(self, value: str) -> MintedKey | None:
        """The ephemeral key ``value`` if this mock issued it (expired or not), else ``None``."""
        with self._lock:
            return self._keys.get(value)

    @property
    def calls(self) -> dict[str, MockCall]:
        """The calls this mock knows, by call id, oldest first."""
        with self._lock:
            return dict(self._calls)

    def incoming_call(
        self, call_id: str | None = None, sip_headers: Mapping[str, str] | None = None
    ) -> str:
        """Make a SIP call arrive: the mock knows it from now on. Returns its call id.

        ``sip_headers`` (a mapping, or ``(name, value)`` pairs when a name repeats) default to
        those of :func:`~openapiopenai.mock.webhook_sender.send_call_incoming`.
        """
        from openapiopenai.mock.webhook_sender import call_incoming_event

        if call_id is None:
            call_id = _shapes.new_id("rtc_")
        if not isinstance(call_id, str) or not call_id or "/" in call_id:
            raise ApiValueError("call_id must be a non-empty str without '/'")
        headers = call_incoming_event(call_id, sip_headers)["data"]["sip_headers"]
        self._remember_call(MockCall(call_id, "sip", sip_headers=headers))
        return call_id

    def send_incoming_call(
        self,
        url: str,
        *,
        secret: str,
        call_id: str | None = None,
        sip_headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
    ) -> tuple[int, str]:
        """Play OpenAI's part in a SIP call: register it (:meth:`incoming_call`), then POST
        the ``realtime.call.incoming`` webhook signed with ``secret`` to ``url``.

        Returns the webhook endpoint's HTTP status and the call id, which ``accept``,
        ``reject``, ``refer`` and ``hangup`` then find.
        """
        from openapiopenai.mock.webhook_sender import send_call_incoming

        call_id = self.incoming_call(call_id, sip_headers)
        return send_call_incoming(
            url, secret=secret, call_id=call_id, sip_headers=sip_headers, timeout=timeout
        )

    def _remember_key(self, key: MintedKey) -> None:
        with self._lock:
            _bounded_put(self._keys, key.value, key, self.history)

    def _remember_call(self, call: MockCall) -> None:
        with self._lock:
            _bounded_put(self._calls, call.call_id, call, self.history)

    def _mint(self, path: str, session: Mapping[str, Any], lifetime: int) -> MintedKey:
        key = MintedKey(_shapes.new_key(), int(self.clock()) + lifetime, session, path)
        self._remember_key(key)
        return key

    # -- answering -------------------------------------------------------------------------

    def _next_behaviour(self) -> Scripted | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            if len(self.requests) > self.history:
                del self.requests[0]

    def answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """The service's answer to a request: status, headers, body."""
        route = _route(path.split("?")[0])
        if route is None:
            return _error(404, f"Invalid URL ({method} {path!s})", "invalid_request_error")
        handler_name, call_id = route
        lowered = {name.lower(): value for name, value in headers.items()}
        cors = _cors(lowered) if handler_name == "_create_call" else {}
        if cors and method == "OPTIONS" and "access-control-request-method" in lowered:
            return 204, {**cors, **CORS_PREFLIGHT}, b""
        if method != "POST":
            status, extra, payload = _error(
                405, f"Method {method} not allowed", "invalid_request_error"
            )
            return status, {**extra, "Allow": "POST"}, payload
        status, extra, payload = self._dispatch(handler_name, lowered, body, call_id)
        return status, {**extra, **cors}, payload

    def _dispatch(
        self, handler_name: str, lowered: Mapping[str, str], body: bytes, call_id: str | None
    ) -> Answer:
        """Authenticate, then run the operation's handler; any failure becomes an error body."""
        token = _bearer_token(lowered.get("authorization", ""))
        try:
            self._check_auth(token, ephemeral_ok=handler_name == "_create_call")
            handler: Callable[[_Incoming], Answer] = getattr(self, handler_name)
            return handler(_Incoming(lowered, body, token, call_id))
        except _Refused as refused:
            return refused.answer
        except Exception:  # a bug here must still answer, as the service does: 500
            return _error(
                500, "The server had an error while processing your request.", "server_error"
            )

    def _check_auth(self, token: str, *, ephemeral_ok: bool) -> None:
        if not token:
            raise _Refused(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        if ephemeral_ok and token.startswith("ek_"):
            key = self.minted(token)
            if key is None or key.expires_at <= self.clock():
                raise _Refused(
                    401, "Invalid or expired ephemeral key provided.", code="invalid_api_key"
                )
            return
        if self.api_key is not None and token != self.api_key:
            raise _Refused(401, "Incorrect API key provided.", code="invalid_api_key")

    # -- the operations --------------------------------------------------------------------

    def _create_session(self, incoming: _Incoming) -> Answer:
        request = _parse(RealtimeSessionCreateRequest, _required(incoming.body))
        session = _session(request, self.clock())
        secret = session["client_secret"]
        self._remember_key(MintedKey(secret["value"], secret["expires_at"], session, SESSIONS_PATH))
        return _json(200, session)

    def _create_client_secret(self, incoming: _Incoming) -> Answer:
        asked = _parse(RealtimeCreateClientSecretRequest, _required(incoming.body)).to_dict()
        session = _shapes.ga_session(asked.get("session") or {"type": "realtime"})
        lifetime = _lifetime(asked, DEFAULT_CLIENT_SECRET_LIFETIME)
        key = self._mint(CLIENT_SECRETS_PATH, session, lifetime)
        return _json(200, {"value": key.value, "expires_at": key.expires_at, "session": session})

    def _create_transcription_session(self, incoming: _Incoming) -> Answer:
        request = _parse(RealtimeTranscriptionSessionCreateRequest, _required(incoming.body))
        session = _shapes.legacy_transcription_session(request.to_dict())
        key = self._mint(TRANSCRIPTION_SESSIONS_PATH, session, DEFAULT_KEY_LIFETIME)
        session["expires_at"] = key.expires_at
        session["client_secret"] = {"value": key.value, "expires_at": key.expires_at}
        return _json(200, session)

    def _create_translation_client_secret(self, incoming: _Incoming) -> Answer:
        model = RealtimeTranslationClientSecretCreateRequest
        asked = _parse(model, _required(incoming.body)).to_dict()
        lifetime = _lifetime(asked, DEFAULT_CLIENT_SECRET_LIFETIME)
        expires_at = int(self.clock()) + lifetime
        session = _shapes.translation_session(asked["session"], expires_at)
        key = MintedKey(_shapes.new_key(), expires_at, session, TRANSLATION_CLIENT_SECRETS_PATH)
        self._remember_key(key)
        return _json(200, {"value": key.value, "expires_at": expires_at, "session": session})

    def _create_call(self, incoming: _Incoming) -> Answer:
        offer, asked = _call_offer(incoming.headers, incoming.body)
        if asked is not None:
            session: Mapping[str, Any] = _shapes.ga_session(asked)
        elif incoming.token.startswith("ek_"):
            session = self._keys_session(incoming.token)
        else:
            session = _shapes.ga_session({"type": "realtime"})
        call_id = _shapes.new_id("rtc_")
        try:
            answer = self._answer_offer(offer, session, call_id, incoming.token)
        except _Refused:
            raise
        except Exception:  # a plugged-in answerer failed: the service's side of the exchange
            raise _Refused(
                500, "The server had an error while processing your request.", kind="server_error"
            ) from None
        self._remember_call(MockCall(call_id, "webrtc", session, offer, answer))
        headers = {"Content-Type": "application/sdp", "Location": f"{CALLS_PATH}/{call_id}"}
        return 201, headers, answer.encode()

    def _answer_offer(
        self, offer: str, session: Mapping[str, Any], call_id: str, token: str
    ) -> str:
        """The SDP answer: from the plugged-in answerer, or from a real call with ``webrtc``."""
        if not self.webrtc:
            return self.answerer(offer, session, call_id)
        from openapiopenai.mock.webrtc import InvalidOfferError

        key = self.minted(token) if token.startswith("ek_") else None
        # The answerer counts in real time; the key's expiry is on this mock's clock.
        expires_at = None if key is None else time.time() + (key.expires_at - self.clock())
        try:
            return self._webrtc_answerer().answer(
                offer, session, call_id=call_id, expires_at=expires_at
            )
        except InvalidOfferError as invalid:
            raise _Refused(
                400, f"Invalid SDP offer: {invalid}", param="sdp", code="invalid_offer"
            ) from None

    def _webrtc_answerer(self) -> WebRtcAnswerer:
        """The one WebRTC answerer of this mock, started on first use, closed by ``stop``."""
        from openapiopenai.mock.webrtc import WebRtcAnswerer

        with self._rtc_lock:
            if self._rtc is None:
                self._rtc = WebRtcAnswerer()
            return self._rtc

    def _keys_session(self, token: str) -> Mapping[str, Any]:
        key = self.minted(token)
        return key.session if key is not None else _shapes.ga_session({"type": "realtime"})

    def _accept_call(self, incoming: _Incoming) -> Answer:
        asked = _parse(RealtimeSessionCreateRequestGA, _required(incoming.body)).to_dict()
        with self._known_call(incoming) as call:
            call.accepted_with = asked
            call.session = _shapes.ga_session(asked)
            call.actions.append(("accept", asked))
        return _empty_ok()

    def _hangup_call(self, incoming: _Incoming) -> Answer:
        with self._known_call(incoming) as call:
            call.hung_up = True
            call.actions.append(("hangup", None))
        with self._rtc_lock:
            rtc = self._rtc
        if rtc is not None:
            rtc.hangup(call.call_id)  # ends the real call, if it is still on
        self.realtime.call_ended(call.call_id)
        return _empty_ok()

    def _refer_call(self, incoming: _Incoming) -> Answer:
        target = _parse(RealtimeCallReferRequest, _required(incoming.body)).target_uri
        with self._known_call(incoming) as call:
            call.referred_to = target
            call.actions.append(("refer", target))
        self.realtime.call_ended(call.call_id)  # the caller has been handed elsewhere
        return _empty_ok()

    def _reject_call(self, incoming: _Incoming) -> Answer:
        request = _parse(RealtimeCallRejectRequest, incoming.body or b"{}")
        status = request.status_code if request.status_code is not None else DEFAULT_REJECT_STATUS
        with self._known_call(incoming) as call:
            call.rejected_with = status
            call.actions.append(("reject", status))
        return _empty_ok()

    def _known_call(self, incoming: _Incoming) -> _CallUpdate:
        """The call the path names, locked for an update; 404 if the mock does not know it."""
        call_id = incoming.call_id or ""
        with self._lock:
            call = self._calls.get(call_id)
        if call is None:
            raise _Refused(404, f"No call found with id '{call_id}'. {UNKNOWN_CALL_HINT}")
        return _CallUpdate(self._lock, call)


class _CallUpdate:
    """``with``: holds the mock's lock while a call's record changes."""

    def __init__(self, lock: threading.Lock, call: MockCall) -> None:
        self._lock = lock
        self._call = call

    def __enter__(self) -> MockCall:
        self._lock.acquire()
        return self._call

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


def _route(path: str) -> tuple[str, str | None] | None:
    """The handler for ``path`` and, for call control, the call id (percent-decoded once)."""
    exact = {
        SESSIONS_PATH: "_create_session",
        CLIENT_SECRETS_PATH: "_create_client_secret",
        CALLS_PATH: "_create_call",
        TRANSCRIPTION_SESSIONS_PATH: "_create_transcription_session",
        TRANSLATION_CLIENT_SECRETS_PATH: "_create_translation_client_secret",
    }
    if path in exact:
        return exact[path], None
    prefix = CALLS_PATH + "/"
    if path.startswith(prefix):
        segments = path[len(prefix) :].split("/")
        if len(segments) == 2 and segments[1] in CALL_ACTIONS:
            return f"_{segments[1]}_call", unquote(segments[0])
    return None


def _parse(model: type[_Model], body: bytes, prefix: str = "") -> _Model:
    """``body`` read as JSON into the strict request ``model``, or a 400 naming the field."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        raise _Refused(
            400, "We could not parse the JSON body of your request.", param=prefix or None
        ) from None
    if isinstance(data, dict):
        _check_tags(model, data, prefix)
        _fill_default_types(data)
    try:
        request = model.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as invalid:
        problem = ApiValidationError.from_pydantic("request", invalid, show_input=False)
        raise _invalid(problem.errors[0], prefix) from None
    null = _null_where_not_nullable(request)
    if null is not None:
        field_path = f"{prefix}.{null}" if prefix else null
        raise _Refused(
            400,
            f"Invalid value for '{field_path}': null is not allowed here; leave the field out.",
            param=field_path,
            code="invalid_type",
        )
    return request


def _check_tags(model: type[RequestModel], data: Mapping[str, Any], prefix: str) -> None:
    """The service needs the ``type`` of a session (the SDK's model fills it in when unset)."""
    for name in model.__constants__:
        if name not in data:
            field_path = f"{prefix}.{name}" if prefix else name
            raise _Refused(
                400,
                f"Missing required parameter: '{field_path}'.",
                param=field_path,
                code="missing_required_parameter",
            )


def _null_where_not_nullable(model: OpenApiModel, path: str = "") -> str | None:
    """The dotted path of the first field sent as ``null`` that the spec does not let be null.

    The SDK's models read such a ``null`` as "not set"; the service refuses it.
    """
    fields = type(model).model_fields
    for name in model.model_fields_set:
        info = fields.get(name)
        if info is None:
            continue
        where = f"{path}{info.alias or name}"
        value = getattr(model, name)
        if value is None and info.exclude_if is not None:
            return where
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, OpenApiModel):
                inner = f"{where}.{index}." if isinstance(value, list) else f"{where}."
                found = _null_where_not_nullable(item, inner)
                if found is not None:
                    return found
    return None


def _fill_default_types(node: Any) -> None:
    """Add the default ``type`` where the spec makes it optional but the SDK's union needs it.

    Every member of the audio format union has an optional ``type`` and PCM is the default, so
    ``{}`` or ``{"rate": 24000}`` is PCM; a tool without ``type`` is a function tool.
    """
    if not isinstance(node, dict):
        return
    _fill_default_types(node.get("session"))
    audio = node.get("audio")
    for side in ("input", "output"):
        direction = audio.get(side) if isinstance(audio, dict) else None
        audio_format = direction.get("format") if isinstance(direction, dict) else None
        if isinstance(audio_format, dict):
            audio_format.setdefault("type", "audio/pcm")
    tools = node.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        if isinstance(tool, dict):
            tool.setdefault("type", "function")


def _invalid(first: FieldError, prefix: str) -> _Refused:
    """The service's 400 for the first problem found; ``param`` is the dotted field path."""
    if first.field == "(root)":
        message = "We could not parse the JSON body of your request."
        return _Refused(400, message, param=prefix or None)
    field_path = f"{prefix}.{first.field}" if prefix else first.field
    if first.message.startswith("unknown field"):
        return _Refused(
            400, f"Unknown parameter: '{field_path}'.", param=field_path, code="unknown_parameter"
        )
    if first.message.startswith("Field required"):
        if first.message.startswith("Field required: type"):
            field_path += ".type"
        return _Refused(
            400,
            f"Missing required parameter: '{field_path}'.",
            param=field_path,
            code="missing_required_parameter",
        )
    return _Refused(
        400,
        f"Invalid value for '{field_path}': {first.message}",
        param=field_path,
        code="invalid_value",
    )


def _required(body: bytes) -> bytes:
    if not body:
        raise _Refused(400, "This endpoint requires a JSON request body.")
    return body


def _lifetime(asked: Mapping[str, Any], default: int) -> int:
    seconds = (asked.get("expires_after") or {}).get("seconds")
    return default if seconds is None else int(seconds)


def _call_offer(headers: Mapping[str, str], body: bytes) -> tuple[str, dict[str, Any] | None]:
    """The SDP offer and the requested session (if any) of ``POST /realtime/calls``."""
    content_type = headers.get("content-type", "")
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/sdp":
        return _offer_text(body), None
    if media_type == "multipart/form-data":
        parts = _shapes.parse_multipart(content_type, body)
        if parts is None:
            raise _Refused(400, "We could not parse the multipart/form-data body.")
        unknown = sorted(set(parts) - {"sdp", "session"})
        if unknown:
            raise _Refused(
                400,
                f"Unknown parameter: '{unknown[0]}'.",
                param=unknown[0],
                code="unknown_parameter",
            )
        if "sdp" not in parts:
            raise _Refused(
                400,
                "Missing required parameter: 'sdp'.",
                param="sdp",
                code="missing_required_parameter",
            )
        session = None
        if "session" in parts:
            session = _parse(RealtimeSessionCreateRequestGA, parts["session"][1], "session")
        return _offer_text(parts["sdp"][1]), None if session is None else session.to_dict()
    raise _Refused(
        400,
        f"Unsupported content type '{media_type or '(none)'}': send the SDP offer as "
        "application/sdp, or multipart/form-data with an 'sdp' part and an optional "
        "'session' part.",
    )


def _offer_text(raw: bytes) -> str:
    try:
        offer = raw.decode("utf-8")
    except UnicodeDecodeError:
        offer = ""
    if not _shapes.looks_like_sdp_offer(offer):
        raise _Refused(
            400,
            "Invalid SDP offer: it must be a session description starting with 'v=0'.",
            param="sdp",
            code="invalid_offer",
        )
    return offer


def _session(request: RealtimeSessionCreateRequest, now: float) -> dict[str, Any]:
    """The session the service would create for ``request``: echo plus defaults plus a key."""
    session: dict[str, Any] = {"id": _shapes.new_id("sess_"), "object": "realtime.session"}
    session.update(SESSION_DEFAULTS)
    asked = request.to_dict()
    expires_after = (asked.pop("client_secret", None) or {}).get("expires_after") or {}
    session.update(asked)
    lifetime = int(expires_after.get("seconds", DEFAULT_KEY_LIFETIME))
    session["client_secret"] = {"value": _shapes.new_key(), "expires_at": int(now) + lifetime}
    return session


def _bounded_put(store: OrderedDict[str, Any], key: str, value: Any, limit: int) -> None:
    store[key] = value
    while len(store) > limit:
        store.popitem(last=False)


#: What a CORS preflight for ``POST /realtime/calls`` is told: a page may send its offer.
CORS_PREFLIGHT = {
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


def _cors(lowered: Mapping[str, str]) -> dict[str, str]:
    """CORS headers for a browser's request (one with an ``Origin``); none for others."""
    if "origin" not in lowered:
        return {}
    return {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "Location, x-request-id",
    }


def _json(status: int, body: Any) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _empty_ok() -> Answer:
    return 200, {}, b""


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
        status, headers, payload = _error(status, message, "invalid_request_error")
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


__all__ = [
    "CALL_ACTIONS",
    "REALTIME_SESSION_DEFAULTS",
    "SESSION_DEFAULTS",
    "TRANSCRIPTION_SESSION_DEFAULTS",
    "Answerer",
    "MintedKey",
    "MockCall",
    "MockServer",
    "RealtimeMock",
    "RecordedRequest",
    "Scripted",
]
