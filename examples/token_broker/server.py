#!/usr/bin/env python3
"""A token broker: it lets browsers hold voice calls with the Realtime API, using its API key.

Two flows, both behind the same checks (Host and Origin allowlists, rate limit, size limits):
``POST /session`` mints a short-lived client secret the page uses to post its SDP offer to
OpenAI itself; ``POST /call`` takes the page's offer and opens the call from here, so no key
reaches the browser. ``POST /hangup`` ends a call that ``POST /call`` opened, for the page that
holds its token (see call_registry.py). The session (model, instructions, key
lifetime) is fixed here, on the server; the browser may only pick a voice from an allowlist.
A plain WSGI application served by waitress (or any WSGI server, e.g. gunicorn); needs
``openapiopenai`` and ``waitress`` (and the ``webrtc`` extra for real calls with ``--mock``);
see README.md. This file serves it (waitress, the command line, ``--mock``); the application
is in broker_app.py, its settings in broker_config.py, its HTTP plumbing in broker_http.py.

    python examples/token_broker/server.py --mock --port 8000     # offline, against a fake OpenAI
    OPENAI_API_KEY=sk-... python examples/token_broker/server.py  # the real service
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import waitress
from broker_app import FALLBACK_RETRY_SECONDS, LOG, MAX_RETRY_SECONDS, Broker
from broker_config import DEFAULT_CONFIG, BrokerConfig, config_from_args, parse_args
from broker_http import RateLimiter, bracketed
from sideband import Sidebands
from waitress import wasyncore

from openapiopenai import ApiClient, Configuration, RealtimeApi, RetryPolicy
from openapiopenai.exceptions import install_hint

#: What tests and other WSGI hosts import from here.
__all__ = [
    "FALLBACK_RETRY_SECONDS",
    "MAX_RETRY_SECONDS",
    "Broker",
    "BrokerConfig",
    "BrokerServer",
    "CannotListenError",
    "RateLimiter",
    "ServeOptions",
    "Sidebands",
    "config_from_args",
    "create_app",
    "create_server",
    "main",
    "make_wsgi_app",
    "parse_args",
]


@dataclass(frozen=True)
class ServeOptions:
    """How waitress serves the broker. Every limit is set here on purpose, not left to
    waitress's defaults (100 connections, 120 s idle timeout checked every 30 s).

    Idle connections cost waitress a socket, not a thread: only complete requests reach the
    ``threads``. A connection silent for ``idle_timeout_seconds`` is closed at the next
    sweep, at most ``cleanup_interval_seconds`` later (35 s by default). Beyond
    ``connection_limit`` open connections new ones wait in the ``backlog``. Keep
    ``ulimit -n`` above ``connection_limit``; ``poll()`` is used, as ``select()`` cannot
    watch more than 1024 descriptors.
    """

    threads: int = 8
    connection_limit: int = 1000
    idle_timeout_seconds: float = 30.0
    cleanup_interval_seconds: float = 5.0
    backlog: int = 1024
    max_request_header_bytes: int = 16 * 1024
    max_request_body_bytes: int = 64 * 1024

    def waitress_settings(self) -> dict[str, Any]:
        """The same limits under waitress's names."""
        return {
            "threads": self.threads,
            "connection_limit": self.connection_limit,
            "channel_timeout": self.idle_timeout_seconds,
            "cleanup_interval": self.cleanup_interval_seconds,
            "backlog": self.backlog,
            "max_request_header_size": self.max_request_header_bytes,
            "max_request_body_size": self.max_request_body_bytes,
            # select(), waitress's default, fails on descriptors above 1023: poll() does not.
            "asyncore_use_poll": True,
            "ident": "token-broker",
            "expose_tracebacks": False,
        }


class CannotListenError(Exception):
    """The broker's address cannot be bound: the port is taken, or not ours to use."""

    def __init__(self, host: str, port: int, refused: OSError) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {refused.strerror or refused}")


class BrokerServer:
    """The broker on waitress: bound on creation, serving in :meth:`run` until :meth:`stop`."""

    def __init__(self, app: Broker, host: str, port: int, options: ServeOptions) -> None:
        self._map: dict[int, Any] = {}
        try:
            self._server = waitress.create_server(
                app, map=self._map, host=host, port=port, **options.waitress_settings()
            )
        except OSError as refused:
            raise CannotListenError(host, port, refused) from None
        self.host = str(self._server.effective_host)
        self.port = int(self._server.effective_port)
        app.serve_on("http", self.port)

    @property
    def url(self) -> str:
        return f"http://{bracketed(self.host)}:{self.port}"

    def run(self) -> None:
        """Serve until :meth:`stop` (from another thread), Ctrl-C or SIGTERM."""
        try:
            self._server.run()
        finally:
            self._server.task_dispatcher.shutdown()

    def stop(self) -> None:
        """Close the listener and every connection; :meth:`run` then returns."""
        trigger = self._server.trigger
        if not trigger._closed:
            # The loop's own thread closes everything, so no socket is closed under its feet.
            try:
                trigger.pull_trigger(lambda: wasyncore.close_all(self._map))
                return
            except OSError:
                pass
        # The loop's wake-up pipe is gone (a descriptor closed twice elsewhere in the process
        # can take it; the loop then closes the trigger itself): it cannot be woken, so the map
        # is closed from here and the loop ends on its next turn. Writing to a closed trigger
        # would fail, or reach another file that now has its number.
        wasyncore.close_all(self._map)


def create_app(config: BrokerConfig, configuration: Configuration) -> tuple[Broker, ApiClient]:
    """The application and the SDK client it uses (close it when done)."""
    upstream = copy.copy(configuration)
    upstream.timeout = config.upstream_timeout_seconds
    upstream.deadline = config.upstream_deadline_seconds
    upstream.retries = RetryPolicy(
        total=config.upstream_retries, max_retry_after=config.max_retry_wait_seconds
    )
    client = ApiClient(upstream)
    return Broker(config, RealtimeApi(client)), client


def create_server(
    app: Broker, host: str, port: int, options: ServeOptions | None = None
) -> BrokerServer:
    """A bound, not yet serving, waitress server for ``app``."""
    return BrokerServer(app, host, port, options or ServeOptions())


def make_wsgi_app() -> Broker:
    """The broker for another WSGI server, e.g. ``gunicorn 'server:make_wsgi_app()'``.

    Reads ``$TOKEN_BROKER_CONFIG`` (default: config.json here) and the ``OPENAI_*``
    variables. Its own origins are unknown there: list the page's in ``allowed_origins``.
    """
    config = BrokerConfig.load(Path(os.environ.get("TOKEN_BROKER_CONFIG", DEFAULT_CONFIG)))
    configuration = Configuration()
    if not configuration.access_token:
        raise SystemExit("set OPENAI_API_KEY")
    return create_app(config, configuration)[0]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the broker until interrupted (Ctrl-C or SIGTERM)."""
    args = parse_args(argv)
    configure_logging(args.log_level)
    try:
        config = config_from_args(args)
    except (OSError, ValueError) as invalid:
        LOG.error("bad configuration: %s", invalid)
        return 2
    mock = None
    if args.mock:
        mock = _start_mock()
        configuration = Configuration(
            host=mock.url,
            access_token="sk-mock-local-only",  # noqa: S106 (the mock accepts any key)
            ignore_environment=True,
        )
        config = dataclasses.replace(config, realtime_url=f"{mock.url}/realtime")
    else:
        configuration = Configuration()
        if not configuration.access_token:
            LOG.error("set OPENAI_API_KEY (or use --mock to try it offline)")
            return 2
    app, client = create_app(config, configuration)
    try:
        server = create_server(app, args.host, args.port)
    except CannotListenError as refused:
        print(f"token broker: {refused}", file=sys.stderr)
        _close(app, client, mock)
        return 1
    signal.signal(signal.SIGTERM, _exit_on_signal)
    upstream = "a local mock" if mock else configuration.host
    print(f"Token broker on {server.url}/ (upstream: {upstream})", flush=True)
    LOG.info("model=%s voices=%s", config.model, ",".join(config.voices))
    try:
        server.run()  # waitress stops on Ctrl-C or SIGTERM (SystemExit) by itself
    except KeyboardInterrupt:
        pass
    finally:
        _close(app, client, mock)
    return 0


def _close(app: Broker, client: ApiClient, mock: Any) -> None:
    """Let go of what :func:`main` opened: the sidebands, the client and the local mock."""
    if app.sidebands is not None:
        app.sidebands.close_all()
    client.close()
    if mock is not None:
        mock.stop()


def configure_logging(level: str) -> None:
    """The broker's log at ``level``; the WebRTC and WebSocket libraries' chatter (each ICE
    check, each connection) only from WARNING on, unless ``level`` is DEBUG."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for chatty in ("aioice", "websockets"):
            logging.getLogger(chatty).setLevel(logging.WARNING)


def _start_mock() -> Any:
    """A local fake OpenAI; with the ``webrtc`` extra its calls are real WebRTC calls."""
    import importlib.util

    from openapiopenai.mock import MockServer

    webrtc = importlib.util.find_spec("aiortc") is not None
    if not webrtc:
        LOG.warning("no aiortc: calls get a canned answer; %s", install_hint("aiortc", "webrtc"))
    mock = MockServer(webrtc=webrtc)
    mock.start()
    return mock


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
