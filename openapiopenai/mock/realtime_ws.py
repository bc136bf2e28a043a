"""The Realtime WebSocket protocol as the mock plays it: sessions, scripts and faults.

:class:`RealtimeMock` is ``MockServer.realtime``: what a test scripts (the next reply, a tool
call, a transcription, a fault) and observes (the client events received, the live sessions).
:class:`RealtimeSession` answers client events the way the service does; it knows nothing of
sockets. Each connection (:mod:`openapiopenai.mock._ws_transport`) is a :class:`Connection`
attached to one session; a sideband connection joins the session of its call.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from openapiopenai.exceptions import ApiValueError, install_hint
from openapiopenai.mock import _shapes
from openapiopenai.mock._answers import Refused, error_answer
from openapiopenai.mock._realtime_session import RealtimeSession
from openapiopenai.mock._realtime_turns import (
    DEFAULT_TRANSCRIPT,
    Reply,
    ToolCall,
)
from openapiopenai.mock._records import UNKNOWN_CALL_HINT, MintedKey, MockCall
from openapiopenai.mock._routes import TRANSLATION_CLIENT_SECRETS_PATH
from openapiopenai.mock._session_base import Connection, SessionBase
from openapiopenai.mock._translation_session import TranslationSession
from openapiopenai.mock._ws_faults import FAULT_ACTIONS as FAULT_ACTIONS
from openapiopenai.mock._ws_faults import GARBAGE_FRAME, Fault

if TYPE_CHECKING:
    from openapiopenai.mock._http_server import MockRequestHandler
    from openapiopenai.mock.webrtc import WebRtcAnswerer

#: What a WebSocket session lasts at most, as the service caps it (seconds).
SESSION_LIFETIME = 3600
#: The model of a translation session when neither the URL nor the key names one.
DEFAULT_TRANSLATION_MODEL = "gpt-realtime-translate"
#: The translation the mock plays when nothing was scripted: what it hears, what it says.
DEFAULT_TRANSLATION = ("Hello from the caller.", "Bonjour de la part de l'appelant.")


class MockState(Protocol):
    """What the WebSocket side asks of its ``MockServer``: its keys, calls, auth and WebRTC."""

    history: int
    _rtc: WebRtcAnswerer | None
    _stopping: threading.Event

    @property
    def calls(self) -> dict[str, MockCall]:
        """The calls the mock knows, by call id."""
        ...

    def minted(self, value: str) -> MintedKey | None:
        """The ephemeral key ``value`` if the mock issued it."""
        ...

    def _check_auth(self, token: str, *, ephemeral_ok: bool) -> None: ...


class RealtimeMock:
    """The WebSocket side of a :class:`~openapiopenai.mock.MockServer`: ``mock.realtime``."""

    def __init__(self, mock: MockState) -> None:
        self._mock = mock
        self._lock = threading.Lock()
        self._replies: deque[Reply] = deque()
        self._transcripts: deque[str] = deque()
        self._translations: deque[tuple[str, str]] = deque()
        self._faults: list[Fault] = []
        self._received: deque[dict[str, Any]] = deque(maxlen=mock.history)
        self._live: dict[Connection, SessionBase] = {}
        self._call_sessions: dict[str, RealtimeSession] = {}
        self.pace = 0.0

    # -- scripting -------------------------------------------------------------------------

    def script_reply(self, text: str) -> None:
        """The next response says ``text`` (as text, or spoken with its transcript)."""
        _require_str("text", text)
        with self._lock:
            self._replies.append(Reply(text=text))

    def script_tool_call(
        self,
        name: str,
        arguments: str | Mapping[str, Any],
        *,
        call_id: str | None = None,
        hold_until_cancel: bool = False,
    ) -> str:
        """The next response calls tool ``name`` with ``arguments`` (JSON text or a mapping).

        Returns the call's ``call_id``, which the ``function_call_output`` item must name.
        With ``hold_until_cancel`` the response stays active after the arguments are done
        until the client cancels it, so a cancel (or a close) lands mid-response for sure.
        """
        _require_str("name", name)
        if not isinstance(arguments, str):
            try:
                arguments = json.dumps(dict(arguments))
            except (TypeError, ValueError):
                raise ApiValueError(
                    "arguments must be JSON text or a mapping of JSON values"
                ) from None
        call_id = call_id or _shapes.new_id("call_")
        with self._lock:
            call = ToolCall(name, arguments, call_id)
            self._replies.append(Reply(tool_call=call, hold=hold_until_cancel))
        return call_id

    def script_transcription(self, text: str) -> None:
        """The next committed input audio is transcribed as ``text``."""
        _require_str("text", text)
        with self._lock:
            self._transcripts.append(text)

    def script_translation(self, heard: str, said: str) -> None:
        """The next translation session hears ``heard`` and says ``said``, a word per 200 ms."""
        _require_str("heard", heard)
        _require_str("said", said)
        with self._lock:
            self._translations.append((heard, said))

    def set_pace(self, seconds: float) -> None:
        """Wait ``seconds`` between the events of every response (0, the default: no wait).

        A paced response stays active long enough to be cancelled or collided with.
        """
        self.pace = _require_seconds(seconds)

    def clear(self) -> None:
        """Forget scripted replies, transcriptions, translations, faults and received events."""
        with self._lock:
            self._replies.clear()
            self._transcripts.clear()
            self._translations.clear()
            self._faults.clear()
            self._received.clear()
        self.pace = 0.0

    # -- faults ----------------------------------------------------------------------------

    def drop(self, *, after: str | None = None, on: str | None = None) -> None:
        """Drop the TCP connection without a close frame (default: after ``session.created``)."""
        self._add_fault(Fault("drop", *_moment(after, on)))

    def close(
        self, code: int = 1011, reason: str = "", *, after: str | None = None, on: str | None = None
    ) -> None:
        """Close the connection with ``code`` and ``reason`` (a close frame, then TCP)."""
        if isinstance(code, bool) or not isinstance(code, int) or not 1000 <= code <= 4999:
            raise ApiValueError(f"code must be a WebSocket close code (1000-4999), not {code!r}")
        _require_str("reason", reason, empty_ok=True)
        self._add_fault(Fault("close", *_moment(after, on), code=code, reason=reason))

    def delay(self, seconds: float, *, after: str | None = None, on: str | None = None) -> None:
        """Stall the connection for ``seconds`` (nothing is sent or read meanwhile)."""
        self._add_fault(Fault("delay", *_moment(after, on), seconds=_require_seconds(seconds)))

    def garbage(
        self, data: bytes = GARBAGE_FRAME, *, after: str | None = None, on: str | None = None
    ) -> None:
        """Write ``data`` raw onto the socket (by default a frame no client may accept)."""
        if not isinstance(data, bytes) or not data:
            raise ApiValueError("data must be non-empty bytes")
        self._add_fault(Fault("garbage", *_moment(after, on), data=data))

    def hang(self, *, after: str | None = None, on: str | None = None) -> None:
        """Go silent: read nothing, answer nothing (a close frame included) until the client
        drops the connection or the mock stops."""
        self._add_fault(Fault("hang", *_moment(after, on)))

    def _add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def has_faults_on(self) -> bool:
        """Whether a fault waits for a client event (only then are events peeked at)."""
        with self._lock:
            return any(fault.on is not None for fault in self._faults)

    def take_fault(self, *, after: str | None = None, on: str | None = None) -> Fault | None:
        """The first pending fault for this moment, removed from the list; ``None`` if none."""
        with self._lock:
            if not self._faults:
                return None
            for index, fault in enumerate(self._faults):
                if (after is not None and fault.after == after) or (
                    on is not None and fault.on == on
                ):
                    return self._faults.pop(index)
        return None

    # -- observing and driving live sessions -----------------------------------------------

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every client event the mock received (parsed JSON objects), oldest first."""
        with self._lock:
            return list(self._received)

    @property
    def sessions(self) -> list[SessionBase]:
        """The sessions that have a connection now (a shared one counted once)."""
        with self._lock:
            unique = {id(session): session for session in self._live.values()}
        return list(unique.values())

    def push(self, event: Mapping[str, Any], *, call_id: str | None = None) -> int:
        """Send ``event`` as is (``event_id`` added if missing) to every live connection, or
        to those of call ``call_id``; returns how many connections got it.

        For server events the mock never sends by itself (speech started, DTMF, MCP, a type
        the service has yet to invent).
        """
        if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
            raise ApiValueError("event must be a mapping with a str 'type'")
        full = {"event_id": _shapes.new_id("event_"), **event}
        with self._lock:
            targets = [
                conn
                for conn, session in self._live.items()
                if call_id is None or getattr(session, "call_id", None) == call_id
            ]
        for conn in targets:
            conn.send_event(full)
        return len(targets)

    def close_all(self) -> None:
        """End every live connection (``MockServer.stop`` does this)."""
        with self._lock:
            live = list(self._live)
        for conn in live:
            conn.abort()

    # -- used by the sessions and the transport --------------------------------------------

    def next_reply(self) -> Reply | None:
        """The scripted reply for the next response, if the test scripted one."""
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def next_transcript(self, configured: bool) -> str | None:
        """What the next committed audio says: scripted, or the default when the session
        transcribes; ``None`` when nothing should be transcribed."""
        with self._lock:
            if self._transcripts:
                return self._transcripts.popleft()
        return DEFAULT_TRANSCRIPT if configured else None

    def next_translation(self) -> tuple[str, str]:
        """What the next translation session hears and says."""
        with self._lock:
            return self._translations.popleft() if self._translations else DEFAULT_TRANSLATION

    def record(self, event: Mapping[str, Any]) -> None:
        """Remember a client event for :attr:`received`."""
        with self._lock:
            self._received.append(dict(event))

    def connected(self, conn: Connection, session: SessionBase) -> None:
        """``conn`` is attached to ``session`` from now on."""
        with self._lock:
            self._live[conn] = session

    def disconnected(self, conn: Connection) -> None:
        """``conn`` is gone."""
        with self._lock:
            self._live.pop(conn, None)

    def open_session(self, path: str, query: Mapping[str, str], token: str) -> SessionBase:
        """The session a handshake to ``path`` with ``query`` joins or creates.

        Raises the mock's ``Refused`` (an HTTP error answer) when the service would refuse.
        """
        if path.endswith("/translations"):
            return self._translation_session(query, token)
        call_id = query.get("call_id")
        if call_id is not None:
            return self._call_session(call_id, query)
        key = self._mock.minted(token) if token.startswith("ek_") else None
        intent = query.get("intent")
        kind = "transcription" if intent == "transcription" else "realtime"
        if key is not None and key.session.get("type") == kind:
            session = dict(key.session)
        else:
            asked: dict[str, Any] = {"type": kind}
            if kind == "realtime" and query.get("model"):
                asked["model"] = query["model"]
            session = _shapes.ga_session(asked)
        if not session.get("expires_at"):
            session["expires_at"] = int(time.time()) + SESSION_LIFETIME
        return RealtimeSession(self, session)

    def _call_session(self, call_id: str, query: Mapping[str, str]) -> RealtimeSession:
        if "model" in query:
            raise Refused(
                400,
                "A sideband connection joins the session of its call: leave 'model' out.",
                param="model",
                code="invalid_value",
            )
        call = self._mock.calls.get(call_id)
        if call is None:
            message = f"No active call found with id '{call_id}'. {UNKNOWN_CALL_HINT}"
            raise Refused(404, message, param="call_id")
        if call.hung_up or call.rejected_with is not None:
            raise Refused(404, f"No active call found with id '{call_id}'.", param="call_id")
        if call.session is None:
            raise Refused(400, f"The call '{call_id}' has not been accepted yet.", param="call_id")
        with self._lock:
            session = self._call_sessions.get(call_id)
        if session is None:
            session = self._join_webrtc(call_id) or RealtimeSession(
                self, dict(call.session), call_id=call_id
            )
            with self._lock:
                session = self._call_sessions.setdefault(call_id, session)
        return session

    def _join_webrtc(self, call_id: str) -> RealtimeSession | None:
        """The session of a real WebRTC call, shared from now on with its data channel."""
        rtc = self._mock._rtc
        if rtc is None or not rtc.is_active(call_id):
            return None
        link = _DataChannel()
        session = RealtimeSession(self, {}, call_id=call_id)
        joined = rtc.bridge(
            call_id,
            on_message=lambda text: session.receive(text, link),
            on_end=lambda: self.call_ended(call_id),
        )
        if joined is None:
            return None
        session.session, link.send = joined
        session.attach(link, announce=False)
        return session

    def call_ended(self, call_id: str) -> None:
        """A call hung up: its sideband connections close, as the service ends them."""
        with self._lock:
            session = self._call_sessions.pop(call_id, None)
        if session is not None:
            session.close_connections(1000, "The call has ended.")
            for conn in session.connections:
                if isinstance(conn, _DataChannel):
                    session.detach(conn)

    def _translation_session(self, query: Mapping[str, str], token: str) -> TranslationSession:
        key = self._mock.minted(token) if token.startswith("ek_") else None
        if key is not None and key.path == TRANSLATION_CLIENT_SECRETS_PATH:
            session = dict(key.session)
        else:
            model = query.get("model") or DEFAULT_TRANSLATION_MODEL
            expires_at = int(time.time()) + SESSION_LIFETIME
            session = _shapes.translation_session({"model": model}, expires_at)
        return TranslationSession(self, session, self.next_translation())

    def serve(self, handler: MockRequestHandler) -> None:
        """Take over an HTTP request that asks for a WebSocket upgrade."""
        try:
            from openapiopenai.mock import _ws_transport
        except ImportError:
            status, headers, body = error_answer(
                501,
                "The mock's WebSocket side needs websockets, which is not installed: "
                + install_hint("websockets", "realtime"),
                "server_error",
            )
            handler.close_connection = True
            handler._send(status, headers, body)
            return
        mock = self._mock
        check_auth = functools.partial(mock._check_auth, ephemeral_ok=True)
        _ws_transport.serve(self, handler, check_auth=check_auth, stopping=mock._stopping)


class _DataChannel:
    """A WebRTC call's ``oai-events`` channel, as one more connection of its shared session."""

    def __init__(self) -> None:
        self.send: Callable[[Mapping[str, Any]], None] = lambda event: None

    def send_event(self, event: Mapping[str, Any]) -> None:
        """Send one server event on the channel (thread-safe)."""
        self.send(event)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """A data channel ends with its call (``hangup``), not with a close frame."""

    def abort(self) -> None:
        """The WebRTC answerer ends the call itself when the mock stops."""


def _moment(after: str | None, on: str | None) -> tuple[str | None, str | None]:
    """A fault's moment: ``after`` a server event or ``on`` a client event; one of them."""
    if after is not None and on is not None:
        raise ApiValueError("pass either after= or on=, not both")
    for name, value in (("after", after), ("on", on)):
        if value is not None:
            _require_str(name, value)
    if after is None and on is None:
        return "session.created", None
    return after, on


def _require_seconds(seconds: object) -> float:
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 <= seconds < math.inf
    ):
        raise ApiValueError(f"seconds must be a finite number >= 0, not {seconds!r}")
    return float(seconds)


def _require_str(name: str, value: object, *, empty_ok: bool = False) -> None:
    if not isinstance(value, str) or (not empty_ok and not value):
        raise ApiValueError(f"{name} must be a non-empty str, not {value!r}")
