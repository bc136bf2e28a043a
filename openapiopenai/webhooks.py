"""Verify and read the webhooks OpenAI signs, such as ``realtime.call.incoming`` (a SIP call).

OpenAI signs webhooks the Standard Webhooks way: ``webhook-id``, ``webhook-timestamp`` (Unix
seconds) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``,
possibly several, space-separated). Hand :func:`unwrap` the raw body bytes and the request
headers; it checks all of that and returns the typed event::

    from openapiopenai import webhooks

    event = webhooks.unwrap(body, headers)  # secret from OPENAI_WEBHOOK_SECRET
    if event.type == "realtime.call.incoming":
        call_id = event.data.call_id

The secret is the ``whsec_...`` value OpenAI shows for the endpoint; the bare base64 key after
``whsec_`` is accepted too, as the Standard Webhooks libraries do. This module is not imported
by ``import openapiopenai``: import it where webhooks are received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from openapiopenai._secrets import has_line_break
from openapiopenai.exceptions import (
    ApiTypeError,
    ApiValidationError,
    ApiValueError,
    InvalidWebhookSignatureError,
    WebhookVerificationError,
)
from openapiopenai.models.openapi_model import ResponseModel

if TYPE_CHECKING:
    from openapiopenai.models.webhook_realtime_call_incoming import WebhookRealtimeCallIncoming

#: The environment variable read when no ``secret`` is passed.
SECRET_ENV = "OPENAI_WEBHOOK_SECRET"  # noqa: S105 (a variable name, not a secret)
#: How far (seconds) a webhook's timestamp may be from now, either way, by default.
DEFAULT_TOLERANCE = 300

_SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
_ID, _TIMESTAMP, _SIGNATURE = "webhook-id", "webhook-timestamp", "webhook-signature"
_HEADERS = (_ID, _TIMESTAMP, _SIGNATURE)
_CALL_INCOMING = "realtime.call.incoming"
_NOT_JSON = object()
#: Digits a ``webhook-timestamp`` may have: Unix seconds need 10 until the year 2286.
_MAX_TIMESTAMP_DIGITS = 12


class SupportsItems(Protocol):
    """Any header container with ``items()``: a dict, urllib3's ``HTTPHeaderDict``,
    ``http.client.HTTPMessage``, werkzeug's ``Headers``, ..."""

    def items(self) -> Iterable[tuple[Any, Any]]: ...


class UnknownWebhookEvent(ResponseModel):
    """An event type this SDK has no model for, kept as sent: ``data`` is its plain JSON, and
    any other field is in ``additional_properties``."""

    id: str | None = None
    object: str | None = None
    created_at: int | None = None
    type: str | None = None
    data: Any = None


#: What :func:`unwrap` returns.
WebhookEvent: TypeAlias = "WebhookRealtimeCallIncoming | UnknownWebhookEvent"


def verify_signature(
    payload: bytes | str,
    headers: SupportsItems,
    *,
    secret: str | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Check that ``payload`` is a webhook OpenAI signed with ``secret``, sent recently.

    ``payload`` must be the body exactly as received (bytes, or text that encodes to them in
    UTF-8). Header names are matched case-insensitively. Raises
    :class:`InvalidWebhookSignatureError` when the webhook is not proven authentic, and
    ``ApiValueError``/``ApiTypeError`` when the secret or an argument is unusable.
    """
    body = _body(payload)
    _check_tolerance(tolerance)
    key = _resolve_secret(secret)
    msg_id, timestamp, signature = _webhook_headers(headers)
    _check_timestamp(timestamp, tolerance)
    expected = _digest(key, msg_id, timestamp, body)
    # Every candidate is compared in constant time; which one matched does not matter.
    if not any(hmac.compare_digest(expected, given) for given in _v1_signatures(signature)):
        raise InvalidWebhookSignatureError(
            "no webhook-signature matches: the body, webhook-id or webhook-timestamp was "
            "changed, or the secret is not this endpoint's"
        )


def unwrap(
    payload: bytes | str,
    headers: SupportsItems,
    *,
    secret: str | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> WebhookEvent:
    """Verify the webhook (see :func:`verify_signature`), then read its event.

    ``realtime.call.incoming`` gives a ``WebhookRealtimeCallIncoming``; any other type an
    :class:`UnknownWebhookEvent`. A signed body that is not a JSON event object raises
    :class:`WebhookVerificationError`.
    """
    body = _body(payload)
    verify_signature(body, headers, secret=secret, tolerance=tolerance)
    return _parse_event(body)


def sign(
    payload: bytes | str,
    *,
    secret: str,
    msg_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The three ``webhook-*`` headers OpenAI would send with ``payload``, signed with ``secret``.

    For testing webhook handlers offline. ``msg_id`` defaults to a fresh ``wh_...`` id and
    ``timestamp`` to now.
    """
    if not isinstance(secret, str):
        raise ApiTypeError(f"secret must be a str ('whsec_...'), not {type(secret).__name__}")
    key = _decode_secret(secret, "secret")
    msg_id = f"wh_{os.urandom(16).hex()}" if msg_id is None else msg_id
    if not isinstance(msg_id, str) or not msg_id or has_line_break(msg_id):
        raise ApiValueError("msg_id must be a non-empty str on one line")
    if timestamp is None:
        timestamp = int(time.time())
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ApiValueError("timestamp must be a non-negative int (Unix seconds)")
    stamp = str(timestamp)
    signature = base64.b64encode(_digest(key, msg_id, stamp, _body(payload))).decode("ascii")
    return {_ID: msg_id, _TIMESTAMP: stamp, _SIGNATURE: f"v1,{signature}"}


def _body(payload: bytes | str) -> bytes:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    raise ApiTypeError(
        f"payload must be the raw request body as bytes or str, not {type(payload).__name__}"
    )


def _check_tolerance(tolerance: int) -> None:
    if isinstance(tolerance, bool) or not isinstance(tolerance, int):
        raise ApiTypeError(f"tolerance must be an int (seconds), not {type(tolerance).__name__}")
    if tolerance < 0:
        raise ApiValueError(f"tolerance must be 0 or more seconds, not {tolerance}")


def _resolve_secret(secret: str | None) -> bytes:
    """The HMAC key: from ``secret``, else from ``OPENAI_WEBHOOK_SECRET``."""
    if secret is not None:
        if not isinstance(secret, str):
            raise ApiTypeError(f"secret must be a str ('whsec_...'), not {type(secret).__name__}")
        return _decode_secret(secret, "secret")
    from_environment = os.environ.get(SECRET_ENV, "")
    if not from_environment.strip():
        raise ApiValueError(
            f"no webhook secret: pass secret='whsec_...' or set {SECRET_ENV} to the signing "
            "secret OpenAI shows for this webhook endpoint"
        )
    return _decode_secret(from_environment, SECRET_ENV)


def _decode_secret(secret: str, source: str) -> bytes:
    """``whsec_<base64>`` or bare base64 (padding optional) to key bytes; never echoes it."""
    encoded = secret.strip().removeprefix(_SECRET_PREFIX)
    key = _base64(encoded + "=" * (-len(encoded) % 4))
    if key is None:
        raise ApiValueError(
            f"{source} is not a webhook signing secret: expected 'whsec_' followed by base64"
        )
    if not key:
        raise ApiValueError(f"{source} is empty: expected 'whsec_' followed by base64")
    return key


def _webhook_headers(headers: SupportsItems) -> tuple[str, str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``, each exactly once."""
    if not callable(getattr(headers, "items", None)):
        raise ApiTypeError(
            f"headers must be a mapping of header names to values, not {type(headers).__name__}"
        )
    found: dict[str, str] = {}
    for name, value in headers.items():
        lowered = _text(name).lower()
        if lowered in _HEADERS:
            if lowered in found:
                raise InvalidWebhookSignatureError(f"the {lowered} header appears more than once")
            found[lowered] = _text(value).strip()
    missing = [name for name in _HEADERS if not found.get(name)]
    if missing:
        raise InvalidWebhookSignatureError(
            f"missing webhook header{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
            "(a webhook signed by OpenAI carries webhook-id, webhook-timestamp and "
            "webhook-signature)"
        )
    return found[_ID], found[_TIMESTAMP], found[_SIGNATURE]


def _text(value: object) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _check_timestamp(timestamp: str, tolerance: int) -> None:
    """Refuse a timestamp further than ``tolerance`` whole seconds from now, either way."""
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise InvalidWebhookSignatureError(
            "the webhook-timestamp header is not a Unix time in whole seconds"
        )
    if len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise InvalidWebhookSignatureError(
            "the webhook-timestamp header is not a Unix time: it has too many digits"
        )
    # Whole seconds on both sides: a webhook signed this second is 0 s old, not -0.4 s.
    offset = int(timestamp) - int(time.time())
    if offset < -tolerance:
        raise InvalidWebhookSignatureError(
            f"the webhook is too old: its webhook-timestamp is {-offset} s in the past, "
            f"more than the {tolerance} s allowed (a replay, or a clock that is off)"
        )
    if offset > tolerance:
        raise InvalidWebhookSignatureError(
            f"the webhook is from the future: its webhook-timestamp is {offset} s ahead, "
            f"more than the {tolerance} s allowed (a clock that is off)"
        )


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded ``v1`` signatures; entries of other versions are skipped."""
    found = []
    for entry in header.split():
        version, comma, value = entry.partition(",")
        if not (version and comma and value):
            raise InvalidWebhookSignatureError(
                "the webhook-signature header is malformed: expected space-separated "
                "'v1,<base64>' entries"
            )
        if version == "v1":
            signature = _base64(value)
            if signature is None:
                raise InvalidWebhookSignatureError(
                    "the webhook-signature header is malformed: a v1 signature is not base64"
                )
            found.append(signature)
    if not found:
        raise InvalidWebhookSignatureError("the webhook-signature header has no v1 signature")
    return found


def _base64(text: str) -> bytes | None:
    """Strictly decoded base64, or ``None``. Errors are raised by the caller, outside any
    ``except`` block, so no chained exception keeps the (secret) text."""
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or text that is not ASCII
        return None


def _digest(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    """HMAC-SHA256 of ``{id}.{timestamp}.{body}``, the Standard Webhooks signed content."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, content, hashlib.sha256).digest()


def _parse_event(body: bytes) -> WebhookEvent:
    """The event model for a verified body. Errors are raised outside ``except`` blocks, so
    no chained exception carries the body along."""
    data: Any = _NOT_JSON
    nested_too_deeply = False
    try:
        data = json.loads(body)
    except ValueError:  # not JSON, or not in a Unicode encoding
        pass
    except RecursionError:
        nested_too_deeply = True
    if nested_too_deeply:
        raise WebhookVerificationError("the webhook body is JSON nested too deeply to read")
    if data is _NOT_JSON:
        raise WebhookVerificationError("the webhook body is not JSON")
    if not isinstance(data, dict):
        raise WebhookVerificationError(
            f"the webhook body is a JSON {type(data).__name__}, not an event object"
        )
    model = _event_model(data.get("type"))
    try:
        return model.from_dict(data)
    except ApiValidationError as error:
        # Response models never echo values, so the field list is safe to repeat.
        problem = str(error)
    raise WebhookVerificationError(f"the webhook event cannot be read: {problem}")


def _event_model(
    event_type: object,
) -> type[WebhookRealtimeCallIncoming] | type[UnknownWebhookEvent]:
    """The model for ``event_type``; imported only when such an event arrives."""
    if event_type == _CALL_INCOMING:
        from openapiopenai.models.webhook_realtime_call_incoming import (
            WebhookRealtimeCallIncoming,
        )

        return WebhookRealtimeCallIncoming
    return UnknownWebhookEvent


__all__ = [
    "DEFAULT_TOLERANCE",
    "InvalidWebhookSignatureError",
    "SECRET_ENV",
    "SupportsItems",
    "UnknownWebhookEvent",
    "WebhookEvent",
    "WebhookVerificationError",
    "sign",
    "unwrap",
    "verify_signature",
]
