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
  address except loopback in ``aioice.ice.get_host_addresses``. The mock wraps that function
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
import json
import math
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar

# The peer's settings, importable from here too.
from openapiopenai.mock._webrtc_call import DELTA_GAP_SECONDS as DELTA_GAP_SECONDS
from openapiopenai.mock._webrtc_call import FRAME_SAMPLES as FRAME_SAMPLES
from openapiopenai.mock._webrtc_call import RESPONSE_AUDIO_SECONDS as RESPONSE_AUDIO_SECONDS
from openapiopenai.mock._webrtc_call import RESPONSE_TEXT as RESPONSE_TEXT
from openapiopenai.mock._webrtc_call import SAMPLE_RATE as SAMPLE_RATE
from openapiopenai.mock._webrtc_call import TONE_AMPLITUDE as TONE_AMPLITUDE
from openapiopenai.mock._webrtc_call import TONE_HZ as TONE_HZ
from openapiopenai.mock._webrtc_call import Call, ToneTrack, drain
from openapiopenai.mock._webrtc_deps import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from openapiopenai.mock._webrtc_ice import LOOPBACK as LOOPBACK
from openapiopenai.mock._webrtc_ice import NO_LOOPBACK_CANDIDATE as NO_LOOPBACK_CANDIDATE
from openapiopenai.mock._webrtc_ice import (
    InvalidOfferError,
    check_offer,
    install_loopback_discovery,
    loopback_ice,
    loopback_only_offer,
    require_loopback_candidates,
)

__all__ = ["InvalidOfferError", "WebRtcAnswerer", "loopback_ice"]

#: The data channel a Realtime client opens for its events.
EVENTS_CHANNEL = "oai-events"

_T = TypeVar("_T")


class WebRtcAnswerer:
    """Answers SDP offers with real WebRTC calls, served by one event loop in a daemon thread.

    Every method is synchronous and thread-safe, made for a threaded HTTP server's handlers.
    """

    def __init__(self) -> None:
        install_loopback_discovery()
        self._loop = asyncio.new_event_loop()
        self._calls: dict[str, Call] = {}
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
        text = check_offer(offer_sdp)
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
        call = Call(call_id=call_id, pc=pc, session=session, tone=ToneTrack())
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

    async def _negotiate(self, call: Call, offer_sdp: str) -> None:
        """Apply the offer, add our audio if audio is offered, and set the gathered answer."""
        pc = call.pc
        try:
            await pc.setRemoteDescription(
                RTCSessionDescription(sdp=loopback_only_offer(offer_sdp), type="offer")
            )
        except Exception as exc:
            raise InvalidOfferError(f"offer_sdp was rejected: {exc}") from None
        if any(t.kind == "audio" for t in pc.getTransceivers()):
            pc.addTrack(call.tone)
        await pc.setLocalDescription(await pc.createAnswer())
        require_loopback_candidates(pc.localDescription.sdp)

    def _watch(self, call: Call) -> None:
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
            call.spawn(drain(track))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                call.spawn(self._end(call))

    async def _end(self, call: Call) -> bool:
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

    async def _abandon(self, call: Call) -> None:
        """Close a call that never started; its events must not end it a second time."""
        call.ended = True
        await self._close_call(call)

    @staticmethod
    async def _close_call(call: Call) -> None:
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
