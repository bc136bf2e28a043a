"""Sideband connections: ``?call_id=`` joins the session of a WebRTC or SIP call on the mock.

With ``MockServer(webrtc=True)`` the call is real (an aiortc offerer plays the browser) and
its data channel and the sideband are one session.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import urllib3

from openapiopenai.mock import MockServer
from test.test_mock_ws import KEY, TIMEOUT, recv, send, session, types, until

websockets = pytest.importorskip("websockets")
from websockets.exceptions import InvalidStatus  # noqa: E402

OFFER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
AUTH = {"Authorization": f"Bearer {KEY}"}


def post(mock: MockServer, path: str, body: Any = None, **headers: str) -> urllib3.BaseHTTPResponse:
    """A raw HTTP request to the mock, as a backend makes it."""
    if isinstance(body, str):
        return urllib3.request(
            "POST", mock.url + path, body=body, headers={**AUTH, **headers}, timeout=TIMEOUT
        )
    return urllib3.request("POST", mock.url + path, json=body or {}, headers=AUTH, timeout=TIMEOUT)


def webrtc_call(mock: MockServer) -> str:
    """A call made by ``POST /realtime/calls``; its id from ``Location``."""
    response = post(mock, "/realtime/calls", OFFER, **{"Content-Type": "application/sdp"})
    assert response.status == 201
    return str(response.headers["Location"]).rsplit("/", 1)[-1]


def test_a_sideband_joins_a_call_made_over_webrtc(openai_mock: MockServer) -> None:
    call_id = webrtc_call(openai_mock)
    with session(openai_mock, call_id=call_id, skip_created=False) as ws:
        created = recv(ws)
        send(ws, type="session.update", session={"type": "realtime", "instructions": "Sell."})
        updated = recv(ws)
    assert created["type"] == "session.created"
    assert created["session"]["id"] == openai_mock.calls[call_id].session["id"]  # type: ignore[index]
    assert updated["session"]["instructions"] == "Sell."
    assert openai_mock.requests[-1].path == f"/v1/realtime?call_id={call_id}"


def test_a_sideband_joins_an_accepted_sip_call_and_hangup_closes_it(
    openai_mock: MockServer,
) -> None:
    call_id = openai_mock.incoming_call()
    with pytest.raises(InvalidStatus) as early, session(openai_mock, call_id=call_id):
        pass
    accepted = post(
        openai_mock,
        f"/realtime/calls/{call_id}/accept",
        {"type": "realtime", "instructions": "You answer the phone."},
    )
    assert accepted.status == 200
    with session(openai_mock, call_id=call_id, skip_created=False) as ws:
        created = recv(ws)
        assert post(openai_mock, f"/realtime/calls/{call_id}/hangup").status == 200
        with pytest.raises(websockets.ConnectionClosedOK) as ended:
            ws.recv(timeout=TIMEOUT)
    assert early.value.response.status_code == 400
    assert created["session"]["instructions"] == "You answer the phone."
    assert ended.value.rcvd is not None and ended.value.rcvd.code == 1000
    with pytest.raises(InvalidStatus) as gone, session(openai_mock, call_id=call_id):
        pass
    assert gone.value.response.status_code == 404


@pytest.mark.parametrize(
    ("query", "status", "param"),
    [
        ({"call_id": "rtc_unknown"}, 404, "call_id"),
        ({"call_id": "CALL", "model": "gpt-realtime"}, 400, "model"),
    ],
)
def test_a_sideband_is_refused_before_any_event(
    openai_mock: MockServer, query: dict[str, str], status: int, param: str
) -> None:
    if query["call_id"] == "CALL":
        query["call_id"] = webrtc_call(openai_mock)
    with pytest.raises(InvalidStatus) as refused, session(openai_mock, **query):
        pass
    assert refused.value.response.status_code == status
    assert json.loads(refused.value.response.body)["error"]["param"] == param


def test_two_sidebands_share_the_session_and_errors_go_to_their_sender(
    openai_mock: MockServer,
) -> None:
    call_id = webrtc_call(openai_mock)
    other_id = webrtc_call(openai_mock)
    with (
        session(openai_mock, call_id=call_id) as first,
        session(openai_mock, call_id=call_id) as second,
        session(openai_mock, call_id=other_id) as elsewhere,
    ):
        send(first, type="session.update", session={"type": "realtime", "instructions": "A"})
        seen = [recv(first), recv(second)]
        send(second, type="response.nonsense", event_id="evt_2")
        error = recv(second)
        send(first, type="input_audio_buffer.clear")
        assert recv(first)["type"] == "input_audio_buffer.cleared"  # no error came first
        assert recv(second)["type"] == "input_audio_buffer.cleared"
        reached = openai_mock.realtime.push({"type": "call.note"}, call_id=other_id)
        assert recv(elsewhere)["type"] == "call.note"
    assert [event["session"]["instructions"] for event in seen] == ["A", "A"]
    assert error["error"]["event_id"] == "evt_2"
    assert reached == 1


def test_a_tool_the_model_calls_reaches_the_sideband(openai_mock: MockServer) -> None:
    call_id = webrtc_call(openai_mock)
    tool_call = openai_mock.realtime.script_tool_call("lookup_order", '{"order": 42}')
    with (
        session(openai_mock, call_id=call_id) as backend,
        session(openai_mock, call_id=call_id) as browser,
    ):
        send(browser, type="response.create")
        called = until(backend, "response.function_call_arguments.done")[-1]
        until(backend, "response.done")
        until(browser, "response.done")
        send(
            backend,
            type="conversation.item.create",
            item={"type": "function_call_output", "call_id": called["call_id"], "output": "ok"},
        )
        send(backend, type="response.create")
        said = until(browser, "response.done")
    assert called["call_id"] == tool_call
    assert called["name"] == "lookup_order"
    assert "ok" in said[-1]["response"]["output"][0]["content"][0]["transcript"]
    assert "response.output_audio.delta" in types(said)


# -- a real WebRTC call ------------------------------------------------------------------------


def test_with_webrtc_the_data_channel_and_the_sideband_are_one_session() -> None:
    pytest.importorskip("aiortc", reason="the 'webrtc' extra runs the real-call tests")
    from openapiopenai import ApiClient, Configuration, RealtimeApi
    from test.test_mock_webrtc import call, run
    from test.test_mock_webrtc_server import HttpAnswerer, mint

    mock = MockServer(webrtc=True)
    mock.start()
    seen: dict[str, Any] = {}
    try:
        configuration = Configuration(host=mock.url, access_token=KEY, ignore_environment=True)
        with ApiClient(configuration) as client:
            api = RealtimeApi(client)
            http = HttpAnswerer(api, mint(api).value)
            tool_call = mock.realtime.script_tool_call("transfer", {"to": "sales"})

            async def scenario() -> None:
                async with call(http) as browser:  # type: ignore[arg-type]
                    seen["browser"] = await browser.wait_for("session.created")
                    loop = asyncio.get_running_loop()
                    await asyncio.to_thread(sideband_part, mock, http.call_id, browser, loop, seen)
                    seen["browser_updated"] = await browser.wait_for("session.updated")

            run(scenario())
    finally:
        mock.stop()
    assert seen["backend"]["session"]["id"] == seen["browser"]["session"]["id"]
    assert seen["browser_updated"]["session"]["instructions"] == "From the backend."
    assert seen["backend_updated"]["session"]["instructions"] == "From the browser."
    assert seen["called"]["call_id"] == tool_call
    assert seen["called"]["name"] == "transfer"


def sideband_part(
    mock: MockServer,
    call_id: str,
    browser: Any,
    loop: asyncio.AbstractEventLoop,
    seen: dict[str, Any],
) -> None:
    """The backend's side, on its own thread, while the browser holds the call."""
    with session(mock, call_id=call_id, skip_created=False) as backend:
        seen["backend"] = recv(backend)
        update = {"type": "realtime", "instructions": "From the backend."}
        send(backend, type="session.update", session=update)
        assert recv(backend)["type"] == "session.updated"
        update = {"type": "realtime", "instructions": "From the browser."}
        loop.call_soon_threadsafe(browser.send, {"type": "session.update", "session": update})
        seen["backend_updated"] = recv(backend)
        loop.call_soon_threadsafe(browser.send, {"type": "response.create"})
        seen["called"] = until(backend, "response.function_call_arguments.done")[-1]
        until(backend, "response.done")
