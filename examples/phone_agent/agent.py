#!/usr/bin/env python3
"""A phone agent for a bakery: OpenAI's SIP calls arrive as signed webhooks; it accepts them,
answers the model's tool calls with Python functions over a sideband connection and hands the
caller to a person on request. A plain WSGI application served by waitress; see README.md.

    python examples/phone_agent/agent.py --mock                 # offline: plays one demo call
    OPENAI_API_KEY=sk-... OPENAI_WEBHOOK_SECRET=whsec_... python examples/phone_agent/agent.py
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import bakery
import waitress
from calls import Reservation, Switchboard, short_id

from openapiopenai import ApiClient, ApiException, ApiTransportError, Configuration, RealtimeApi
from openapiopenai.exceptions import WebhookVerificationError
from openapiopenai.models import WebhookRealtimeCallIncoming
from openapiopenai.realtime.tools import FunctionTools
from openapiopenai.webhooks import unwrap

LOG = logging.getLogger("phone_agent")
WEBHOOK_PATH = "/webhook"
#: Webhook bodies are a few hundred bytes; anything far larger is not OpenAI's.
MAX_BODY_BYTES = 64 * 1024
#: SIP statuses of the calls the agent turns down.
NOT_OUR_NUMBER, BUSY_HERE = 404, 486
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

    def __init__(self, api: RealtimeApi, settings: AgentSettings) -> None:
        self.api = api
        self.settings = settings
        self.switchboard = Switchboard(
            api,
            max_calls=settings.max_calls,
            transfer_to=settings.transfer_to,
            time_limit=settings.call_time_limit_seconds,
        )

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> list[bytes]:
        status = self.route(environ)
        start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Length", "0")])
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
        self.answer(event.data.call_id, headers)
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
            self.switchboard.start(call_id)

    def reject(self, call_id: str, sip_status: int, why: str) -> None:
        LOG.info("call %s: rejected with %d (%s)", short_id(call_id), sip_status, why)
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

        self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._map))


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
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the webhook until interrupted; with ``--mock``, play one demo call first."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
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
    try:
        server = AgentServer(
            PhoneAgent(RealtimeApi(ApiClient(configuration)), settings), args.host, args.port
        )
    except CannotListenError as refused:
        print(f"phone agent: {refused}", file=sys.stderr)
        return 1
    print(f"Phone agent: webhook at {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    server.app.switchboard.end_all(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
