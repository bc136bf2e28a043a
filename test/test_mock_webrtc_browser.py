"""A real voice call from headless Chromium (Debian's package) to the mock's WebRTC answerer.

The page does what a Realtime app does: microphone track (Chromium's fake device), an
``oai-events`` data channel, the SDP offer POSTed to a server, the answer applied. The server
here is a small loopback one that hands the offer to ``WebRtcAnswerer.answer``. Chromium runs
with its DNS mapped to nowhere and loopback allowed in WebRTC; where the suite may create a
loopback-only network namespace (as root), test_browser_e2e.py runs this module inside one and
the suite itself does not collect it (see conftest.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from test.browser import CHROMIUM, WEBRTC_FLAGS, missing

if missing():
    pytest.skip(str(missing()), allow_module_level=True)
from playwright import sync_api

from openapiopenai.mock.webrtc import WebRtcAnswerer
from test.test_mock_webrtc import SESSION

CALL_ID = "rtc_browser"

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>WebRTC call</title>
<audio id="remote" autoplay></audio>
<script>
window.events = [];
window.states = [];
window.times = {};
async function startCall() {
  window.times.start = Date.now();
  const pc = new RTCPeerConnection({iceServers: []});
  window.pc = pc;
  pc.onconnectionstatechange = () => {
    window.states.push(pc.connectionState);
    if (pc.connectionState === "connected") window.times.connected = Date.now();
  };
  pc.ontrack = (event) => { document.getElementById("remote").srcObject = event.streams[0]; };
  const mic = await navigator.mediaDevices.getUserMedia({audio: true});
  pc.addTrack(mic.getAudioTracks()[0], mic);
  const channel = pc.createDataChannel("oai-events");
  window.channel = channel;
  channel.onmessage = (event) => window.events.push(JSON.parse(event.data));
  channel.onclose = () => { window.times.closed = Date.now(); };
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch("/calls", {
    method: "POST", body: pc.localDescription.sdp, headers: {"Content-Type": "application/sdp"},
  });
  if (response.status !== 201) throw new Error("offer refused: " + response.status);
  window.callId = response.headers.get("Location").split("/").pop();
  await pc.setRemoteDescription({type: "answer", sdp: await response.text()});
}
async function inboundAudio() {
  let packets = 0, energy = 0;
  (await window.pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      packets += s.packetsReceived;
      energy += s.totalAudioEnergy || 0;
    }
  });
  return {packets, energy};
}
</script>
"""


class CallServer(ThreadingHTTPServer):
    """Serves the page and answers ``POST /calls`` with the answerer, on 127.0.0.1."""

    daemon_threads = True

    def __init__(self, answerer: WebRtcAnswerer) -> None:
        super().__init__(("127.0.0.1", 0), CallHandler)
        self.answerer = answerer
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class CallHandler(BaseHTTPRequestHandler):
    server: CallServer

    def do_GET(self) -> None:
        self.reply(200, "text/html", PAGE.encode())

    def do_POST(self) -> None:
        offer = self.rfile.read(int(self.headers["Content-Length"])).decode()
        answer = self.server.answerer.answer(offer, SESSION, call_id=CALL_ID)
        self.reply(201, "application/sdp", answer.encode(), location=f"/calls/{CALL_ID}")

    def reply(self, status: int, kind: str, body: bytes, location: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Quiet: the test asserts on what matters."""


@pytest.fixture
def call_server() -> Iterator[CallServer]:
    with WebRtcAnswerer() as answerer, CallServer(answerer) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join(10)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A page in a fresh headless Chromium that may use a fake microphone and loopback WebRTC."""
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=WEBRTC_FLAGS,
            timeout=60_000,
        )
        try:
            page = context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            context.close()


def wait_for_event(page: Any, kind: str) -> dict[str, Any]:
    """The first event of type ``kind`` the page has received (waiting, bounded)."""
    found = f"() => window.events.find((e) => e.type === {kind!r})"
    page.wait_for_function(found)
    event: dict[str, Any] = page.evaluate(found)
    return event


def test_chromium_calls_the_answerer_hears_it_and_hangs_up(
    call_server: CallServer, page: Any
) -> None:
    page.goto(call_server.url + "/")
    page.evaluate("startCall()")
    page.wait_for_function("() => window.pc.connectionState === 'connected'")
    assert page.evaluate("window.callId") == CALL_ID
    assert call_server.answerer.calls == [CALL_ID]

    created = wait_for_event(page, "session.created")
    assert created["session"] == SESSION

    update = {"type": "session.update", "session": {"audio": {"output": {"voice": "cedar"}}}}
    page.evaluate("(event) => window.channel.send(JSON.stringify(event))", update)
    updated = wait_for_event(page, "session.updated")["session"]
    assert updated["audio"]["output"]["voice"] == "cedar"
    assert updated["audio"]["input"] == SESSION["audio"]["input"]

    # Remote audio arrives: RTP packets, then audible energy once a response speaks.
    page.wait_for_function("async () => (await inboundAudio()).packets > 0")
    before = page.evaluate("inboundAudio()")["energy"]
    page.evaluate("window.channel.send(JSON.stringify({type: 'response.create'}))")
    wait_for_event(page, "response.done")
    page.wait_for_function(f"async () => (await inboundAudio()).energy > {before} + 0.01")
    kinds = page.evaluate("window.events.map((e) => e.type)")
    assert kinds[:4] == [
        "session.created",
        "session.updated",
        "response.created",
        "response.output_item.added",
    ]
    assert kinds[-2:] == ["response.output_audio_transcript.done", "response.done"]

    assert call_server.answerer.hangup(CALL_ID) is True
    page.wait_for_function("() => window.times.closed !== undefined")
    assert page.evaluate("window.channel.readyState") == "closed"
    assert call_server.answerer.calls == []
