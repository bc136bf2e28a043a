"""One call of the mock's WebRTC peer: its tone track, its data channel, and the scripted
Realtime session it plays on that channel until a sideband takes the channel over.

Everything here runs on the answerer's event loop (:mod:`openapiopenai.mock.webrtc`).
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from openapiopenai._overlay import overlay
from openapiopenai.mock._shapes import new_id
from openapiopenai.mock._webrtc_deps import (
    MediaStreamError,
    MediaStreamTrack,
    RTCDataChannel,
    RTCPeerConnection,
    av,
)

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms, the Opus frame aiortc sends
TONE_HZ = 400  # a whole number of periods per 20 ms frame, so one frame repeats cleanly
TONE_AMPLITUDE = 0.3
RESPONSE_AUDIO_SECONDS = 0.4
RESPONSE_TEXT = "Hello! This is the offline mock of the Realtime API."
DELTA_GAP_SECONDS = 0.02


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


async def drain(track: MediaStreamTrack) -> None:
    """Receive and drop the offerer's audio until its track ends."""
    try:
        while True:
            await track.recv()
    except MediaStreamError:
        return


# --- the Realtime peer ---------------------------------------------------------------------


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
class Call:
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
            event = {"type": kind, "event_id": new_id("event_"), **fields}
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
        self.session = overlay(self.session, update)
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
                "id": new_id("resp_"),
                "status": "in_progress",
            }
            item: dict[str, Any] = {
                "id": new_id("item_"),
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
