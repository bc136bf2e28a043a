#!/usr/bin/env python3
"""A phone agent for a bakery: OpenAI's SIP calls arrive as signed webhooks; it accepts them,
answers the model's tool calls with Python functions over a sideband connection and hands the
caller to a person on request. A plain WSGI application served by waitress; see README.md.

    python examples/phone_agent/agent.py --mock                 # offline: plays one demo call
    OPENAI_API_KEY=sk-... OPENAI_WEBHOOK_SECRET=whsec_... python examples/phone_agent/agent.py
    ... agent.py --store redis://127.0.0.1:6379/0               # one worker of a fleet
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import signal
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from types import FrameType
from typing import Any

import bakery
import waitress
from calls import CallSettings, Switchboard, short_id
from fleet import FleetMember, worker_id
from metrics import Metrics
from store import CallStore, MemoryStore, Reservation, StoreUnavailable, check_store_url, open_store

from openapiopenai import ApiClient, ApiException, ApiTransportError, Configuration, RealtimeApi
from openapiopenai.exceptions import WebhookVerificationError
from openapiopenai.models import WebhookRealtimeCallIncoming
from openapiopenai.realtime.tools import FunctionTools
from openapiopenai.webhooks import unwrap

LOG = logging.getLogger("phone_agent")
WEBHOOK_PATH = "/webhook"
METRICS_PATH = "/metrics"
#: Webhook bodies are a few hundred bytes; anything far larger is not OpenAI's.
MAX_BODY_BYTES = 64 * 1024
#: SIP statuses of the calls the agent turns down.
NOT_OUR_NUMBER, BUSY_HERE = 404, 486
REJECTED_REASONS = {NOT_OUR_NUMBER: "not_our_number", BUSY_HERE: "busy"}
#: The webhook's answer while the store is unavailable or the worker stops: the sender
#: retries, and another worker takes the call.
UNAVAILABLE = 503
_NUMBER = re.compile(r"sip:(\+?[0-9]+)@")
WSGIEnviron = Mapping[str, Any]
StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class AgentSettings:
    """What the agent answers and how: numbers, capacity, limits, the person to transfer to."""

    #: The numbers (``+1555...``) this agent answers; empty: every number.
    numbers: tuple[str, ...] = ()
    max_calls: int = 4
    call_time_limit_seconds: float = 600.0
    transfer_to: str = "tel:+15550100099"
    model: str = "gpt-realtime"
    voice: str = "marin"
    #: The webhook signing secret; ``None`` reads ``OPENAI_WEBHOOK_SECRET``.
    webhook_secret: str | None = None


class PhoneAgent:
    """The WSGI application: ``POST /webhook`` takes ``realtime.call.incoming``."""

    def __init__(
        self,
        api: RealtimeApi,
        settings: AgentSettings,
        *,
        store: CallStore | None = None,
        owner: str = "local",
        lease_seconds: float = 6.0,
    ) -> None:
        self.api = api
        self.settings = settings
        self.store = store or MemoryStore()
        self.metrics = Metrics()
        #: Set once the worker stops: new calls are refused (503), for another worker.
        self.stopping = False
        call_settings = CallSettings(
            transfer_to=settings.transfer_to,
            time_limit=settings.call_time_limit_seconds,
            store=self.store,
            owner=owner,
            lease_seconds=lease_seconds,
            metrics=self.metrics,
        )
        self.switchboard = Switchboard(
            api,
            max_calls=settings.max_calls,
            transfer_to=settings.transfer_to,
            time_limit=settings.call_time_limit_seconds,
            settings=call_settings,
        )

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> list[bytes]:
        metrics = self.metrics.render() if environ.get("PATH_INFO") == METRICS_PATH else None
        if metrics is not None and environ.get("REQUEST_METHOD") == "GET":
            body, content_type = metrics
            start_response("200 OK", [("Content-Type", content_type), _length(body)])
            return [body]
        status = self.route(environ)
        start_response(f"{status} {HTTPStatus(status).phrase}", [_length(b"")])
        return [b""]

    def route(self, environ: WSGIEnviron) -> int:
        if environ.get("PATH_INFO") != WEBHOOK_PATH:
            return 404
        if environ.get("REQUEST_METHOD") != "POST":
            return 405
        try:
            return self.webhook(environ)
        except Exception:
            LOG.exception("webhook handling failed")
            return 500

    def webhook(self, environ: WSGIEnviron) -> int:
        """Verify the webhook, then accept, reject or ignore what it announces. A webhook
        that is not proven OpenAI's gets 400 and changes nothing."""
        body = _read_body(environ)
        if body is None:
            return 413
        try:
            event = unwrap(body, _headers(environ), secret=self.settings.webhook_secret)
        except WebhookVerificationError as refused:  # includes a bad signature
            LOG.warning("refused a webhook: %s", refused)
            return 400
        if not isinstance(event, WebhookRealtimeCallIncoming):
            LOG.info("ignored a webhook of type %s", str(event.type)[:60])
            return 200
        headers = [(h.name, h.value) for h in event.data.sip_headers]
        try:
            return self.deliver(
                _headers(environ).get("webhook-id", ""), event.data.call_id, headers
            )
        except StoreUnavailable:
            LOG.warning("call %s: refused, the store is unavailable", short_id(event.data.call_id))
            self.metrics.rejected("store_unavailable")
            return UNAVAILABLE

    def deliver(self, webhook_id: str, call_id: str, sip_headers: list[tuple[str, str]]) -> int:
        """Handle a delivery once in the whole fleet: a redelivery of a webhook handled (or
        being handled) anywhere gets 200 and changes nothing; a failed one is forgotten so
        the sender's retry is handled."""
        if self.stopping:
            return UNAVAILABLE
        if not self.store.first_delivery(webhook_id):
            LOG.info("call %s: webhook delivered again, handled already", short_id(call_id))
            self.metrics.duplicate()
            return 200
        try:
            self.answer(call_id, sip_headers)
        except BaseException:
            with contextlib.suppress(StoreUnavailable):
                self.store.undelivered(webhook_id)
            raise
        with contextlib.suppress(StoreUnavailable):  # at worst a redelivery finds the call held
            self.store.delivered(webhook_id)
        return 200

    def answer(self, call_id: str, sip_headers: Iterable[tuple[str, str]]) -> None:
        """Reject a call for another number or beyond capacity; accept and hold any other."""
        dialled = _dialled_number(sip_headers)
        if self.settings.numbers and dialled not in self.settings.numbers:
            self.reject(call_id, NOT_OUR_NUMBER, "not our number")
            return
        reservation = self.switchboard.reserve(call_id)
        if reservation is Reservation.HELD:
            LOG.info("call %s: webhook repeated, the call is held already", short_id(call_id))
        elif reservation is Reservation.BUSY:
            self.reject(call_id, BUSY_HERE, "every line is busy")
        else:
            try:
                self.api.accept_realtime_call(call_id, self.session())
            except (ApiException, ApiTransportError):
                self.switchboard.release(call_id)
                raise
            LOG.info("call %s: accepted", short_id(call_id))
            self.metrics.accepted()
            self.switchboard.start(call_id)

    def reject(self, call_id: str, sip_status: int, why: str) -> None:
        LOG.info("call %s: rejected with %d (%s)", short_id(call_id), sip_status, why)
        self.metrics.rejected(REJECTED_REASONS.get(sip_status, str(sip_status)))
        self.api.reject_realtime_call(call_id, {"status_code": sip_status})

    def session(self) -> dict[str, Any]:
        """The session every call gets: instructions, voice and the bakery's tools."""
        definitions = FunctionTools(bakery.tools(lambda: None)).definitions()
        return {
            "type": "realtime",
            "model": self.settings.model,
            "instructions": bakery.INSTRUCTIONS,
            "audio": {"output": {"voice": self.settings.voice}},
            "tools": definitions,
        }


def _read_body(environ: WSGIEnviron) -> bytes | None:
    """The raw body, exactly as signed; ``None`` if it is too large."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return None
    return bytes(environ["wsgi.input"].read(length)) if length > 0 else b""


def _headers(environ: WSGIEnviron) -> dict[str, str]:
    """The request headers, named as sent (``webhook-id``, ...)."""
    return {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }


def _length(body: bytes) -> tuple[str, str]:
    return ("Content-Length", str(len(body)))


def _dialled_number(sip_headers: Iterable[tuple[str, str]]) -> str | None:
    """The number the caller dialled, from the SIP ``To`` header."""
    for name, value in sip_headers:
        if name.lower() == "to":
            found = _NUMBER.search(value)
            return found.group(1) if found else None
    return None


# -- serving ---------------------------------------------------------------------------------


class CannotListenError(Exception):
    """The webhook's address cannot be bound: the port is taken, or not ours to use."""

    def __init__(self, host: str, port: int, refused: OSError) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {refused.strerror or refused}")


class AgentServer:
    """The agent on waitress: bound on creation, serving in :meth:`run` until :meth:`stop`."""

    def __init__(self, app: PhoneAgent, host: str, port: int) -> None:
        self.app = app
        self._map: dict[int, Any] = {}
        try:
            self._server = waitress.create_server(
                app,
                map=self._map,
                host=host,
                port=port,
                threads=4,
                channel_timeout=30,
                max_request_body_size=MAX_BODY_BYTES,
                asyncore_use_poll=True,
                ident="phone-agent",
            )
        except OSError as refused:
            raise CannotListenError(host, port, refused) from None
        self.port = int(self._server.effective_port)
        self.url = f"http://{host}:{self.port}{WEBHOOK_PATH}"

    def run(self) -> None:
        """Serve until :meth:`stop` (from another thread) or Ctrl-C."""
        try:
            self._server.run()
        finally:
            self._server.task_dispatcher.shutdown()

    def stop(self) -> None:
        """Close the listener and every connection; :meth:`run` then returns."""
        from waitress import wasyncore

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


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Answer a bakery's phone calls with a model.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (0 picks a free one)")
    parser.add_argument("--mock", action="store_true", help="offline: a local fake OpenAI")
    parser.add_argument("--number", action="append", help="a number to answer (+1555...)")
    parser.add_argument("--max-calls", type=int, default=4, help="calls held at once")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per call")
    parser.add_argument("--transfer-to", default="tel:+15550100099", help="the person's URI")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    parser.add_argument(
        "--store",
        default="memory:",
        type=_store_url,
        help="memory: (one process, the default) or redis://host:port/db (a fleet)",
    )
    parser.add_argument(
        "--lease-seconds", type=_lease_seconds, default=6.0, help="a call's lease in a fleet"
    )
    args = parser.parse_args(argv)
    if args.mock and args.store != "memory:":
        parser.error("--mock plays one call in one process; try a fleet with fleet_lab.py")
    return args


def _store_url(url: str) -> str:
    try:
        check_store_url(url)
    except ValueError as wrong:
        raise argparse.ArgumentTypeError(str(wrong)) from None
    return url


def _lease_seconds(text: str) -> float:
    seconds = float(text)
    if not 0.3 <= seconds <= 3600:
        raise argparse.ArgumentTypeError("a lease lasts 0.3 to 3600 seconds")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the webhook until interrupted; with ``--mock``, play one demo call first."""
    args = parse_args(argv)
    fleet = args.store != "memory:"
    owner = worker_id() if fleet else "local"
    prefix = f"[{owner}] " if fleet else ""
    logging.basicConfig(
        level=args.log_level.upper(), format=f"%(asctime)s %(name)s {prefix}%(message)s"
    )
    settings = AgentSettings(
        numbers=tuple(args.number or ()),
        max_calls=args.max_calls,
        call_time_limit_seconds=args.time_limit,
        transfer_to=args.transfer_to,
    )
    if args.mock:
        import mock_demo

        return mock_demo.run(settings, args.host, args.port)
    configuration = Configuration()
    if not configuration.access_token:
        LOG.error("set OPENAI_API_KEY and OPENAI_WEBHOOK_SECRET (or use --mock to try it offline)")
        return 2
    store = open_store(args.store)
    try:
        store.ping()
    except StoreUnavailable:
        print(f"phone agent: the store at {_safe(args.store)} cannot be reached", file=sys.stderr)
        return 1
    agent = PhoneAgent(
        RealtimeApi(ApiClient(configuration)),
        settings,
        store=store,
        owner=owner,
        lease_seconds=args.lease_seconds,
    )
    try:
        server = AgentServer(agent, args.host, args.port)
    except CannotListenError as refused:
        print(f"phone agent: {refused}", file=sys.stderr)
        store.close()
        return 1
    print(f"Phone agent: webhook at {server.url}", flush=True)
    if not fleet:
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        server.app.switchboard.end_all(timeout=10)
        return 0
    return serve_in_fleet(server, store, args.lease_seconds)


def serve_in_fleet(server: AgentServer, store: CallStore, lease_seconds: float) -> int:
    """Serve as one worker of a fleet until SIGTERM or Ctrl-C, then hand every call held
    over to the other workers at once (the calls go on)."""
    agent = server.app
    member = FleetMember(agent.switchboard, store, lease_seconds)
    member.start()
    signal.signal(signal.SIGTERM, _interrupt)
    LOG.info("worker %s serving, sharing calls through the store", agent.switchboard.settings.owner)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    agent.stopping = True
    member.stop()
    from waitress import wasyncore

    wasyncore.close_all(server._map)  # new webhooks now go to other workers
    agent.switchboard.hand_over_all(patience=lease_seconds * 2)
    store.close()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM stops the worker as Ctrl-C does."""
    raise KeyboardInterrupt


def _safe(url: str) -> str:
    """A store URL without its password, for messages."""
    _, at, tail = url.rpartition("@")
    return f"{url.split('://')[0]}://...@{tail}" if at else url


if __name__ == "__main__":
    sys.exit(main())
