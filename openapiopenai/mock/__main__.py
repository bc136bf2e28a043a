"""``python -m openapiopenai.mock``: serve the fake API until interrupted or terminated."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from openapiopenai.mock import DEMO_CALL_ID, MockServer


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


def _stop_on_sigterm(stop: threading.Event) -> None:
    """Let ``kill``/process managers end the server cleanly, like Ctrl-C does."""

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)


if __name__ == "__main__":
    sys.exit(main())
