"""Keep credentials out of everything a person or a log can read."""

from __future__ import annotations

import re

# API keys (sk-...), ephemeral keys (ek_...) and Bearer tokens in free text.
_SECRET_PATTERN = re.compile(
    r"(?i)(?P<prefix>\bbearer\s+|\b(?:sk|ek|rk)[-_])(?P<secret>[A-Za-z0-9._~+/=-]{4,})"
)


def mask_secret(value: str | None) -> str:
    """Show only a short, non-identifying prefix of a secret: ``ek_***``."""
    if not value:
        return "''" if value == "" else "None"
    prefix = value[:3] if len(value) > 12 else ""
    return f"{prefix}***"


def redact(text: str, *secrets: str | None) -> str:
    """Remove the given secrets, and anything shaped like a key, from ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, mask_secret(secret))
    return _SECRET_PATTERN.sub(lambda m: m.group("prefix") + "***", text)


def has_line_break(value: str) -> bool:
    """True when ``value`` would split an HTTP header (CR, LF or NUL)."""
    return "\r" in value or "\n" in value or "\0" in value


# Control characters other than tab (CR, LF and NUL included), and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def header_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as an HTTP header value, or ``None`` if it can.

    http.client encodes header values as latin-1; anything else would fail inside the HTTP
    client with an error quoting the whole value. The reason never quotes the value.
    """
    if _CONTROL.search(value):
        return "must not contain control characters (CR, LF, NUL, ESC, ...)"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "must contain only latin-1 characters (no byte-order mark, no emoji, ...)"
    return None


def loggable(text: str, limit: int = 200) -> str:
    """``text`` from a peer made safe for a log line: control and non-ASCII characters
    escaped (no forged lines, no terminal escapes), at most ``limit`` characters."""
    escaped = text[:limit].encode("ascii", "backslashreplace").decode("ascii")
    if not escaped.isprintable():
        escaped = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in escaped)
    return escaped + ("..." if len(text) > limit else "")
