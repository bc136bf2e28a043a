"""A CONNECT tunnel through the configured HTTP(S) proxy, made here rather than by websockets:
the proxy gets the same headers as on the HTTP side (credentials from its URL, decoded, and
``Configuration.proxy_headers``), whichever websockets release is installed."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

#: The most of a proxy's answer to CONNECT that is read: a status line and a few headers.
_MAX_ANSWER = 64 * 1024


class TunnelError(OSError):
    """The proxy could not be reached, or refused the tunnel (``status`` then says how)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def open_tunnel(
    proxy: str,
    target: tuple[str, int],
    headers: Mapping[str, str],
    timeout: float | None,
    context: ssl.SSLContext | None,
) -> socket.socket:
    """A socket to ``target`` (host, port) through ``proxy``; ``context`` secures the hop to
    an ``https://`` proxy. The caller then speaks TLS and WebSocket through it."""
    parts = urlsplit(proxy)
    secure = parts.scheme == "https"
    address = (parts.hostname or "", parts.port or (443 if secure else 80))
    # ``timeout`` bounds the whole tunnel: each step gets what the ones before it left.
    end = None if timeout is None else time.monotonic() + timeout
    try:
        sock = socket.create_connection(address, timeout=timeout)
    except OSError as failure:
        raise TunnelError(f"the proxy could not be reached: {failure}") from failure
    try:
        if secure:
            sock = (context or ssl.create_default_context()).wrap_socket(
                sock, server_hostname=address[0]
            )
        _limit(sock, end)
        sock.sendall(_connect_request(target, headers))
        status = _answer_status(sock, end)
        if status != 200:
            raise TunnelError(f"the proxy refused the tunnel with HTTP {status}", status)
        sock.settimeout(None)
        return sock
    except BaseException:
        sock.close()
        raise


def _connect_request(target: tuple[str, int], headers: Mapping[str, str]) -> bytes:
    host, port = target
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    # Header values were checked when set (latin-1, no line breaks).
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _limit(sock: socket.socket, end: float | None) -> None:
    """Let the next operation on ``sock`` wait only until ``end`` (``None``: no limit)."""
    if end is None:
        return
    left = end - time.monotonic()
    if left <= 0:
        raise TimeoutError("the proxy did not answer in time")
    sock.settimeout(left)


def _answer_status(sock: socket.socket, end: float | None) -> int:
    """The status of the proxy's answer, read up to its blank line and no further (what
    follows belongs to the tunnel), all of it by ``end``."""
    answer = b""
    while not answer.endswith(b"\r\n\r\n"):
        _limit(sock, end)
        byte = sock.recv(1)
        if not byte or len(answer) > _MAX_ANSWER:
            raise TunnelError("the proxy closed the connection or sent no valid answer")
        answer += byte
    fields = answer.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        raise TunnelError("the proxy's answer to CONNECT is not HTTP")
    return int(fields[1])
