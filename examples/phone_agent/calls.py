"""The calls the phone agent holds: each one a sideband connection on its own thread, its tool
calls answered by Python functions, its transcript logged, ended by the caller, a transfer or
the time limit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import bakery

from openapiopenai import ApiException, ApiTransportError, RealtimeApi
from openapiopenai.exceptions import NotFoundException, RealtimeConnectionClosedError
from openapiopenai.realtime import AnyRealtimeConnection, ServerEvent
from openapiopenai.realtime.tools import FunctionTools

LOG = logging.getLogger("phone_agent")
#: How many ended calls' records are kept for inspection.
KEPT_RECORDS = 1000
#: Tries of a hang-up the service fails, in all; the wait before the second, doubling after.
HANGUP_ATTEMPTS = 3
HANGUP_RETRY_SECONDS = 0.5
#: What the transcript logs, and under which speaker.
SPOKEN = {
    "conversation.item.input_audio_transcription.completed": ("caller", "transcript"),
    "response.output_audio_transcript.done": ("agent", "transcript"),
    "response.output_text.done": ("agent", "text"),
}


def short_id(call_id: str) -> str:
    """A call id as the log shows it: enough to follow one call, too little to act on it."""
    return call_id[:12] + "..." if len(call_id) > 12 else call_id


@dataclass
class CallRecord:
    """What happened on one call, for the log and for whoever watches the agent."""

    call_id: str
    transcript: list[tuple[str, str]] = field(default_factory=list)
    tool_calls: list[str] = field(default_factory=list)
    #: Responses the model finished (the first is the greeting).
    responses: int = 0
    #: ``"hung up"``, ``"transferred"``, ``"time limit"`` or ``"failed"`` once it ended.
    outcome: str | None = None
    ended: threading.Event = field(default_factory=threading.Event)


class Call:
    """One accepted call: its sideband connection, tools and transcript."""

    def __init__(self, api: RealtimeApi, call_id: str, *, transfer_to: str, time_limit: float):
        self.api = api
        self.record = CallRecord(call_id)
        self.transfer_to = transfer_to
        self.time_limit = time_limit
        self._transfer_asked = threading.Event()
        self._ending: str | None = None
        self._hanging_up = threading.Lock()

    @property
    def call_id(self) -> str:
        return self.record.call_id

    def run(self) -> None:
        """Hold the call until it ends; never raises (a failure is logged and ends it)."""
        timer = threading.Timer(self.time_limit, self._time_up)
        timer.daemon = True
        try:
            # A dropped sideband re-joins its call (the call's session is kept on the service).
            with self.api.connect(call_id=self.call_id, reconnect=True) as conn:
                LOG.info("call %s: sideband connected", short_id(self.call_id))
                timer.start()
                conn.response.create()  # the agent speaks first: a greeting
                self._serve(conn)
            self._finish(self._ending or "hung up")
        except RealtimeConnectionClosedError as closed:
            LOG.warning("call %s: connection closed %s", short_id(self.call_id), closed.code)
            self._finish(self._ending or "failed")
        except (ApiException, ApiTransportError) as failed:
            LOG.warning("call %s: %s", short_id(self.call_id), type(failed).__name__)
            self._finish("failed")
        except Exception:
            LOG.exception("call %s: unexpected failure", short_id(self.call_id))
            self._finish("failed")
        finally:
            timer.cancel()

    def tools(self) -> list[Callable[..., Any]]:
        """The functions the model may call on this call."""
        return bakery.tools(self._transfer_asked.set)

    def _serve(self, conn: AnyRealtimeConnection) -> None:
        with FunctionTools(self.tools()) as tools:
            tools.serve(conn, until=lambda event: self._watch(conn, event))

    def _watch(self, conn: AnyRealtimeConnection, event: ServerEvent) -> bool:
        """Log what is said and done; transfer once the goodbye has been spoken."""
        kind = event.type
        if kind in SPOKEN:
            speaker, name = SPOKEN[kind]
            text = str(event.to_dict().get(name) or "")
            self.record.transcript.append((speaker, text))
            LOG.info("call %s: %s: %s", short_id(self.call_id), speaker, text)
        elif kind == "response.function_call_arguments.done":
            name = str(event.to_dict().get("name"))
            self.record.tool_calls.append(name)
            LOG.info("call %s: tool %s", short_id(self.call_id), name)
        elif kind == "response.done":
            self.record.responses += 1
            if self._transfer_asked.is_set() and not self._ending and _spoken(event):
                self._transfer()
        return False

    def _transfer(self) -> None:
        """Hand the call to a person (SIP REFER); the service then ends the session."""
        self._ending = "transferred"
        LOG.info("call %s: transferring to a person", short_id(self.call_id))
        try:
            self.api.refer_realtime_call(self.call_id, {"target_uri": self.transfer_to})
        except (ApiException, ApiTransportError) as failed:
            LOG.warning(
                "call %s: transfer failed: %s", short_id(self.call_id), type(failed).__name__
            )
            self._ending = None

    def _time_up(self) -> None:
        self.hang_up("time limit")

    def hang_up(self, why: str) -> None:
        """End the call from here (time limit, shutdown); the service closes the sideband.

        One hang-up at a time: shutting down waits for the time limit's. If every try fails
        the call stays live, and the next hang-up (shutting down) tries again.
        """
        with self._hanging_up:
            if self._ending:
                return
            self._ending = why
            LOG.info("call %s: hanging up (%s)", short_id(self.call_id), why)
            if not self._hangup_with_retries():
                LOG.error("call %s: could not hang up; the call goes on", short_id(self.call_id))
                self._ending = None

    def _hangup_with_retries(self) -> bool:
        """Ask the service to end the call, again after a failure the service may get over
        (a 5xx, a 429, the network), at most ``HANGUP_ATTEMPTS`` times; True once it ended."""
        delay = HANGUP_RETRY_SECONDS
        for attempt in range(1, HANGUP_ATTEMPTS + 1):
            try:
                self.api.hangup_realtime_call(self.call_id)
                return True
            except NotFoundException:  # the call has ended already
                return True
            except (ApiException, ApiTransportError) as failed:
                LOG.warning(
                    "call %s: hangup failed (try %d of %d): %s",
                    short_id(self.call_id),
                    attempt,
                    HANGUP_ATTEMPTS,
                    type(failed).__name__,
                )
                if not _worth_retrying(failed):
                    return False
            if attempt < HANGUP_ATTEMPTS and self.record.ended.wait(delay):
                return True  # the call ended meanwhile
            delay *= 2
        return False

    def _finish(self, outcome: str) -> None:
        self.record.outcome = outcome
        LOG.info("call %s: ended (%s)", short_id(self.call_id), outcome)
        self.record.ended.set()


class Reservation(Enum):
    """What :meth:`Switchboard.reserve` did for a call."""

    RESERVED = "reserved"  #: a line is taken for it: accept it, then start it
    HELD = "held"  #: it has a line already (a repeated webhook): leave it be
    BUSY = "busy"  #: every line is taken: turn it down


class Switchboard:
    """The calls in progress, at most ``max_calls``, each held on its own thread."""

    def __init__(self, api: RealtimeApi, *, max_calls: int, transfer_to: str, time_limit: float):
        self.api = api
        self.max_calls = max_calls
        self.transfer_to = transfer_to
        self.time_limit = time_limit
        self.records: dict[str, CallRecord] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._calls: dict[str, Call] = {}
        self._lock = threading.Lock()

    def reserve(self, call_id: str) -> Reservation:
        """Take a line for ``call_id``, unless it has one already or every line is busy;
        one look under the lock, so two deliveries of one webhook take one line."""
        with self._lock:
            live = {cid: t for cid, t in self._threads.items() if t.is_alive() or not t.ident}
            self._threads = live
            self._calls = {cid: c for cid, c in self._calls.items() if cid in live}
            self._forget_old_records()
            if call_id in self.records:
                return Reservation.HELD
            if len(live) >= self.max_calls:
                return Reservation.BUSY
            call = Call(self.api, call_id, transfer_to=self.transfer_to, time_limit=self.time_limit)
            self.records[call_id] = call.record
            self._calls[call_id] = call
            self._threads[call_id] = threading.Thread(
                target=call.run, name=f"call-{short_id(call_id)}", daemon=True
            )
            return Reservation.RESERVED

    def _forget_old_records(self) -> None:
        """Keep the records of at most ``KEPT_RECORDS`` ended calls, the newest."""
        ended = [cid for cid, record in self.records.items() if record.ended.is_set()]
        for call_id in ended[: max(0, len(ended) - KEPT_RECORDS)]:
            del self.records[call_id]

    def release(self, call_id: str) -> None:
        """Give back a line reserved for a call that was not accepted after all."""
        with self._lock:
            self._threads.pop(call_id, None)
            self._calls.pop(call_id, None)
            self.records.pop(call_id, None)

    def start(self, call_id: str) -> None:
        """Hold the reserved, accepted call ``call_id``."""
        with self._lock:
            thread = self._threads[call_id]
        thread.start()

    def end_all(self, timeout: float) -> None:
        """Hang up every call in progress and wait (bounded) for them to end: shutting down."""
        with self._lock:
            calls = [c for cid, c in self._calls.items() if self._threads[cid].is_alive()]
            threads = list(self._threads.values())
        for call in calls:
            call.hang_up("shutting down")
        for thread in threads:
            if thread.ident:
                thread.join(timeout)


def _worth_retrying(failed: ApiException | ApiTransportError) -> bool:
    """Whether a failed hang-up may work later: the network, a 429 or a 5xx; not a refusal."""
    if not isinstance(failed, ApiException) or failed.status is None:
        return True
    return failed.status in (408, 429) or failed.status >= 500


def _spoken(done: ServerEvent) -> bool:
    """Whether a ``response.done`` finished a reply, not a response that called a tool."""
    output = done.to_dict().get("response", {}).get("output") or []
    return not any(item.get("type") == "function_call" for item in output)
