"""What the mock remembers: the requests it received, the keys it issued, the calls it knows,
and the behaviours scripted for the next requests. Plain records, for tests to assert on.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The incoming SIP call that ``python -m openapiopenai.mock`` (and the CLI's ``--mock``) has
#: waiting from the start, so the documented accept/refer/reject/hangup examples find a call.
DEMO_CALL_ID = "rtc_mock_sip_call"
#: What the mock's 404 for a call adds to the service's words: how a test makes one.
UNKNOWN_CALL_HINT = (
    "This mock knows the calls made by POST /realtime/calls and the SIP calls made to arrive"
    " with mock.incoming_call(call_id); `python -m openapiopenai.mock` starts with one waiting,"
    f" {DEMO_CALL_ID}, a MockServer() in your own process with none."
)


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


class CallUpdate:
    """``with``: holds the mock's lock while a call's record changes."""

    def __init__(self, lock: threading.Lock, call: MockCall) -> None:
        self._lock = lock
        self._call = call

    def __enter__(self) -> MockCall:
        self._lock.acquire()
        return self._call

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


def bounded_put(store: OrderedDict[str, Any], key: str, value: Any, limit: int) -> None:
    """Store ``value`` under ``key``, dropping the oldest entries beyond ``limit``."""
    store[key] = value
    while len(store) > limit:
        store.popitem(last=False)
