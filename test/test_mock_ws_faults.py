"""Faults the mock's WebSocket side plays when a test asks: drops, closes, stalls, garbage.

Also the handshake faults of the HTTP side (a scripted status, a delay), which apply to the
upgrade request like to any other, and the mock's lifecycle with connections still open.
"""

from __future__ import annotations

import json
import queue
import ssl
import subprocess
import sys
import threading

import pytest

from openapiopenai.exceptions import ApiValueError
from openapiopenai.mock import MockServer
from test.faults import TLSMaterial
from test.test_mock_ws import TIMEOUT, recv, send, session, text_session, until

websockets = pytest.importorskip("websockets")
from websockets.exceptions import (  # noqa: E402
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidStatus,
)
from websockets.sync.client import connect  # noqa: E402


def test_drop_without_a_close_frame_after_session_created(openai_mock: MockServer) -> None:
    openai_mock.realtime.drop()
    with session(openai_mock) as ws, pytest.raises(ConnectionClosedError) as dropped:
        ws.recv(timeout=TIMEOUT)
    assert dropped.value.rcvd is None  # no close frame came


def test_drop_when_the_client_sends_an_event_type(openai_mock: MockServer) -> None:
    openai_mock.realtime.drop(on="response.create")
    with session(openai_mock) as ws:
        text_session(ws)  # other events are answered
        send(ws, type="response.create")
        with pytest.raises(ConnectionClosedError) as dropped:
            ws.recv(timeout=TIMEOUT)
    assert dropped.value.rcvd is None
    with session(openai_mock) as again:  # a fault plays once
        send(again, type="response.create")
        assert until(again, "response.done")[-1]["response"]["status"] == "completed"


def test_close_with_a_code_and_reason_after_a_server_event(openai_mock: MockServer) -> None:
    openai_mock.realtime.close(4001, "going away now", after="response.created")
    with session(openai_mock) as ws:
        send(ws, type="response.create")
        assert recv(ws)["type"] == "response.created"
        with pytest.raises(ConnectionClosedError) as closed:
            while True:
                ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "going away now")


def test_a_normal_close_ends_iteration_cleanly(openai_mock: MockServer) -> None:
    openai_mock.realtime.close(1000, on="input_audio_buffer.clear")
    with session(openai_mock) as ws:
        send(ws, type="input_audio_buffer.clear")
        received = list(ws)  # ends without raising on a 1000 close
    assert received == []


def test_a_delay_holds_the_answer_back_then_answers(openai_mock: MockServer) -> None:
    openai_mock.realtime.delay(1.0, on="session.update")
    with session(openai_mock) as ws:
        send(ws, type="session.update", session={"type": "realtime"})
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.05)
        assert recv(ws)["type"] == "session.updated"


def test_a_garbage_frame_makes_the_client_fail_the_connection(openai_mock: MockServer) -> None:
    openai_mock.realtime.garbage()
    with session(openai_mock) as ws, pytest.raises(ConnectionClosedError) as failed:
        ws.recv(timeout=TIMEOUT)
    assert failed.value.sent is not None and failed.value.sent.code == 1002  # protocol error


def test_garbage_can_be_any_bytes_such_as_a_message_that_is_not_json(
    openai_mock: MockServer,
) -> None:
    openai_mock.realtime.garbage(b"\x81\x05hello", after="session.updated")
    with session(openai_mock) as ws:
        text_session(ws)
        assert ws.recv(timeout=TIMEOUT) == "hello"
        send(ws, type="input_audio_buffer.clear")
        assert recv(ws)["type"] == "input_audio_buffer.cleared"


def test_a_hung_server_never_answers_a_close_and_the_client_gives_up(
    openai_mock: MockServer,
) -> None:
    openai_mock.realtime.hang(on="session.update")
    with session(openai_mock) as ws:
        send(ws, type="session.update", session={"type": "realtime"})
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)
        ws.close()  # close_timeout=1: the client stops waiting for the close frame
    assert ws.protocol.close_rcvd is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda rt: rt.close(999), "close code"),
        (lambda rt: rt.close(1000, after="a", on="b"), "not both"),
        (lambda rt: rt.delay(-1), "seconds"),
        (lambda rt: rt.garbage(b""), "non-empty bytes"),
        (lambda rt: rt.drop(on=""), "non-empty str"),
        (lambda rt: rt.set_pace(True), "seconds"),
        (lambda rt: rt.delay(float("nan")), "finite"),
        (lambda rt: rt.script_tool_call("f", {"x": object()}), "JSON"),
        (lambda rt: rt.script_reply(3), "non-empty str"),
        (lambda rt: rt.push({"no": "type"}), "'type'"),
    ],
)
def test_scripting_mistakes_are_refused_at_once(
    openai_mock: MockServer, call: object, message: str
) -> None:
    with pytest.raises(ApiValueError, match=message):
        call(openai_mock.realtime)  # type: ignore[operator]


# -- the handshake, through the HTTP side's scripting ------------------------------------------


def test_a_scripted_429_refuses_the_upgrade_then_the_next_one_opens(
    openai_mock: MockServer,
) -> None:
    openai_mock.fail_next(1, status=429, retry_after=2)
    with pytest.raises(InvalidStatus) as refused, session(openai_mock):
        pass
    response = refused.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert json.loads(response.body)["error"]["code"] == "rate_limit_exceeded"
    with session(openai_mock) as ws:
        text_session(ws)


def test_a_delayed_handshake_still_opens(openai_mock: MockServer) -> None:
    openai_mock.delay_next(0.2)
    with session(openai_mock) as ws:
        text_session(ws)
    assert len(openai_mock.requests) == 1


def test_stopping_the_mock_ends_open_connections() -> None:
    mock = MockServer()
    mock.start()
    with session(mock) as ws:
        mock.stop()
        with pytest.raises(websockets.ConnectionClosed):
            ws.recv(timeout=TIMEOUT)
    assert mock.realtime.sessions == []


def test_the_command_line_mock_speaks_websocket_too() -> None:
    args = [sys.executable, "-m", "openapiopenai.mock", "--port", "0"]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
        try:
            lines: queue.Queue[str] = queue.Queue()
            assert child.stdout is not None
            stdout = child.stdout
            threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
            url = lines.get(timeout=60).strip()
            with connect(
                url.replace("http://", "ws://") + "/realtime?model=gpt-realtime",
                additional_headers={"Authorization": "Bearer sk-any"},
                open_timeout=TIMEOUT,
            ) as ws:
                created = json.loads(ws.recv(timeout=TIMEOUT))
            child.terminate()
            assert child.wait(timeout=30) == 0
        finally:
            child.kill()
    assert created["type"] == "session.created"


def test_the_websocket_side_works_over_tls(https_mock: MockServer, tls: TLSMaterial) -> None:
    # The mock starts the closing handshake: websockets 16 (the last for Python 3.10) loses
    # the answer to a close its client starts over TLS now and then, under load (its reader
    # thread's blocking SSL read fails at once with "The read operation timed out" when the
    # closing thread puts a timeout on the socket); websockets 17 waits with select() first.
    https_mock.realtime.close(1000, "", after="input_audio_buffer.cleared")
    context = ssl.create_default_context(cafile=tls.ca_file)
    url = https_mock.url.replace("https://", "wss://", 1) + "/realtime?model=gpt-realtime"
    with connect(
        url,
        ssl=context,
        additional_headers={"Authorization": "Bearer sk-tls"},
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
    ) as ws:
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "session.created"
        ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "input_audio_buffer.cleared"
        with pytest.raises(ConnectionClosedOK):
            ws.recv(timeout=TIMEOUT)
    assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000
