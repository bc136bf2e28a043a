"""The WebSocket side under what a day in production brings, against real servers on 127.0.0.1:
a server that stops reading, a caller too busy to read, huge and malformed events, odd
answers to the upgrade and odd arguments.
"""

from __future__ import annotations

import gc
import json
import logging
import socket
import ssl
import struct
import sys
import threading
import time
import tracemalloc
from typing import Any

import pytest
from urllib3.util.retry import Retry

from openapiopenai import RealtimeApi
from openapiopenai.exceptions import (
    ApiConnectionError,
    ApiException,
    ApiValueError,
    RealtimeConnectionClosedError,
    ServiceException,
)
from openapiopenai.models import (
    RealtimeClientEventResponseCreate,
    RealtimeServerEvent,
    RealtimeServerEventSessionCreated,
)
from openapiopenai.realtime import RealtimeConnection, UnknownServerEvent
from openapiopenai.realtime._protocol import PROBLEMS_SHOWN, ServerEvents
from openapiopenai.realtime._socket import queued_frames
from test.conftest import API_KEY, quick_api
from test.faults import LoopbackServer, TLSMaterial, unused_port
from test.realtime_server import WAIT, Peer, Refusal, ScriptedServer, SilentServer, session_created

MIB = 1024 * 1024


def _api(host: str, retries: Any = 0, **settings: Any) -> RealtimeApi:
    return quick_api(host, retries, **settings)


def _greet(peer: Peer) -> None:
    peer.send(session_created())
    peer.close()


def _discard(peer: Peer) -> None:
    """Greets, then reads and drops whatever the client sends."""
    peer.send(session_created())
    while True:
        peer.connection.recv(WAIT)


def _until_still(progress: list[int], quiet: float = 0.5) -> None:
    """Wait (at most ``WAIT`` s) until ``progress`` has not grown for ``quiet`` seconds."""
    seen, since, end = -1, time.monotonic(), time.monotonic() + WAIT
    while time.monotonic() < end:
        if len(progress) != seen:
            seen, since = len(progress), time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)


# -- a server that stops reading ---------------------------------------------------------------


def test_close_returns_while_another_thread_is_stuck_sending() -> None:
    chunk = b"\x00\x01" * (MIB // 2)
    sends: list[int] = []
    outcome: list[BaseException] = []
    with SilentServer(session_created()) as server:
        conn = _api(server.url).connect(model="m", close_timeout=0.5)
        assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)

        def flood() -> None:
            try:
                for _ in range(200):  # far more than the socket buffers hold
                    conn.input_audio_buffer.append(chunk)
                    sends.append(1)
            except BaseException as failure:  # recorded: asserted below
                outcome.append(failure)

        sender = threading.Thread(target=flood, daemon=True)
        sender.start()
        _until_still(sends)  # the sender is stuck: the server reads nothing
        closer = threading.Thread(target=conn.close, daemon=True)
        closer.start()
        closer.join(5)  # a bound, not a measurement: close_timeout is 0.5 s
        assert not closer.is_alive()  # checked before the server lets go (after WAIT)
        sender.join(5)
        assert not sender.is_alive()

    assert len(sends) < 200
    assert len(outcome) == 1 and isinstance(outcome[0], RealtimeConnectionClosedError)
    assert conn.close_code is not None


# -- a caller too busy to read -----------------------------------------------------------------


def test_a_slow_reader_keeps_a_live_connection(caplog: pytest.LogCaptureFixture) -> None:
    count = 200

    def script(peer: Peer) -> None:
        peer.send(session_created())
        for number in range(count):
            peer.send({"type": "test.event", "event_id": f"e{number}", "pad": "x" * 2000})
        peer.recv()  # the client's word that it read everything
        peer.close()

    caplog.set_level(logging.DEBUG)
    with (
        ScriptedServer(script) as server,
        _api(server.url).connect(model="m", ping_interval=0.2, ping_timeout=0.2) as conn,
    ):
        conn.recv()
        time.sleep(1.5)  # busy for several ping timeouts while the events pile up
        events = [conn.recv(timeout=WAIT) for _ in range(count)]
        conn.response.create()
        rest = list(conn)

    assert [event.to_dict()["event_id"] for event in events] == [f"e{n}" for n in range(count)]
    assert rest == []
    assert conn.close_code == 1000
    assert server.errors == []
    # No "keepalive ping failed" with its traceback (printed to stderr without logging set up).
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_close_with_messages_unread_completes_the_handshake() -> None:
    def script(peer: Peer) -> None:
        for number in range(5):
            peer.send(session_created(f"event_{number}"))
        peer.connection.recv(WAIT)  # until the client's close frame, answered by websockets

    with ScriptedServer(script) as server:
        conn = _api(server.url).connect(model="m", close_timeout=60)
        conn.recv()
        _until_still([])  # the other four arrive and wait unread
        closer = threading.Thread(target=conn.close, daemon=True)
        closer.start()
        # A bound, not a measurement: the server's answer must not wait behind the messages.
        closer.join(10)
        assert not closer.is_alive()

    assert conn.close_code == 1000
    assert list(conn) == []  # what was left unread is dropped with the connection


def test_a_server_that_stops_answering_pings_is_still_found_dead() -> None:
    with SilentServer(session_created()) as server:
        conn = _api(server.url).connect(model="m", ping_interval=0.1, ping_timeout=0.1)
        try:
            assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)
            with pytest.raises(RealtimeConnectionClosedError) as raised:
                conn.recv(timeout=WAIT)  # nothing unread: the missing pong is the answer
        finally:
            conn.close()

    assert (raised.value.code, raised.value.reason) == (1011, "keepalive ping timeout")


def test_what_waits_unread_stays_near_one_message() -> None:
    count, size = 16, 4 * MIB
    payload = json.dumps({"type": "test.big", "event_id": "e", "pad": "x" * size}).encode()
    sent: list[int] = []

    def script(peer: Peer) -> None:
        for _ in range(count):
            peer.connection.send(payload, text=True)
            sent.append(1)
        peer.recv()
        peer.close()

    gc.collect()
    tracemalloc.start()
    try:
        with ScriptedServer(script) as server, _api(server.url).connect(model="m") as conn:
            _until_still(sent)  # the caller reads nothing: the server gets stuck
            held = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            received = [conn.recv(timeout=WAIT) for _ in range(count)]
            conn.response.create()
    finally:
        tracemalloc.stop()

    # websockets' default would read 16 messages ahead: 64 MiB here. The limit (64 MiB by
    # default) allows one message waiting, one being read and the server's one being sent.
    assert held < 6 * size, f"{held / MIB:.0f} MiB held"
    assert len(received) == count
    assert all(event.type == "test.big" for event in received)


# -- huge and malformed events -----------------------------------------------------------------


def test_a_large_malformed_event_costs_in_proportion_to_its_size() -> None:
    item = {
        "type": "message",
        "role": "assistant",
        "status": [],
        "content": [{"type": "output_text"}],
    }
    items = [
        {**item, "id": number, "content": [{"type": "output_text", "text": 7}]}
        for number in range(1000)
    ]
    response = {"id": "resp_1", "object": "realtime.response", "output": items}
    message = json.dumps({"type": "response.done", "event_id": "e", "response": response}).encode()
    parser = ServerEvents(RealtimeServerEvent)

    tracemalloc.start()
    try:
        event = parser.parse(message)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert isinstance(event, UnknownServerEvent)
    assert event.to_dict()["response"]["output"][999]["id"] == 999  # kept whole, as sent
    problem = event.problem or ""
    # A few lines, whatever the number of errors (thousands here).
    assert len(problem) < 2000, len(problem)
    assert problem.count("\n") == PROBLEMS_SHOWN + 1
    assert "response.output.0.id" in problem and problem.endswith("more")
    assert peak < 400 * len(message), f"{peak / MIB:.0f} MiB for {len(message) / MIB:.1f} MiB"


def test_the_sent_record_keeps_no_audio_alive() -> None:
    chunk = b"\x01\x02" * (64 * 1024)  # 128 KiB, 171 KiB as base64
    with ScriptedServer(_discard) as server:
        conn = _api(server.url).connect(model="m")
        conn.recv()
        gc.collect()
        tracemalloc.start()
        try:
            appended = [conn.input_audio_buffer.append(chunk) for _ in range(300)]
            created = conn.response.create()
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        append = conn.sent_event(appended[-1])
        cause = conn.sent_event(created)
        conn.close()

    # Before: the last 256 appends whole, 43 MiB here.
    assert held < 8 * MIB, f"{held / MIB:.0f} MiB held"
    assert append is not None
    assert append.to_dict() == {
        "type": "input_audio_buffer.append",
        "event_id": appended[-1],
        "audio": "",
    }
    assert isinstance(cause, RealtimeClientEventResponseCreate)
    assert conn.sent_event(created) is None  # let go on close


# -- debug logging -----------------------------------------------------------------------------


def test_debug_logs_say_what_happened_not_what_was_said(caplog: pytest.LogCaptureFixture) -> None:
    said = "my card number is 4111 1111"
    answered = "a private answer"

    def script(peer: Peer) -> None:
        peer.send(session_created())
        peer.recv()
        peer.send({"type": "test.answer", "event_id": "e", "text": answered})
        peer.close()

    caplog.set_level(logging.DEBUG)
    with ScriptedServer(script) as server:
        api = _api(server.url, debug=True, organization="org-hidden", project="proj_hidden")
        with api.connect(model="m", _headers={"X-Gateway-Key": "gw-hidden-123"}) as conn:
            conn.recv()
            content = [{"type": "input_text", "text": said}]
            conn.conversation.item.create({"type": "message", "role": "user", "content": content})
            assert [event.to_dict()["text"] for event in conn] == [answered]

    client_side = "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith("openapiopenai")
    )
    for hidden in ("org-hidden", "proj_hidden", "gw-hidden-123", said, answered, API_KEY):
        assert hidden not in client_side
    for name in ("> OpenAI-Organization", "> OpenAI-Project", "> X-Gateway-Key", "TEXT ["):
        assert name in client_side


# -- the handshake -----------------------------------------------------------------------------


def test_the_ca_as_der_bytes_over_wss(tls: TLSMaterial) -> None:
    der = ssl.PEM_cert_to_DER_cert(tls.ca.cert_pem.bytes().decode())
    with (
        ScriptedServer(_greet, ssl_context=tls.server_context()) as server,
        _api(server.url, ca_cert_data=der).connect(model="m") as conn,
    ):
        assert conn.url.startswith("wss://")
        assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)


@pytest.mark.parametrize(
    "location", ["https://elsewhere.example/v1", "http://[::1/v1", "wss://elsewhere.example/"]
)
def test_a_redirect_anywhere_is_an_api_exception(location: str) -> None:
    refusal = Refusal(302, {"echo": f"you sent {API_KEY}"}, {"Location": location})
    with (
        ScriptedServer(_greet, refusals=[refusal]) as server,
        pytest.raises(ApiException) as raised,
    ):
        _api(server.url, retries=3).connect(model="m")

    error = raised.value
    assert (error.status, error.attempts, len(server.requests)) == (302, 1, 1)
    assert error.__cause__ is None and error.__context__ is None
    assert API_KEY not in str(error) and API_KEY not in repr(error)


def test_an_unreadable_retry_after_under_a_plain_urllib3_retry() -> None:
    policy = Retry(total=2, status_forcelist=[503], backoff_factor=0)
    refusal = Refusal(503, {"echo": f"you sent {API_KEY}"}, {"Retry-After": "soon"})
    with (
        ScriptedServer(_greet, refusals=[refusal]) as server,
        pytest.raises(ServiceException) as raised,
    ):
        _api(server.url, retries=policy).connect(model="m")

    assert (raised.value.status, raised.value.attempts) == (503, 1)
    assert raised.value.__cause__ is None and raised.value.__context__ is None


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("call_id", "", "call_id must not be empty"),
        ("model", "", "model must not be empty"),
        ("call_id", "rtc_\ud800", "call_id is not valid UTF-8 text"),
        ("model", "gpt-\udfff", "model is not valid UTF-8 text"),
        ("intent", "\ud83d", "intent is not valid UTF-8 text"),
    ],
)
def test_query_values_are_checked_before_any_io(field: str, value: str, problem: str) -> None:
    api = _api(f"http://127.0.0.1:{unused_port()}/v1")  # any I/O would fail to connect
    with pytest.raises(ApiValueError) as raised:
        api.connect(**{field: value})

    assert str(raised.value).startswith(problem)
    assert raised.value.__context__ is None


def test_a_refused_connection_names_where_in_the_http_side_s_words() -> None:
    port = unused_port()
    with pytest.raises(ApiConnectionError) as raised:
        _api(f"http://127.0.0.1:{port}/v1").connect(model="m")

    assert str(raised.value).startswith(
        f"could not connect: WebSocket(host='127.0.0.1', port={port}): "
        "Failed to establish a new connection: "
    )


@pytest.mark.parametrize(
    ("limit", "frames"), [(None, 16), (100, 16), (MIB, 16), (4 * MIB, 4), (64 * MIB, 1)]
)
def test_what_is_read_ahead_follows_the_message_limit(limit: int | None, frames: int) -> None:
    # websockets stops reading once its queue holds more than max_queue frames.
    assert queued_frames(limit) + 1 == frames


def test_without_a_close_timeout_close_waits_for_the_server() -> None:
    with ScriptedServer(_discard) as server:
        conn = _api(server.url).connect(model="m", close_timeout=None)
        conn.recv()
        conn.close()

    assert conn.close_code == 1000


def test_a_reset_in_the_debug_log_is_a_line_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with SilentServer(session_created(), reset=True) as server:
        conn = _api(server.url, debug=True).connect(model="m")
        conn.recv()
        with pytest.raises(RealtimeConnectionClosedError) as raised:
            conn.recv(timeout=WAIT)
        conn.close()

    client_side = [r for r in caplog.records if r.name.startswith("openapiopenai")]
    assert raised.value.code == 1006
    assert any("ConnectionResetError" in r.getMessage() for r in client_side)
    assert not any(r.exc_info for r in client_side)


@pytest.mark.parametrize("valid", [True, False])
def test_an_event_whose_nested_type_comes_first(valid: bool) -> None:
    item = {"type": "message", "role": "user", "content": [], "id": "item_1" if valid else 5}
    message = {"item": item, "type": "conversation.item.added", "event_id": "e"}
    event = ServerEvents(RealtimeServerEvent).parse(json.dumps(message).encode())

    assert event.type == "conversation.item.added"
    assert isinstance(event, UnknownServerEvent) is not valid
    if not valid:
        assert isinstance(event, UnknownServerEvent) and "item.id" in (event.problem or "")


def test_close_from_another_thread_while_events_stream_ends_iteration_quietly() -> None:
    def stream(peer: Peer) -> None:
        for number in range(2000):
            peer.send({"type": "test.event", "event_id": f"e{number}"})
        peer.connection.recv(WAIT)

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often: close() meets the reader mid-way
    outcomes: list[object] = []
    try:
        with ScriptedServer(stream) as server:
            for _ in range(10):
                conn = _api(server.url).connect(model="m")

                def read(conn: RealtimeConnection = conn) -> None:
                    try:
                        outcomes.append(sum(1 for _ in conn))
                    except Exception as failure:  # recorded: asserted below
                        outcomes.append(failure)

                reader = threading.Thread(target=read, daemon=True)
                reader.start()
                time.sleep(0.01)
                conn.close()
                reader.join(WAIT)
    finally:
        sys.setswitchinterval(switch_interval)

    assert [type(outcome) for outcome in outcomes] == [int] * 10, outcomes


class _ResetWhileReading(LoopbackServer):
    """Accepts, reads nothing for a moment, then resets the connection."""

    def handle(self, conn: socket.socket) -> None:
        time.sleep(0.3)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()


def test_a_reset_while_the_upgrade_request_is_sent_is_a_transport_error() -> None:
    """websockets reports a reset during its own send as a closed connection; it is the same
    transport failure as any other, not a websockets exception (a request too large to fit
    the socket's buffers makes the send still be running when the reset comes)."""
    with _ResetWhileReading() as server, pytest.raises(ApiConnectionError) as failed:
        padding = {"X-Padding": "a" * 16_000_000}
        quick_api(server.url + "/v1", 0).connect(model="m", _headers=padding)
    assert "could not connect" in str(failed.value)
