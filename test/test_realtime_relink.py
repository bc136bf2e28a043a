"""The reconnect worker on real links: a new link lost while the backlog goes out on it.

The worker sends the queue on a new link before making it the connection's; if that link is
lost part way, what was not sent goes back to the front of the queue, and the next link gets
it, in order. The links here are real WebSocket connections to a server on 127.0.0.1; the
second one is cut (its TCP shut down) at a chosen point of the backlog.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from openapiopenai.exceptions import RealtimeConnectionClosedError
from openapiopenai.realtime import Reconnect, Reconnected
from openapiopenai.realtime._relink import Relink, _abort
from test.realtime_server import Peer, ScriptedServer

WAIT = 5.0
BACKLOG = 5
#: The second link is cut once this many events of the backlog went out on it.
CUT_AFTER = 2


class Links:
    """What each server-side connection received, by the order the connections came in."""

    def __init__(self) -> None:
        self.received: list[list[int]] = []
        self.lock = threading.Lock()

    def script(self, peer: Peer) -> None:
        mine: list[int] = []
        with self.lock:
            self.received.append(mine)
        while True:
            mine.append(peer.recv()["n"])


class Dialer:
    """Opens real links to the server; after the first, each waits for ``gate`` (so that the
    test queues its backlog while the link is down). Closes them all at the end."""

    def __init__(self, server: ScriptedServer, stack: ExitStack) -> None:
        self.url = server.url.replace("http", "ws", 1) + "/realtime"
        self.stack = stack
        self.sockets: list[ClientConnection] = []
        self.gate = threading.Event()

    def open(self) -> ClientConnection:
        if self.sockets:
            assert self.gate.wait(WAIT)
        socket = self.stack.enter_context(connect(self.url, compression=None, open_timeout=WAIT))
        self.sockets.append(socket)
        return socket


def test_a_new_link_lost_during_the_backlog_hands_the_rest_to_the_next_in_order() -> None:
    links = Links()
    delivered: dict[int, int] = {}
    with ScriptedServer(links.script) as server, ExitStack() as stack:
        dialer = Dialer(server, stack)

        def deliver(socket: ClientConnection, data: bytes) -> None:
            link = dialer.sockets.index(socket)
            if link == 1 and delivered.get(link, 0) == CUT_AFTER:
                _abort(socket)  # the second link dies with the rest of the backlog unsent
            try:
                socket.send(data, text=True)
            except ConnectionClosed:
                raise RealtimeConnectionClosedError(1006, "") from None
            delivered[link] = delivered.get(link, 0) + 1

        policy = Reconnect(attempts=3, initial_delay=0.01, max_delay=0.01)
        relink = Relink(dialer.open(), policy=policy, reopen=dialer.open, resend_session=False)
        relink.bind(deliver, lambda socket: None)
        stack.callback(relink.close, WAIT)

        assert relink.lost(RealtimeConnectionClosedError(1006, ""), dialer.sockets[0])
        for number in range(1, BACKLOG + 1):
            relink.send(f"e{number}", _event(number), session_update=False)
        dialer.gate.set()

        marker = relink.recv(WAIT, lambda socket, wait: socket.recv(wait))
        assert isinstance(marker, Reconnected)
        assert marker.attempts == 2
        # What went out on the new link: the three the second link did not get.
        assert marker.resent == {f"e{n}" for n in range(CUT_AFTER + 1, BACKLOG + 1)}
        relink.send("later", _event(BACKLOG + 1), session_update=False)
        _wait_for(lambda: len(links.received) == 3 and len(links.received[2]) == 4)

    assert delivered[1] == CUT_AFTER
    assert links.received[0] == []
    # The third link gets exactly what the second did not, in order, then what came after.
    assert links.received[2] == [CUT_AFTER + 1, CUT_AFTER + 2, CUT_AFTER + 3, BACKLOG + 1]
    assert links.received[1] + links.received[2][:-1] == list(range(1, BACKLOG + 1))


def _event(number: int) -> bytes:
    return json.dumps({"n": number}).encode()


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the server did not receive the events in time"
        time.sleep(0.01)
