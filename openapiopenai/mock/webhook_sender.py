"""Play OpenAI's part in a SIP call offline: POST a signed ``realtime.call.incoming`` webhook.

Point :func:`send_call_incoming` at your own webhook endpoint (a test server on 127.0.0.1,
say) to check that it verifies the signature and answers the call::

    status, call_id = send_call_incoming("http://127.0.0.1:8000/webhook", secret="whsec_...")

The request goes to the URL given and nowhere else: no proxy, no redirect, no retry.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError, LocationParseError
from urllib3.util import parse_url

from openapiopenai.exceptions import ApiTypeError, ApiValueError
from openapiopenai.rest import transport_error
from openapiopenai.webhooks import sign

#: What a call from a phone to a number routed to your SIP trunk looks like, roughly.
DEFAULT_SIP_HEADERS: tuple[tuple[str, str], ...] = (
    ("From", '"Test Caller" <sip:+15550100001@sip.example.com>;tag=mock'),
    ("To", "<sip:+15550100002@sip.api.openai.com>"),
    ("Call-ID", "mock-call@sip.example.com"),
)

SipHeaders = Mapping[str, str] | Iterable[tuple[str, str]]


def send_call_incoming(
    url: str,
    *,
    secret: str,
    call_id: str | None = None,
    sip_headers: SipHeaders | None = None,
    timeout: float = 5.0,
) -> tuple[int, str]:
    """POST a ``realtime.call.incoming`` event signed with ``secret`` to ``url``.

    ``call_id`` defaults to a fresh ``rtc_...`` id; ``sip_headers`` (a mapping, or pairs when a
    name repeats) to :data:`DEFAULT_SIP_HEADERS`. Returns the endpoint's HTTP status and the
    call id. Transport failures raise the SDK's ``ApiTransportError`` family.
    """
    _check_url(url)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ApiValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    call_id = f"rtc_{os.urandom(16).hex()}" if call_id is None else call_id
    if not isinstance(call_id, str) or not call_id:
        raise ApiValueError("call_id must be a non-empty str")
    body = json.dumps(call_incoming_event(call_id, sip_headers)).encode()
    headers = {"Content-Type": "application/json", **sign(body, secret=secret)}
    with urllib3.PoolManager() as pool:
        try:
            response = pool.request(
                "POST",
                url,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(total=timeout),
                retries=False,
                redirect=False,
            )
        except HTTPError as failure:
            raise transport_error(failure) from failure
    return response.status, call_id


def call_incoming_event(call_id: str, sip_headers: SipHeaders | None = None) -> dict[str, Any]:
    """The JSON object of a ``realtime.call.incoming`` event, as OpenAI sends it."""
    return {
        "object": "event",
        "id": f"evt_{os.urandom(12).hex()}",
        "type": "realtime.call.incoming",
        "created_at": int(time.time()),
        "data": {"call_id": call_id, "sip_headers": _sip_header_list(sip_headers)},
    }


def _sip_header_list(sip_headers: SipHeaders | None) -> list[dict[str, str]]:
    if sip_headers is None:
        sip_headers = DEFAULT_SIP_HEADERS
    pairs = sip_headers.items() if isinstance(sip_headers, Mapping) else sip_headers
    result = []
    for index, pair in enumerate(pairs):
        if not (
            isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise ApiTypeError(
                "sip_headers must be a mapping of names to values or (name, value) pairs of str",
                path_to_item=["sip_headers", index],
            )
        result.append({"name": pair[0], "value": pair[1]})
    return result


def _check_url(url: str) -> None:
    try:
        parsed = parse_url(url) if isinstance(url, str) else None
    except LocationParseError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ApiValueError("url must be an http:// or https:// URL of your webhook endpoint")


__all__ = ["DEFAULT_SIP_HEADERS", "call_incoming_event", "send_call_incoming"]
