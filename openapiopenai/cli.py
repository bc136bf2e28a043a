"""The ``openapiopenai`` command: mint an ephemeral key from a shell, or offline from the mock.

    openapiopenai sessions create --model gpt-realtime --voice marin
    openapiopenai sessions create --mock --json

Human output masks the key; ``--json`` prints the whole session, key included, for scripts.
Any failure is one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from openapiopenai._secrets import mask_secret, redact
from openapiopenai._version import __version__
from openapiopenai.api.realtime_api import RealtimeApi
from openapiopenai.api_client import ApiClient
from openapiopenai.configuration import Configuration
from openapiopenai.exceptions import (
    ApiException,
    ApiTransportError,
    ApiValidationError,
    OpenApiException,
)
from openapiopenai.models.realtime_session_create_request import RealtimeSessionCreateRequest
from openapiopenai.models.realtime_session_create_response import RealtimeSessionCreateResponse

PROG = "openapiopenai"
#: Exit statuses: the call failed (API, network, key), or the command line was wrong.
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A failure to report as one line; ``status`` is the exit status to use."""

    def __init__(self, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse, with the error line in the same format as every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: ``openapiopenai sessions create ...``."""
    parser = _Parser(
        prog=PROG,
        description="Mint ephemeral keys for OpenAI's Realtime API (POST /v1/realtime/sessions).",
        epilog="Exit status: 0 on success, 1 when the call fails, 2 for a bad command line.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    groups = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    groups.required = True
    sessions = groups.add_parser(
        "sessions",
        help="Realtime sessions and their ephemeral keys",
        description="Create Realtime sessions; each comes with an ephemeral key for a browser.",
    )
    actions = sessions.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    actions.required = True
    create = actions.add_parser(
        "create",
        help="create a session and print its ephemeral key",
        description=(
            "Create a Realtime session and print it. The key is masked unless --json is given. "
            "The API key comes from OPENAI_API_KEY, the server from --base-url or "
            "OPENAI_BASE_URL; --mock needs neither."
        ),
    )
    _add_create_arguments(create)
    create.set_defaults(handler=_create_session)
    return parser


def _add_create_arguments(create: argparse.ArgumentParser) -> None:
    create.add_argument("--model", help="Realtime model, e.g. gpt-realtime")
    create.add_argument("--voice", help="output voice, e.g. marin")
    create.add_argument("--instructions", help="system instructions for the model")
    create.add_argument(
        "--modalities", type=_comma_list, metavar="LIST", help="comma-separated, e.g. audio,text"
    )
    create.add_argument(
        "--expires-after",
        type=int,
        metavar="SECONDS",
        help="lifetime of the ephemeral key, 10 to 7200 seconds (the service's default is 60)",
    )
    create.add_argument("--retries", type=int, metavar="N", help="retries after the first try")
    create.add_argument("--timeout", type=float, metavar="SECONDS", help="timeout per try")
    target = create.add_mutually_exclusive_group()
    target.add_argument("--base-url", metavar="URL", help="API base URL, e.g. http://host/v1")
    target.add_argument(
        "--mock", action="store_true", help="use a built-in local fake server: no key, no network"
    )
    create.add_argument(
        "--json", action="store_true", help="print the full session as JSON, key included"
    )


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args, sys.stdout))
    except CommandError as failure:
        return _fail(str(failure), failure.status)
    except OpenApiException as failure:
        return _fail(_one_line(str(failure)), EXIT_FAILURE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)


def _fail(message: str, status: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def _create_session(args: argparse.Namespace, out: TextIO) -> int:
    """``sessions create``: build the request, send it (to the mock if asked), print the result."""
    request = _request_body(args)
    if args.mock:
        from openapiopenai.mock import MockServer

        with MockServer() as url:
            session = _send(request, _configuration(args, host=url, key="sk-mock-cli"))
    else:
        configuration = _configuration(args, host=args.base_url, key=None)
        if not configuration.access_token:
            raise CommandError(
                "no API key: set the OPENAI_API_KEY environment variable (or use --mock)"
            )
        session = _send(request, configuration)
    out.write(_as_json(session) if args.json else _as_text(session))
    return 0


def _request_body(args: argparse.Namespace) -> RealtimeSessionCreateRequest:
    """The request built from the options given, validated before anything is sent."""
    for name in ("model", "voice"):
        if getattr(args, name) is not None and not getattr(args, name).strip():
            raise CommandError(f"invalid {name}: must not be empty", EXIT_USAGE)
    body: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("model", "voice", "instructions", "modalities")
        if getattr(args, name) is not None
    }
    if args.expires_after is not None:
        body["client_secret"] = {
            "expires_after": {"anchor": "created_at", "seconds": args.expires_after}
        }
    try:
        return RealtimeSessionCreateRequest.from_dict(body)
    except ApiValidationError as invalid:
        problems = "; ".join(str(error) for error in invalid.errors)
        raise CommandError(f"invalid {problems}", EXIT_USAGE) from None


def _configuration(args: argparse.Namespace, *, host: str | None, key: str | None) -> Configuration:
    try:
        # The mock gets a dummy key: the user's real key is never sent to it.
        return Configuration(
            host=host,
            access_token=key,
            ignore_environment=key is not None,
            retries=args.retries,
            timeout=args.timeout,
        )
    except (OpenApiException, ValueError) as invalid:  # urllib3 refuses timeouts <= 0 itself
        raise CommandError(_one_line(str(invalid)), EXIT_USAGE) from None


def _send(
    request: RealtimeSessionCreateRequest, configuration: Configuration
) -> RealtimeSessionCreateResponse:
    try:
        with ApiClient(configuration) as client:
            return RealtimeApi(client).create_realtime_session(request)
    except ApiException as refused:
        raise CommandError(_describe_refusal(refused, configuration.access_token)) from None
    except ApiTransportError as lost:
        raise CommandError(f"{_one_line(str(lost))} ({configuration.host})") from None


def _describe_refusal(refused: ApiException, key: str | None = None) -> str:
    """``HTTP 429 Too Many Requests: <message> (code=..., request id req_...)``.

    The exception already masks secrets; ``key`` is masked again here in case it did not.
    """
    text = f"HTTP {refused.status}"
    if refused.reason:
        text += f" {refused.reason}"
    if refused.message or refused.detail:
        text += f": {refused.message or refused.detail}"
    tags = [f"{name}={value}" for name in ("param", "code") if (value := getattr(refused, name))]
    if refused.request_id:
        tags.append(f"request id {refused.request_id}")
    if refused.attempts > 1:
        tags.append(f"{refused.attempts} attempts")
    return _one_line(redact(text + (f" ({', '.join(tags)})" if tags else ""), key))


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _as_json(session: RealtimeSessionCreateResponse) -> str:
    return json.dumps(session.to_dict(), indent=2) + "\n"


def _as_text(session: RealtimeSessionCreateResponse) -> str:
    """A short summary for people; the key is masked so it does not land in terminals or logs."""
    from dateutil.tz import tzlocal

    secret = session.client_secret
    expires = secret.expires_at_datetime.astimezone(tzlocal())
    left = max(0, secret.expires_at - int(time.time()))
    rows = [
        ("session", session.id or "-"),
        ("model", session.model or "-"),
        ("voice", session.voice or "-"),
        ("key", f"{mask_secret(secret.value)} (masked; use --json to print it)"),
        ("expires", f"{expires:%Y-%m-%d %H:%M:%S %Z} ({left} s left)"),
    ]
    return "".join(f"{name + ':':<9}{value}\n" for name, value in rows)
