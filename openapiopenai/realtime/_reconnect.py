"""Reconnection without a socket: the policy, which closes it answers, the backoff between
re-handshakes, which refusals end it, and the bounded queue of sends made while the link is
down. :mod:`openapiopenai.realtime._relink` runs them on a real socket."""

from __future__ import annotations

import json
import math
import random
from collections import deque
from dataclasses import dataclass

from openapiopenai._overlay import overlay
from openapiopenai.exceptions import (
    ApiException,
    ApiTLSError,
    ApiTransportError,
    ApiTypeError,
    ApiValueError,
    RealtimeConnectionClosedError,
    RealtimeSendQueueFullError,
    retry_after_seconds,
)

#: Close codes that mean "try again": a drop without a close frame (1006, also what a lost
#: keepalive leaves when the socket is gone), going away, a server error (1011, also sent by
#: the keepalive when its ping goes unanswered), restart, try later, bad gateway.
RECONNECT_CODES = frozenset({1001, 1006, 1011, 1012, 1013, 1014})


@dataclass(frozen=True)
class Reconnect:
    """How a Realtime connection comes back after a drop (``connect(..., reconnect=...)``).

    ``attempts``: re-handshakes after one drop before giving up; ``initial_delay`` and
    ``max_delay``: the backoff's bounds in seconds (each wait is drawn uniformly between 0
    and ``min(max_delay, initial_delay * 2 ** (attempt - 1))``, full jitter);
    ``queue_bytes``: how many bytes of events sent while the link is down are kept, in order,
    to go out once it is back.
    """

    attempts: int = 5
    initial_delay: float = 0.5
    max_delay: float = 8.0
    queue_bytes: int = 1_048_576

    def __post_init__(self) -> None:
        _check_count("attempts", self.attempts, least=0)
        _check_seconds("initial_delay", self.initial_delay)
        _check_seconds("max_delay", self.max_delay)
        if self.max_delay < self.initial_delay:
            raise ApiValueError(
                f"max_delay ({self.max_delay:g} s) must not be less than initial_delay "
                f"({self.initial_delay:g} s)",
                ["max_delay"],
            )
        _check_count("queue_bytes", self.queue_bytes, least=1)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before re-handshake number ``attempt`` (1 for the first): what a
        refusal's ``Retry-After`` asked, within ``max_delay``, else the jittered backoff."""
        if retry_after is not None:
            return min(self.max_delay, retry_after)
        ceiling = min(self.max_delay, self.initial_delay * 2 ** min(attempt - 1, 62))
        return random.uniform(0.0, ceiling)


def _check_count(name: str, value: object, *, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiTypeError(f"{name} must be an int, not {type(value).__name__}", [name])
    if value < least:
        raise ApiValueError(f"{name} must be {least} or more, not {value}", [name])


def _check_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiTypeError(
            f"{name} must be a number of seconds, not {type(value).__name__}", [name]
        )
    if not math.isfinite(value) or value < 0:
        raise ApiValueError(f"{name} must be a finite number of seconds >= 0", [name])


def reconnect_policy(value: object) -> Reconnect | None:
    """The policy ``connect(reconnect=...)`` asks for: ``None``/``False`` off, ``True`` the
    defaults, or a :class:`Reconnect`; anything else is refused before any I/O."""
    if value is None or value is False:
        return None
    if value is True:
        return Reconnect()
    if isinstance(value, Reconnect):
        return value
    raise ApiTypeError(
        f"reconnect must be None, a bool or openapiopenai.realtime.Reconnect, "
        f"not {type(value).__name__}",
        ["reconnect"],
    )


@dataclass(frozen=True)
class Reconnected:
    """Not a server event: what :meth:`recv` and iteration give first after the connection
    came back. ``code`` and ``reason`` are the lost link's close; ``attempts`` the
    re-handshakes it took; ``down_seconds`` how long the link was down; ``resent`` the ids of
    the events sent while it was down, which went out on the new link (so a ``model=`` session
    answers a ``response.create`` among them). A ``model=`` session is a new one on the service
    (its ``session.update`` events were sent again as one, conversation items were not); a
    sideband (``call_id=``) is back on the same call."""

    code: int
    reason: str
    attempts: int
    down_seconds: float
    resent: frozenset[str] = frozenset()


def triggers(error: RealtimeConnectionClosedError) -> bool:
    """Whether a link lost with this close is worth re-opening."""
    return error.code in RECONNECT_CODES


def refusal_wait(failure: BaseException) -> tuple[bool, float | None]:
    """Whether a failed re-handshake is worth another attempt, and the wait it asked for.

    429 and 5xx answers and transport failures (refused, reset, timed out) are; any other
    answer (401: the key was revoked; 404: the call has ended), a TLS failure or a mistake
    in the arguments ends reconnection at once."""
    if isinstance(failure, ApiException):
        status = failure.status or 0
        if status == 429 or status >= 500:
            headers = failure.headers
            return True, retry_after_seconds(headers) if headers is not None else None
        return False, None
    if isinstance(failure, ApiTLSError):
        return False, None
    return isinstance(failure, ApiTransportError), None


class SendQueue:
    """Encoded events waiting for the link, as ``(event_id, JSON)`` in order, bounded by the
    total size of their JSON."""

    __slots__ = ("_bytes", "_items", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: deque[tuple[str, bytes]] = deque()
        self._bytes = 0

    def put(self, event_id: str, data: bytes, lost: RealtimeConnectionClosedError) -> None:
        """Keep the event for later; raise at once when it does not fit (nothing is dropped
        silently: the caller learns that this event was not kept)."""
        if self._bytes + len(data) > self.limit:
            raise RealtimeSendQueueFullError(
                lost.code, lost.reason, queued=self._bytes, size=len(data), limit=self.limit
            )
        self._items.append((event_id, data))
        self._bytes += len(data)

    def take_all(self) -> list[tuple[str, bytes]]:
        """Take every event out, oldest first."""
        items = list(self._items)
        self._items.clear()
        self._bytes = 0
        return items

    def put_back(self, items: list[tuple[str, bytes]]) -> None:
        """Return ``items`` (taken by :meth:`take_all`, not all sent) to the front, in order;
        they fitted once, so they are not counted against the bound again."""
        self._items.extendleft(reversed(items))
        self._bytes += sum(len(data) for _, data in items)

    @property
    def size(self) -> int:
        """Bytes waiting."""
        return self._bytes


def summed_update(previous: bytes | None, update: bytes) -> bytes:
    """One ``session.update`` (JSON) that stands for ``previous`` and then ``update``: each
    update changes only the fields it names, so a new session needs their sum, not the last."""
    if previous is None:
        return update
    before, after = json.loads(previous), json.loads(update)
    after["session"] = overlay(before.get("session") or {}, after.get("session") or {})
    return json.dumps(after, separators=(",", ":")).encode()
