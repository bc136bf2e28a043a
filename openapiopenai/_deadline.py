"""The end of one call's time (``Configuration.deadline``), watched from its own thread.

Past it, the connections the calling thread holds are shut down (a server dripping bytes
defeats a per-read timeout), no new attempt starts, and no wait between attempts goes on.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import TYPE_CHECKING

from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import EmptyPoolError

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection


_ACTIVE = threading.local()


class Deadline:
    """The end of one call's time. Past it, the connections the calling thread holds are shut
    down (a server dripping bytes defeats a per-read timeout) and no new attempt starts."""

    __slots__ = ("_connections", "_lock", "_stopped", "_thread", "ends_at", "expired")

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.ends_at = time.monotonic() + seconds
        self._connections: set[BaseHTTPConnection] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, args=(seconds,), daemon=True, name="openapiopenai-deadline"
        )
        _ACTIVE.deadline = self
        self._thread.start()

    def take(self, conn: BaseHTTPConnection) -> bool:
        """Watch ``conn`` while this call uses it; ``False`` once the deadline has passed."""
        with self._lock:
            if self.expired:
                return False
            self._connections.add(conn)
            return True

    def give_back(self, conn: BaseHTTPConnection) -> None:
        with self._lock:
            self._connections.discard(conn)

    def stop(self) -> None:
        _ACTIVE.deadline = None
        self._stopped.set()

    def _watch(self, seconds: float) -> None:
        if self._stopped.wait(seconds):
            return
        with self._lock:
            self.expired = True
        # A connection may still be connecting (no socket yet): look again until the call ends.
        while True:
            with self._lock:
                held = [getattr(conn, "sock", None) for conn in self._connections]
            sockets: list[socket.socket] = [sock for sock in held if sock is not None]
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            if self._stopped.wait(0.05):
                return


def seconds_left() -> float | None:
    """Seconds until the current call's deadline (0 once past it); ``None`` without one."""
    deadline: Deadline | None = getattr(_ACTIVE, "deadline", None)
    return None if deadline is None else max(0.0, deadline.ends_at - time.monotonic())


def current_deadline_expired() -> bool:
    deadline: Deadline | None = getattr(_ACTIVE, "deadline", None)
    return deadline is not None and deadline.expired


class _WatchedPoolMixin:
    """Lets a call's deadline see the connections it takes from the pool, and refuses new
    attempts once it has passed."""

    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        conn: BaseHTTPConnection = super()._get_conn(timeout)  # type: ignore[misc]
        deadline: Deadline | None = getattr(_ACTIVE, "deadline", None)
        if deadline is not None and not deadline.take(conn):
            super()._put_conn(conn)  # type: ignore[misc]
            raise EmptyPoolError(self, "the call's deadline has passed")  # type: ignore[arg-type]
        return conn

    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        deadline: Deadline | None = getattr(_ACTIVE, "deadline", None)
        if deadline is not None and conn is not None:
            deadline.give_back(conn)
        super()._put_conn(conn)  # type: ignore[misc]


class _WatchedHTTPConnectionPool(_WatchedPoolMixin, HTTPConnectionPool):
    pass


class _WatchedHTTPSConnectionPool(_WatchedPoolMixin, HTTPSConnectionPool):
    pass


WATCHED_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _WatchedHTTPConnectionPool,
    "https": _WatchedHTTPSConnectionPool,
}
