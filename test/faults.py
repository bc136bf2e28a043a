"""Real misbehaving and intermediary peers on 127.0.0.1, for the transport tests.

The package's ``MockServer`` covers faults that happen after a request arrives (hang, reset,
truncated body, error statuses). What it cannot imitate lives here: a port nobody listens on,
a listener whose accept queue is full (connect never completes), a server that closes idle
keep-alive connections, the mock behind TLS, a forward/CONNECT proxy, and servers that stream
a huge answer or drip one byte at a time.
Every server runs on daemon threads, bounds its socket waits and stops by itself.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import trustme

from openapiopenai.mock import MockServer

LOOPBACK = "127.0.0.1"
#: Upper bound for any socket wait inside these servers, so nothing outlives a test for long.
SOCKET_WAIT = 10.0
SESSIONS_PATH = "/v1/realtime/sessions"


def unused_port() -> int:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def session_body(instructions: str = "raw") -> bytes:
    """The smallest valid session answer: an id, the echoed instructions and a key."""
    session = {
        "id": "sess_raw",
        "object": "realtime.session",
        "instructions": instructions,
        "client_secret": {"value": "ek_rawserverkey0123456789", "expires_at": 2_000_000_000},
    }
    return json.dumps(session).encode()


@dataclass(frozen=True)
class SeenRequest:
    """One request (or CONNECT) a raw server or the proxy received."""

    method: str
    target: str
    headers: http.client.HTTPMessage
    body: bytes = b""


def read_request(stream: Any) -> SeenRequest | None:
    """Parse one HTTP/1.1 request head (and a Content-Length body); ``None`` on EOF."""
    line = stream.readline(65537)
    if not line.strip():
        return None
    method, target, _version = line.decode("latin-1").split(" ", 2)
    headers = http.client.parse_headers(stream)
    length = int(headers.get("Content-Length") or 0)
    body = stream.read(length) if length else b""
    return SeenRequest(method, target, headers, body)


def http_response(status: int, reason: str, body: bytes = b"", **headers: str) -> bytes:
    """A complete HTTP/1.1 response with a Content-Length."""
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class LoopbackServer:
    """A TCP server on 127.0.0.1 handling each connection on its own daemon thread."""

    def __init__(self) -> None:
        self.listener = socket.create_server((LOOPBACK, 0), backlog=64)
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.seen: list[SeenRequest] = []
        self.connections = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=type(self).__name__)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop accepting and close every connection still open."""
        self._stopping.set()
        self._thread.join(timeout=5)
        self.listener.close()
        with self._lock:
            for conn in list(self._open):
                with suppress(OSError):
                    conn.close()

    def record(self, request: SeenRequest) -> None:
        with self._lock:
            self.seen.append(request)

    def track(self, conn: socket.socket) -> None:
        """Have ``stop()`` close ``conn`` if it is still open then."""
        with self._lock:
            self._open.add(conn)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(SOCKET_WAIT)
            with self._lock:
                self.connections += 1
            self.track(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self.handle(conn)
        except (OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._open.discard(conn)
            with suppress(OSError):
                conn.close()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class IdleClosingServer(LoopbackServer):
    """Answers one request per connection, announcing keep-alive, then closes it while idle.

    That is what servers and load balancers do to idle pooled connections; the client must
    notice and reconnect instead of failing on the stale one.
    """

    def __init__(self) -> None:
        super().__init__()
        self.closed = threading.Semaphore(0)

    def handle(self, conn: socket.socket) -> None:
        with conn.makefile("rb") as stream:
            request = read_request(stream)
            if request is None:
                return
            self.record(request)
            conn.sendall(
                http_response(
                    200,
                    "OK",
                    session_body(),
                    Content_Type="application/json",
                    Connection="keep-alive",
                )
            )
            # Give the client time to read the answer and pool the connection, then drop it.
            time.sleep(0.05)
        conn.close()
        self.closed.release()


@contextmanager
def blackhole_listener() -> Iterator[int]:
    """A port whose accept queue is full: a new connect is never completed (SYN dropped).

    Linux drops SYNs for a listener whose queue is full, so ``connect()`` waits until the
    client's connect timeout. Yields the port.
    """
    listener = socket.create_server((LOOPBACK, 0), backlog=0)
    port = int(listener.getsockname()[1])
    fillers: list[socket.socket] = []
    try:
        for _ in range(16):
            filler = socket.socket()
            filler.settimeout(0.2)
            fillers.append(filler)
            try:
                filler.connect((LOOPBACK, port))
            except OSError:
                break  # the queue is full now
        else:
            raise RuntimeError("could not fill the accept queue of a loopback listener")
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


class ForwardProxy(LoopbackServer):
    """A real HTTP proxy: absolute-URI requests are forwarded, CONNECT opens a tunnel.

    With ``credentials`` it requires ``Proxy-Authorization: Basic`` and answers 407 without
    it. Everything it receives is in ``seen``; the proxy headers are not passed upstream.
    """

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.expected_auth: str | None = None
        if credentials is not None:
            token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
            self.expected_auth = f"Basic {token}"
        self.tunnels = 0

    def handle(self, conn: socket.socket) -> None:
        with conn.makefile("rb") as stream:
            request = read_request(stream)
            if request is None:
                return
            self.record(request)
            if self.expected_auth and request.headers.get("Proxy-Authorization") != (
                self.expected_auth
            ):
                conn.sendall(
                    http_response(
                        407,
                        "Proxy Authentication Required",
                        Proxy_Authenticate='Basic realm="test"',
                        Connection="close",
                    )
                )
                return
            if request.method == "CONNECT":
                self._tunnel(conn, request.target)
            else:
                self._forward(conn, request)

    def _tunnel(self, conn: socket.socket, target: str) -> None:
        host, _, port = target.rpartition(":")
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=SOCKET_WAIT)
        self.track(upstream)
        with self._lock:
            self.tunnels += 1
        self.answer_connect(conn)
        backward = threading.Thread(target=self.relay_back, args=(upstream, conn), daemon=True)
        backward.start()
        _pipe(conn, upstream)
        backward.join(timeout=SOCKET_WAIT)
        upstream.close()

    def answer_connect(self, conn: socket.socket) -> None:
        """Tell the client its tunnel is open."""
        conn.sendall(CONNECT_ANSWER)

    def relay_back(self, upstream: socket.socket, conn: socket.socket) -> None:
        """Relay what the server sends through the tunnel to the client."""
        _pipe(upstream, conn)

    def _forward(self, conn: socket.socket, request: SeenRequest) -> None:
        parts = urlsplit(request.target)
        if parts.scheme != "http" or not parts.hostname:
            conn.sendall(http_response(400, "Bad Request", Connection="close"))
            return
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        hop_by_hop = {"proxy-authorization", "proxy-connection", "connection", "keep-alive"}
        head = [f"{request.method} {path} HTTP/1.1"]
        head += [
            f"{name}: {value}"
            for name, value in request.headers.items()
            if name.lower() not in hop_by_hop
        ]
        head.append("Connection: close")
        with socket.create_connection(
            (parts.hostname, parts.port or 80), timeout=SOCKET_WAIT
        ) as upstream:
            upstream.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body)
            while chunk := upstream.recv(65536):
                conn.sendall(chunk)


#: A forward proxy's answer to a CONNECT it accepts.
CONNECT_ANSWER = b"HTTP/1.1 200 Connection established\r\n\r\n"


class SlowProxy(ForwardProxy):
    """A forward proxy that takes its time: it answers CONNECT after ``answer_after`` seconds,
    one byte every ``byte_gap`` seconds, and holds the server's first answer back for
    ``relay_after`` seconds. Each wait has a fixed length, so nothing hangs."""

    def __init__(
        self, *, answer_after: float = 0.0, byte_gap: float = 0.0, relay_after: float = 0.0
    ) -> None:
        super().__init__()
        self.answer_after = answer_after
        self.byte_gap = byte_gap
        self.relay_after = relay_after

    def answer_connect(self, conn: socket.socket) -> None:
        time.sleep(self.answer_after)
        for byte in CONNECT_ANSWER:
            conn.sendall(bytes([byte]))
            time.sleep(self.byte_gap)

    def relay_back(self, upstream: socket.socket, conn: socket.socket) -> None:
        time.sleep(self.relay_after)
        _pipe(upstream, conn)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes one way until EOF, then pass the EOF on."""
    with suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@dataclass(frozen=True)
class TLSMaterial:
    """A private CA, and certificates and files signed by it, for real TLS handshakes."""

    ca: trustme.CA
    ca_file: str
    #: Valid for ``localhost`` and ``127.0.0.1``.
    server_cert: trustme.LeafCert
    #: Valid only for ``api.example.test``: connecting by IP must fail verification.
    other_name_cert: trustme.LeafCert
    client_cert_file: str
    client_key_file: str

    OTHER_NAME = "api.example.test"

    @classmethod
    def create(cls, directory: Path) -> TLSMaterial:
        ca = trustme.CA()
        ca_file = directory / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        client = ca.issue_cert("client.example.test")
        client_cert_file = directory / "client.pem"
        client_key_file = directory / "client.key"
        client.cert_chain_pems[0].write_to_path(str(client_cert_file))
        client.private_key_pem.write_to_path(str(client_key_file))
        return cls(
            ca=ca,
            ca_file=str(ca_file),
            server_cert=ca.issue_cert("localhost", LOOPBACK),
            other_name_cert=ca.issue_cert(cls.OTHER_NAME),
            client_cert_file=str(client_cert_file),
            client_key_file=str(client_key_file),
        )

    def server_context(
        self, *, cert: trustme.LeafCert | None = None, require_client_cert: bool = False
    ) -> ssl.SSLContext:
        """A server-side context presenting ``cert`` (default: the localhost one)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        (cert or self.server_cert).configure_cert(context)
        # No TLS 1.3 session tickets: websockets' client reads in one thread while another
        # writes the upgrade request, and an OpenSSL object is not safe for a read and a write
        # at once; a ticket read at that moment can swallow the request, and about one
        # handshake in 500 under load then waits for an answer that never comes. The SDK
        # retries such a timeout; these tests run with retries off.
        context.num_tickets = 0
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            self.ca.configure_trust(context)
        return context


class TLSMockServer(MockServer):
    """The package's mock, served over TLS with the given server context.

    The handshake runs on the connection's own thread, so a failing client does not stall
    the accept loop; failed handshakes are dropped silently.
    """

    def __init__(self, context: ssl.SSLContext, api_key: str | None = None) -> None:
        super().__init__(host=LOOPBACK, api_key=api_key)
        self._httpd.socket = context.wrap_socket(
            self._httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self._httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]

    @property
    def url(self) -> str:
        return super().url.replace("http://", "https://", 1)


class RawReplyServer(LoopbackServer):
    """Reads one request per connection, sends ``reply`` verbatim and closes."""

    def __init__(self, reply: bytes) -> None:
        super().__init__()
        self.reply = reply

    def handle(self, conn: socket.socket) -> None:
        with conn.makefile("rb") as stream:
            request = read_request(stream)
            if request is None:
                return
            self.record(request)
            conn.sendall(self.reply)


class StreamingServer(LoopbackServer):
    """Answers every request with ``head``, then ``chunk`` ``count`` times, ``pause`` s apart
    (the pause and count are bounded, so it stops by itself)."""

    def __init__(self, head: bytes, chunk: bytes, count: int, pause: float = 0.0) -> None:
        super().__init__()
        self.head, self.chunk, self.count, self.pause = head, chunk, count, pause

    def handle(self, conn: socket.socket) -> None:
        with conn.makefile("rb") as stream:
            request = read_request(stream)
            if request is None:
                return
            self.record(request)
            conn.sendall(self.head)
            for _ in range(self.count):
                if self._stopping.wait(self.pause):
                    return
                conn.sendall(self.chunk)


class DripServer(LoopbackServer):
    """Sends ``head`` at once, then ``drip`` one byte every ``pause`` seconds: never slow
    enough for a read timeout, and as long as ``len(drip) * pause`` in all."""

    def __init__(self, head: bytes, drip: bytes, pause: float) -> None:
        super().__init__()
        self.head, self.drip, self.pause = head, drip, pause

    def handle(self, conn: socket.socket) -> None:
        with conn.makefile("rb") as stream:
            if read_request(stream) is None:
                return
            conn.sendall(self.head)
            for byte in self.drip:
                if self._stopping.wait(self.pause):
                    return
                conn.sendall(bytes([byte]))
