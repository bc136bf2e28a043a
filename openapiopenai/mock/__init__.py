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
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from openapiopenai.exceptions import ApiValueError, install_hint
from openapiopenai.mock import _shapes
from openapiopenai.mock._answers import (
    Answer,
    Refused,
    bearer_token,
    empty_ok,
    error_answer,
    error_body,
    header_number,
    json_answer,
)
from openapiopenai.mock._http_server import MAX_BODY_BYTES as MAX_BODY_BYTES
from openapiopenai.mock._http_server import MockHttpServer, MockRequestHandler
from openapiopenai.mock._records import (
    DEMO_CALL_ID,
    UNKNOWN_CALL_HINT,
    CallUpdate,
    MintedKey,
    MockCall,
    RecordedRequest,
    Scripted,
    bounded_put,
)
from openapiopenai.mock._request_checks import (
    DEFAULT_KEY_LIFETIME,
    SESSION_DEFAULTS,
    call_offer,
    key_lifetime,
    legacy_session,
    parse_request,
    required_body,
)
from openapiopenai.mock._routes import (
    CALL_ACTIONS,
    CALLS_PATH,
    CLIENT_SECRETS_PATH,
    CORS_PREFLIGHT,
    SESSIONS_PATH,
    TRANSCRIPTION_SESSIONS_PATH,
    TRANSLATION_CLIENT_SECRETS_PATH,
    Incoming,
    cors_headers,
    route,
)
from openapiopenai.mock._shapes import (
    REALTIME_SESSION_DEFAULTS,
    TRANSCRIPTION_SESSION_DEFAULTS,
    canned_answer,
)
from openapiopenai.mock.realtime_ws import RealtimeMock
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

#: Lifetime of a client secret when ``expires_after`` is not given.
DEFAULT_CLIENT_SECRET_LIFETIME = 600
#: The SIP status a rejected call gets when the request names none (603 Decline).
DEFAULT_REJECT_STATUS = 603
#: How many requests, keys and calls the mock remembers by default (the oldest go first).
DEFAULT_HISTORY = 10_000

#: Makes the SDP answer of ``POST /realtime/calls``: ``(offer_sdp, session, call_id) -> answer``.
#: ``session`` is the effective session (the service's defaults filled in).
Answerer = Callable[[str, Mapping[str, Any], str], str]


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
        self._httpd = MockHttpServer((host, port), MockRequestHandler)
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
            extra["Retry-After"] = header_number(retry_after)
        body = error_body(status, message)
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
            bounded_put(self._keys, key.value, key, self.history)

    def _remember_call(self, call: MockCall) -> None:
        with self._lock:
            bounded_put(self._calls, call.call_id, call, self.history)

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
        found = route(path.split("?")[0])
        if found is None:
            return error_answer(404, f"Invalid URL ({method} {path!s})", "invalid_request_error")
        handler_name, call_id = found
        lowered = {name.lower(): value for name, value in headers.items()}
        cors = cors_headers(lowered) if handler_name == "_create_call" else {}
        if cors and method == "OPTIONS" and "access-control-request-method" in lowered:
            return 204, {**cors, **CORS_PREFLIGHT}, b""
        if method != "POST":
            status, extra, payload = error_answer(
                405, f"Method {method} not allowed", "invalid_request_error"
            )
            return status, {**extra, "Allow": "POST"}, payload
        status, extra, payload = self._dispatch(handler_name, lowered, body, call_id)
        return status, {**extra, **cors}, payload

    def _dispatch(
        self, handler_name: str, lowered: Mapping[str, str], body: bytes, call_id: str | None
    ) -> Answer:
        """Authenticate, then run the operation's handler; any failure becomes an error body."""
        token = bearer_token(lowered.get("authorization", ""))
        try:
            self._check_auth(token, ephemeral_ok=handler_name == "_create_call")
            handler: Callable[[Incoming], Answer] = getattr(self, handler_name)
            return handler(Incoming(lowered, body, token, call_id))
        except Refused as refused:
            return refused.answer
        except Exception:  # a bug here must still answer, as the service does: 500
            return error_answer(
                500, "The server had an error while processing your request.", "server_error"
            )

    def _check_auth(self, token: str, *, ephemeral_ok: bool) -> None:
        if not token:
            raise Refused(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        if ephemeral_ok and token.startswith("ek_"):
            key = self.minted(token)
            if key is None or key.expires_at <= self.clock():
                raise Refused(
                    401, "Invalid or expired ephemeral key provided.", code="invalid_api_key"
                )
            return
        if self.api_key is not None and token != self.api_key:
            raise Refused(401, "Incorrect API key provided.", code="invalid_api_key")

    # -- the operations --------------------------------------------------------------------

    def _create_session(self, incoming: Incoming) -> Answer:
        request = parse_request(RealtimeSessionCreateRequest, required_body(incoming.body))
        session = legacy_session(request, self.clock())
        secret = session["client_secret"]
        self._remember_key(MintedKey(secret["value"], secret["expires_at"], session, SESSIONS_PATH))
        return json_answer(200, session)

    def _create_client_secret(self, incoming: Incoming) -> Answer:
        asked = parse_request(
            RealtimeCreateClientSecretRequest, required_body(incoming.body)
        ).to_dict()
        session = _shapes.ga_session(asked.get("session") or {"type": "realtime"})
        lifetime = key_lifetime(asked, DEFAULT_CLIENT_SECRET_LIFETIME)
        key = self._mint(CLIENT_SECRETS_PATH, session, lifetime)
        return json_answer(
            200, {"value": key.value, "expires_at": key.expires_at, "session": session}
        )

    def _create_transcription_session(self, incoming: Incoming) -> Answer:
        request = parse_request(
            RealtimeTranscriptionSessionCreateRequest, required_body(incoming.body)
        )
        session = _shapes.legacy_transcription_session(request.to_dict())
        key = self._mint(TRANSCRIPTION_SESSIONS_PATH, session, DEFAULT_KEY_LIFETIME)
        session["expires_at"] = key.expires_at
        session["client_secret"] = {"value": key.value, "expires_at": key.expires_at}
        return json_answer(200, session)

    def _create_translation_client_secret(self, incoming: Incoming) -> Answer:
        model = RealtimeTranslationClientSecretCreateRequest
        asked = parse_request(model, required_body(incoming.body)).to_dict()
        lifetime = key_lifetime(asked, DEFAULT_CLIENT_SECRET_LIFETIME)
        expires_at = int(self.clock()) + lifetime
        session = _shapes.translation_session(asked["session"], expires_at)
        key = MintedKey(_shapes.new_key(), expires_at, session, TRANSLATION_CLIENT_SECRETS_PATH)
        self._remember_key(key)
        return json_answer(200, {"value": key.value, "expires_at": expires_at, "session": session})

    def _create_call(self, incoming: Incoming) -> Answer:
        offer, asked = call_offer(incoming.headers, incoming.body)
        if asked is not None:
            session: Mapping[str, Any] = _shapes.ga_session(asked)
        elif incoming.token.startswith("ek_"):
            session = self._keys_session(incoming.token)
        else:
            session = _shapes.ga_session({"type": "realtime"})
        call_id = _shapes.new_id("rtc_")
        try:
            answer = self._answer_offer(offer, session, call_id, incoming.token)
        except Refused:
            raise
        except Exception:  # a plugged-in answerer failed: the service's side of the exchange
            raise Refused(
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
            raise Refused(
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

    def _accept_call(self, incoming: Incoming) -> Answer:
        asked = parse_request(
            RealtimeSessionCreateRequestGA, required_body(incoming.body)
        ).to_dict()
        with self._known_call(incoming) as call:
            call.accepted_with = asked
            call.session = _shapes.ga_session(asked)
            call.actions.append(("accept", asked))
        return empty_ok()

    def _hangup_call(self, incoming: Incoming) -> Answer:
        with self._known_call(incoming) as call:
            call.hung_up = True
            call.actions.append(("hangup", None))
        with self._rtc_lock:
            rtc = self._rtc
        if rtc is not None:
            rtc.hangup(call.call_id)  # ends the real call, if it is still on
        self.realtime.call_ended(call.call_id)
        return empty_ok()

    def _refer_call(self, incoming: Incoming) -> Answer:
        target = parse_request(RealtimeCallReferRequest, required_body(incoming.body)).target_uri
        with self._known_call(incoming) as call:
            call.referred_to = target
            call.actions.append(("refer", target))
        self.realtime.call_ended(call.call_id)  # the caller has been handed elsewhere
        return empty_ok()

    def _reject_call(self, incoming: Incoming) -> Answer:
        request = parse_request(RealtimeCallRejectRequest, incoming.body or b"{}")
        status = request.status_code if request.status_code is not None else DEFAULT_REJECT_STATUS
        with self._known_call(incoming) as call:
            call.rejected_with = status
            call.actions.append(("reject", status))
        return empty_ok()

    def _known_call(self, incoming: Incoming) -> CallUpdate:
        """The call the path names, locked for an update; 404 if the mock does not know it."""
        call_id = incoming.call_id or ""
        with self._lock:
            call = self._calls.get(call_id)
        if call is None:
            raise Refused(404, f"No call found with id '{call_id}'. {UNKNOWN_CALL_HINT}")
        return CallUpdate(self._lock, call)


__all__ = [
    "CALL_ACTIONS",
    "DEMO_CALL_ID",
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
