"""Reconnection (``connect(..., reconnect=...)``) against real servers on 127.0.0.1: the
scripted server of test/realtime_server.py (drops, close codes, refused re-handshakes) and the
package's mock (a model session and a call's sideband through its ``drop``/``close`` faults).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from openapiopenai.exceptions import (
    ApiException,
    ApiTimeoutError,
    ApiTypeError,
    ApiValueError,
    NotFoundException,
    RealtimeConnectionClosedError,
    RealtimeReconnectFailedError,
    RealtimeSendQueueFullError,
    UnauthorizedException,
)
from openapiopenai.mock import MockServer
from openapiopenai.models import (
    RealtimeServerEventError,
    RealtimeServerEventSessionCreated,
    RealtimeServerEventSessionUpdated,
)
from openapiopenai.realtime import Reconnect, Reconnected
from openapiopenai.realtime._reconnect import (
    SendQueue,
    reconnect_policy,
    refusal_wait,
    summed_update,
    triggers,
)
from openapiopenai.realtime.tools import FunctionTools
from test.conftest import API_KEY, quick_api
from test.realtime_server import (
    WAIT,
    Peer,
    Refusal,
    ScriptedServer,
    SilentServer,
    session_created,
)
from test.test_codegen import _plain_mypy

#: Quick backoff: tests wait hundredths of a second between re-handshakes.
QUICK = Reconnect(attempts=3, initial_delay=0.01, max_delay=0.05)
BOUND = 10.0


class Links:
    """A script that plays ``first`` on the first connection and ``then`` on every later
    one, recording what each connection received (by its number, from 0)."""

    def __init__(self, first: Callable[[Peer], None], then: Callable[[Peer], None]) -> None:
        self.first, self.then = first, then
        self.count = 0
        self.received: dict[int, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def __call__(self, peer: Peer) -> None:
        with self._lock:
            number, self.count = self.count, self.count + 1
            self.received[number] = []
        (self.first if number == 0 else self.then)(peer)

    def collect(self, number: int, peer: Peer, count: int) -> None:
        """Read ``count`` client events on connection ``number``."""
        for _ in range(count):
            self.received[number].append(peer.recv())


def greet_then(action: Callable[[Peer], None]) -> Callable[[Peer], None]:
    def script(peer: Peer) -> None:
        peer.send(session_created())
        action(peer)

    return script


def greet_and_wait(peer: Peer) -> None:
    peer.send(session_created("event_again"))
    peer.connection.recv(WAIT)  # until the client closes


@pytest.fixture
def dropping() -> Iterator[ScriptedServer]:
    """A server whose first connection drops after ``session.created``; later ones stay."""
    with ScriptedServer(Links(greet_then(Peer.drop), greet_and_wait)) as server:
        yield server


# -- the policy, without sockets -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"attempts": -1}, ApiValueError, "attempts"),
        ({"attempts": 2.0}, ApiTypeError, "attempts"),
        ({"attempts": True}, ApiTypeError, "attempts"),
        ({"initial_delay": -0.5}, ApiValueError, "initial_delay"),
        ({"initial_delay": "1"}, ApiTypeError, "initial_delay"),
        ({"max_delay": float("inf")}, ApiValueError, "max_delay"),
        ({"initial_delay": 2.0, "max_delay": 1.0}, ApiValueError, "max_delay"),
        ({"queue_bytes": 0}, ApiValueError, "queue_bytes"),
        ({"queue_bytes": None}, ApiTypeError, "queue_bytes"),
    ],
)
def test_a_policy_with_a_bad_value_is_refused_naming_it(
    fields: dict[str, Any], error: type[Exception], field: str
) -> None:
    with pytest.raises(error, match=field) as refused:
        Reconnect(**fields)
    assert refused.value.path_to_item == [field]  # type: ignore[attr-defined]


def test_reconnect_takes_a_bool_or_a_policy_and_nothing_else() -> None:
    assert reconnect_policy(None) is None and reconnect_policy(False) is None
    assert reconnect_policy(True) == Reconnect(5, 0.5, 8.0, 1_048_576)
    assert reconnect_policy(QUICK) is QUICK
    with pytest.raises(ApiTypeError, match="reconnect"):
        reconnect_policy("yes")


def test_a_policy_is_a_frozen_value() -> None:
    with pytest.raises(AttributeError):
        QUICK.attempts = 9  # type: ignore[misc]
    assert Reconnect() == Reconnect() and hash(Reconnect()) == hash(Reconnect())


def test_the_backoff_grows_with_full_jitter_within_max_delay() -> None:
    policy = Reconnect(initial_delay=0.5, max_delay=8.0)
    waits = {attempt: [policy.delay(attempt) for _ in range(200)] for attempt in (1, 3, 9, 99)}
    assert all(0 <= wait <= 0.5 for wait in waits[1])
    assert all(0 <= wait <= 2.0 for wait in waits[3]) and max(waits[3]) > 0.5
    assert all(0 <= wait <= 8.0 for wait in waits[9] + waits[99]) and max(waits[99]) > 2.0
    assert policy.delay(1, retry_after=3.0) == 3.0  # Retry-After honoured...
    assert policy.delay(1, retry_after=60.0) == 8.0  # ...within max_delay


def test_which_closes_and_refusals_go_on() -> None:
    closes = {code: triggers(RealtimeConnectionClosedError(code, "")) for code in range(1000, 1016)}
    assert {code for code, again in closes.items() if again} == {1001, 1006, 1011, 1012, 1013, 1014}
    assert not triggers(RealtimeConnectionClosedError(4001, ""))
    refused = {
        status: refusal_wait(ApiException(status=status))[0] for status in (401, 404, 429, 503)
    }
    assert refused == {401: False, 404: False, 429: True, 503: True}


def test_the_queue_keeps_order_and_refuses_what_does_not_fit() -> None:
    lost = RealtimeConnectionClosedError(1006, "dropped")
    queue = SendQueue(10)
    queue.put("a", b"aaaa", lost)
    queue.put("b", b"bbbb", lost)
    with pytest.raises(RealtimeSendQueueFullError, match="queue_bytes=10") as full:
        queue.put("c", b"ccc", lost)
    assert full.value.code == 1006 and isinstance(full.value, RealtimeConnectionClosedError)
    taken = queue.take_all()
    assert taken == [("a", b"aaaa"), ("b", b"bbbb")] and queue.size == 0
    queue.put("c", b"cc", lost)
    queue.put_back(taken)
    assert queue.size == 10
    assert queue.take_all() == [("a", b"aaaa"), ("b", b"bbbb"), ("c", b"cc")]


def test_a_bad_reconnect_is_refused_before_any_connection(dropping: ScriptedServer) -> None:
    with pytest.raises(ApiTypeError, match="reconnect"):
        quick_api(dropping.url, 0).connect(model="gpt-realtime", reconnect="always")  # type: ignore[call-overload]
    assert dropping.requests == []


# -- reconnecting ------------------------------------------------------------------------------


def test_a_drop_reconnects_and_the_marker_comes_first(dropping: ScriptedServer) -> None:
    with quick_api(dropping.url, 0).connect(
        model="gpt-realtime", reconnect=QUICK, receive_timeout=BOUND
    ) as conn:
        first = conn.recv()
        marker = conn.recv()
        again = conn.recv()

    assert isinstance(first, RealtimeServerEventSessionCreated)
    assert isinstance(marker, Reconnected)
    assert (marker.code, marker.attempts) == (1006, 1)
    assert 0 <= marker.down_seconds < BOUND
    assert isinstance(again, RealtimeServerEventSessionCreated) and again.event_id == "event_again"
    (path1, headers1), (path2, headers2) = dropping.requests
    assert path1 == path2 == "/v1/realtime?model=gpt-realtime"
    assert headers1["Authorization"] == headers2["Authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("code", [1001, 1011, 1012, 1013, 1014])
def test_a_close_asking_to_come_back_reconnects(code: int) -> None:
    links = Links(greet_then(lambda peer: peer.close(code, "come back later")), greet_and_wait)
    with (
        ScriptedServer(links) as server,
        quick_api(server.url, 0).connect(
            model="gpt-realtime", reconnect=QUICK, receive_timeout=BOUND
        ) as conn,
    ):
        events = [conn.recv(), conn.recv(), conn.recv()]

    marker = events[1]
    assert isinstance(marker, Reconnected)
    assert (marker.code, marker.reason) == (code, "come back later")
    assert [type(event) for event in events[::2]] == [RealtimeServerEventSessionCreated] * 2


def test_iteration_gives_the_marker_between_the_events_of_both_links(
    dropping: ScriptedServer,
) -> None:
    seen: list[object] = []
    with quick_api(dropping.url, 0).connect(
        model="gpt-realtime", reconnect=QUICK, receive_timeout=BOUND
    ) as conn:
        for event in conn:
            seen.append(event)
            if len(seen) == 3:
                break
    assert [type(event).__name__ for event in seen] == [
        "RealtimeServerEventSessionCreated",
        "Reconnected",
        "RealtimeServerEventSessionCreated",
    ]


def test_a_normal_close_ends_iteration_without_reconnecting() -> None:
    links = Links(greet_then(lambda peer: peer.close(1000, "bye")), greet_and_wait)
    with ScriptedServer(links) as server:
        with quick_api(server.url, 0).connect(model="gpt-realtime", reconnect=QUICK) as conn:
            events = list(conn)
        assert len(events) == 1 and len(server.requests) == 1


def test_a_close_that_is_not_a_hiccup_raises_without_reconnecting() -> None:
    links = Links(greet_then(lambda peer: peer.close(4001, "no such thing")), greet_and_wait)
    with ScriptedServer(links) as server:
        with quick_api(server.url, 0).connect(model="gpt-realtime", reconnect=QUICK) as conn:
            conn.recv()
            with pytest.raises(RealtimeConnectionClosedError) as closed:
                conn.recv()
            with pytest.raises(RealtimeConnectionClosedError) as sending:
                conn.response.create()
        assert closed.value.code == sending.value.code == 4001 and len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "exception"), [(401, UnauthorizedException), (404, NotFoundException)]
)
def test_a_refused_re_handshake_ends_at_once_with_its_exception(
    dropping: ScriptedServer, status: int, exception: type[ApiException]
) -> None:
    with quick_api(dropping.url, 0).connect(
        model="gpt-realtime", reconnect=QUICK, receive_timeout=BOUND
    ) as conn:
        conn.recv()
        dropping.refusals.append(Refusal(status, {"error": {"message": "no", "type": "x"}}))
        with pytest.raises(exception) as refused:
            conn.recv()
        with pytest.raises(exception):  # and so does every later receive and send
            conn.response.create()

    assert refused.value.status == status
    cause = refused.value.__cause__
    assert isinstance(cause, RealtimeConnectionClosedError) and cause.code == 1006
    assert len(dropping.requests) == 2  # not one more
    assert API_KEY not in str(refused.value)


def test_429_and_5xx_count_as_attempts_honouring_retry_after(dropping: ScriptedServer) -> None:
    with quick_api(dropping.url, 0).connect(
        model="gpt-realtime",
        reconnect=Reconnect(attempts=3, initial_delay=0.01, max_delay=2.0),
        receive_timeout=BOUND,
    ) as conn:
        conn.recv()
        dropping.refusals.extend([Refusal(429, headers={"Retry-After": "1"}), Refusal(503)])
        marker = conn.recv()

    assert isinstance(marker, Reconnected)
    assert marker.attempts == 3 and len(dropping.requests) == 4
    assert marker.down_seconds >= 1.0  # the Retry-After was waited


def test_running_out_of_attempts_raises_naming_the_original_close(
    dropping: ScriptedServer,
) -> None:
    with quick_api(dropping.url, 0).connect(
        model="gpt-realtime",
        reconnect=Reconnect(attempts=2, initial_delay=0.01, max_delay=0.02),
        receive_timeout=BOUND,
    ) as conn:
        conn.recv()
        dropping.refusals.extend([Refusal(500), Refusal(502), Refusal(503)])
        with pytest.raises(RealtimeReconnectFailedError) as failed:
            list(conn)

    assert isinstance(failed.value, RealtimeConnectionClosedError)
    assert (failed.value.code, failed.value.attempts) == (1006, 2)
    assert "1006" in str(failed.value) and "after 2 attempts" in str(failed.value)
    assert isinstance(failed.value.__cause__, ApiException)
    assert failed.value.__cause__.status == 502
    assert len(dropping.requests) == 3


# -- sending across a reconnect ---------------------------------------------------------------


def _down_for_a_second(server: ScriptedServer, conn: Any) -> None:
    """Wait until ``conn`` noticed its first link dropped; a 503 asking for one second
    keeps the link down meanwhile."""
    server.refusals.append(Refusal(503, headers={"Retry-After": "1"}))
    conn.recv()  # session.created
    with pytest.raises(ApiTimeoutError, match="reconnecting"):
        conn.recv(timeout=0.1)


def test_the_sum_of_the_session_updates_goes_first_then_the_queue_in_order() -> None:
    links: Links

    def first(peer: Peer) -> None:
        peer.send(session_created())
        links.collect(0, peer, 2)
        peer.drop()

    def then(peer: Peer) -> None:
        peer.send(session_created("event_again"))
        links.collect(peer_number(), peer, 4)
        peer.connection.recv(WAIT)

    def peer_number() -> int:
        return links.count - 1

    links = Links(first, then)
    policy = Reconnect(attempts=3, initial_delay=0.01, max_delay=2.0)
    with (
        ScriptedServer(links) as server,
        quick_api(server.url, 0).connect(
            model="gpt-realtime", reconnect=policy, receive_timeout=BOUND
        ) as conn,
    ):
        conn.session.update(
            {
                "type": "realtime",
                "instructions": "old",
                "output_modalities": ["text"],
                "audio": {"output": {"voice": "marin"}},
            }
        )
        updated = conn.session.update(
            {
                "type": "realtime",
                "instructions": "new",
                "audio": {"input": {"turn_detection": None}},
            }
        )
        _down_for_a_second(server, conn)
        queued = [
            conn.conversation.item.delete("item_1"),
            conn.input_audio_buffer.append(b"\x00\x00" * 10),
            conn.response.create(),
        ]
        marker = conn.recv()
        conn.recv()
        deadline = time.monotonic() + BOUND
        while len(links.received.get(1, [])) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        remembered = [conn.sent_event(event_id) for event_id in [updated, *queued]]

    assert isinstance(marker, Reconnected) and marker.attempts == 2
    again = links.received[1]  # the 503 refused a handshake: no connection of its own
    assert [event["event_id"] for event in again] == [updated, *queued]
    assert again[0] == {
        "type": "session.update",
        "event_id": updated,
        "session": {  # each update changes only what it names: the new session needs both
            "type": "realtime",
            "instructions": "new",
            "output_modalities": ["text"],
            "audio": {"output": {"voice": "marin"}, "input": {"turn_detection": None}},
        },
    }
    assert all(event is not None for event in remembered)  # sent_event() across the reconnect


def test_summed_updates_lay_each_over_the_last_as_the_service_does() -> None:
    first = {
        "type": "session.update",
        "event_id": "a",
        "session": {
            "type": "realtime",
            "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.4}}},
            "tools": [1, 2],
        },
    }
    second = {
        "type": "session.update",
        "event_id": "b",
        "session": {
            "type": "realtime",
            "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}},
            "tools": [3],
        },
    }
    summed = summed_update(json.dumps(first).encode(), json.dumps(second).encode())

    assert json.loads(summed) == {
        "type": "session.update",
        "event_id": "b",  # the last one's id: an error about it leads back to it
        "session": {  # another type of detection replaces the old one whole; lists are replaced
            "type": "realtime",
            "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}},
            "tools": [3],
        },
    }
    assert summed_update(None, b"{}") == b"{}"


def test_a_send_that_does_not_fit_the_queue_raises_and_the_rest_keeps_its_order() -> None:
    links: Links

    def then(peer: Peer) -> None:
        peer.send(session_created("event_again"))
        links.collect(links.count - 1, peer, 2)
        peer.connection.recv(WAIT)

    links = Links(greet_then(Peer.drop), then)
    policy = Reconnect(attempts=3, initial_delay=0.01, max_delay=2.0, queue_bytes=200)
    with (
        ScriptedServer(links) as server,
        quick_api(server.url, 0).connect(
            model="gpt-realtime", reconnect=policy, receive_timeout=BOUND
        ) as conn,
    ):
        _down_for_a_second(server, conn)
        kept = [conn.conversation.item.delete("item_1"), conn.conversation.item.delete("item_2")]
        with pytest.raises(RealtimeSendQueueFullError, match="queue_bytes=200") as full:
            conn.input_audio_buffer.append(b"\x00" * 300)
        assert isinstance(conn.recv(), Reconnected)
        deadline = time.monotonic() + BOUND
        while len(links.received.get(1, [])) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)

    assert full.value.code == 1006
    assert [event["event_id"] for event in links.received[1]] == kept


def test_a_send_that_notices_the_drop_first_reconnects_without_a_reader() -> None:
    links: Links

    def first(peer: Peer) -> None:
        peer.send(session_created())
        links.collect(0, peer, 1)
        peer.drop()

    def then(peer: Peer) -> None:
        peer.send(session_created("event_again"))
        links.collect(links.count - 1, peer, 1)
        peer.connection.recv(WAIT)

    links = Links(first, then)
    with (
        ScriptedServer(links) as server,
        quick_api(server.url, 0).connect(
            model="gpt-realtime", reconnect=QUICK, receive_timeout=BOUND
        ) as conn,
    ):
        conn.input_audio_buffer.clear()
        deadline = time.monotonic() + BOUND
        while not links.received.get(1) and time.monotonic() < deadline:
            conn.input_audio_buffer.clear()  # queued, or lost with the dying link
            time.sleep(0.02)
        marker = conn.recv()

    assert links.received[1][0]["type"] == "input_audio_buffer.clear"
    assert isinstance(marker, Reconnected) and len(server.requests) == 2


# -- closing -----------------------------------------------------------------------------------


def test_close_during_the_backoff_returns_at_once_and_stops_the_attempts(
    dropping: ScriptedServer,
) -> None:
    policy = Reconnect(attempts=5, initial_delay=0.01, max_delay=60.0)
    conn = quick_api(dropping.url, 0).connect(
        model="gpt-realtime", reconnect=policy, close_timeout=1.0
    )
    dropping.refusals.append(Refusal(503, headers={"Retry-After": "60"}))
    conn.recv()
    with pytest.raises(ApiTimeoutError):
        conn.recv(timeout=0.2)  # down, and the 503 asks for a minute
    deadline = time.monotonic() + BOUND
    while len(dropping.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)

    started = time.monotonic()
    conn.close()
    took = time.monotonic() - started

    assert took < 1.0 + 0.5  # within close_timeout, not the minute asked
    assert not [t for t in threading.enumerate() if t.name == "openapiopenai realtime reconnect"]
    assert list(conn) == []  # iteration ends quietly after close()
    assert len(dropping.requests) == 2


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets in /proc")
def test_close_while_a_re_handshake_is_answered_late_drops_what_it_opens(
    openai_mock: MockServer,
) -> None:
    api = quick_api(openai_mock.url, 0)
    with api.connect(model="gpt-realtime", receive_timeout=BOUND) as warm:
        warm.recv()
    threads, sockets = _settled()
    openai_mock.realtime.drop()  # after session.created
    policy = Reconnect(attempts=2, initial_delay=0.0, max_delay=0.0)
    conn = api.connect(model="gpt-realtime", reconnect=policy, close_timeout=0.5)
    openai_mock.delay_next(1.5)  # the re-handshake is answered late
    conn.recv()
    with pytest.raises(ApiTimeoutError):
        conn.recv(timeout=0.3)  # reconnecting, the upgrade not answered yet

    started = time.monotonic()
    conn.close()
    took = time.monotonic() - started

    assert took < 0.5 + 0.5  # close_timeout bounds the wait for the re-handshake
    assert _settled(until=(threads, sockets)) == (threads, sockets)  # then nothing is left
    assert list(conn) == []
    api.api_client.close()


def _open_sockets() -> int:
    return sum(1 for fd in os.listdir("/proc/self/fd") if _is_socket(fd))


def _is_socket(fd: str) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets in /proc")
def test_repeated_reconnects_leave_no_thread_or_socket_behind(openai_mock: MockServer) -> None:
    api = quick_api(openai_mock.url, 0)
    with api.connect(model="gpt-realtime", receive_timeout=BOUND) as warm:
        warm.recv()  # the mock's own threads and sockets are up before counting
    threads, sockets = _settled()

    with api.connect(model="gpt-realtime", reconnect=QUICK, receive_timeout=BOUND) as conn:
        conn.recv()
        for _ in range(5):
            openai_mock.realtime.drop(on="input_audio_buffer.clear")
            conn.input_audio_buffer.clear()
            assert isinstance(_next_marker(conn), Reconnected)
    api.api_client.close()

    assert _settled(until=(threads, sockets)) == (threads, sockets)


def _settled(until: tuple[int, int] | None = None) -> tuple[int, int]:
    """The thread and socket counts once they reach ``until``, or else stop changing."""
    deadline = time.monotonic() + BOUND
    before, now = None, (threading.active_count(), _open_sockets())
    while time.monotonic() < deadline and now != (until or before):
        time.sleep(0.1)
        before, now = now, (threading.active_count(), _open_sockets())
    return now


def _next_marker(conn: Any) -> object:
    for event in conn:
        if isinstance(event, Reconnected):
            return event
    raise AssertionError("the connection ended without reconnecting")


# -- through the mock ---------------------------------------------------------------------------


def test_a_model_session_gets_its_session_update_again(openai_mock: MockServer) -> None:
    api = quick_api(openai_mock.url, 0)
    with api.connect(model="gpt-realtime", reconnect=QUICK, receive_timeout=BOUND) as conn:
        conn.recv()
        conn.session.update({"type": "realtime", "instructions": "Speak like a pirate."})
        assert isinstance(conn.recv(), RealtimeServerEventSessionUpdated)
        openai_mock.realtime.drop(on="input_audio_buffer.clear")
        conn.input_audio_buffer.clear()
        marker = conn.recv()
        created = conn.recv()
        updated = conn.recv()

    assert isinstance(marker, Reconnected) and marker.code == 1006
    assert isinstance(created, RealtimeServerEventSessionCreated)
    assert created.to_dict()["session"].get("instructions") != "Speak like a pirate."
    assert isinstance(updated, RealtimeServerEventSessionUpdated)
    assert updated.to_dict()["session"]["instructions"] == "Speak like a pirate."


def test_a_sideband_re_joins_its_call(openai_mock: MockServer) -> None:
    api = quick_api(openai_mock.url, 0)
    call_id = openai_mock.incoming_call()
    api.accept_realtime_call(call_id, {"type": "realtime", "model": "gpt-realtime"})
    with api.connect(call_id=call_id, reconnect=QUICK, receive_timeout=BOUND) as conn:
        conn.recv()
        conn.session.update({"type": "realtime", "instructions": "Be brief."})
        conn.recv()
        openai_mock.realtime.close(1011, "restarting", on="input_audio_buffer.clear")
        conn.input_audio_buffer.clear()
        marker = conn.recv()
        created = conn.recv()
        deleted = conn.conversation.item.delete("item_missing")
        error = conn.recv()
        live = openai_mock.realtime.sessions

    assert isinstance(marker, Reconnected) and (marker.code, marker.reason) == (1011, "restarting")
    assert isinstance(created, RealtimeServerEventSessionCreated)
    assert created.to_dict()["session"]["instructions"] == "Be brief."  # the call's own session
    assert isinstance(error, RealtimeServerEventError) and error.error.event_id == deleted
    updates = [e for e in openai_mock.realtime.received if e["type"] == "session.update"]
    assert len(updates) == 1  # a sideband's session was kept: nothing to send again
    assert len(live) == 1 and live[0].call_id == call_id


def test_tools_keep_being_answered_on_a_sideband_that_re_joined(openai_mock: MockServer) -> None:
    def opening_hours(day: str) -> str:
        """When the bakery opens."""
        return f"{day}: 7 to 19"

    tools = FunctionTools([opening_hours])
    api = quick_api(openai_mock.url, 0)
    call_id = openai_mock.incoming_call()
    session = {"type": "realtime", "model": "gpt-realtime", "output_modalities": ["text"]}
    api.accept_realtime_call(call_id, {**session, "tools": tools.definitions()})
    openai_mock.realtime.drop()  # after the first session.created
    openai_mock.realtime.script_tool_call("opening_hours", {"day": "monday"})
    seen: list[str] = []

    def until(event: Any) -> bool:
        seen.append(event.type)
        if event.type == "session.created" and seen.count("session.created") == 2:
            conn.response.create()  # back on the call: ask the model
        return event.type == "response.done" and seen.count("response.done") == 2

    with tools, api.connect(call_id=call_id, reconnect=QUICK, receive_timeout=BOUND) as conn:
        tools.serve(conn, until=until)

    outputs = [
        e["item"]["output"]
        for e in openai_mock.realtime.received
        if e["type"] == "conversation.item.create"
    ]
    assert len(outputs) == 1 and "monday: 7 to 19" in outputs[0]
    assert seen.count("session.created") == 2


def test_a_translation_reconnects_too(openai_mock: MockServer) -> None:
    api = quick_api(openai_mock.url, 0)
    openai_mock.realtime.drop()
    with api.connect_translation(
        model="gpt-realtime-translate", reconnect=QUICK, receive_timeout=BOUND
    ) as conn:
        conn.recv()
        marker = conn.recv()
        again = conn.recv()
    assert isinstance(marker, Reconnected)
    assert again.type == "session.created"  # type: ignore[union-attr]


# -- typing ------------------------------------------------------------------------------------


def test_type_checkers_see_the_marker_only_with_reconnect(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy comes with the dev extra")
    code = (
        "from openapiopenai import RealtimeApi\n"
        "from openapiopenai.realtime import Reconnected\n"
        "def chat(api: RealtimeApi) -> None:\n"
        "    with api.connect(model='m') as plain:\n"
        "        reveal_type(plain.recv())\n"
        "    with api.connect(model='m', reconnect=True) as kept:\n"
        "        event = kept.recv()\n"
        "        reveal_type(event)\n"
        "        event.type\n"
        "        if not isinstance(event, Reconnected):\n"
        "            event.type\n"
    )
    checked = _plain_mypy(tmp_path, code)
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert (
        'example.py:5: note: Revealed type is "openapiopenai.realtime._protocol.ServerEvent"'
        in (checked.stdout)
    )
    assert "example.py:8: note: Revealed type is" in checked.stdout
    assert "ServerEvent | openapiopenai.realtime._reconnect.Reconnected" in checked.stdout
    assert len(errors) == 1 and errors[0].startswith("example.py:9:"), checked.stdout


def test_an_unanswered_keepalive_reconnects() -> None:
    # The server never reads again: the ping goes unanswered and the keepalive closes the link
    # with 1011; the one re-handshake allowed is never answered either.
    policy = Reconnect(attempts=1, initial_delay=0.0, max_delay=0.0)
    with SilentServer(session_created()) as server:
        conn = quick_api(server.url, 0).connect(
            model="gpt-realtime",
            reconnect=policy,
            ping_interval=0.2,
            ping_timeout=0.2,
            receive_timeout=BOUND,
            _request_timeout=0.5,
        )
        with conn:
            conn.recv()
            with pytest.raises(RealtimeReconnectFailedError) as failed:
                conn.recv()
    # websockets' keepalive closes with 1011; a keepalive that drops the socket leaves 1006.
    assert failed.value.code in (1011, 1006) and failed.value.attempts == 1
    assert isinstance(failed.value.__cause__, ApiTimeoutError)


def test_a_sideband_ends_quietly_when_its_call_hangs_up(openai_mock: MockServer) -> None:
    api = quick_api(openai_mock.url, 0)
    call_id = openai_mock.incoming_call()
    api.accept_realtime_call(call_id, {"type": "realtime", "model": "gpt-realtime"})
    with api.connect(call_id=call_id, reconnect=QUICK, receive_timeout=BOUND) as conn:
        conn.recv()
        api.hangup_realtime_call(call_id)
        rest = list(conn)  # the service closes the sideband with 1000: no reconnect
    assert not [event for event in rest if isinstance(event, Reconnected)]
    assert conn.close_code == 1000
