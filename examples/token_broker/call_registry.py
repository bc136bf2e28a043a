"""The calls this broker opened, each tied to the page that opened it.

``POST /call`` records every call it opens with a fresh random token, handed only to the page
that posted the offer (``X-Call-Token``). Ending or otherwise acting on a call later takes
that token: a call id alone (from a log, a webhook, another service's SIP call) acts on
nothing. The registry lives in this process's memory, holds at most ``max_calls`` calls and
forgets a call ``max_age_seconds`` after it was opened (a Realtime call lasts at most an hour).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

#: Bytes of randomness in a call token (URL-safe base64, 43 characters).
TOKEN_BYTES = 32


class CallRegistry:
    """Call ids opened here, each with the digest of its page's token and when it opened."""

    def __init__(
        self,
        *,
        max_calls: int = 10_000,
        max_age_seconds: float = 2 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_calls = max_calls
        self._max_age = max_age_seconds
        self._clock = clock
        self._calls: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, call_id: str) -> str:
        """Record ``call_id`` as opened here; return the token that acts on it later."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._lock:
            self._drop_stale()
            self._calls.pop(call_id, None)
            self._calls[call_id] = (_digest(token), self._clock())
            while len(self._calls) > self._max_calls:
                self._calls.popitem(last=False)
        return token

    def holds(self, call_id: str, token: str) -> bool:
        """Whether ``call_id`` was opened here and ``token`` is the one its page was given."""
        with self._lock:
            self._drop_stale()
            known = self._calls.get(call_id)
        # Compared in constant time, and a digest always, whether the call is known or not.
        expected = known[0] if known is not None else b"\0" * 32
        return hmac.compare_digest(expected, _digest(token)) and known is not None

    def forget(self, call_id: str) -> None:
        """The call has ended: its token acts on nothing any more."""
        with self._lock:
            self._calls.pop(call_id, None)

    def __len__(self) -> int:
        with self._lock:
            self._drop_stale()
            return len(self._calls)

    def _drop_stale(self) -> None:
        """Forget calls opened longer ago than any call can last (oldest first)."""
        oldest = self._clock() - self._max_age
        while self._calls:
            call_id, (_, opened) = next(iter(self._calls.items()))
            if opened >= oldest:
                return
            del self._calls[call_id]


def _digest(token: str) -> bytes:
    """What is kept of a token: its SHA-256, so memory holds nothing a page could replay."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def short_call_id(call_id: str) -> str:
    """A call id as the log shows it at INFO: enough to follow one call, too little to act on."""
    return call_id[:12] + "..." if len(call_id) > 12 else call_id
