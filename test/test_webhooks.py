"""Webhook verification, checked against ``standardwebhooks``, the scheme's reference library.

What the reference signs, ours accepts, and the other way round; every way a webhook can be
forged, stale or malformed is refused with an SDK exception that never shows the secret or a
signature. The end-to-end tests send a signed ``realtime.call.incoming`` over real HTTP to a
real endpoint on 127.0.0.1 that verifies the exact bytes and headers it received.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import io
import json
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as ReferenceVerificationError
from urllib3 import HTTPHeaderDict

import openapiopenai
from openapiopenai import webhooks
from openapiopenai.exceptions import (
    ApiConnectionError,
    ApiTypeError,
    ApiValueError,
    InvalidWebhookSignatureError,
    OpenApiException,
    WebhookVerificationError,
)
from openapiopenai.mock.webhook_sender import (
    DEFAULT_SIP_HEADERS,
    call_incoming_event,
    send_call_incoming,
)
from openapiopenai.models import WebhookRealtimeCallIncoming
from openapiopenai.webhooks import UnknownWebhookEvent, sign, unwrap, verify_signature
from test.faults import LOOPBACK, unused_port

KEY = bytes(range(7, 39))  # 32 bytes
KEY_B64 = base64.b64encode(KEY).decode()
SECRET = f"whsec_{KEY_B64}"
OTHER_SECRET = "whsec_" + base64.b64encode(b"another endpoint's key 0123456789").decode()
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"


@pytest.fixture(autouse=True)
def _no_secret_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(webhooks.SECRET_ENV, raising=False)


def event_body(event_type: str = "realtime.call.incoming", **extra: Any) -> bytes:
    event = {
        "id": "evt_685343a2381c819085d44c354e1b330e",
        "object": "event",
        "created_at": 1750287018,
        "type": event_type,
        "data": {
            "call_id": "rtc_479a275623b54bdb9b6fbae2f7cbd408",
            "sip_headers": [
                {"name": "From", "value": "<sip:+15550100001@sip.example.com>;tag=1"},
                {"name": "To", "value": "<sip:+15550100002@sip.api.openai.com>"},
            ],
        },
        **extra,
    }
    return json.dumps(event).encode()


def reference_headers(
    body: bytes, *, secret: str = SECRET, msg_id: str = MSG_ID, at: float | None = None
) -> dict[str, str]:
    """The headers the reference library produces, signed ``at`` (default: now)."""
    moment = datetime.fromtimestamp(time.time() if at is None else at, tz=timezone.utc)
    signature = Webhook(secret).sign(msg_id, moment, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }


def refusal(call: Callable[..., object], *args: Any, **kwargs: Any) -> InvalidWebhookSignatureError:
    with pytest.raises(InvalidWebhookSignatureError) as caught:
        call(*args, **kwargs)
    return caught.value


class TestAgainstTheReference:
    def test_reference_signature_verifies(self) -> None:
        body = event_body()
        verify_signature(body, reference_headers(body), secret=SECRET)

    def test_our_signature_verifies_with_the_reference(self) -> None:
        body = event_body()
        assert Webhook(SECRET).verify(body, sign(body, secret=SECRET)) == json.loads(body)

    def test_same_inputs_same_signature_as_the_reference(self) -> None:
        body = event_body()
        now = int(time.time())
        ours = sign(body, secret=SECRET, msg_id=MSG_ID, timestamp=now)
        assert ours == reference_headers(body, at=now)

    @pytest.mark.parametrize("form", ["whsec_", "bare", "unpadded"])
    def test_secret_forms_interoperate(self, form: str) -> None:
        key = b"eleven byte"  # base64 with padding, so the unpadded form differs
        encoded = base64.b64encode(key).decode()
        secret = {
            "whsec_": f"whsec_{encoded}",
            "bare": encoded,
            "unpadded": f"whsec_{encoded.rstrip('=')}",
        }[form]
        body = event_body()
        verify_signature(body, reference_headers(body, secret=f"whsec_{encoded}"), secret=secret)
        Webhook(f"whsec_{encoded}").verify(body, sign(body, secret=secret))

    @settings(max_examples=60, deadline=None)
    @given(
        key=st.binary(min_size=1, max_size=64),
        text=st.text(max_size=200),
        msg_id=st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True),
    )
    def test_any_key_body_and_id_agree(self, key: bytes, text: str, msg_id: str) -> None:
        secret = f"whsec_{base64.b64encode(key).decode()}"
        body = text.encode()
        verify_signature(text, reference_headers(body, secret=secret, msg_id=msg_id), secret=secret)
        assert Webhook(secret).verify(body, sign(body, secret=secret), json_parse=False) is None

    def test_the_reference_refuses_what_we_refuse(self) -> None:
        body = event_body()
        headers = sign(body, secret=OTHER_SECRET)
        refusal(verify_signature, body, headers, secret=SECRET)
        with pytest.raises(ReferenceVerificationError):
            Webhook(SECRET).verify(body, headers)


class TestSignatures:
    def test_one_of_several_signatures_matches(self) -> None:
        body = event_body()
        headers = reference_headers(body)
        wrong = reference_headers(body, secret=OTHER_SECRET)["webhook-signature"]
        headers["webhook-signature"] = (
            f"{wrong} v1a,c29tZSBvdGhlciBzY2hlbWU= {headers['webhook-signature']}"
        )
        verify_signature(body, headers, secret=SECRET)
        Webhook(SECRET).verify(body, headers)  # the reference agrees

    def test_several_wrong_signatures_are_refused(self) -> None:
        body = event_body()
        wrong = reference_headers(body, secret=OTHER_SECRET)["webhook-signature"]
        headers = {**reference_headers(body), "webhook-signature": f"{wrong} {wrong}"}
        assert "no webhook-signature matches" in str(refusal(unwrap, body, headers, secret=SECRET))

    def test_wrong_secret(self) -> None:
        body = event_body()
        refusal(unwrap, body, reference_headers(body, secret=OTHER_SECRET), secret=SECRET)

    def test_tampered_body(self) -> None:
        body = event_body()
        headers = reference_headers(body)
        tampered = body.replace(b"rtc_479a", b"rtc_479b")
        refusal(unwrap, tampered, headers, secret=SECRET)

    def test_tampered_id(self) -> None:
        body = event_body()
        headers = {**reference_headers(body), "webhook-id": "msg_replayed"}
        refusal(unwrap, body, headers, secret=SECRET)

    def test_tampered_timestamp(self) -> None:
        body = event_body()
        headers = reference_headers(body)
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
        refusal(unwrap, body, headers, secret=SECRET)

    @pytest.mark.parametrize(
        ("signature", "problem"),
        [
            ("v1", "malformed"),
            ("v1,", "malformed"),
            (",c2ln", "malformed"),
            ("v1,not*base64", "not base64"),
            ("v1,c2ln v1", "malformed"),
            ("v1a,c29tZSBvdGhlciBzY2hlbWU=", "no v1 signature"),
        ],
    )
    def test_malformed_signature_header(self, signature: str, problem: str) -> None:
        body = event_body()
        headers = {**reference_headers(body), "webhook-signature": signature}
        assert problem in str(refusal(verify_signature, body, headers, secret=SECRET))


class TestTimestamp:
    @pytest.mark.parametrize("offset", [-295, -10, 0, 10, 295])
    def test_inside_five_minutes(self, offset: int) -> None:
        body = event_body()
        verify_signature(body, reference_headers(body, at=time.time() + offset), secret=SECRET)

    @pytest.mark.parametrize(
        ("offset", "problem"),
        [(-305, "too old"), (-86_400, "too old"), (305, "from the future"), (86_400, "future")],
    )
    def test_outside_five_minutes(self, offset: int, problem: str) -> None:
        body = event_body()
        headers = reference_headers(body, at=time.time() + offset)
        assert problem in str(refusal(unwrap, body, headers, secret=SECRET))

    def test_tolerance_is_configurable(self) -> None:
        body = event_body()
        headers = reference_headers(body, at=time.time() - 60)
        refusal(verify_signature, body, headers, secret=SECRET, tolerance=30)
        verify_signature(body, headers, secret=SECRET, tolerance=600)
        stale = reference_headers(body, at=time.time() - 600)
        verify_signature(body, stale, secret=SECRET, tolerance=3600)

    @pytest.mark.parametrize(
        "timestamp", ["soon", "1.5e9", "-5", "1750287018.5", "\u0661\u0667\u0665\u0660"]
    )
    def test_not_whole_unix_seconds(self, timestamp: str) -> None:
        body = event_body()
        headers = {**reference_headers(body), "webhook-timestamp": timestamp}
        assert "whole seconds" in str(refusal(verify_signature, body, headers, secret=SECRET))

    @pytest.mark.parametrize("tolerance", [-1, 1.5, "300", True, None])
    def test_bad_tolerance(self, tolerance: Any) -> None:
        body = event_body()
        with pytest.raises((ApiTypeError, ApiValueError), match="tolerance"):
            verify_signature(body, reference_headers(body), secret=SECRET, tolerance=tolerance)


class TestHeaders:
    @pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
    def test_each_header_is_required(self, name: str) -> None:
        body = event_body()
        headers = reference_headers(body)
        del headers[name]
        error = refusal(unwrap, body, headers, secret=SECRET)
        assert f"missing webhook header: {name} " in str(error)
        headers[name] = "  "
        assert name in str(refusal(unwrap, body, headers, secret=SECRET))

    def test_no_headers_at_all(self) -> None:
        error = refusal(verify_signature, b"{}", {}, secret=SECRET)
        assert "webhook-id, webhook-timestamp, webhook-signature" in str(error)

    def test_names_are_case_insensitive_in_a_dict(self) -> None:
        body = event_body()
        headers = {name.title(): value for name, value in reference_headers(body).items()}
        headers["WEBHOOK-ID"] = headers.pop("Webhook-Id")
        assert isinstance(unwrap(body, headers, secret=SECRET), WebhookRealtimeCallIncoming)

    def test_urllib3_header_dict(self) -> None:
        body = event_body()
        headers = HTTPHeaderDict({"Content-Type": "application/json"})
        for name, value in reference_headers(body).items():
            headers.add(name.upper(), value)
        verify_signature(body, headers, secret=SECRET)

    def test_http_client_message(self) -> None:
        body = event_body()
        raw = "".join(f"{n.title()}: {v}\r\n" for n, v in reference_headers(body).items())
        message = http.client.parse_headers(io.BytesIO(f"{raw}\r\n".encode("latin-1")))
        verify_signature(body, message, secret=SECRET)

    def test_raw_byte_pairs(self) -> None:
        """ASGI-style servers hand over byte strings."""

        @dataclass
        class RawHeaders:
            pairs: list[tuple[bytes, bytes]]

            def items(self) -> list[tuple[bytes, bytes]]:
                return self.pairs

        body = event_body()
        pairs = [(n.encode(), v.encode()) for n, v in reference_headers(body).items()]
        verify_signature(body, RawHeaders(pairs), secret=SECRET)

    def test_a_repeated_header_is_refused(self) -> None:
        body = event_body()
        headers = HTTPHeaderDict(reference_headers(body))
        headers.add("Webhook-Id", "msg_other")
        assert "more than once" in str(refusal(verify_signature, body, headers, secret=SECRET))

    def test_headers_must_be_a_mapping(self) -> None:
        body = event_body()
        with pytest.raises(ApiTypeError, match="headers must be a mapping"):
            verify_signature(body, list(reference_headers(body).items()), secret=SECRET)  # type: ignore[arg-type]


class TestSecret:
    def test_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
        body = event_body()
        assert isinstance(unwrap(body, reference_headers(body)), WebhookRealtimeCallIncoming)

    def test_an_explicit_secret_wins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", OTHER_SECRET)
        body = event_body()
        verify_signature(body, reference_headers(body), secret=SECRET)
        refusal(verify_signature, body, reference_headers(body))

    @pytest.mark.parametrize("environment", [None, "", "   "])
    def test_no_secret_anywhere(
        self, environment: str | None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        if environment is not None:
            monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", environment)
        body = event_body()
        with pytest.raises(ApiValueError, match=r"no webhook secret.*OPENAI_WEBHOOK_SECRET"):
            unwrap(body, reference_headers(body))

    def test_the_secret_is_checked_before_the_headers(self) -> None:
        with pytest.raises(ApiValueError, match="no webhook secret"):
            verify_signature(b"{}", {})

    @pytest.mark.parametrize(
        "secret", ["whsec_", "whsec_not*base64", "sk-proj-abcdefghijklmnop", "whsec_a", "ключ"]
    )
    def test_malformed_secret(self, secret: str) -> None:
        body = event_body()
        with pytest.raises(ApiValueError, match=r"^secret is") as caught:
            verify_signature(body, reference_headers(body), secret=secret)
        assert "whsec_" in str(caught.value)  # says what is expected

    def test_malformed_secret_in_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", "whsec_not*base64")
        with pytest.raises(ApiValueError, match=r"^OPENAI_WEBHOOK_SECRET is not"):
            verify_signature(b"{}", {})

    def test_surrounding_whitespace_is_ignored(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", f" {SECRET}\n")
        body = event_body()
        verify_signature(body, reference_headers(body))

    @pytest.mark.parametrize("secret", [KEY, 42])
    def test_secret_must_be_text(self, secret: Any) -> None:
        with pytest.raises(ApiTypeError, match="secret must be a str"):
            verify_signature(b"{}", {}, secret=secret)
        with pytest.raises(ApiTypeError, match="secret must be a str"):
            sign(b"{}", secret=secret)


def _failures() -> Iterator[tuple[str, Callable[[pytest.MonkeyPatch], object]]]:
    """Every refusal, each a callable that raises; secrets and signatures are the ones to hide."""
    body = event_body()

    def wrong_secret(_: pytest.MonkeyPatch) -> object:
        return unwrap(body, sign(body, secret=OTHER_SECRET), secret=SECRET)

    def several_wrong(_: pytest.MonkeyPatch) -> object:
        wrong = sign(body, secret=OTHER_SECRET)
        wrong["webhook-signature"] += " " + sign(body, secret=OTHER_SECRET)["webhook-signature"]
        return unwrap(body, wrong, secret=SECRET)

    def bad_base64_signature(_: pytest.MonkeyPatch) -> object:
        headers = sign(body, secret=SECRET)
        headers["webhook-signature"] = headers["webhook-signature"][:-3] + "*"
        return unwrap(body, headers, secret=SECRET)

    def malformed_secret(_: pytest.MonkeyPatch) -> object:
        return unwrap(body, sign(body, secret=SECRET), secret=SECRET + "*")

    def malformed_environment_secret(monkeypatch: pytest.MonkeyPatch) -> object:
        monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET[:-2] + "é")
        return unwrap(body, sign(body, secret=SECRET))

    def stale(_: pytest.MonkeyPatch) -> object:
        headers = sign(body, secret=SECRET, timestamp=int(time.time()) - 3600)
        return unwrap(body, headers, secret=SECRET)

    def not_json(_: pytest.MonkeyPatch) -> object:
        return unwrap(b"\xff" + body, sign(b"\xff" + body, secret=SECRET), secret=SECRET)

    def invalid_event(_: pytest.MonkeyPatch) -> object:
        broken = json.dumps({"type": "realtime.call.incoming", "data": KEY_B64}).encode()
        return unwrap(broken, sign(broken, secret=SECRET), secret=SECRET)

    for case in (
        wrong_secret,
        several_wrong,
        bad_base64_signature,
        malformed_secret,
        malformed_environment_secret,
        stale,
        not_json,
        invalid_event,
    ):
        yield case.__name__, case


FAILURES = list(_failures())


@pytest.mark.parametrize("case", [case for _, case in FAILURES], ids=[n for n, _ in FAILURES])
def test_no_secret_or_signature_in_any_error(
    case: Callable[[pytest.MonkeyPatch], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = event_body()
    hidden = [SECRET, KEY_B64, KEY_B64.rstrip("=")[:16], OTHER_SECRET[6:]]
    hidden += [
        sign(body, secret=secret)["webhook-signature"][3:20] for secret in (SECRET, OTHER_SECRET)
    ]
    with pytest.raises(OpenApiException) as caught:
        case(monkeypatch)
    error: BaseException | None = caught.value
    shown = "".join(traceback.format_exception(caught.value))
    while error is not None:  # every chained cause and context, shown or not
        shown += f"{error!s}\n{error!r}\n"
        error = error.__cause__ or error.__context__
    for text in hidden:
        assert text not in shown


class TestUnwrap:
    def test_incoming_call(self) -> None:
        body = event_body()
        event = unwrap(body, reference_headers(body), secret=SECRET)
        assert isinstance(event, WebhookRealtimeCallIncoming)
        assert (event.id, event.object, event.created_at, event.type) == (
            "evt_685343a2381c819085d44c354e1b330e",
            "event",
            1750287018,
            "realtime.call.incoming",
        )
        assert event.data.call_id == "rtc_479a275623b54bdb9b6fbae2f7cbd408"
        assert [(h.name, h.value) for h in event.data.sip_headers] == [
            ("From", "<sip:+15550100001@sip.example.com>;tag=1"),
            ("To", "<sip:+15550100002@sip.api.openai.com>"),
        ]

    def test_text_payload(self) -> None:
        body = event_body().replace(b"example.com", "exämple.com".encode())
        event = unwrap(body.decode(), reference_headers(body), secret=SECRET)
        assert isinstance(event, WebhookRealtimeCallIncoming)
        assert "exämple" in event.data.sip_headers[0].value

    def test_new_fields_are_kept(self) -> None:
        body = event_body(livemode=True)
        event = unwrap(body, reference_headers(body), secret=SECRET)
        assert event.additional_properties == {"livemode": True}

    def test_unknown_event_type_stays_readable(self) -> None:
        body = event_body("live.call.incoming", livemode=False)
        event = unwrap(body, reference_headers(body), secret=SECRET)
        assert type(event) is UnknownWebhookEvent
        assert (event.id, event.object, event.created_at, event.type) == (
            "evt_685343a2381c819085d44c354e1b330e",
            "event",
            1750287018,
            "live.call.incoming",
        )
        assert event.data["call_id"] == "rtc_479a275623b54bdb9b6fbae2f7cbd408"
        assert event.additional_properties == {"livemode": False}
        assert event.to_dict() == json.loads(body)

    def test_event_without_a_type(self) -> None:
        body = b'{"id": "evt_1", "data": [1, 2]}'
        event = unwrap(body, reference_headers(body), secret=SECRET)
        assert isinstance(event, UnknownWebhookEvent)
        assert (event.type, event.data) == (None, [1, 2])

    @pytest.mark.parametrize(
        ("body", "problem"),
        [
            (b"<xml/>", "not JSON"),
            (b"", "not JSON"),
            (b"\xff\xfe{", "not JSON"),
            (b'[{"type": "realtime.call.incoming"}]', "a JSON list, not an event object"),
            (b'"event"', "a JSON str, not an event object"),
        ],
    )
    def test_body_that_is_not_an_event(self, body: bytes, problem: str) -> None:
        with pytest.raises(WebhookVerificationError, match=problem) as caught:
            unwrap(body, sign(body, secret=SECRET), secret=SECRET)
        assert not isinstance(caught.value, InvalidWebhookSignatureError)

    def test_incoming_call_without_its_call_id(self) -> None:
        body = json.dumps(
            {"id": "evt_1", "created_at": 1, "type": "realtime.call.incoming", "data": {}}
        ).encode()
        with pytest.raises(WebhookVerificationError, match=r"data\.call_id") as caught:
            unwrap(body, sign(body, secret=SECRET), secret=SECRET)
        assert "WebhookRealtimeCallIncoming" in str(caught.value)

    def test_signature_is_checked_before_the_body_is_read(self) -> None:
        body = b"not json"
        refusal(unwrap, body, sign(body, secret=OTHER_SECRET), secret=SECRET)

    @pytest.mark.parametrize("payload", [None, 42, {"id": "evt_1"}])
    def test_payload_must_be_the_raw_body(self, payload: Any) -> None:
        with pytest.raises(ApiTypeError, match="payload must be the raw request body"):
            unwrap(payload, {}, secret=SECRET)

    def test_bytearray_and_memoryview_payloads(self) -> None:
        body = event_body()
        headers = reference_headers(body)
        verify_signature(bytearray(body), headers, secret=SECRET)
        verify_signature(memoryview(body), headers, secret=SECRET)


class TestSign:
    def test_defaults(self) -> None:
        before = int(time.time())
        headers = sign(b"{}", secret=SECRET)
        assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        assert headers["webhook-id"].startswith("wh_")
        assert headers["webhook-id"] != sign(b"{}", secret=SECRET)["webhook-id"]
        assert before <= int(headers["webhook-timestamp"]) <= int(time.time())
        assert headers["webhook-signature"].startswith("v1,")

    def test_text_and_bytes_sign_alike(self) -> None:
        assert sign("é", secret=SECRET, msg_id="m", timestamp=1) == sign(
            "é".encode(), secret=SECRET, msg_id="m", timestamp=1
        )

    @pytest.mark.parametrize(
        ("keyword", "value", "name"),
        [
            ("msg_id", "", "msg_id"),
            ("msg_id", "msg\r\nX-Injected: 1", "msg_id"),
            ("msg_id", 7, "msg_id"),
            ("timestamp", -1, "timestamp"),
            ("timestamp", True, "timestamp"),
            ("timestamp", "1750287018", "timestamp"),
            ("timestamp", 1.5, "timestamp"),
        ],
    )
    def test_bad_arguments(self, keyword: str, value: Any, name: str) -> None:
        with pytest.raises(ApiValueError, match=name):
            sign(b"{}", secret=SECRET, **{keyword: value})


class TestPackage:
    def test_errors_are_exported_and_ordered(self) -> None:
        assert openapiopenai.WebhookVerificationError is webhooks.WebhookVerificationError
        assert openapiopenai.InvalidWebhookSignatureError is webhooks.InvalidWebhookSignatureError
        assert issubclass(InvalidWebhookSignatureError, WebhookVerificationError)
        assert issubclass(WebhookVerificationError, OpenApiException)
        assert issubclass(WebhookVerificationError, ValueError)

    def test_importing_the_package_does_not_load_webhooks(self) -> None:
        modules = ["openapiopenai.webhooks", "openapiopenai.mock.webhook_sender"]
        code = f"import sys, openapiopenai; print([m in sys.modules for m in {modules!r}])"
        found = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert found.stdout.strip() == "[False, False]"


@dataclass
class Delivery:
    """What the endpoint received, and what it made of it."""

    body: bytes
    headers: http.client.HTTPMessage
    event: object = None
    error: Exception | None = None


@dataclass
class WebhookEndpoint:
    """A real webhook endpoint on 127.0.0.1 that unwraps what it receives, like an app would."""

    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    redirect_to: str | None = None


@pytest.fixture
def endpoint() -> Iterator[WebhookEndpoint]:
    state = WebhookEndpoint(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            delivery = Delivery(body, self.headers)
            state.deliveries.append(delivery)
            if state.redirect_to is not None:
                self.send_response(307)
                self.send_header("Location", state.redirect_to)
            else:
                try:
                    delivery.event = unwrap(body, self.headers, secret=SECRET)
                    self.send_response(200)
                except WebhookVerificationError as error:
                    delivery.error = error
                    self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    state.url = f"http://{LOOPBACK}:{server.server_port}/hooks/openai"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class TestSendCallIncoming:
    def test_a_signed_incoming_call_arrives(self, endpoint: WebhookEndpoint) -> None:
        status, call_id = send_call_incoming(endpoint.url, secret=SECRET)
        assert status == 200
        assert call_id.startswith("rtc_")
        [delivery] = endpoint.deliveries
        event = delivery.event
        assert isinstance(event, WebhookRealtimeCallIncoming)
        assert event.data.call_id == call_id
        assert event.object == "event"
        assert event.id.startswith("evt_")
        assert [(h.name, h.value) for h in event.data.sip_headers] == list(DEFAULT_SIP_HEADERS)
        assert delivery.headers["Content-Type"] == "application/json"

    def test_the_reference_accepts_what_arrived(self, endpoint: WebhookEndpoint) -> None:
        send_call_incoming(endpoint.url, secret=SECRET)
        [delivery] = endpoint.deliveries
        headers = dict(delivery.headers.items())
        assert Webhook(SECRET).verify(delivery.body, headers)["type"] == "realtime.call.incoming"

    def test_call_id_and_sip_headers_as_given(self, endpoint: WebhookEndpoint) -> None:
        pairs = [("Via", "SIP/2.0/TLS a.example.com"), ("Via", "SIP/2.0/TLS b.example.com")]
        status, call_id = send_call_incoming(
            endpoint.url, secret=SECRET, call_id="rtc_given", sip_headers=pairs
        )
        assert (status, call_id) == (200, "rtc_given")
        event = endpoint.deliveries[0].event
        assert isinstance(event, WebhookRealtimeCallIncoming)
        assert event.data.call_id == "rtc_given"
        assert [(h.name, h.value) for h in event.data.sip_headers] == pairs

    def test_sip_headers_as_a_mapping(self, endpoint: WebhookEndpoint) -> None:
        send_call_incoming(endpoint.url, secret=SECRET, sip_headers={"X-Account": "42"})
        event = endpoint.deliveries[0].event
        assert isinstance(event, WebhookRealtimeCallIncoming)
        assert [(h.name, h.value) for h in event.data.sip_headers] == [("X-Account", "42")]

    def test_the_endpoint_refuses_another_secret(self, endpoint: WebhookEndpoint) -> None:
        status, _ = send_call_incoming(endpoint.url, secret=OTHER_SECRET)
        assert status == 400
        assert isinstance(endpoint.deliveries[0].error, InvalidWebhookSignatureError)

    def test_redirects_are_not_followed(self, endpoint: WebhookEndpoint) -> None:
        endpoint.redirect_to = endpoint.url + "/elsewhere"
        status, _ = send_call_incoming(endpoint.url, secret=SECRET)
        assert status == 307
        assert len(endpoint.deliveries) == 1

    def test_nobody_listening(self) -> None:
        url = f"http://{LOOPBACK}:{unused_port()}/hooks"
        with pytest.raises(ApiConnectionError):
            send_call_incoming(url, secret=SECRET, timeout=2.0)

    @pytest.mark.parametrize(
        "url", ["", "ftp://127.0.0.1/x", "127.0.0.1:8000/x", "http://", "http://[::1", 42]
    )
    def test_bad_url(self, url: Any) -> None:
        with pytest.raises(ApiValueError, match="url must be an http"):
            send_call_incoming(url, secret=SECRET)

    @pytest.mark.parametrize("timeout", [0, -1, "5", True])
    def test_bad_timeout(self, timeout: Any) -> None:
        with pytest.raises(ApiValueError, match="timeout"):
            send_call_incoming("http://127.0.0.1:9/x", secret=SECRET, timeout=timeout)

    @pytest.mark.parametrize("call_id", ["", 7])
    def test_bad_call_id(self, call_id: Any) -> None:
        with pytest.raises(ApiValueError, match="call_id"):
            send_call_incoming("http://127.0.0.1:9/x", secret=SECRET, call_id=call_id)

    @pytest.mark.parametrize("sip_headers", [[("From",)], [("From", 1)], ["From: x"]])
    def test_bad_sip_headers(self, sip_headers: Any) -> None:
        with pytest.raises(ApiTypeError, match=r"sip_headers.*\['sip_headers'\]\[0\]"):
            call_incoming_event("rtc_1", sip_headers)

    def test_a_bad_secret_fails_before_sending(self, endpoint: WebhookEndpoint) -> None:
        with pytest.raises(ApiValueError, match="secret"):
            send_call_incoming(endpoint.url, secret="not a secret")
        assert endpoint.deliveries == []
