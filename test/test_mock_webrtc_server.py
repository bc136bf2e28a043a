"""``MockServer(webrtc=True)``: ``POST /realtime/calls`` over HTTP starts a real call on loopback.

An aiortc offerer plays the browser: it gets a key (or uses the API key with a session, the
server-side flow), posts its offer through the SDK or raw HTTP, and holds the call. Hangup
through the API and the key's expiry end the call; a bad offer is a 400, an expired key a 401.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

pytest.importorskip(
    "aiortc", reason="aiortc is not installed; pip install '.[webrtc]' to run the WebRTC tests"
)

from openapiopenai import (
    ApiClient,
    ApiValueError,
    BadRequestException,
    Configuration,
    RealtimeApi,
)
from openapiopenai.mock import MockServer
from test.test_mock_webrtc import call, candidate_addresses, offer, run

API_KEY = "sk-test-webrtc-mock"


class Clock:
    """The mock's clock, which a test can move forward to age its keys."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mock(clock: Clock) -> Iterator[MockServer]:
    server = MockServer(webrtc=True, clock=clock)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(mock: MockServer) -> Iterator[RealtimeApi]:
    configuration = Configuration(host=mock.url, access_token=API_KEY, ignore_environment=True)
    with ApiClient(configuration) as client:
        yield RealtimeApi(client)


class HttpAnswerer:
    """Posts the offer to the mock like a browser does; what ``call()`` needs of an answerer."""

    def __init__(self, api: RealtimeApi, token: str | None, session: Any = None) -> None:
        self.api = api
        self.token = token
        self.session = session
        self.call_id = ""

    def answer(self, sdp: str, _session: Any, *, call_id: str, expires_at: Any) -> str:
        if self.token is None:  # the server-side flow: API key, offer and session as multipart
            answer = self.api.create_realtime_call(sdp, session=self.session)
        else:
            answer = self.api.create_realtime_call(sdp, _headers=self.bearer())
        self.call_id = str(answer.call_id)
        return str(answer)

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def mint(api: RealtimeApi, seconds: int = 600) -> Any:
    return api.create_realtime_client_secret(
        {
            "expires_after": {"anchor": "created_at", "seconds": seconds},
            "session": {
                "type": "realtime",
                "model": "gpt-realtime",
                "audio": {"output": {"voice": "cedar"}},
            },
        }
    )


def test_a_minted_key_opens_a_real_call_that_reports_its_session_and_hangs_up(
    mock: MockServer, api: RealtimeApi
) -> None:
    secret = mint(api)
    http = HttpAnswerer(api, secret.value)

    async def scenario() -> None:
        async with call(http) as offerer:  # type: ignore[arg-type]
            created = await offerer.wait_for("session.created")
            assert created["session"] == mock.minted(secret.value).session  # type: ignore[union-attr]
            assert created["session"]["audio"]["output"]["voice"] == "cedar"
            assert set(candidate_addresses(offerer.answer_sdp)) == {"127.0.0.1"}
            offerer.send({"type": "session.update", "session": {"instructions": "Hi."}})
            updated = await offerer.wait_for("session.updated")
            assert updated["session"]["instructions"] == "Hi."
            await asyncio.to_thread(api.hangup_realtime_call, http.call_id)
            await asyncio.wait_for(offerer.closed.wait(), 10)

    run(scenario())
    record = mock.calls[http.call_id]
    assert record.hung_up and record.origin == "webrtc"
    assert record.answer is not None and "a=candidate:" in record.answer


def test_the_server_side_flow_reports_the_session_sent_with_the_offer(
    mock: MockServer, api: RealtimeApi
) -> None:
    http = HttpAnswerer(api, None, {"type": "realtime", "instructions": "Server side."})

    async def scenario() -> None:
        async with call(http) as offerer:  # type: ignore[arg-type]
            session = (await offerer.wait_for("session.created"))["session"]
            assert session["instructions"] == "Server side."
            assert session["model"] == "gpt-realtime"  # a default, filled in
            assert session["audio"]["output"]["voice"] == "alloy"
            assert session == mock.calls[http.call_id].session

    run(scenario())


def test_a_call_ends_when_its_key_expires_and_an_expired_key_is_refused(
    mock: MockServer, api: RealtimeApi, clock: Clock
) -> None:
    secret = mint(api, seconds=10)
    clock.offset = secret.expires_at - 1.0 - time.time()  # a second of the key's life is left
    http = HttpAnswerer(api, secret.value)

    async def scenario() -> None:
        async with call(http) as offerer:  # type: ignore[arg-type]
            await offerer.wait_for("session.created")
            await asyncio.wait_for(offerer.closed.wait(), 10)

    run(scenario())
    clock.offset = 11
    refused = urllib3.request(
        "POST",
        f"{mock.url}/realtime/calls",
        body=offer().encode(),
        headers={"Authorization": f"Bearer {secret.value}", "Content-Type": "application/sdp"},
        retries=False,
        timeout=10,
    )
    assert refused.status == 401
    assert refused.json()["error"]["message"] == "Invalid or expired ephemeral key provided."


def test_an_offer_the_peer_cannot_use_is_a_400(mock: MockServer) -> None:
    response = urllib3.request(
        "POST",
        f"{mock.url}/realtime/calls",
        body=b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/sdp"},
        retries=False,
        timeout=10,
    )
    assert response.status == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_offer", "sdp")
    assert "a=ice-ufrag" in error["message"] or "audio" in error["message"]
    assert mock.calls == {}


def _without_loopback(sdp: str, address: str | None) -> str:
    """The offer with its candidates moved to ``address``, or dropped when it is None."""
    if address is not None:
        return sdp.replace("127.0.0.1", address)
    return "".join(line + "\r\n" for line in sdp.splitlines() if "a=candidate:" not in line)


@pytest.mark.parametrize(
    "address", ["192.0.2.7", "3f1a7c58-0d1e-4c5e-9a44-1f0d2b6f7e21.local", None]
)
def test_an_offer_without_loopback_candidates_is_a_400_that_says_how(
    mock: MockServer, api: RealtimeApi, address: str | None
) -> None:
    with pytest.raises(BadRequestException) as refused:
        api.create_realtime_call(_without_loopback(offer(), address))
    error = refused.value
    assert (error.code, error.param, error.attempts) == ("invalid_offer", "sdp", 1)
    assert error.message is not None
    assert "127.0.0.1" in error.message and "loopback_ice()" in error.message
    assert mock.calls == {}


def test_a_page_on_another_origin_may_post_its_offer(mock: MockServer) -> None:
    origin = {"Origin": "http://127.0.0.1:8000"}
    preflight = urllib3.request(
        "OPTIONS",
        f"{mock.url}/realtime/calls",
        headers={**origin, "Access-Control-Request-Method": "POST"},
        retries=False,
        timeout=10,
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    answered = urllib3.request(
        "POST",
        f"{mock.url}/realtime/calls",
        body=offer().encode(),
        headers={**origin, "Authorization": f"Bearer {API_KEY}", "Content-Type": "application/sdp"},
        retries=False,
        timeout=10,
    )
    assert answered.status == 201
    assert "Location" in answered.headers["Access-Control-Expose-Headers"]
    assert answered.headers["Location"].startswith("/v1/realtime/calls/rtc_")
    # Requests without an Origin (not from a page) get no CORS headers, as before.
    plain = urllib3.request("POST", f"{mock.url}/realtime/sessions", body=b"{}", retries=False)
    assert "Access-Control-Allow-Origin" not in plain.headers


def test_webrtc_and_a_custom_answerer_exclude_each_other() -> None:
    with pytest.raises(ApiValueError, match="either answerer or webrtc"):
        MockServer(webrtc=True, answerer=lambda offer, session, call_id: "v=0")


def test_the_mock_command_serves_real_calls_with_webrtc() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "openapiopenai.mock", "--webrtc"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        response = urllib3.request(
            "POST",
            f"{url}/realtime/calls",
            body=offer().encode(),
            headers={"Authorization": "Bearer sk-any", "Content-Type": "application/sdp"},
            retries=False,
            timeout=20,
        )
        assert response.status == 201
        assert set(candidate_addresses(response.data.decode())) == {"127.0.0.1"}
    finally:
        process.terminate()
        assert process.wait(20) == 0
