"""Closing over wss:// ends cleanly even when the server's close frame arrives in pieces.

The server here speaks TLS through memory BIOs, so it decides where TCP cuts its records: it
answers the client's close frame with its own, the TLS record split in two writes a moment
apart. The client's reading thread is then inside a TLS read when the first piece arrives,
after the client's close has given the socket a timeout.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from openapiopenai import ApiClient, Configuration, RealtimeApi
from test.faults import TLSMaterial
from test.realtime_server import session_created

API_KEY = "sk-test-tls-close"
#: The pause between the two pieces of the server's close frame.
PAUSE = 0.3


class _TLSPeer:
    """One accepted connection: TLS through memory BIOs over a blocking socket."""

    def __init__(self, connection: socket.socket, context: ssl.SSLContext) -> None:
        self.connection = connection
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                self.fill()
        self.flush()

    def fill(self) -> None:
        data = self.connection.recv(65536)
        if not data:
            raise ConnectionError("the client went away")
        self.incoming.write(data)

    def read(self) -> bytes:
        """Plain bytes from the client, reading the socket until a record is whole."""
        while True:
            try:
                return self.tls.read(65536)
            except ssl.SSLWantReadError:
                self.fill()

    def write(self, data: bytes, *, split: bool = False) -> None:
        """Encrypt and send; with ``split``, the records leave in two pieces ``PAUSE`` apart."""
        self.tls.write(data)
        records = self.outgoing.read()
        if split:
            self.connection.sendall(records[:3])
            time.sleep(PAUSE)
            records = records[3:]
        self.connection.sendall(records)

    def flush(self) -> None:
        pending = self.outgoing.read()
        if pending:
            self.connection.sendall(pending)


def _serve(listener: socket.socket, context: ssl.SSLContext, closes: list[int | None]) -> None:
    connection, _ = listener.accept()
    connection.settimeout(10)
    with connection:
        peer = _TLSPeer(connection, context)
        peer.handshake()
        protocol = ServerProtocol()
        while not (requests := protocol.events_received()):
            protocol.receive_data(peer.read())
        request = requests[0]
        assert isinstance(request, Request)
        protocol.send_response(protocol.accept(request))
        protocol.send_text(json.dumps(session_created()).encode())
        peer.write(b"".join(protocol.data_to_send()))
        while True:
            protocol.receive_data(peer.read())
            frames = [e for e in protocol.events_received() if isinstance(e, Frame)]
            if any(frame.opcode is Opcode.CLOSE for frame in frames):
                break
        closes.append(protocol.close_rcvd.code if protocol.close_rcvd else None)
        # The answering close frame, cut inside its TLS record; then the TCP end.
        peer.write(b"".join(protocol.data_to_send()), split=True)
        with suppress(OSError):
            connection.shutdown(socket.SHUT_WR)
            connection.recv(1)


@contextmanager
def _split_close_server(tls: TLSMaterial) -> Iterator[tuple[str, list[int | None]]]:
    """A wss:// server for one connection; yields its URL and the close codes it received."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.server_cert.configure_cert(context)
    closes: list[int | None] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        thread = threading.Thread(target=_serve, args=(listener, context, closes), daemon=True)
        thread.start()
        yield f"https://127.0.0.1:{listener.getsockname()[1]}/v1", closes
        thread.join(10)
        assert not thread.is_alive()


def test_close_over_tls_ends_with_the_servers_close_frame_read_in_pieces(
    tls: TLSMaterial,
) -> None:
    with _split_close_server(tls) as (url, closes):
        config = Configuration(host=url, access_token=API_KEY, ssl_ca_cert=tls.ca_file)
        api = RealtimeApi(ApiClient(config))
        conn = api.connect(model="gpt-realtime", close_timeout=5)
        assert conn.recv().type == "session.created"
        conn.close()

    assert closes == [1000]
    # A clean closing handshake: the server's 1000 was read, not a broken read (1006).
    assert conn.close_code == 1000
