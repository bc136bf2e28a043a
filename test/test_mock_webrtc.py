"""The mock's WebRTC answerer, called by a real aiortc offerer over loopback.

Each test runs a real call: SDP offer and answer, ICE and DTLS on 127.0.0.1, the ``oai-events``
data channel and Opus audio both ways. Every wait is bounded, so a broken call fails, not hangs.
"""

from __future__ import annotations

import array
import asyncio
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

aiortc = pytest.importorskip(
    "aiortc", reason="aiortc is not installed; pip install '.[webrtc]' to run the WebRTC tests"
)
from aiortc import (  # noqa: E402
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError  # noqa: E402

from openapiopenai.mock import webrtc  # noqa: E402
from openapiopenai.mock.webrtc import InvalidOfferError, WebRtcAnswerer, loopback_ice  # noqa: E402

SESSION: dict[str, Any] = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_test",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "Be brief.",
    "audio": {
        "input": {"format": {"type": "audio/pcm", "rate": 24000}},
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1.0},
    },
}
WAIT = 10.0  # seconds any single step may take before the test fails
AUDIBLE = 1000  # peak sample value (of 32767) above which a decoded frame is not silence


@pytest.fixture
def answerer() -> Iterator[WebRtcAnswerer]:
    with WebRtcAnswerer() as answerer:
        yield answerer


@dataclass
class Offerer:
    """The browser's side of a call, in aiortc: a microphone, ``oai-events``, remote audio."""

    pc: RTCPeerConnection
    channel: Any
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    peaks: list[int] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    answer_sdp: str = ""

    def send(self, event: dict[str, Any] | str) -> None:
        self.channel.send(event if isinstance(event, str) else json.dumps(event))

    async def next_event(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.events.get(), WAIT)

    async def wait_for(self, kind: str) -> dict[str, Any]:
        """The next event of type ``kind``, skipping none: an unexpected one fails the test."""
        event = await self.next_event()
        assert event["type"] == kind, event
        return event

    async def until(self, predicate: Any) -> None:
        """Wait, bounded, until ``predicate()`` holds."""
        deadline = time.monotonic() + WAIT
        while not predicate():
            assert time.monotonic() < deadline, "condition not reached in time"
            await asyncio.sleep(0.02)


async def _record_peaks(track: MediaStreamTrack, peaks: list[int]) -> None:
    """Decode the answerer's audio and keep each frame's peak sample."""
    try:
        while True:
            frame = await track.recv()
            size = frame.samples * len(frame.layout.channels) * 2
            samples = array.array("h", bytes(frame.planes[0])[:size])
            peaks.append(max(abs(s) for s in samples))
    except MediaStreamError:
        return


@asynccontextmanager
async def call(
    answerer: WebRtcAnswerer,
    call_id: str = "rtc_test",
    session: dict[str, Any] | None = None,
    expires_at: float | None = None,
) -> AsyncIterator[Offerer]:
    """A connected call: the offerer has applied the answer and the data channel is open."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(AudioStreamTrack())
    channel = pc.createDataChannel("oai-events")
    offerer = Offerer(pc, channel)
    channel.on("message", lambda message: offerer.events.put_nowait(json.loads(message)))
    channel.on("close", offerer.closed.set)
    tasks: list[asyncio.Task[None]] = []
    pc.on("track", lambda track: tasks.append(asyncio.ensure_future(_record_peaks(track, offerer.peaks))))
    try:
        await pc.setLocalDescription(await pc.createOffer())
        offerer.answer_sdp = await asyncio.to_thread(
            answerer.answer,
            pc.localDescription.sdp,
            SESSION if session is None else session,
            call_id=call_id,
            expires_at=expires_at,
        )
        await pc.setRemoteDescription(RTCSessionDescription(offerer.answer_sdp, "answer"))
        await offerer.until(lambda: channel.readyState == "open")
        yield offerer
    finally:
        await pc.close()
        for task in tasks:
            task.cancel()


def run(scenario: Any) -> None:
    """Run an async scenario with loopback-only ICE on this thread, bounded in time."""
    with loopback_ice():
        asyncio.run(asyncio.wait_for(scenario, 60))


def candidate_addresses(sdp: str) -> list[str]:
    return [line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")]


def test_a_call_says_session_created_updates_the_session_and_speaks(
    answerer: WebRtcAnswerer,
) -> None:
    async def scenario() -> None:
        async with call(answerer) as offerer:
            created = await offerer.wait_for("session.created")
            assert created["session"] == SESSION
            assert created["event_id"].startswith("event_")
            assert answerer.calls == ["rtc_test"]

            update = {"instructions": "Speak like a pirate.", "audio": {"output": {"voice": "cedar"}}}
            offerer.send({"type": "session.update", "event_id": "evt_1", "session": update})
            updated = (await offerer.wait_for("session.updated"))["session"]
            assert updated["instructions"] == "Speak like a pirate."
            assert updated["audio"]["output"] == {**SESSION["audio"]["output"], "voice": "cedar"}
            assert updated["audio"]["input"] == SESSION["audio"]["input"]
            assert updated["model"] == "gpt-realtime"

            # Before any response, the track carries silence, yet packets do arrive.
            await offerer.until(lambda: len(offerer.peaks) >= 10)
            assert max(offerer.peaks) < AUDIBLE
            heard_before = len(offerer.peaks)

            offerer.send({"type": "response.create"})
            created_response = await offerer.wait_for("response.created")
            response_id = created_response["response"]["id"]
            assert created_response["response"]["status"] == "in_progress"
            item = (await offerer.wait_for("response.output_item.added"))["item"]
            deltas = []
            while (event := await offerer.next_event())["type"].endswith(".delta"):
                assert event["type"] == "response.output_audio_transcript.delta"
                assert (event["response_id"], event["item_id"]) == (response_id, item["id"])
                deltas.append(event["delta"])
            assert len(deltas) >= 3
            assert event["type"] == "response.output_audio_transcript.done"
            assert event["transcript"] == "".join(deltas)
            done = (await offerer.wait_for("response.done"))["response"]
            assert done["id"] == response_id
            assert done["status"] == "completed"
            assert done["output"][0]["content"][0]["transcript"] == event["transcript"]

            await offerer.until(lambda: len(offerer.peaks) > heard_before + 10)
            loud = [peak for peak in offerer.peaks[heard_before:] if peak > AUDIBLE]
            assert len(loud) >= 5, offerer.peaks[heard_before:]
            await offerer.until(lambda: offerer.peaks[-1] < AUDIBLE)  # back to silence

    run(scenario())

