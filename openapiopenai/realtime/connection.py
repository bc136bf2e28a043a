"""A Realtime conversation (or translation) over one WebSocket: send client events, receive
server events.

One send path (:meth:`RealtimeConnection.send`, which the helpers named after the protocol
call) and one receive path (:meth:`RealtimeConnection.recv`, which iteration calls). One thread
may receive while others send (audio from a capture thread, say): sends are serialised by the
socket, and receiving is meant for one thread at a time. With ``reconnect=`` both paths go
through a :class:`~openapiopenai.realtime._relink.Relink`, which re-opens a lost link.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, cast

from typing_extensions import TypeVar
from websockets.exceptions import ConnectionClosed

from openapiopenai.configuration import LOGGER_NAME
from openapiopenai.exceptions import ApiTimeoutError, RealtimeConnectionClosedError
from openapiopenai.realtime._helpers import (
    Audio,
    ConversationNamespace,
    InputAudioBufferNamespace,
    OutputAudioBufferNamespace,
    ResponseNamespace,
    SessionNamespace,
    TranslationInputAudioBufferNamespace,
    TranslationSessionNamespace,
)
from openapiopenai.realtime._protocol import (
    NORMAL_CLOSURE,
    ClientEvents,
    ServerEvent,
    ServerEvents,
)

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

    from openapiopenai.models.openapi_model import RequestModel
    from openapiopenai.realtime._reconnect import Reconnected
    from openapiopenai.realtime._relink import Relink

logger = logging.getLogger(LOGGER_NAME)

#: Said in ``recv(timeout=...)`` to wait as long as the connection's ``receive_timeout``.
_CONNECTION_DEFAULT: Any = object()
_DROPPED = "the connection dropped without a close frame"
_SESSION_UPDATE = "session.update"

#: What :meth:`recv` and iteration give: server events, and with ``reconnect=`` also the
#: :class:`Reconnected` marker.
Received = TypeVar("Received", covariant=True, default=ServerEvent)


class _Connection(Generic[Received]):
    """What conversation and translation connections share: the socket, one send path and
    one receive path."""

    def __init__(
        self,
        socket: ClientConnection,
        *,
        url: str,
        client_events: ClientEvents,
        server_events: ServerEvents,
        receive_timeout: float | None,
        close_timeout: float | None = None,
        relink: Relink | None = None,
    ) -> None:
        self._socket = socket
        self._url = url
        self._client = client_events
        self._server = server_events
        self._receive_timeout = receive_timeout
        self._close_timeout = close_timeout
        self._closing = False
        self._relink = relink
        if relink is not None:
            relink.bind(self._deliver, self._install)

    @property
    def url(self) -> str:
        """The WebSocket URL (it carries no credentials: the key goes in a header)."""
        return self._url

    # -- sending ---------------------------------------------------------------------------

    def send(self, event: Mapping[str, Any] | RequestModel) -> str:
        """Check ``event`` (a client event model or a dict with its ``type``) and send it;
        return its ``event_id`` (the caller's, or one made up here). Nothing is sent when a
        field is wrong: the error names it with its dotted path."""
        event_id, data = self._client.encode(event)
        if self._relink is None:
            return self._transmit(event_id, data)
        kind = event.get("type") if isinstance(event, Mapping) else getattr(event, "type", None)
        return self._transmit(event_id, data, session_update=kind == _SESSION_UPDATE)

    def _append_audio(self, kind: str, audio: Audio, event_id: str | None) -> str:
        """The audio helpers' way in: the same transmission, without building a model."""
        return self._transmit(*self._client.encode_audio(kind, audio, event_id))

    def _transmit(self, event_id: str, data: bytes, *, session_update: bool = False) -> str:
        """The one place where events leave: one WebSocket text message each (``data`` is
        UTF-8 JSON already, so it goes out as it is); queued while a lost link is re-opened."""
        if self._relink is None:
            self._deliver(self._socket, data)
        else:
            self._relink.send(event_id, data, session_update=session_update)
        return event_id

    def _deliver(self, socket: ClientConnection, data: bytes) -> None:
        """One message onto ``socket`` (the connection's, or the relink's new one)."""
        try:
            socket.send(data, text=True)
        except ConnectionClosed as closed:
            raise self._closed_error(closed) from None

    def sent_event(self, event_id: str | None) -> RequestModel | None:
        """The event sent with this ``event_id`` (among the last 256, up to 1 MiB of them),
        e.g. the one an ``error`` event's ``error.event_id`` blames; ``None`` if unknown or
        after :meth:`close`. An audio append comes back without its audio (``audio`` is
        empty): keeping it would keep megabytes alive."""
        return self._client.sent(event_id)

    # -- receiving -------------------------------------------------------------------------

    def recv(self, timeout: float | None = _CONNECTION_DEFAULT) -> Received:
        """The next server event as its generated class (an unknown type as
        :class:`~openapiopenai.realtime.UnknownServerEvent`); with ``reconnect=``, the
        :class:`~openapiopenai.realtime.Reconnected` marker first after a reconnect.

        ``timeout`` seconds (default: the connection's ``receive_timeout``; ``None`` waits
        forever) without an event raise :class:`~openapiopenai.ApiTimeoutError` and leave
        the connection open. A closed connection raises
        :class:`~openapiopenai.RealtimeConnectionClosedError` with its code and reason.
        """
        wait = self._receive_timeout if timeout is _CONNECTION_DEFAULT else timeout
        if self._relink is not None:
            return cast("Received", self._relink.recv(wait, self._receive))
        return cast("Received", self._receive(self._socket, wait))

    def _receive(self, socket: ClientConnection, wait: float | None) -> ServerEvent:
        """One server event from ``socket`` within ``wait`` seconds, parsed."""
        try:
            message = socket.recv(wait, decode=False)
        except TimeoutError:
            raise ApiTimeoutError(f"no server event within {wait:g} s") from None
        except ConnectionClosed as closed:
            raise self._closed_error(closed) from None
        return self._server.parse(message)

    def __iter__(self) -> Iterator[Received]:
        """Server events until the connection closes: quietly on a normal close (1000, or
        after :meth:`close`), else raising :class:`RealtimeConnectionClosedError`."""
        while True:
            try:
                yield self.recv()
            except RealtimeConnectionClosedError as closed:
                if closed.code == NORMAL_CLOSURE or self._closing:
                    return
                raise

    def _closed_error(self, closed: ConnectionClosed) -> RealtimeConnectionClosedError:
        """The server's close frame; else the one sent from here (by :meth:`close`, or by
        websockets on a message too big or an unanswered ping); else 1006, a drop."""
        frame = closed.rcvd or closed.sent
        if frame is None:
            return RealtimeConnectionClosedError(1006, _DROPPED)
        return RealtimeConnectionClosedError(frame.code, frame.reason)

    # -- closing ---------------------------------------------------------------------------

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Close the conversation; returns within ``close_timeout`` (default 1 s) even when
        the server never answers the close frame, or stopped reading while another thread
        sends (that send then raises :class:`RealtimeConnectionClosedError`). The events
        remembered for :meth:`sent_event` are let go."""
        self._closing = True
        if self._relink is not None:
            self._relink.close(self._close_timeout)
        self._socket.close(code, reason)
        self._client.forget()
        logger.debug("realtime: closed %s", self._url)

    def _install(self, socket: ClientConnection) -> None:
        """The relink's new socket, from now on the connection's."""
        self._socket = socket

    @property
    def close_code(self) -> int | None:
        """The close code once the connection has closed (1006: dropped without a frame)."""
        return self._socket.close_code

    def __enter__(self) -> _Connection[Received]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._socket.close_code is not None else "open"
        return f"{type(self).__name__}(url={self._url!r}, {state})"


class RealtimeConnection(_Connection[Received]):
    """A conversation with a Realtime model (or a sideband connection to a call, or a
    transcription session): what :meth:`RealtimeApi.connect` gives.

    Send with :meth:`send` or the helpers named after the client events
    (``conn.session.update(...)``, ``conn.response.create()``,
    ``conn.conversation.item.create(...)``, ``conn.input_audio_buffer.append(pcm)``, ...);
    receive with :meth:`recv` or by iterating.
    """

    def __init__(self, socket: ClientConnection, **kwargs: Any) -> None:
        super().__init__(socket, **kwargs)
        self.session = SessionNamespace(self.send)
        self.response = ResponseNamespace(self.send)
        self.conversation = ConversationNamespace(self.send)
        self.input_audio_buffer = InputAudioBufferNamespace(self.send, self._append_audio)
        self.output_audio_buffer = OutputAudioBufferNamespace(self.send)

    def __enter__(self) -> RealtimeConnection[Received]:
        return self


class RealtimeTranslationConnection(_Connection[Received]):
    """A translation session: what :meth:`RealtimeApi.connect_translation` gives.

    ``conn.session.update(session=...)``, ``conn.session.close()`` and
    ``conn.input_audio_buffer.append(pcm)`` send; :meth:`recv` and iteration receive.
    """

    def __init__(self, socket: ClientConnection, **kwargs: Any) -> None:
        super().__init__(socket, **kwargs)
        self.session = TranslationSessionNamespace(self.send)
        self.input_audio_buffer = TranslationInputAudioBufferNamespace(
            self.send, self._append_audio
        )

    def __enter__(self) -> RealtimeTranslationConnection[Received]:
        return self


#: A conversation opened with or without ``reconnect=`` (the first kind is one of the second):
#: what code that takes either annotates, narrowing ``Reconnected`` out with ``isinstance``.
AnyRealtimeConnection: TypeAlias = "RealtimeConnection[ServerEvent | Reconnected]"
