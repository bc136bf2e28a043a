"""The mock's WebRTC answerer, called by a real aiortc offerer over loopback.

Each test runs a real call: SDP offer and answer, ICE and DTLS on 127.0.0.1, the ``oai-events``
data channel and Opus audio both ways. Every wait is bounded, so a broken call fails, not hangs.
"""

from __future__ import annotations

import array
import asyncio
import json
import re
import subprocess
import sys
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

from openapiopenai.mock import _webrtc_ice  # noqa: E402
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
    pc.on(
        "track",
        lambda track: tasks.append(asyncio.ensure_future(_record_peaks(track, offerer.peaks))),
    )
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

            update = {
                "instructions": "Speak like a pirate.",
                "audio": {"output": {"voice": "cedar"}},
            }
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


def test_unknown_events_and_invalid_json_get_error_events(answerer: WebRtcAnswerer) -> None:
    async def scenario() -> None:
        async with call(answerer) as offerer:
            await offerer.wait_for("session.created")
            offerer.send({"type": "conversation.dance", "event_id": "evt_dance"})
            error = (await offerer.wait_for("error"))["error"]
            assert error["type"] == "invalid_request_error"
            assert error["code"] == "unknown_event"
            assert "conversation.dance" in error["message"]
            assert error["event_id"] == "evt_dance"

            offerer.send("{not json")
            error = (await offerer.wait_for("error"))["error"]
            assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_json")

            offerer.send(json.dumps(["session.update"]))
            assert (await offerer.wait_for("error"))["error"]["code"] == "invalid_event"

            offerer.send({"type": "session.update", "session": "marin"})
            error = (await offerer.wait_for("error"))["error"]
            assert error["code"] == "missing_required_parameter"
            assert "'session'" in error["message"]

            # Still talking after all that: the call goes on.
            offerer.send({"type": "session.update", "session": {"instructions": "Hi"}})
            assert (await offerer.wait_for("session.updated"))["session"]["instructions"] == "Hi"

    run(scenario())


def test_a_second_response_create_while_speaking_is_refused(answerer: WebRtcAnswerer) -> None:
    async def scenario() -> None:
        async with call(answerer) as offerer:
            await offerer.wait_for("session.created")
            offerer.send({"type": "response.create"})
            await offerer.wait_for("response.created")
            offerer.send({"type": "response.create", "event_id": "evt_again"})
            kinds = []
            while (event := await offerer.next_event())["type"] != "response.done":
                kinds.append(event["type"])
                if event["type"] == "error":
                    assert event["error"]["code"] == "conversation_already_has_active_response"
                    assert event["error"]["event_id"] == "evt_again"
            assert kinds.count("error") == 1
            # Once done, a new response may start.
            offerer.send({"type": "response.create"})
            await offerer.wait_for("response.created")

    run(scenario())


def test_a_text_only_session_answers_with_text_events(answerer: WebRtcAnswerer) -> None:
    async def scenario() -> None:
        async with call(answerer, session={**SESSION, "output_modalities": ["text"]}) as offerer:
            await offerer.wait_for("session.created")
            offerer.send({"type": "response.create"})
            kinds = []
            while (event := await offerer.next_event())["type"] != "response.done":
                kinds.append(event["type"])
            assert kinds[:2] == ["response.created", "response.output_item.added"]
            assert set(kinds[2:-1]) == {"response.output_text.delta"}
            assert kinds[-1] == "response.output_text.done"
            content = event["response"]["output"][0]["content"][0]
            assert content["type"] == "output_text"
            assert content["text"]
            assert max(offerer.peaks, default=0) < AUDIBLE

    run(scenario())


def test_hangup_closes_the_data_channel_and_ends_the_call(answerer: WebRtcAnswerer) -> None:
    async def scenario() -> None:
        async with call(answerer, call_id="rtc_a") as first, call(answerer, call_id="rtc_b"):
            await first.wait_for("session.created")
            assert sorted(answerer.calls) == ["rtc_a", "rtc_b"]
            assert await asyncio.to_thread(answerer.hangup, "rtc_a") is True
            await asyncio.wait_for(first.closed.wait(), WAIT)
            assert not answerer.is_active("rtc_a")
            assert answerer.is_active("rtc_b")
            assert await asyncio.to_thread(answerer.hangup, "rtc_a") is False

    run(scenario())
    assert answerer.hangup("rtc_unknown") is False


def test_the_offerer_leaving_ends_the_call(answerer: WebRtcAnswerer) -> None:
    async def scenario() -> None:
        async with call(answerer) as offerer:
            await offerer.wait_for("session.created")
            offerer.channel.close()
            await offerer.until(lambda: not answerer.is_active("rtc_test"))

    run(scenario())
    assert answerer.calls == []


def test_a_call_ends_by_itself_when_its_key_expires(answerer: WebRtcAnswerer) -> None:
    async def scenario() -> None:
        async with call(answerer, expires_at=time.time() + 1.5) as offerer:
            await offerer.wait_for("session.created")
            assert answerer.is_active("rtc_test")
            await asyncio.wait_for(offerer.closed.wait(), WAIT)
            assert not answerer.is_active("rtc_test")

    run(scenario())


def test_close_ends_every_call_and_refuses_new_ones() -> None:
    answerer = WebRtcAnswerer()

    async def scenario() -> None:
        async with call(answerer) as offerer:
            await offerer.wait_for("session.created")
            await asyncio.to_thread(answerer.close)
            await asyncio.wait_for(offerer.closed.wait(), WAIT)

    try:
        run(scenario())
        assert answerer.calls == []
        with pytest.raises(RuntimeError, match="closed"):
            answerer.answer(offer(), SESSION, call_id="rtc_late")
        assert answerer.hangup("rtc_test") is False
    finally:
        answerer.close()  # a second close is harmless


def offer(*, audio: bool = True) -> str:
    """A real SDP offer from an aiortc peer that is then dropped (for tests with no call)."""

    async def make() -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        if audio:
            pc.addTrack(AudioStreamTrack())
        pc.createDataChannel("oai-events")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = str(pc.localDescription.sdp)
        await pc.close()
        return sdp

    with loopback_ice():
        return asyncio.run(asyncio.wait_for(make(), WAIT))


@pytest.mark.parametrize("audio", [True, False])
def test_answers_offer_only_loopback_candidates_and_are_complete(
    answerer: WebRtcAnswerer, audio: bool
) -> None:
    sdp = answerer.answer(offer(audio=audio), SESSION, call_id="rtc_sdp")
    addresses = candidate_addresses(sdp)
    assert addresses
    assert set(addresses) == {"127.0.0.1"}
    assert "a=end-of-candidates" in sdp
    assert ("m=audio" in sdp) is audio
    assert "m=application" in sdp
    assert answerer.hangup("rtc_sdp") is True


def test_an_answer_with_candidates_off_loopback_is_never_returned() -> None:
    _webrtc_ice.require_loopback_candidates(
        "a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"
    )
    for addresses in (["127.0.0.1", "192.0.2.2"], []):
        sdp = "".join(f"a=candidate:1 1 udp 1 {a} 5000 typ host\r\n" for a in addresses)
        with pytest.raises(RuntimeError, match=re.escape("not only 127.0.0.1")):
            _webrtc_ice.require_loopback_candidates(sdp)


def test_offers_remote_candidates_off_loopback_are_dropped() -> None:
    lines = [
        "a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host",
        "a=candidate:2 1 udp 2130706431 192.0.2.7 5000 typ host",
        "a=candidate:3 1 udp 2130706431 3f1a7c58-0d1e-4c5e-9a44-1f0d2b6f7e21.local 5000 typ host",
        "a=candidate:4 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
        "a=candidate:5 1 udp 1677729535 203.0.113.9 61000 typ srflx raddr 0.0.0.0 rport 0",
        "a=candidate:6 1 udp 2130706431 ::1 5001 typ host",
    ]
    kept = _webrtc_ice.loopback_only_offer("v=0\r\n" + "\r\n".join(lines) + "\r\na=mid:0\r\n")
    assert candidate_addresses(kept) == ["127.0.0.1", "::1"]
    assert kept.endswith("a=mid:0\r\n")


@pytest.mark.parametrize(
    ("sdp", "message"),
    [
        ("", "must start with 'v=0'"),
        ("hello", "must start with 'v=0'"),
        (b"v=0\r\n", "must be SDP text"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "must offer audio or a data channel"),
    ],
)
def test_text_that_is_not_an_offer_is_refused(
    answerer: WebRtcAnswerer, sdp: Any, message: str
) -> None:
    with pytest.raises(InvalidOfferError, match=re.escape(message)):
        answerer.answer(sdp, SESSION, call_id="rtc_bad")
    assert answerer.calls == []


@pytest.mark.parametrize("attribute", ["a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:"])
def test_an_offer_missing_ice_or_dtls_details_is_refused(
    answerer: WebRtcAnswerer, attribute: str
) -> None:
    sdp = "\r\n".join(line for line in offer().splitlines() if not line.startswith(attribute))
    with pytest.raises(InvalidOfferError, match=attribute):
        answerer.answer(sdp, SESSION, call_id="rtc_bad")
    assert answerer.calls == []


def test_an_offer_still_gathering_without_candidates_is_answered_on_loopback(
    answerer: WebRtcAnswerer,
) -> None:
    # What a page posts right after setLocalDescription: no candidates yet, and no end.
    drop = ("a=candidate:", "a=end-of-candidates")
    sdp = "".join(f"{line}\r\n" for line in offer().splitlines() if not line.startswith(drop))
    answer = answerer.answer(sdp, SESSION, call_id="rtc_early")
    assert set(candidate_addresses(answer)) == {"127.0.0.1"}
    assert answerer.hangup("rtc_early") is True


def test_an_offer_aiortc_rejects_is_an_invalid_offer(answerer: WebRtcAnswerer) -> None:
    sdp = offer().replace("a=setup:actpass", "a=setup:sideways")
    with pytest.raises(InvalidOfferError, match="rejected"):
        answerer.answer(sdp, SESSION, call_id="rtc_bad")
    assert answerer.calls == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"call_id": ""}, ValueError, "call_id must be a non-empty string"),
        ({"session": ["type"]}, TypeError, "session must be a mapping"),
        ({"session": {"when": time}}, TypeError, "session must hold only JSON values"),
        (
            {"expires_at": time.time() - 1},
            ValueError,
            "expires_at must be a unix time in the future",
        ),
        ({"timeout": 0}, ValueError, "timeout must be a positive number"),
    ],
)
def test_bad_arguments_are_refused_before_any_call_starts(
    answerer: WebRtcAnswerer, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {"session": SESSION, "call_id": "rtc_args", **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        answerer.answer(offer(), **arguments)
    assert answerer.calls == []


def test_an_answer_that_takes_too_long_times_out_and_leaves_no_call(
    answerer: WebRtcAnswerer,
) -> None:
    sdp = offer()
    busy = threading.Event()
    answerer._loop.call_soon_threadsafe(busy.wait, WAIT)  # the loop is stuck until released
    try:
        with pytest.raises(TimeoutError, match=re.escape("did not finish within 0.2 s")):
            answerer.answer(sdp, SESSION, call_id="rtc_slow", timeout=0.2)
    finally:
        busy.set()
    assert answerer.calls == []
    # The answerer is still fine for the next call.
    assert candidate_addresses(answerer.answer(offer(), SESSION, call_id="rtc_next"))


def test_calling_the_answerer_from_its_own_loop_is_an_error_not_a_deadlock(
    answerer: WebRtcAnswerer,
) -> None:
    sdp = offer()

    calls = [
        lambda: answerer.answer(sdp, SESSION, call_id="rtc_inside"),
        lambda: answerer.hangup("rtc_inside"),
        answerer.close,
    ]

    async def from_inside(method: Any) -> None:
        method()

    for method in calls:
        future = asyncio.run_coroutine_threadsafe(from_inside(method), answerer._loop)
        with pytest.raises(RuntimeError, match="its own event loop"):
            future.result(WAIT)
    assert answerer.calls == []


def test_a_call_id_in_progress_cannot_be_reused(answerer: WebRtcAnswerer) -> None:
    answerer.answer(offer(), SESSION, call_id="rtc_once")
    with pytest.raises(ValueError, match="already in progress"):
        answerer.answer(offer(), SESSION, call_id="rtc_once")
    assert answerer.calls == ["rtc_once"]


def test_loopback_ice_applies_only_to_threads_that_ask_for_it() -> None:
    import aioice.ice

    with loopback_ice():
        with loopback_ice():  # blocks nest
            pass
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(False, True) == []
        elsewhere: list[list[str]] = []
        thread = threading.Thread(
            target=lambda: elsewhere.append(aioice.ice.get_host_addresses(True, False))
        )
        thread.start()
        thread.join(WAIT)
    assert "127.0.0.1" not in elsewhere[0]  # aioice's own answer: every address but loopback
    assert "127.0.0.1" not in aioice.ice.get_host_addresses(True, False)


def test_the_sdk_and_the_mock_do_not_import_aiortc() -> None:
    code = (
        "import sys, openapiopenai, openapiopenai.mock, openapiopenai.cli\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'aiortc', 'aioice', 'av'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
