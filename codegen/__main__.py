"""``python -m codegen``: regenerate the models and their docs from the vendored spec.

``python -m codegen --check`` regenerates into a temporary tree and fails (exit 1) when
anything differs from what is committed: CI runs it.
"""

from __future__ import annotations

import argparse
import sys

from codegen.generate import check, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed output is not up to date"
    )
    args = parser.parse_args(argv)
    if args.check:
        differences = check()
        for line in differences:
            print(line, file=sys.stderr)
        if differences:
            print("generated files are out of date: run `python -m codegen`", file=sys.stderr)
            return 1
        print("generated files are up to date")
        return 0
    for line in write():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
