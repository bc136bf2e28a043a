"""``python -m openapiopenai.mock``: serve the fake API until interrupted or terminated."""

from __future__ import annotations

import argparse
import functools
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from openapiopenai.mock import DEMO_CALL_ID, MockServer
from openapiopenai.mock.realtime_ws import RealtimeMock


def main(argv: list[str] | None = None) -> int:
    """Start the mock with one SIP call waiting, print its URL, serve until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m openapiopenai.mock",
        description="Serve a local fake of the Realtime HTTP API for offline use and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--api-key", default=None, help="accept only this Bearer token")
    parser.add_argument(
        "--webrtc",
        action="store_true",
        help="answer POST /realtime/calls with a real WebRTC call (needs the 'webrtc' extra)",
    )
    _add_script_options(parser)
    args = parser.parse_args(argv)
    try:
        server = MockServer(args.host, args.port, api_key=args.api_key, webrtc=args.webrtc)
    except ValueError as invalid:
        parser.error(str(invalid))
    except OSError as refused:  # the port is taken, or not ours to use
        reason = refused.strerror or refused
        parser.exit(1, f"{parser.prog}: cannot listen on {args.host}:{args.port}: {reason}\n")
    stop = threading.Event()
    _stop_on_sigterm(stop)
    server.incoming_call(DEMO_CALL_ID)
    for step in args.script:
        step(server.realtime)
    url = server.start()
    print(url, flush=True)
    print(
        f"An incoming SIP call waits: {DEMO_CALL_ID} (accept, refer, reject or hang it up)",
        flush=True,
    )
    try:
        while not stop.wait(1.0):  # a timeout keeps the main thread responsive to signals
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _add_script_options(parser: argparse.ArgumentParser) -> None:
    """``--reply`` and ``--tool-call``: what the WebSocket side's next responses do, in order."""
    script = parser.add_argument_group(
        "scripted responses (repeatable; used in the order given, one per response, then the"
        " default reply)"
    )
    script.add_argument(
        "--reply",
        metavar="TEXT",
        action=_Script,
        dest="script",
        default=[],
        help="the next response says TEXT (as text, or spoken with its transcript)",
    )
    script.add_argument(
        "--tool-call",
        nargs=2,
        metavar=("NAME", "ARGUMENTS"),
        action=_Script,
        dest="script",
        help="the next response calls tool NAME with ARGUMENTS, a JSON object",
    )


class _Script(argparse.Action):
    """Appends one scripted response to ``namespace.script``, keeping the command line's order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        step: Callable[[RealtimeMock], object]
        if isinstance(values, str):
            step = functools.partial(RealtimeMock.script_reply, text=values)
        else:
            name, arguments = (str(value) for value in values or ())
            try:
                parsed = json.loads(arguments)
            except ValueError as invalid:
                parser.error(f"--tool-call {name}: ARGUMENTS is not JSON ({invalid})")
            if not isinstance(parsed, dict):
                parser.error(
                    f"--tool-call {name}: ARGUMENTS must be a JSON object, not {arguments}"
                )
            step = functools.partial(RealtimeMock.script_tool_call, name=name, arguments=arguments)
        namespace.script = [*namespace.script, step]


def _stop_on_sigterm(stop: threading.Event) -> None:
    """Let ``kill``/process managers end the server cleanly, like Ctrl-C does."""

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)


if __name__ == "__main__":
    sys.exit(main())
