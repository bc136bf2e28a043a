"""The calls the phone agent holds: each one a sideband connection on its own thread, its tool
calls answered by Python functions, its transcript logged, ended by the caller, a transfer or
the time limit. With a shared store a call may change hands: the worker holding it renews a
lease, and another takes it over (its deadline, transfer and unanswered tool calls included)
when that worker dies or stops."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import bakery
from ledger import ToolLedger, interrupted_output, output_item
from metrics import Metrics
from store import CallStore, MemoryStore, Reservation, StoreUnavailable, ToolRun

from openapiopenai import ApiException, ApiTransportError, RealtimeApi
from openapiopenai.exceptions import NotFoundException, RealtimeConnectionClosedError
from openapiopenai.models import RealtimeServerEventResponseFunctionCallArgumentsDone as CallDone
from openapiopenai.realtime import AnyRealtimeConnection, Reconnected, ServerEvent
from openapiopenai.realtime.tools import FunctionTools, run_tool

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
    #: ``"hung up"``, ``"transferred"``, ``"time limit"`` or ``"failed"`` once it ended;
    #: ``"handed over"`` or ``"lease lost"`` once another worker holds it.
    outcome: str | None = None
    ended: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class CallSettings:
    """How every call is held: transfer target, time limit, and (in a fleet) this worker's
    id, its store and its lease."""

    transfer_to: str
    time_limit: float
    store: CallStore = field(default_factory=MemoryStore)
    owner: str = "local"
    lease_seconds: float = 6.0
    metrics: Metrics = field(default_factory=Metrics)


class Call:
    """One accepted call: its sideband connection, tools and transcript."""

    def __init__(
        self, api: RealtimeApi, call_id: str, settings: CallSettings, *, taken_over: bool = False
    ) -> None:
        self.api = api
        self.record = CallRecord(call_id)
        self.settings = settings
        self.transfer_to = settings.transfer_to
        self.time_limit = settings.time_limit
        #: Taken over from another worker: no greeting, and its deadline, transfer and
        #: unanswered tool calls come from the store.
        self.taken_over = taken_over
        self.ledger = ToolLedger(
            settings.store, call_id, settings.owner, settings.metrics.tool_seconds
        )
        self._transfer_asked = threading.Event()
        self._ending: str | None = None
        self._hanging_up = threading.Lock()
        #: Set once another worker holds the call: this one closes its sideband, nothing more.
        self._let_go: str | None = None
        self._conn: AnyRealtimeConnection | None = None
        self._tools: FunctionTools | None = None
        self._first_answer_pending = not taken_over

    @property
    def call_id(self) -> str:
        return self.record.call_id

    @property
    def leaving(self) -> bool:
        """Whether the call is being handed over or let go: its lease is not renewed."""
        return self.ledger.handing_over or bool(self._let_go)

    def run(self) -> None:
        """Hold the call until it ends or another worker holds it; never raises (a failure
        is logged and ends it)."""
        timer: threading.Timer | None = None
        try:
            # A dropped sideband re-joins its call (the call's session is kept on the service).
            with (
                self.api.connect(call_id=self.call_id, reconnect=True) as conn,
                FunctionTools(self.tools()) as tools,
            ):
                self._conn, self._tools = conn, tools
                LOG.info(
                    "call %s: sideband connected, owned by worker %s%s",
                    short_id(self.call_id),
                    self.settings.owner,
                    " (taken over)" if self.taken_over else "",
                )
                timer = threading.Timer(max(0.0, self._begin() - time.time()), self._time_up)
                timer.daemon = True
                timer.start()
                if self.taken_over:
                    self.answer_orphans()
                else:
                    conn.response.create()  # the agent speaks first: a greeting
                self._serve(conn, tools)
            self._finish(self._ending or "hung up")
        except RealtimeConnectionClosedError as closed:
            LOG.warning("call %s: connection closed %s", short_id(self.call_id), closed.code)
            self._finish(self._ending or "failed")
        except (ApiException, ApiTransportError) as failed:
            LOG.warning("call %s: %s", short_id(self.call_id), type(failed).__name__)
            # a call that ended while its sideband was away (a re-join after a drop, or a
            # takeover) refuses it: the call is over, not broken
            gone = isinstance(failed, NotFoundException)
            self._finish("hung up" if gone else "failed")
        except Exception:
            LOG.exception("call %s: unexpected failure", short_id(self.call_id))
            self._finish("failed")
        finally:
            if timer is not None:
                timer.cancel()

    def _begin(self) -> float:
        """The call's deadline (Unix time): set now on a new call, read on one taken over,
        with the transfer it may have asked for. Tells a worker handing over it is joined."""
        store, deadline = self.settings.store, time.time() + self.time_limit
        try:
            if self.taken_over:
                state = store.state(self.call_id)
                deadline = float(state.get("deadline") or deadline)
                if state.get("transfer_asked"):
                    self._transfer_asked.set()
                store.update(self.call_id, {"joined": self.settings.owner})
            else:
                store.update(self.call_id, {"deadline": repr(deadline)})
        except StoreUnavailable:
            LOG.warning("call %s: the store is unavailable", short_id(self.call_id))
        return deadline

    def tools(self) -> list[Callable[..., Any]]:
        """The functions the model may call on this call."""
        return bakery.tools(self._ask_transfer)

    def _ask_transfer(self) -> None:
        self._transfer_asked.set()
        try:  # a worker taking the call over transfers it after the goodbye
            self.settings.store.update(self.call_id, {"transfer_asked": "1"})
        except StoreUnavailable:
            LOG.warning("call %s: the store missed the transfer", short_id(self.call_id))

    def _serve(self, conn: AnyRealtimeConnection, tools: FunctionTools) -> None:
        """Answer the tool calls this worker claims, until the call ends or is let go."""
        for event in conn:
            if self._let_go:
                return
            if (
                isinstance(event, CallDone)
                and event.name in tools
                and not self.ledger.claim(event.call_id, event.name, event.arguments)
            ):
                continue  # another worker answers it
            tools.handle(conn, event)
            if not isinstance(event, Reconnected):
                self._watch(conn, event)

    def answer_orphans(self) -> None:
        """Answer the tool calls other workers left unanswered on this call."""
        conn, tools = self._conn, self._tools
        if conn is None or tools is None or self._let_go:
            return
        for tool_call_id, run, repeat in self.ledger.orphans(bakery.IDEMPOTENT_TOOLS):
            LOG.info(
                "call %s: answering tool %s left by %s (%s)",
                short_id(self.call_id),
                run.name,
                run.by or "a worker handing over",
                "running it" if repeat else "asking again",
            )
            threading.Thread(
                target=self._answer_orphan,
                args=(conn, tools, tool_call_id, run, repeat),
                daemon=True,
            ).start()

    def _answer_orphan(
        self,
        conn: AnyRealtimeConnection,
        tools: FunctionTools,
        tool_call_id: str,
        run: ToolRun,
        repeat: bool,
    ) -> None:
        if repeat and run.name in tools:
            output = run_tool(tools.tool(run.name), run.arguments, tool_call_id)
        else:
            output = interrupted_output(run.name)
        try:
            conn.conversation.item.create(output_item(tool_call_id, output))
            conn.response.create()
        except RealtimeConnectionClosedError:
            LOG.warning("call %s: closed before a tool's answer", short_id(self.call_id))

    def _watch(self, conn: AnyRealtimeConnection, event: ServerEvent) -> None:
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
        elif kind == "conversation.item.added":
            self._output_seen(event.to_dict().get("item") or {})
        elif kind == "response.done":
            self.record.responses += 1
            if self._transfer_asked.is_set() and not self._ending and _spoken(event):
                self._transfer()

    def _output_seen(self, item: dict[str, Any]) -> None:
        """A tool's output reached the service: the ledger forgets it; the first one on a
        new call is the webhook-to-first-answer time."""
        if item.get("type") != "function_call_output":
            return
        if self.ledger.answered(str(item.get("call_id"))) and self._first_answer_pending:
            self._first_answer_pending = False
            try:
                webhook_at = float(self.settings.store.state(self.call_id)["webhook_at"])
            except (StoreUnavailable, KeyError, ValueError):
                return
            self.settings.metrics.first_tool_answer(time.time() - webhook_at)

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
        """The call ended, or (let go) is held by another worker now."""
        if self._let_go:
            outcome = self._let_go
        else:
            try:
                self.settings.store.end(self.call_id, outcome)
            except StoreUnavailable:  # its line is freed by whoever takes the call over
                LOG.warning("call %s: the store missed the end", short_id(self.call_id))
        self.record.outcome = outcome
        LOG.info("call %s: ended (%s)", short_id(self.call_id), outcome)
        self.record.ended.set()

    def let_go(self, why: str) -> None:
        """Stop holding the call (another worker holds it): close the sideband, nothing
        more; the call goes on."""
        self._let_go = why
        LOG.info(
            "call %s: let go by worker %s (%s)", short_id(self.call_id), self.settings.owner, why
        )
        if self._conn is not None:
            self._conn.close()

    def hand_over(self, patience: float) -> None:
        """Give the call to another worker at once (this one is stopping): wait for the
        tools running here, give up the lease, and close the sideband once the next owner
        has joined (or after ``patience`` seconds), so the call is never left alone."""
        self.ledger.handing_over = True
        store = self.settings.store
        wait_for(lambda: self.ledger.running() == 0, patience)
        try:
            store.update(self.call_id, {"joined": ""})
            if store.hand_over(self.call_id, self.settings.owner):
                wait_for(lambda: bool(store.state(self.call_id).get("joined")), patience)
        except StoreUnavailable:
            LOG.warning("call %s: the store is unavailable to hand over", short_id(self.call_id))
        self.let_go("handed over")


class Switchboard:
    """The calls this worker holds, each on its own thread; the lines (``max_calls``, for
    the whole fleet with a shared store) are counted by the store."""

    def __init__(
        self,
        api: RealtimeApi,
        *,
        max_calls: int,
        transfer_to: str,
        time_limit: float,
        settings: CallSettings | None = None,
    ):
        self.api = api
        self.max_calls = max_calls
        self.settings = settings or CallSettings(transfer_to=transfer_to, time_limit=time_limit)
        self.store = self.settings.store
        self.records: dict[str, CallRecord] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._calls: dict[str, Call] = {}
        self._lock = threading.Lock()
        self.settings.metrics.watch_active(lambda: len(self.held()))

    def reserve(self, call_id: str) -> Reservation:
        """Take a line for ``call_id``, unless it has one already or every line is busy;
        one atomic step in the store, so two deliveries of one webhook take one line."""
        state = {"webhook_at": repr(time.time())}
        with self._lock:
            self._forget_ended()
            reservation = self.store.reserve(
                call_id, self.settings.owner, self.max_calls, self.settings.lease_seconds, state
            )
            if reservation is Reservation.RESERVED:
                self._add(Call(self.api, call_id, self.settings))
            return reservation

    def _add(self, call: Call) -> None:
        """Hold ``call`` from now on (its thread started by :meth:`start`); the lock is held."""
        self.records[call.call_id] = call.record
        self._calls[call.call_id] = call
        self._threads[call.call_id] = threading.Thread(
            target=call.run, name=f"call-{short_id(call.call_id)}", daemon=True
        )

    def _forget_ended(self) -> None:
        """Drop the threads of ended calls; keep the records of at most ``KEPT_RECORDS``
        ended calls, the newest. The lock is held."""
        live = {cid: t for cid, t in self._threads.items() if t.is_alive() or not t.ident}
        self._threads = live
        self._calls = {cid: c for cid, c in self._calls.items() if cid in live}
        ended = [cid for cid, record in self.records.items() if record.ended.is_set()]
        for call_id in ended[: max(0, len(ended) - KEPT_RECORDS)]:
            del self.records[call_id]

    def release(self, call_id: str) -> None:
        """Give back a line reserved for a call that was not accepted after all."""
        with self._lock:
            self._threads.pop(call_id, None)
            self._calls.pop(call_id, None)
            self.records.pop(call_id, None)
        self.store.unreserve(call_id)

    def start(self, call_id: str) -> None:
        """Hold the reserved, accepted call ``call_id``."""
        with self._lock:
            thread = self._threads[call_id]
        thread.start()

    def adopt(self, call_id: str) -> None:
        """Hold a call taken over from another worker (its lease is this worker's now)."""
        LOG.info("call %s: taken over by worker %s", short_id(call_id), self.settings.owner)
        self.settings.metrics.taken_over()
        call = Call(self.api, call_id, self.settings, taken_over=True)
        with self._lock:
            self._forget_ended()
            self._add(call)
        self.start(call_id)

    def held(self) -> list[str]:
        """The calls this worker holds now (not those it is handing over)."""
        with self._lock:
            return [
                cid
                for cid, t in self._threads.items()
                if (t.is_alive() or not t.ident) and not self._calls[cid].leaving
            ]

    def live_calls(self) -> list[Call]:
        with self._lock:
            return [c for cid, c in self._calls.items() if self._threads[cid].is_alive()]

    def lost(self, call_id: str) -> None:
        """Another worker holds ``call_id`` now (this one's lease ran out): let it go."""
        with self._lock:
            call = self._calls.get(call_id)
        if call is not None:
            call.let_go("lease lost")

    def answer_orphans(self) -> None:
        """Answer, on each call held, the tool calls another worker left unanswered."""
        for call in self.live_calls():
            call.answer_orphans()

    def hand_over_all(self, patience: float) -> None:
        """Give every call to other workers at once and wait (bounded) until they have:
        stopping a worker of a fleet."""
        handing = [
            threading.Thread(target=call.hand_over, args=(patience,), daemon=True)
            for call in self.live_calls()
        ]
        for thread in handing:
            thread.start()
        for thread in handing:
            thread.join(patience * 2 + 5)

    def end_all(self, timeout: float) -> None:
        """Hang up every call in progress and wait (bounded) for them to end: shutting down."""
        calls = self.live_calls()
        with self._lock:
            threads = list(self._threads.values())
        for call in calls:
            call.hang_up("shutting down")
        for thread in threads:
            if thread.ident:
                thread.join(timeout)


def wait_for(check: Callable[[], object], timeout: float = 10.0, step: float = 0.02) -> bool:
    """Poll ``check()`` every ``step`` seconds for at most ``timeout`` seconds; its last answer."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(step)
    return bool(check())


def _worth_retrying(failed: ApiException | ApiTransportError) -> bool:
    """Whether a failed hang-up may work later: the network, a 429 or a 5xx; not a refusal."""
    if not isinstance(failed, ApiException) or failed.status is None:
        return True
    return failed.status in (408, 429) or failed.status >= 500


def _spoken(done: ServerEvent) -> bool:
    """Whether a ``response.done`` finished a reply, not a response that called a tool."""
    output = done.to_dict().get("response", {}).get("output") or []
    return not any(item.get("type") == "function_call" for item in output)
