"""A real WebRTC peer that answers like OpenAI's Realtime service, for offline voice-call tests.

Needs aiortc (the ``webrtc`` extra: ``pip install -e '.[webrtc]'`` in a checkout); the
SDK and the rest of the mock never import this module by themselves::

    from openapiopenai.mock.webrtc import WebRtcAnswerer

    with WebRtcAnswerer() as answerer:
        answer_sdp = answerer.answer(offer_sdp, {"type": "realtime"}, call_id="rtc_1")
        ...
        answerer.hangup("rtc_1")

Each call is a real ``RTCPeerConnection``. On the ``oai-events`` data channel that the offerer
opens, the answerer sends ``session.created``, answers ``session.update`` with
``session.updated``, ``response.create`` with a short scripted response (transcript events
and a few hundred milliseconds of tone on the audio track, which carries silence otherwise),
and any other event with an ``error`` event; once a sideband joins the call (``bridge``), the
mock's shared session answers the channel's events instead. The offerer's microphone audio is
received and dropped. A call ends on ``hangup``, when its ``expires_at`` passes, when the
offerer closes the data channel or the connection fails, and on ``close``.

Nothing leaves the machine, by construction rather than by luck:

- ``RTCConfiguration(iceServers=[])``: aiortc would otherwise ask a STUN server on the internet.
- Host candidates are 127.0.0.1 only. aioice has no option for this: it lists every interface
  address except loopback in ``aioice.ice.get_host_addresses``. This module wraps that function
  once, so that it answers ``["127.0.0.1"]`` on threads registered with :func:`loopback_ice`
  (the answerer's event-loop thread is) and defers to aioice everywhere else. Sockets bound to
  127.0.0.1 cannot send to another machine at all; the kernel refuses.
- Remote candidates in the offer that are not loopback UDP addresses (including mDNS
  ``.local`` names, whose resolution would multicast) are removed before aiortc sees them.
  An offer whose candidates are complete (``a=end-of-candidates``) with none on loopback
  could never connect: it is refused with :class:`InvalidOfferError` (the mock's 400) saying
  how to make one, :func:`loopback_ice` for aiortc or Chromium's
  ``--allow-loopback-in-peer-connection``.
  A browser may still send checks from its other local addresses (peer-reflexive candidates);
  they reach 127.0.0.1 through the kernel's local routing, and so do the replies.

The methods wait on the answerer's own loop, so call them from any thread but that one (an
HTTP handler's thread is right); doing otherwise raises RuntimeError instead of deadlocking.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import ipaddress
import json
import math
import secrets
import struct
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from types import TracebackType
from typing import Any, TypeVar

from openapiopenai.exceptions import install_hint

try:
    import aioice.ice
    import av
    from aiortc import (
        MediaStreamTrack,
        RTCConfiguration,
        RTCDataChannel,
        RTCPeerConnection,
        RTCSessionDescription,
    )
    from aiortc.mediastreams import MediaStreamError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "openapiopenai.mock.webrtc needs aiortc, which is not installed: "
        + install_hint("aiortc", "webrtc")
    ) from exc

__all__ = ["InvalidOfferError", "WebRtcAnswerer", "loopback_ice"]

LOOPBACK = "127.0.0.1"
EVENTS_CHANNEL = "oai-events"

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms, the Opus frame aiortc sends
TONE_HZ = 400  # a whole number of periods per 20 ms frame, so one frame repeats cleanly
TONE_AMPLITUDE = 0.3
RESPONSE_AUDIO_SECONDS = 0.4
RESPONSE_TEXT = "Hello! This is the offline mock of the Realtime API."
DELTA_GAP_SECONDS = 0.02

_T = TypeVar("_T")


#: Why an offer without a loopback candidate cannot become a call, and how to make one.
NO_LOOPBACK_CANDIDATE = (
    "offer_sdp ends its ICE candidates (a=end-of-candidates) with none on loopback, and this "
    "mock's WebRTC peer talks only on 127.0.0.1, so the call could never connect. Offer a UDP "
    "candidate on 127.0.0.1: with aiortc, create the offer on a thread inside "
    "openapiopenai.mock.webrtc.loopback_ice() and with RTCConfiguration(iceServers=[]); "
    "start Chromium with --allow-loopback-in-peer-connection"
)


class InvalidOfferError(ValueError):
    """The text given as an SDP offer is not one this answerer can accept."""


# --- ICE on loopback only ------------------------------------------------------------------

_loopback_threads: dict[int, int] = {}  # thread id -> how many loopback_ice blocks it is in
_loopback_lock = threading.Lock()
_aioice_host_addresses: Callable[[bool, bool], list[str]] | None = None


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """aioice's address discovery: loopback only on registered threads, unchanged elsewhere."""
    if threading.get_ident() in _loopback_threads:
        return [LOOPBACK] if use_ipv4 else []
    assert _aioice_host_addresses is not None
    return _aioice_host_addresses(use_ipv4, use_ipv6)


def _install_loopback_discovery() -> None:
    """Wrap aioice's host address discovery once per process (idempotent)."""
    global _aioice_host_addresses
    with _loopback_lock:
        if aioice.ice.get_host_addresses is not _host_addresses:
            _aioice_host_addresses = aioice.ice.get_host_addresses
            aioice.ice.get_host_addresses = _host_addresses


@contextmanager
def loopback_ice() -> Iterator[None]:
    """Within this block, ICE gathered on the current thread offers only 127.0.0.1.

    For your own aiortc offerer talking to the mock: run it on a thread inside this block, and
    pass ``RTCConfiguration(iceServers=[])``.
    """
    _install_loopback_discovery()
    ident = threading.get_ident()
    with _loopback_lock:
        _loopback_threads[ident] = _loopback_threads.get(ident, 0) + 1
    try:
        yield
    finally:
        with _loopback_lock:
            _loopback_threads[ident] -= 1
            if not _loopback_threads[ident]:
                del _loopback_threads[ident]


def _is_loopback_udp_candidate(line: str) -> bool:
    """Whether an ``a=candidate:`` line names a UDP transport on a loopback IP address."""
    parts = line.split()
    if len(parts) < 6 or parts[2].lower() != "udp":
        return False
    try:
        return ipaddress.ip_address(parts[4]).is_loopback
    except ValueError:  # an mDNS name or garbage
        return False


def _loopback_only_offer(offer_sdp: str) -> str:
    """The offer with every remote candidate that is not loopback UDP removed."""
    lines = offer_sdp.replace("\r\n", "\n").split("\n")
    kept = [
        line
        for line in lines
        if not line.startswith("a=candidate:") or _is_loopback_udp_candidate(line)
    ]
    return "\r\n".join(kept)


def _require_loopback_candidates(answer_sdp: str) -> None:
    """Fail loudly if an aioice release stopped honouring the loopback-only address list."""
    addresses = {
        line.split()[4] for line in answer_sdp.splitlines() if line.startswith("a=candidate:")
    }
    if addresses != {LOOPBACK}:
        raise RuntimeError(
            f"ICE gathered {sorted(addresses)}, not only {LOOPBACK}; this aioice is unsupported"
        )


def _check_offer(offer_sdp: object) -> str:
    """The offer as text, or InvalidOfferError saying what is missing."""
    if not isinstance(offer_sdp, str):
        raise InvalidOfferError(f"offer_sdp must be SDP text (str), not {type(offer_sdp).__name__}")
    text = offer_sdp.strip()
    if not text.startswith("v=0"):
        raise InvalidOfferError("offer_sdp is not SDP: it must start with 'v=0'")
    lines = text.replace("\r\n", "\n").split("\n")
    media = [line.split()[0] for line in lines if line.startswith("m=") and line.split()]
    if not {"m=audio", "m=application"} & set(media):
        raise InvalidOfferError("offer_sdp must offer audio or a data channel (no m=audio line)")
    for attribute in ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:"):
        if not any(line.startswith(attribute) for line in lines):
            raise InvalidOfferError(f"offer_sdp has no '{attribute}' line")
    # Candidates said to be complete, none on loopback: ICE could never connect. (An offer
    # still gathering may connect through peer-reflexive candidates, so it is answered.)
    complete = "a=end-of-candidates" in lines
    candidates = [line for line in lines if line.startswith("a=candidate:")]
    if complete and not any(_is_loopback_udp_candidate(line) for line in candidates):
        raise InvalidOfferError(NO_LOOPBACK_CANDIDATE)
    return text + "\r\n"


# --- audio ---------------------------------------------------------------------------------


def _tone_frame_bytes() -> bytes:
    """One 20 ms frame of a sine tone, 16-bit mono; TONE_HZ makes it repeat seamlessly."""
    peak = TONE_AMPLITUDE * 32767
    samples = (
        round(peak * math.sin(2 * math.pi * TONE_HZ * n / SAMPLE_RATE))
        for n in range(FRAME_SAMPLES)
    )
    return struct.pack(f"<{FRAME_SAMPLES}h", *samples)


class ToneTrack(MediaStreamTrack):
    """Outgoing audio at real-time pace: silence, or tone while a response is "speaking"."""

    kind = "audio"

    _TONE = _tone_frame_bytes()
    _SILENCE = bytes(2 * FRAME_SAMPLES)

    def __init__(self) -> None:
        super().__init__()
        self._started: float | None = None
        self._pts = 0
        self._tone_frames = 0

    def play(self, seconds: float) -> None:
        """Send tone instead of silence for about ``seconds`` from now."""
        self._tone_frames = max(1, round(seconds * SAMPLE_RATE / FRAME_SAMPLES))

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms frame, once its time has come."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._started is None:
            self._started = time.monotonic()
        else:
            self._pts += FRAME_SAMPLES
            delay = self._started + self._pts / SAMPLE_RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        if self._tone_frames > 0:
            self._tone_frames -= 1
            frame.planes[0].update(self._TONE)
        else:
            frame.planes[0].update(self._SILENCE)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = Fraction(1, SAMPLE_RATE)
        return frame


async def _drain(track: MediaStreamTrack) -> None:
    """Receive and drop the offerer's audio until its track ends."""
    try:
        while True:
            await track.recv()
    except MediaStreamError:
        return


# --- the Realtime peer ---------------------------------------------------------------------


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def _merged(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` merged in: objects merge field by field, other values replace."""
    result = dict(base)
    for key, value in update.items():
        current = result.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            result[key] = _merged(current, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _error(code: str, message: str, client_event_id: object = None) -> dict[str, Any]:
    """The ``error`` field of an error event, as the service words it."""
    return {
        "type": "invalid_request_error",
        "code": code,
        "message": message,
        "param": None,
        "event_id": client_event_id if isinstance(client_event_id, str) else None,
    }


@dataclass(eq=False)
class _Call:
    """One call's peer connection, data channel and session; touched only on the loop."""

    call_id: str
    pc: RTCPeerConnection
    session: dict[str, Any]
    tone: ToneTrack
    channel: RTCDataChannel | None = None
    expiry: asyncio.TimerHandle | None = None
    tasks: set[asyncio.Task[object]] = field(default_factory=set)
    responding: bool = False
    ended: bool = False
    #: Once a sideband joins the call, its messages go here and it answers nothing itself.
    bridge: Callable[[str], None] | None = None
    on_end: Callable[[], None] | None = None

    def send(self, kind: str, **fields: Any) -> None:
        """Send one server event on the data channel, if it is open."""
        if self.channel is not None and self.channel.readyState == "open":
            event = {"type": kind, "event_id": _new_id("event"), **fields}
            self.channel.send(json.dumps(event))

    def send_text(self, text: str) -> None:
        """Send one whole event, already JSON, on the data channel if it is open."""
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(text)

    def spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        """Run ``coro`` as part of this call; ending the call cancels it."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # client events

    def on_message(self, message: str | bytes) -> None:
        """Dispatch one client event, answering anything not understood with ``error``."""
        if self.bridge is not None:
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            self.bridge(text)
            return
        try:
            event = json.loads(message)
        except ValueError as exc:
            self.send("error", error=_error("invalid_json", f"The event is not valid JSON: {exc}"))
            return
        kind = event.get("type") if isinstance(event, dict) else None
        if not isinstance(kind, str):
            text = "An event must be a JSON object with a 'type'."
            self.send("error", error=_error("invalid_event", text))
            return
        client_id = event.get("event_id")
        if kind == "session.update":
            self.update_session(event.get("session"), client_id)
        elif kind == "response.create":
            self.create_response(client_id)
        else:
            text = f"Invalid value: '{kind}'. This event type is not supported."
            self.send("error", error=_error("unknown_event", text, client_id))

    def update_session(self, update: object, client_id: object) -> None:
        """Merge the update into the session and send the whole session back."""
        if not isinstance(update, dict):
            text = "Missing required parameter: 'session' (an object)."
            self.send("error", error=_error("missing_required_parameter", text, client_id))
            return
        self.session = _merged(self.session, update)
        self.send("session.updated", session=self.session)

    def create_response(self, client_id: object) -> None:
        """Start the scripted response, unless one is already running."""
        if self.responding:
            text = "Conversation already has an active response in progress."
            code = "conversation_already_has_active_response"
            self.send("error", error=_error(code, text, client_id))
            return
        self.responding = True
        self.spawn(self.respond())

    async def respond(self) -> None:
        """The scripted response: its events, with the tone on the track if audio is wanted."""
        try:
            audio = "audio" in self.session.get("output_modalities", ["audio"])
            response = {
                "object": "realtime.response",
                "id": _new_id("resp"),
                "status": "in_progress",
            }
            item: dict[str, Any] = {
                "id": _new_id("item"),
                "object": "realtime.item",
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            }
            self.send("response.created", response={**response, "output": []})
            where = {"response_id": response["id"], "output_index": 0}
            self.send("response.output_item.added", **where, item=item)
            if audio:
                self.tone.play(RESPONSE_AUDIO_SECONDS)
            content = await self.stream_text(audio, {**where, "item_id": item["id"]})
            if audio:
                await asyncio.sleep(RESPONSE_AUDIO_SECONDS)
            item = {**item, "status": "completed", "content": [content]}
            self.send(
                "response.done", response={**response, "status": "completed", "output": [item]}
            )
        finally:
            self.responding = False

    async def stream_text(self, audio: bool, where: dict[str, Any]) -> dict[str, str]:
        """Send the response's text word by word, then whole; return the item's content part."""
        stream, part, field_name = (
            ("response.output_audio_transcript", "output_audio", "transcript")
            if audio
            else ("response.output_text", "output_text", "text")
        )
        where = {**where, "content_index": 0}
        words = RESPONSE_TEXT.split(" ")
        for index, word in enumerate(words):
            self.send(f"{stream}.delta", **where, delta=word if index == 0 else " " + word)
            await asyncio.sleep(DELTA_GAP_SECONDS)
        self.send(f"{stream}.done", **where, **{field_name: RESPONSE_TEXT})
        return {"type": part, field_name: RESPONSE_TEXT}


class WebRtcAnswerer:
    """Answers SDP offers with real WebRTC calls, served by one event loop in a daemon thread.

    Every method is synchronous and thread-safe, made for a threaded HTTP server's handlers.
    """

    def __init__(self) -> None:
        _install_loopback_discovery()
        self._loop = asyncio.new_event_loop()
        self._calls: dict[str, _Call] = {}
        self._lock = threading.Lock()
        self._closed = False
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="openapiopenai-webrtc", daemon=True
        )
        self._thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        """The loop thread: ICE here is loopback-only; runs until ``close`` stops the loop."""
        asyncio.set_event_loop(self._loop)
        with loopback_ice():
            self._loop.call_soon(ready.set)
            self._loop.run_forever()
            leftovers = asyncio.all_tasks(self._loop)
            for task in leftovers:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    def _submit(self, coro: Coroutine[Any, Any, _T], timeout: float) -> _T:
        """Run ``coro`` on the loop and wait for its result; cancel it after ``timeout``."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"the WebRTC answerer did not finish within {timeout} s") from None

    def _not_on_loop(self) -> None:
        """Refuse a blocking call from the loop's own thread, which would wait forever."""
        if threading.get_ident() == self._thread.ident:
            raise RuntimeError("WebRtcAnswerer methods cannot be called from its own event loop")

    # public API

    @property
    def calls(self) -> list[str]:
        """The ids of the calls in progress."""
        with self._lock:
            return list(self._calls)

    def is_active(self, call_id: str) -> bool:
        """Whether the call ``call_id`` is in progress."""
        with self._lock:
            return call_id in self._calls

    def answer(
        self,
        offer_sdp: str,
        session: Mapping[str, Any],
        *,
        call_id: str,
        expires_at: float | None = None,
        timeout: float = 10.0,
    ) -> str:
        """Start call ``call_id`` from a browser's SDP offer and return the SDP answer.

        ``session`` (a GA session object) is what ``session.created`` reports; ``expires_at``
        (unix time) ends the call when it passes. The answer's ICE gathering is complete and
        its only candidates are on 127.0.0.1. Raises InvalidOfferError for a bad offer.
        """
        self._not_on_loop()
        text = _check_offer(offer_sdp)
        state = self._check_call(session, call_id, expires_at, timeout)
        return self._submit(self._answer(text, state, call_id, expires_at), timeout)

    def bridge(
        self,
        call_id: str,
        on_message: Callable[[str], None],
        on_end: Callable[[], None],
        timeout: float = 10.0,
    ) -> tuple[dict[str, Any], Callable[[Mapping[str, Any]], None]] | None:
        """Hand the data channel of call ``call_id`` to another session keeper (a sideband).

        From now on its messages go to ``on_message`` (on the loop's thread) and ``on_end``
        runs when the call ends. Returns the call's session and a thread-safe sender of
        events on the channel; ``None`` if there is no such call in progress.
        """
        self._not_on_loop()
        with self._lock:
            call = self._calls.get(call_id)
        if call is None or self._closed:
            return None

        async def take_over() -> dict[str, Any]:
            call.bridge, call.on_end = on_message, on_end
            return call.session

        def send(event: Mapping[str, Any]) -> None:
            text = json.dumps(event)
            self._loop.call_soon_threadsafe(call.send_text, text)

        return self._submit(take_over(), timeout), send

    def hangup(self, call_id: str, timeout: float = 10.0) -> bool:
        """End the call ``call_id``; False if there is no such call in progress."""
        self._not_on_loop()
        with self._lock:
            call = self._calls.get(call_id)
        if call is None or self._closed:
            return False
        return self._submit(self._end(call), timeout)

    def close(self, timeout: float = 10.0) -> None:
        """End every call and stop the event loop; safe to call again."""
        self._not_on_loop()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._submit(self._end_all(), timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> WebRtcAnswerer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # on the caller's thread

    def _check_call(
        self,
        session: Mapping[str, Any],
        call_id: str,
        expires_at: float | None,
        timeout: float,
    ) -> dict[str, Any]:
        """Validate answer()'s other arguments before any I/O; the session as plain JSON."""
        if self._closed:
            raise RuntimeError("the WebRTC answerer is closed")
        if not isinstance(call_id, str) or not call_id:
            raise ValueError("call_id must be a non-empty string")
        if self.is_active(call_id):
            raise ValueError(f"call_id {call_id!r} is already in progress")
        if not isinstance(session, Mapping):
            raise TypeError(f"session must be a mapping, not {type(session).__name__}")
        try:
            state: dict[str, Any] = json.loads(json.dumps(dict(session)))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"session must hold only JSON values: {exc}") from None
        if expires_at is not None and not expires_at > time.time():
            raise ValueError("expires_at must be a unix time in the future")
        if not (isinstance(timeout, (int, float)) and 0 < timeout < math.inf):
            raise ValueError("timeout must be a positive number of seconds")
        return state

    # on the loop

    async def _answer(
        self, offer_sdp: str, session: dict[str, Any], call_id: str, expires_at: float | None
    ) -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        call = _Call(call_id=call_id, pc=pc, session=session, tone=ToneTrack())
        self._watch(call)  # before the offer is applied: that is when "track" fires
        try:
            await self._negotiate(call, offer_sdp)
        except BaseException:
            await self._abandon(call)
            raise
        with self._lock:
            taken = call_id in self._calls or self._closed
            if not taken:
                self._calls[call_id] = call
        if taken:
            await self._abandon(call)
            raise ValueError(f"call_id {call_id!r} is already in progress")
        if expires_at is not None:
            delay = max(0.0, expires_at - time.time())
            call.expiry = self._loop.call_later(delay, lambda: call.spawn(self._end(call)))
        return str(pc.localDescription.sdp)

    async def _negotiate(self, call: _Call, offer_sdp: str) -> None:
        """Apply the offer, add our audio if audio is offered, and set the gathered answer."""
        pc = call.pc
        try:
            await pc.setRemoteDescription(
                RTCSessionDescription(sdp=_loopback_only_offer(offer_sdp), type="offer")
            )
        except Exception as exc:
            raise InvalidOfferError(f"offer_sdp was rejected: {exc}") from None
        if any(t.kind == "audio" for t in pc.getTransceivers()):
            pc.addTrack(call.tone)
        await pc.setLocalDescription(await pc.createAnswer())
        _require_loopback_candidates(pc.localDescription.sdp)

    def _watch(self, call: _Call) -> None:
        """Wire the call's events: its data channel, the offerer's audio, and its end."""
        pc = call.pc

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            if channel.label != EVENTS_CHANNEL or call.channel is not None:
                return
            call.channel = channel
            channel.on("message", call.on_message)
            channel.on("close", lambda: call.spawn(self._end(call)))
            call.send("session.created", session=call.session)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            call.spawn(_drain(track))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                call.spawn(self._end(call))

    async def _end(self, call: _Call) -> bool:
        """End a call once; False if it had already ended."""
        if call.ended:
            return False
        call.ended = True
        with self._lock:
            self._calls.pop(call.call_id, None)
        await self._close_call(call)
        if call.on_end is not None:
            await asyncio.to_thread(call.on_end)  # it may block: closes sideband sockets
        return True

    async def _abandon(self, call: _Call) -> None:
        """Close a call that never started; its events must not end it a second time."""
        call.ended = True
        await self._close_call(call)

    @staticmethod
    async def _close_call(call: _Call) -> None:
        """Stop the call's timer and tasks, then close the data channel first (the offerer
        sees the call end at once), then the track and the peer connection."""
        if call.expiry is not None:
            call.expiry.cancel()
        current = asyncio.current_task()
        for task in list(call.tasks):
            if task is not current:
                task.cancel()
        if call.channel is not None:
            call.channel.close()
        call.tone.stop()
        await call.pc.close()

    async def _end_all(self) -> None:
        """End every call in progress, together."""
        with self._lock:
            calls = list(self._calls.values())
        await asyncio.gather(*(self._end(call) for call in calls))
