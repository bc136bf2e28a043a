"""The ``openapiopenai`` command: mint ephemeral keys and control calls from a shell, or offline.

    openapiopenai client-secrets create --model gpt-realtime --voice marin
    openapiopenai client-secrets create --type transcription --mock --json
    openapiopenai calls accept rtc_123 --instructions "You are a concierge."
    openapiopenai calls reject rtc_123 --status-code 486
    openapiopenai calls hangup rtc_mock_sip_call --mock   # the mock's waiting SIP call
    openapiopenai sessions create --mock          # the older beta endpoint
    openapiopenai realtime chat --mock            # talk to a model in the terminal

Human output masks the key; ``--json`` prints the whole answer, key included, for scripts.
Any failure is one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO, TypeVar

from openapiopenai._secrets import mask_secret, redact
from openapiopenai._terminal import printable
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
from openapiopenai.models.openapi_model import OpenApiModel
from openapiopenai.models.realtime_call_refer_request import RealtimeCallReferRequest
from openapiopenai.models.realtime_call_reject_request import RealtimeCallRejectRequest
from openapiopenai.models.realtime_create_client_secret_request import (
    RealtimeCreateClientSecretRequest,
)
from openapiopenai.models.realtime_create_client_secret_response import (
    RealtimeCreateClientSecretResponse,
)
from openapiopenai.models.realtime_session_create_request import RealtimeSessionCreateRequest
from openapiopenai.models.realtime_session_create_request_ga import RealtimeSessionCreateRequestGA
from openapiopenai.models.realtime_session_create_response import RealtimeSessionCreateResponse

T = TypeVar("T")
M = TypeVar("M", bound=OpenApiModel)

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
    """The whole command line: ``openapiopenai client-secrets|calls|sessions ...``."""
    parser = _Parser(
        prog=PROG,
        description=(
            "Mint ephemeral keys for OpenAI's Realtime API, control its calls, and chat with "
            "a Realtime model."
        ),
        epilog="Exit status: 0 on success, 1 when the call fails, 2 for a bad command line.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    groups = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    groups.required = True
    _add_client_secrets(groups)
    _add_calls(groups)
    _add_sessions(groups)
    _add_realtime(groups)
    return parser


def _group(groups: Any, name: str, help_text: str) -> Any:
    group = groups.add_parser(name, help=help_text, description=help_text)
    actions = group.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    actions.required = True
    return actions


def _add_client_secrets(groups: Any) -> None:
    actions = _group(
        groups, "client-secrets", "Ephemeral keys (client secrets) for browsers and apps"
    )
    create = _create_parser(
        actions,
        "mint an ephemeral key and print it",
        "Mint an ephemeral key (POST /v1/realtime/client_secrets) and print it with its session.",
    )
    create.add_argument(
        "--type",
        choices=("realtime", "transcription"),
        default="realtime",
        help="the kind of session (default: realtime)",
    )
    create.add_argument(
        "--model", help="Realtime model (gpt-realtime), or transcription model with --type"
    )
    create.add_argument("--voice", help="output voice, e.g. marin (realtime only)")
    create.add_argument("--instructions", help="system instructions (realtime only)")
    _add_expiry(create, "the service's default is 600")
    _add_connection(create)
    create.set_defaults(handler=_create_client_secret)


def _add_calls(groups: Any) -> None:
    actions = _group(groups, "calls", "Control Realtime calls: answer, transfer or end them")
    accept = _call_parser(actions, "accept", "answer an incoming SIP call with a session")
    accept.add_argument("--model", help="Realtime model, e.g. gpt-realtime")
    accept.add_argument("--voice", help="output voice, e.g. marin")
    accept.add_argument("--instructions", help="system instructions for the model")
    _call_parser(actions, "hangup", "end a call (SIP or WebRTC)")
    refer = _call_parser(actions, "refer", "transfer a SIP call (SIP REFER)")
    refer.add_argument("--target-uri", required=True, metavar="URI", help="e.g. tel:+14155550123")
    reject = _call_parser(actions, "reject", "decline an incoming SIP call")
    reject.add_argument(
        "--status-code", type=int, metavar="N", help="SIP status (the service's default is 603)"
    )


def _call_parser(actions: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(
        name, help=help_text, description=help_text
    )
    parser.add_argument("call_id", metavar="CALL_ID", help="e.g. rtc_... from the webhook")
    _add_connection(parser, json_output=False)
    parser.set_defaults(handler=_control_call, action=name)
    return parser


def _add_sessions(groups: Any) -> None:
    actions = _group(
        groups, "sessions", "Realtime sessions of the older beta endpoint, each with a key"
    )
    create = _create_parser(
        actions,
        "create a session and print its ephemeral key",
        "Create a Realtime session (POST /v1/realtime/sessions, the older beta endpoint) "
        "and print it.",
    )
    create.add_argument("--model", help="Realtime model, e.g. gpt-realtime")
    create.add_argument("--voice", help="output voice, e.g. marin")
    create.add_argument("--instructions", help="system instructions for the model")
    create.add_argument(
        "--modalities", type=_comma_list, metavar="LIST", help="comma-separated, e.g. audio,text"
    )
    _add_expiry(create, "the service's default is 60")
    _add_connection(create)
    create.set_defaults(handler=_create_session)


def _add_realtime(groups: Any) -> None:
    actions = _group(groups, "realtime", "Conversations with a Realtime model over WebSocket")
    what = "Chat with a Realtime model in the terminal: type a line, the answer streams back."
    chat: argparse.ArgumentParser = actions.add_parser(
        "chat",
        help="chat with a Realtime model in the terminal",
        description=(
            f"{what} /quit or Ctrl-D ends the session. Needs the realtime extra. The API key "
            "comes from OPENAI_API_KEY, the server from --base-url or OPENAI_BASE_URL; --mock "
            "needs neither."
        ),
    )
    chat.add_argument("--model", default="gpt-realtime", help="default: gpt-realtime")
    chat.add_argument("--instructions", help="system instructions for the model")
    _add_connection(chat, json_output=False)
    chat.set_defaults(handler=_chat)


def _create_parser(actions: Any, help_text: str, what: str) -> argparse.ArgumentParser:
    """A ``create`` command that prints a key: masked unless --json, from the API or --mock."""
    parser: argparse.ArgumentParser = actions.add_parser(
        "create",
        help=help_text,
        description=(
            f"{what} The key is masked unless --json is given. The API key comes from "
            "OPENAI_API_KEY, the server from --base-url or OPENAI_BASE_URL; --mock needs neither."
        ),
    )
    return parser


def _add_expiry(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--expires-after",
        type=int,
        metavar="SECONDS",
        help=f"lifetime of the ephemeral key, 10 to 7200 seconds ({default})",
    )


def _add_connection(parser: argparse.ArgumentParser, *, json_output: bool = True) -> None:
    parser.add_argument("--retries", type=int, metavar="N", help="retries after the first try")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="timeout per try")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--base-url", metavar="URL", help="API base URL, e.g. http://host/v1")
    target.add_argument(
        "--mock", action="store_true", help="use a built-in local fake server: no key, no network"
    )
    if json_output:
        parser.add_argument(
            "--json", action="store_true", help="print the whole answer as JSON, key included"
        )


def _comma_list(text: str) -> list[str]:
    """``a, b`` -> ``["a", "b"]``; empty items are kept, for :func:`_refuse_empty` to refuse."""
    return [item.strip() for item in text.split(",")]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        _refuse_empty(args)
        return int(args.handler(args, sys.stdout))
    except CommandError as failure:
        return _fail(str(failure), failure.status)
    except OpenApiException as failure:
        return _fail(_one_line(str(failure)), EXIT_FAILURE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)


#: Options that take text: an empty value (often an unset shell variable) is refused, never
#: sent or silently replaced by a default.
_TEXT_OPTIONS = ("model", "voice", "instructions", "modalities", "target_uri", "base_url")


def _refuse_empty(args: argparse.Namespace) -> None:
    """Every command refuses an empty text option the same way, before anything is sent."""
    for name in _TEXT_OPTIONS:
        value = getattr(args, name, None)
        if value is None:
            continue
        items: list[str] = value if isinstance(value, list) else [value]
        if not all(item.strip() for item in items):
            option = "--" + name.replace("_", "-")
            raise CommandError(f"invalid {option}: must not be empty", EXIT_USAGE)


def _fail(message: str, status: int) -> int:
    """Print the one error line; what a server said in it cannot drive the terminal."""
    print(f"{PROG}: error: {printable(message)}", file=sys.stderr)
    return status


def _create_session(args: argparse.Namespace, out: TextIO) -> int:
    """``sessions create``: build the request, send it (to the mock if asked), print the result."""
    body: dict[str, Any] = _set(args, "model", "voice", "instructions", "modalities")
    if args.expires_after is not None:
        body["client_secret"] = {"expires_after": _expiry(args)}
    request = _validated(RealtimeSessionCreateRequest, body)
    session = _call(args, lambda api: api.create_realtime_session(request))
    out.write(_as_json(session) if args.json else _as_text(session))
    return 0


def _create_client_secret(args: argparse.Namespace, out: TextIO) -> int:
    """``client-secrets create``: a realtime or transcription session and its key."""
    session: dict[str, Any] = {"type": args.type}
    if args.type == "realtime":
        session.update(_set(args, "model", "instructions"))
        if args.voice is not None:
            session["audio"] = {"output": {"voice": args.voice}}
    else:
        for name in ("voice", "instructions"):
            if getattr(args, name) is not None:
                raise CommandError(f"--{name} applies to realtime sessions only", EXIT_USAGE)
        if args.model is not None:
            session["audio"] = {"input": {"transcription": {"model": args.model}}}
    body: dict[str, Any] = {"session": session}
    if args.expires_after is not None:
        body["expires_after"] = _expiry(args)
    request = _validated(RealtimeCreateClientSecretRequest, body)
    secret = _call(args, lambda api: api.create_realtime_client_secret(request))
    out.write(_as_json(secret) if args.json else _secret_as_text(secret))
    return 0


def _control_call(args: argparse.Namespace, out: TextIO) -> int:
    """``calls accept|hangup|refer|reject CALL_ID``."""
    if not args.call_id.strip():
        raise CommandError("invalid CALL_ID: must not be empty", EXIT_USAGE)
    if args.mock:
        _refuse_unknown_mock_call(args.call_id)
    _call(args, _CALL_ACTIONS[args.action](args))
    past = {"accept": "accepted", "hangup": "hung up", "refer": "referred", "reject": "rejected"}
    out.write(f"{past[args.action]} {args.call_id}\n")
    return 0


def _chat(args: argparse.Namespace, out: TextIO) -> int:
    """``realtime chat``: lines from the terminal, answers streamed back."""
    from openapiopenai._chat import ChatError, ChatOptions, run_chat

    options = ChatOptions(model=args.model, instructions=args.instructions)
    try:
        _call(args, lambda api: run_chat(api, options, input, out))
    except ChatError as refused:
        raise CommandError(_one_line(str(refused))) from None
    return 0


def _refuse_unknown_mock_call(call_id: str) -> None:
    """``--mock`` starts a fresh mock: the one call it knows is its waiting SIP call."""
    from openapiopenai.mock import DEMO_CALL_ID

    if call_id != DEMO_CALL_ID:
        raise CommandError(
            f"--mock starts a fresh mock whose only call is {DEMO_CALL_ID}, so {call_id} cannot"
            " exist there; to act on a call you made on a mock, start python -m"
            " openapiopenai.mock and pass its URL with --base-url",
            EXIT_USAGE,
        )


def _accept(args: argparse.Namespace) -> Callable[[RealtimeApi], None]:
    session: dict[str, Any] = {"type": "realtime", **_set(args, "model", "instructions")}
    if args.voice is not None:
        session["audio"] = {"output": {"voice": args.voice}}
    request = _validated(RealtimeSessionCreateRequestGA, session)
    return lambda api: api.accept_realtime_call(args.call_id, request)


def _hangup(args: argparse.Namespace) -> Callable[[RealtimeApi], None]:
    return lambda api: api.hangup_realtime_call(args.call_id)


def _refer(args: argparse.Namespace) -> Callable[[RealtimeApi], None]:
    request = _validated(RealtimeCallReferRequest, {"target_uri": args.target_uri})
    return lambda api: api.refer_realtime_call(args.call_id, request)


def _reject(args: argparse.Namespace) -> Callable[[RealtimeApi], None]:
    request = None
    if args.status_code is not None:
        body = {"status_code": args.status_code}
        request = _validated(RealtimeCallRejectRequest, body)
    return lambda api: api.reject_realtime_call(args.call_id, request)


_CALL_ACTIONS: dict[str, Callable[[argparse.Namespace], Callable[[RealtimeApi], None]]] = {
    "accept": _accept,
    "hangup": _hangup,
    "refer": _refer,
    "reject": _reject,
}


def _set(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The options among ``names`` that were given."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _expiry(args: argparse.Namespace) -> dict[str, Any]:
    return {"anchor": "created_at", "seconds": args.expires_after}


def _validated(model: type[M], body: dict[str, Any]) -> M:
    """The request built from the options given, validated before anything is sent."""
    try:
        return model.from_dict(body)
    except ApiValidationError as invalid:
        problems = "; ".join(str(error) for error in invalid.errors)
        raise CommandError(f"invalid {problems}", EXIT_USAGE) from None


def _call(args: argparse.Namespace, operation: Callable[[RealtimeApi], T]) -> T:
    """Run ``operation`` against the configured server, or against a mock started for it."""
    if args.mock:
        from openapiopenai.mock import DEMO_CALL_ID, MockServer

        mock = MockServer()
        mock.incoming_call(DEMO_CALL_ID)  # what `calls ... --mock` can act on
        with mock as url:
            return _send(operation, _configuration(args, host=url, key="sk-mock-cli"))
    configuration = _configuration(args, host=args.base_url, key=None)
    if not configuration.access_token:
        raise CommandError(
            "no API key: set the OPENAI_API_KEY environment variable (or use --mock)"
        )
    return _send(operation, configuration)


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
    except OpenApiException as invalid:
        raise CommandError(_one_line(str(invalid)), EXIT_USAGE) from None


def _send(operation: Callable[[RealtimeApi], T], configuration: Configuration) -> T:
    try:
        with ApiClient(configuration) as client:
            return operation(RealtimeApi(client))
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


def _as_json(answer: OpenApiModel) -> str:
    return json.dumps(answer.to_dict(), indent=2) + "\n"


def _expiry_text(expires_at: int) -> str:
    from dateutil.tz import tzlocal

    from openapiopenai.models.openapi_model import unix_datetime

    expires = unix_datetime(expires_at).astimezone(tzlocal())
    left = max(0, expires_at - int(time.time()))
    return f"{expires:%Y-%m-%d %H:%M:%S %Z} ({left} s left)"


def _secret_as_text(secret: RealtimeCreateClientSecretResponse) -> str:
    """A short summary for people; the key is masked so it does not land in terminals or logs."""
    session = secret.to_dict()["session"]
    output = (session.get("audio") or {}).get("output") or {}
    rows = [
        ("session", session.get("id") or "-"),
        ("type", session.get("type") or "-"),
        ("model", _session_model(session) or "-"),
        ("voice", output.get("voice") or "-"),
        ("key", f"{mask_secret(secret.value)} (masked; use --json to print it)"),
        ("expires", _expiry_text(secret.expires_at)),
    ]
    return _rows(rows)


def _rows(rows: list[tuple[str, str]]) -> str:
    """Name-value lines; the values come from the server, so no control character is kept."""
    return "".join(f"{name + ':':<9}{printable(str(value))}\n" for name, value in rows)


def _session_model(session: dict[str, Any]) -> str | None:
    """The realtime model, or for a transcription session the model that transcribes."""
    if session.get("model"):
        return str(session["model"])
    audio_input = (session.get("audio") or {}).get("input") or {}
    model = (audio_input.get("transcription") or {}).get("model")
    return str(model) if model else None


def _as_text(session: RealtimeSessionCreateResponse) -> str:
    """A short summary for people; the key is masked so it does not land in terminals or logs."""
    secret = session.client_secret
    rows = [
        ("session", session.id or "-"),
        ("model", session.model or "-"),
        ("voice", session.voice or "-"),
        ("key", f"{mask_secret(secret.value)} (masked; use --json to print it)"),
        ("expires", _expiry_text(secret.expires_at)),
    ]
    return _rows(rows)
