"""The WebSocket every Realtime connection speaks over: websockets' sync client connection with
a keepalive that a busy caller cannot fail and a close that no blocked thread can hold up.

:func:`~openapiopenai.realtime._transport.open_websocket` makes every socket this way, so it
holds for each one a connection ever opens.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from contextlib import suppress
from typing import Any

from websockets.exceptions import ConcurrencyError, ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import Event
from websockets.sync.client import ClientConnection
from websockets.version import version as _websockets_version

#: The frames that end a message: a whole text or binary frame, or a message's last fragment.
_MESSAGE_OPCODES = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.CONT})
#: Said to the server when its pongs stop coming while nothing else proves it alive.
KEEPALIVE_TIMEOUT = (1011, "keepalive ping timeout")
#: What the receive queue may hold, in bytes (or one message of the largest size, if larger).
QUEUE_BYTES = 16 * 1024 * 1024
#: The most frames waiting unread, whatever their size (websockets' own default).
_DEFAULT_QUEUED_FRAMES = 16
#: Before websockets 17, the reading thread sits in a blocking read; when a close gives the
#: socket a timeout meanwhile, a TLS record still arriving in pieces fails that read, and a
#: clean close looks like a drop. A socket given a timeout from the start reads by waiting
#: for data first, so that change is harmless. The timeout itself is far past any session.
_TLS_READ_TIMEOUT: float | None = (
    24 * 3600.0 if int(_websockets_version.split(".")[0]) < 17 else None
)


def queued_frames(max_message_bytes: int | None) -> int:
    """websockets' ``max_queue`` (frames it reads ahead of the caller) so that what waits
    unread stays within :data:`QUEUE_BYTES`, or one message of the largest size."""
    frames = _DEFAULT_QUEUED_FRAMES
    if max_message_bytes is not None:
        frames = max(1, min(frames, QUEUE_BYTES // max_message_bytes))
    # websockets stops reading once the queue holds *more* than max_queue frames.
    return frames - 1


class RealtimeSocket(ClientConnection):
    """websockets' client connection, with a keepalive that tells a dead server from a busy
    caller and a :meth:`close` bounded by ``close_timeout`` whatever other threads do."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        if (
            _TLS_READ_TIMEOUT is not None
            and isinstance(sock, ssl.SSLSocket)
            and sock.gettimeout() is None
        ):
            sock.settimeout(_TLS_READ_TIMEOUT)
        # Set before websockets starts its reading thread, which updates them.
        self._arrived = 0  # whole messages read off the wire (by the reading thread)
        self._taken = 0  # messages handed to the caller (by the receiving thread)
        self._last_progress = time.monotonic()
        self._closing = False  # set by close(): messages are then dropped unread
        super().__init__(sock, *args, **kwargs)

    def process_event(self, event: Event) -> None:
        """Count each message as it arrives (data arriving proves the server alive); once
        closing, drop it: only the server's close frame still matters."""
        if isinstance(event, Frame):
            self._last_progress = time.monotonic()
            if event.opcode in _MESSAGE_OPCODES:
                if self._closing:
                    return
                self._arrived += 1 if event.fin else 0
        super().process_event(event)

    def recv(self, *args: Any, **kwargs: Any) -> Any:
        """websockets' ``recv`` (same arguments), counting what the caller has taken."""
        try:
            message = super().recv(*args, **kwargs)
        except ConcurrencyError:
            if not self._closing:
                raise
            # close() in another thread is taking what was left unread: for this caller,
            # the connection is closed (close() bounds how long it takes to end).
            self.recv_events_thread.join()
            raise self.protocol.close_exc from None
        self._taken += 1
        self._last_progress = time.monotonic()
        return message

    def keepalive(self) -> None:
        """Ping every ``ping_interval``; end the connection (1011) when no pong comes within
        ``ping_timeout`` and nothing else proves the server alive.

        websockets stops reading while the caller leaves messages unread (its queue is
        full), so a pong may wait behind them: while any does, or data arrived lately, the
        server is alive and its pong late only because the caller is busy.
        """
        interval = self.ping_interval or 0.0
        while not self.wait_until_closed(interval):
            try:
                pong = self.ping(ack_on_close=True)
            except ConnectionClosed:
                return
            if self.ping_timeout is not None and not self._answered(pong, self.ping_timeout):
                self.close(*KEEPALIVE_TIMEOUT)
                return

    def _answered(self, pong: threading.Event, timeout: float) -> bool:
        """Whether the pong came, or the server showed itself alive while it was awaited."""
        while not pong.wait(timeout):
            unread = self._arrived > self._taken
            if not unread and time.monotonic() - self._last_progress >= timeout:
                return False
        return True

    def wait_until_closed(self, timeout: float) -> bool:
        """Whether the connection ends within ``timeout`` seconds (websockets' reading thread
        ends with it)."""
        self.recv_events_thread.join(timeout)
        return not self.recv_events_thread.is_alive()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """websockets' closing handshake, bounded by ``close_timeout``: past it, the socket
        is shut down, which also fails a send stuck on a server that stopped reading (it
        holds the lock the closing handshake needs).

        Messages not yet received are dropped: while they wait, websockets reads nothing,
        so the server's answer to the close frame would wait behind them."""
        self._closing = True
        self._drop_unread()
        if self.close_timeout is None:
            super().close(code, reason)
            return
        guard = threading.Timer(self.close_timeout, self.abort)
        guard.daemon = True
        guard.start()
        try:
            super().close(code, reason)
        finally:
            guard.cancel()

    def _drop_unread(self) -> None:
        """Take every message waiting unread, so that websockets reads again (unless another
        thread is receiving: it takes them itself)."""
        with suppress(TimeoutError, ConnectionClosed, ConcurrencyError):
            while True:
                super().recv(0)

    def abort(self) -> None:
        """Shut the TCP connection down at once: every thread blocked on it wakes up, and
        websockets then reports the connection closed."""
        with suppress(OSError):  # already closed
            self.socket.shutdown(socket.SHUT_RDWR)
