"""What the phone agent's workers share: webhook ids already handled, the calls in progress
(capacity), which worker owns each call (a lease), each call's start, deadline and transfer,
and the tool calls a worker has started on it.

:class:`MemoryStore` keeps it in this process (one worker: the default); the Redis store
(:mod:`redis_store`) shares it between workers on any number of machines. Both follow
:class:`CallStore`, so the rest of the agent does not know which it has.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol
from urllib.parse import urlsplit

#: How long a handled webhook id is remembered: beyond the sender's retry window (OpenAI
#: retries a failed delivery with backoff for up to three days).
WEBHOOK_TTL_SECONDS = 4 * 24 * 3600
#: How long a delivery being handled holds its webhook id: a worker that dies meanwhile
#: lets the sender's next retry through after this.
WEBHOOK_WORKING_SECONDS = 60
#: How long an ended call's record stays, so a late webhook for it changes nothing.
ENDED_TTL_SECONDS = WEBHOOK_TTL_SECONDS


class StoreUnavailable(Exception):
    """The store could not be reached (or answered nonsense): refuse new calls meanwhile."""


class Reservation(Enum):
    """What :meth:`CallStore.reserve` did for a call."""

    RESERVED = "reserved"  #: a line is taken for it: accept it, then start it
    HELD = "held"  #: it has a line already (a repeated webhook): leave it be
    BUSY = "busy"  #: every line is taken: turn it down


@dataclass(frozen=True)
class ToolRun:
    """A tool call seen on a call: its tool, arguments and the worker running it (``""``:
    seen by a worker handing the call over, run by nobody yet)."""

    name: str
    arguments: str
    by: str = ""

    def encode(self) -> str:
        """The exact text stored (compared as is by :meth:`CallStore.swap_tool`)."""
        return json.dumps([self.name, self.arguments, self.by])

    @classmethod
    def decode(cls, text: str) -> ToolRun:
        name, arguments, by = json.loads(text)
        return cls(str(name), str(arguments), str(by))


class CallStore(Protocol):
    """Everything workers share. Calls that change anything are atomic in the store."""

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers."""

    def first_delivery(self, webhook_id: str) -> bool:
        """Mark ``webhook_id`` as being handled; ``False`` if it was (or is) already."""

    def delivered(self, webhook_id: str) -> None:
        """``webhook_id`` was handled: remember it for :data:`WEBHOOK_TTL_SECONDS`."""

    def undelivered(self, webhook_id: str) -> None:
        """Handling ``webhook_id`` failed: forget it, so the sender's retry is handled."""

    def reserve(
        self, call_id: str, owner: str, max_calls: int, lease: float, state: Mapping[str, str]
    ) -> Reservation:
        """Take a line for ``call_id`` (owned by ``owner`` under a lease of ``lease`` seconds,
        its record ``state`` and ``accepted_by``) unless it has one or ``max_calls`` calls are
        in progress."""

    def end(self, call_id: str, outcome: str) -> None:
        """The call ended: free its line, drop its lease and tool calls, keep its record a
        while (so a late webhook for it changes nothing)."""

    def unreserve(self, call_id: str) -> None:
        """Give back the line of a call that was not accepted after all: no trace is left."""

    def hand_over(self, call_id: str, owner: str) -> bool:
        """``owner`` gives the call up now (it is stopping): its lease ends and the call is
        announced to the other workers; ``False`` if ``owner`` did not hold it."""

    def announce(self, call_id: str) -> None:
        """Tell the other workers again that ``call_id`` waits for an owner."""

    def renew(self, call_ids: Iterable[str], owner: str, lease: float) -> set[str]:
        """Extend ``owner``'s leases; the ids among ``call_ids`` it no longer owns."""

    def take(self, call_id: str, owner: str, lease: float) -> bool:
        """Take a call in progress that nobody owns; ``True`` for the one worker that did."""

    def unowned(self) -> list[str]:
        """The calls in progress whose lease has expired or was given up."""

    def next_handed_over(self, timeout: float) -> str | None:
        """A call just handed over, waiting at most ``timeout`` seconds for one."""

    def owner(self, call_id: str) -> str | None:
        """The worker owning ``call_id`` now, if any."""

    def state(self, call_id: str) -> dict[str, str]:
        """The call's record: ``started_at``, ``deadline``, ``transfer_asked``, ..."""

    def update(self, call_id: str, fields: Mapping[str, str]) -> None:
        """Change fields of the call's record."""

    def live_calls(self) -> int:
        """How many calls are in progress, fleet-wide."""

    def tool_runs(self, call_id: str) -> dict[str, ToolRun]:
        """The call's tool calls started and not yet answered, by the tool call's id."""

    def swap_tool(self, call_id: str, tool_call_id: str, old: ToolRun | None, new: ToolRun) -> bool:
        """Record ``new`` for a tool call if its record is ``old`` (``None``: none yet)."""

    def tool_answered(self, call_id: str, tool_call_id: str) -> None:
        """The tool call's output reached the service: nothing is left to do for it."""

    def close(self) -> None:
        """Let go of connections."""


def open_store(url: str) -> CallStore:
    """The store ``--store`` names (checked by :func:`check_store_url` first)."""
    if check_store_url(url) == "memory":
        return MemoryStore()
    from redis_store import RedisStore

    return RedisStore(url)


def check_store_url(url: str) -> str:
    """``"memory"`` or ``"redis"``; ``ValueError`` saying what is allowed for anything else."""
    if url in ("", "memory:"):
        return "memory"
    allowed = "memory: or redis://host:port/db"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(f"not a store URL; use {allowed}") from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"unknown store {parts.scheme or url!r}; use {allowed}")
    if port == 0 or parts.query or parts.fragment:
        raise ValueError(f"a Redis URL has a host, a port and a database number; use {allowed}")
    database = parts.path.lstrip("/")
    if database and not (database.isdigit() and int(database) < 16384):
        raise ValueError(f"the database must be a number (0, 1, ...), not {database!r}")
    return "redis"


class _Expiring:
    """Values that vanish after their time, as Redis keys with a TTL do."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        value = self._values.get(key)
        if value is None:
            return None
        if value[1] <= time.monotonic():
            del self._values[key]
            return None
        return value[0]

    def set(self, key: str, value: str, seconds: float) -> None:
        self._values[key] = (value, time.monotonic() + seconds)
        if len(self._values) > 10_000:  # sweep the expired now and then
            for gone in [k for k, (_, end) in self._values.items() if end <= time.monotonic()]:
                del self._values[gone]

    def pop(self, key: str) -> None:
        self._values.pop(key, None)


class MemoryStore:
    """The store of a single worker, in its memory: what the agent did before fleets."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._webhooks = _Expiring()
        self._leases = _Expiring()
        self._ended = _Expiring()
        self._states: dict[str, dict[str, str]] = {}
        self._tools: dict[str, dict[str, str]] = {}
        self._handed_over: deque[str] = deque()

    def ping(self) -> None:
        return None

    def first_delivery(self, webhook_id: str) -> bool:
        with self._lock:
            if self._webhooks.get(webhook_id) is not None:
                return False
            self._webhooks.set(webhook_id, "working", WEBHOOK_WORKING_SECONDS)
            return True

    def delivered(self, webhook_id: str) -> None:
        with self._lock:
            self._webhooks.set(webhook_id, "done", WEBHOOK_TTL_SECONDS)

    def undelivered(self, webhook_id: str) -> None:
        with self._lock:
            self._webhooks.pop(webhook_id)

    def reserve(
        self, call_id: str, owner: str, max_calls: int, lease: float, state: Mapping[str, str]
    ) -> Reservation:
        with self._lock:
            if call_id in self._states or self._ended.get(call_id) is not None:
                return Reservation.HELD
            if len(self._states) >= max_calls:
                return Reservation.BUSY
            self._states[call_id] = {"accepted_by": owner, **state}
            self._leases.set(call_id, owner, lease)
            return Reservation.RESERVED

    def end(self, call_id: str, outcome: str) -> None:
        with self._lock:
            self._states.pop(call_id, None)
            self._tools.pop(call_id, None)
            self._leases.pop(call_id)
            self._ended.set(call_id, outcome, ENDED_TTL_SECONDS)

    def unreserve(self, call_id: str) -> None:
        with self._lock:
            self._states.pop(call_id, None)
            self._tools.pop(call_id, None)
            self._leases.pop(call_id)

    def hand_over(self, call_id: str, owner: str) -> bool:
        with self._lock:
            if self._leases.get(call_id) != owner:
                return False
            self._leases.pop(call_id)
            self._handed_over.append(call_id)
            self._lock.notify_all()
            return True

    def announce(self, call_id: str) -> None:
        with self._lock:
            self._handed_over.append(call_id)
            self._lock.notify_all()

    def renew(self, call_ids: Iterable[str], owner: str, lease: float) -> set[str]:
        lost = set()
        with self._lock:
            for call_id in call_ids:
                holder = self._leases.get(call_id)
                if holder == owner or (holder is None and call_id in self._states):
                    self._leases.set(call_id, owner, lease)
                else:
                    lost.add(call_id)
        return lost

    def take(self, call_id: str, owner: str, lease: float) -> bool:
        with self._lock:
            if call_id not in self._states or self._leases.get(call_id) is not None:
                return False
            self._leases.set(call_id, owner, lease)
            return True

    def unowned(self) -> list[str]:
        with self._lock:
            return [cid for cid in self._states if self._leases.get(cid) is None]

    def next_handed_over(self, timeout: float) -> str | None:
        with self._lock:
            self._lock.wait_for(lambda: bool(self._handed_over), timeout)
            return self._handed_over.popleft() if self._handed_over else None

    def owner(self, call_id: str) -> str | None:
        with self._lock:
            return self._leases.get(call_id)

    def state(self, call_id: str) -> dict[str, str]:
        with self._lock:
            return dict(self._states.get(call_id, {}))

    def update(self, call_id: str, fields: Mapping[str, str]) -> None:
        with self._lock:
            if call_id in self._states:
                self._states[call_id].update(fields)

    def live_calls(self) -> int:
        with self._lock:
            return len(self._states)

    def tool_runs(self, call_id: str) -> dict[str, ToolRun]:
        with self._lock:
            runs = self._tools.get(call_id, {})
            return {tool_call: ToolRun.decode(text) for tool_call, text in runs.items()}

    def swap_tool(self, call_id: str, tool_call_id: str, old: ToolRun | None, new: ToolRun) -> bool:
        with self._lock:
            runs = self._tools.setdefault(call_id, {})
            if runs.get(tool_call_id) != (old.encode() if old else None):
                return False
            runs[tool_call_id] = new.encode()
            return True

    def tool_answered(self, call_id: str, tool_call_id: str) -> None:
        with self._lock:
            self._tools.get(call_id, {}).pop(tool_call_id, None)

    def close(self) -> None:
        return None
