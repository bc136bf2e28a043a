"""Webhooks built to break the verifier: whatever arrives, ``unwrap`` and ``verify_signature``
fail only with ``WebhookVerificationError``, never with an error of Python's own.

``standardwebhooks`` signs the bodies here, and refuses the same malformed headers.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as ReferenceVerificationError

from openapiopenai.exceptions import InvalidWebhookSignatureError, WebhookVerificationError
from openapiopenai.webhooks import unwrap, verify_signature
from test.test_webhooks import MSG_ID, SECRET, event_body, reference_headers

HUGE_TIMESTAMPS = ["1" + "0" * 400, "9" * 5000, "0" * 5000 + "1", "1" * 20]


@pytest.mark.parametrize("timestamp", HUGE_TIMESTAMPS, ids=["1e400", "9x5000", "0x5000", "1x20"])
@pytest.mark.parametrize("check", [verify_signature, unwrap])
def test_a_huge_timestamp_is_refused_as_a_bad_signature(check: Any, timestamp: str) -> None:
    body = event_body()
    headers = {**reference_headers(body), "webhook-timestamp": timestamp}

    with pytest.raises(InvalidWebhookSignatureError, match="webhook-timestamp") as refused:
        check(body, headers, secret=SECRET)
    assert "no webhook-signature matches" not in str(refused.value)
    with pytest.raises(ReferenceVerificationError):
        Webhook(SECRET).verify(body, headers)


@pytest.mark.parametrize("depth", [900, 100_000])
def test_a_signed_body_nested_too_deeply_is_a_verification_error(depth: int) -> None:
    body = b'{"type": "realtime.call.incoming", "data": ' + b"[" * depth + b"]" * depth + b"}"
    headers = reference_headers(body)
    verify_signature(body, headers, secret=SECRET)  # authentic: only its content is wrong

    with pytest.raises(WebhookVerificationError) as refused:
        unwrap(body, headers, secret=SECRET)

    assert refused.value.__cause__ is None
    assert refused.value.__context__ is None


def test_tolerance_zero_accepts_a_webhook_signed_this_second() -> None:
    body = event_body()
    headers = reference_headers(body, at=float(int(time.time())))

    verify_signature(body, headers, secret=SECRET, tolerance=0)
    assert unwrap(body, headers, secret=SECRET, tolerance=0).type == "realtime.call.incoming"


def test_tolerance_zero_still_refuses_a_webhook_from_another_second() -> None:
    body = event_body()
    headers = reference_headers(body, at=time.time() - 2)

    with pytest.raises(InvalidWebhookSignatureError, match="too old"):
        verify_signature(body, headers, secret=SECRET, tolerance=0)


header_text = st.text(st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=150, deadline=None)
@given(
    msg_id=header_text, timestamp=header_text, signature=header_text, body=st.binary(max_size=80)
)
def test_any_headers_and_body_fail_only_as_a_verification_error(
    msg_id: str, timestamp: str, signature: str, body: bytes
) -> None:
    headers = {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
    for check in (verify_signature, unwrap):
        with pytest.raises(WebhookVerificationError):
            check(body, headers, secret=SECRET)


@settings(max_examples=100, deadline=None)
@given(timestamp=st.integers(min_value=-(10**30), max_value=10**30))
def test_a_signed_timestamp_is_read_only_when_it_is_a_plausible_unix_time(timestamp: int) -> None:
    body = event_body()
    headers = {**reference_headers(body, msg_id=MSG_ID), "webhook-timestamp": str(timestamp)}
    plausible = 0 <= timestamp < 10**12  # and within this tolerance of now, whatever now is

    if plausible:
        with pytest.raises(InvalidWebhookSignatureError, match="no webhook-signature matches"):
            unwrap(body, headers, secret=SECRET, tolerance=10**12)
    else:
        with pytest.raises(InvalidWebhookSignatureError, match="is not a Unix time"):
            unwrap(body, headers, secret=SECRET, tolerance=10**12)
