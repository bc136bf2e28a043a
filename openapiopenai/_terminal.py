"""Text from a server made safe to show in a terminal."""

from __future__ import annotations

import re

#: What a terminal must not get from a server: C0 and C1 controls other than tab and newline
#: (ESC starts the sequences that move the cursor, recolour or retitle the terminal).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without control characters, so it cannot drive the terminal it is shown on."""
    return _CONTROL.sub("", text)
