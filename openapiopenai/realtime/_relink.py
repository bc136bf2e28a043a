"""Keeping the link of a connection opened with ``reconnect=``: noticing its loss, re-opening
it in one worker thread, queueing sends meanwhile, and handing the reader the marker.

Exactly one reconnect runs at a time: whichever side notices the loss first (the reading
thread, or a sending one) marks the link down under the lock and starts the worker; any other
notice of the same loss finds it down already. While it is down, sends are queued and the
reader waits. The worker re-handshakes with backoff, sends the session's updates (summed into
one ``session.update``) and the
queue on the new socket (holding the send lock, so nothing overtakes them), then installs the
socket with the :class:`Reconnected` marker the reader gets before any event of it.
"""

from __future__ import annotations

import contextlib
import logging
import socket as socket_module
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from openapiopenai.configuration import LOGGER_NAME
from openapiopenai.exceptions import (
    ApiTimeoutError,
    RealtimeConnectionClosedError,
    RealtimeReconnectFailedError,
)
from openapiopenai.realtime._reconnect import (
    Reconnect,
    Reconnected,
    SendQueue,
    refusal_wait,
    summed_update,
    triggers,
)

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

logger = logging.getLogger(LOGGER_NAME)

R = TypeVar("R")
#: Sends ``data`` on the socket given (the connection's own send path).
Deliver = Callable[["ClientConnection", bytes], None]
#: Reads one event from the socket given within the seconds given (its receive path).
Receive = Callable[["ClientConnection", "float | None"], R]

_OPEN, _DOWN, _ENDED, _CLOSED = "open", "down", "ended", "closed"


class Relink:
    """The socket of one reconnecting connection, and the state around it."""

    def __init__(
        self,
        socket: ClientConnection,
        *,
        policy: Reconnect,
        reopen: Callable[[], ClientConnection],
        resend_session: bool,
    ) -> None:
        self._policy = policy
        self._reopen = reopen
        self._resend_session = resend_session
        self._cond = threading.Condition()
        # Held while an event goes out, and by the worker while it sends the backlog.
        self._send_lock = threading.Lock()
        self._socket = socket
        self._state = _OPEN
        self._lost = RealtimeConnectionClosedError(1006, "")
        self._down_since = 0.0
        self._failure: BaseException | None = None
        self._marker: Reconnected | None = None
        self._candidate: ClientConnection | None = None
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        self._queue = SendQueue(policy.queue_bytes)
        self._session_update: bytes | None = None
        self._deliver: Deliver = _unbound
        self._install: Callable[[ClientConnection], None] = lambda socket: None

    def bind(self, deliver: Deliver, install: Callable[[ClientConnection], None]) -> None:
        """The connection's send path, and how it learns of a new socket."""
        self._deliver = deliver
        self._install = install

    # -- sending ---------------------------------------------------------------------------

    def send(self, event_id: str, data: bytes, *, session_update: bool) -> None:
        """Send ``data`` (the event ``event_id``), or queue it while the link is down (a send
        that meets the loss is queued too); raise when reconnecting has ended or the queue is
        full. A ``session.update`` is not queued: the sum of them goes first anyway."""
        keep = session_update and self._resend_session
        with self._send_lock:
            if keep:
                self._session_update = summed_update(self._session_update, data)
            state, socket, lost = self._snapshot()
            if state is _OPEN or state is _CLOSED:
                try:
                    self._deliver(socket, data)
                    return
                except RealtimeConnectionClosedError as error:
                    if not self.lost(error, socket):
                        raise
                # The socket cannot change while the send lock is held: down, or given up.
                state, socket, lost = self._snapshot()
            if state is _ENDED:
                raise self._ended()
            if not keep:
                self._queue.put(event_id, data, lost)

    def _snapshot(self) -> tuple[str, ClientConnection, RealtimeConnectionClosedError]:
        with self._cond:
            return self._state, self._socket, self._lost

    # -- receiving -------------------------------------------------------------------------

    def recv(self, wait: float | None, receive: Receive[R]) -> R | Reconnected:
        """The next event from the link (read by ``receive``), or the marker first after a
        reconnect; waits for a link that is down, within ``wait`` seconds in all."""
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            link = self._ready(deadline, wait)
            if isinstance(link, Reconnected):
                return link
            try:
                return receive(link, _left(deadline))
            except RealtimeConnectionClosedError as error:
                if not self.lost(error, link):
                    raise

    def _ready(self, deadline: float | None, wait: float | None) -> ClientConnection | Reconnected:
        """The socket to read, the marker, or the end of reconnecting as its exception."""
        with self._cond:
            while self._state is _DOWN:
                left = _left(deadline)
                if left == 0:
                    raise ApiTimeoutError(f"no server event within {wait:g} s (reconnecting)")
                self._cond.wait(left)
            if self._state is _ENDED:
                raise self._ended()
            if self._marker is not None and self._state is _OPEN:
                marker, self._marker = self._marker, None
                return marker
            return self._socket

    # -- losing the link -------------------------------------------------------------------

    def lost(self, error: RealtimeConnectionClosedError, socket: ClientConnection) -> bool:
        """Whether the loss of ``socket`` with ``error`` is taken care of: it was replaced
        already, a reconnect runs (this call may have started it), or it ended and the next
        receive says how. ``False``: the loss is final (a normal close, or :meth:`close`)."""
        with self._cond:
            if self._state is _CLOSED:
                return False
            if socket is not self._socket or self._state is not _OPEN:
                return True
            if not triggers(error):
                return False
            self._state, self._lost, self._down_since = _DOWN, error, time.monotonic()
            self._worker = threading.Thread(
                target=self._reconnect, name="openapiopenai realtime reconnect", daemon=True
            )
            self._worker.start()
        logger.debug("realtime: link lost (%s), reconnecting", error.code)
        return True

    def _reconnect(self) -> None:
        """The worker; whatever goes wrong in it ends reconnecting, so that no one waits for
        a link that will never come."""
        try:
            self._attempts()
        except Exception as bug:
            self._end(bug)

    def _attempts(self) -> None:
        """Re-handshake with backoff until the link is back, refused, out of attempts, or the
        connection closed."""
        lost, last = self._lost, None
        retry_after: float | None = None
        attempt = 0
        while attempt < self._policy.attempts:
            attempt += 1
            if self._stop.wait(self._policy.delay(attempt, retry_after)):
                return
            try:
                socket = self._reopen()
            except Exception as failure:  # the handshake's own SDK error, or a bug
                again, retry_after = refusal_wait(failure)
                logger.debug("realtime: reconnect attempt %d failed: %s", attempt, failure)
                if not again:
                    if failure.__cause__ is None:  # a refused upgrade: name the lost link
                        failure.__cause__ = lost
                    self._end(failure)
                    return
                last = failure
                continue
            retry_after = None
            try:
                self._adopt(socket, attempt)
                return
            except RealtimeConnectionClosedError as error:
                last = error
        failed = RealtimeReconnectFailedError(lost.code, lost.reason, attempts=attempt)
        failed.__cause__ = last
        self._end(failed)

    def _adopt(self, socket: ClientConnection, attempts: int) -> None:
        """Send the summed ``session.update`` and the backlog on ``socket``, then make it the
        link; raises (the backlog kept) when ``socket`` is lost meanwhile."""
        with self._cond:
            if self._state is not _DOWN:
                _abort(socket)
                return
            self._candidate = socket
        try:
            with self._send_lock:
                if self._session_update is not None:
                    self._deliver(socket, self._session_update)
                backlog = self._queue.take_all()
                for index, (_, data) in enumerate(backlog):
                    try:
                        self._deliver(socket, data)
                    except RealtimeConnectionClosedError:
                        self._queue.put_back(backlog[index:])
                        raise
                self._installed(socket, attempts, frozenset(event_id for event_id, _ in backlog))
        except RealtimeConnectionClosedError:
            _abort(socket)
            raise
        finally:
            with self._cond:
                self._candidate = None

    def _installed(self, socket: ClientConnection, attempts: int, resent: frozenset[str]) -> None:
        with self._cond:
            if self._state is not _DOWN:  # closed meanwhile
                _abort(socket)
                return
            self._socket, self._state = socket, _OPEN
            lost = self._lost
            down = time.monotonic() - self._down_since
            self._marker = Reconnected(lost.code, lost.reason, attempts, down, resent)
            self._install(socket)
            self._cond.notify_all()
        logger.debug("realtime: reconnected after %d attempts, %.3f s down", attempts, down)

    def _end(self, failure: BaseException) -> None:
        with self._cond:
            if self._state is _DOWN:
                self._state, self._failure = _ENDED, failure
                self._cond.notify_all()

    def _ended(self) -> BaseException:
        """What ended reconnecting, to raise again (its traceback reset each time)."""
        assert self._failure is not None
        return self._failure.with_traceback(None)

    # -- closing ---------------------------------------------------------------------------

    def close(self, timeout: float | None) -> None:
        """Stop reconnecting for good: a backoff ends at once, a socket being adopted is
        dropped; waits at most ``timeout`` seconds for the worker."""
        with self._cond:
            self._state = _CLOSED
            self._stop.set()
            candidate, worker = self._candidate, self._worker
            self._cond.notify_all()
        if candidate is not None:
            _abort(candidate)
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _abort(socket: ClientConnection) -> None:
    """Drop a socket at once, without a closing handshake to wait for: the shutdown wakes a
    send blocked on it; ``close_socket`` ends websockets' reading thread and frees the file."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(socket_module.SHUT_RDWR)
    socket.close_socket()


def _unbound(socket: ClientConnection, data: bytes) -> None:
    raise RuntimeError("Relink.bind() was not called")
