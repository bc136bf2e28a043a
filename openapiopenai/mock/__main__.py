"""``python -m openapiopenai.mock``: serve the fake endpoint until interrupted."""

from __future__ import annotations

import argparse
import sys
import threading

from openapiopenai.mock import MockServer


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start the mock, print its URL, and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m openapiopenai.mock",
        description="Serve a local fake of POST /v1/realtime/sessions for offline use and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--api-key", default=None, help="accept only this Bearer token")
    args = parser.parse_args(argv)
    server = MockServer(args.host, args.port, api_key=args.api_key)
    url = server.start()
    print(url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
