"""The mock's GA operations, spoken to with raw urllib3: exactly what the service would answer."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import urllib3

from openapiopenai.mock import REALTIME_SESSION_DEFAULTS, MockServer
from openapiopenai.models import (
    RealtimeCreateClientSecretResponse,
    RealtimeTranscriptionSessionCreateResponse,
    RealtimeTranslationClientSecretCreateResponse,
    WebhookRealtimeCallIncoming,
)
from openapiopenai.webhooks import unwrap

KEY = "sk-mock-ga-0123456789abcdefghijkl"
AUTH = {"Authorization": f"Bearer {KEY}"}
JSON_AUTH = {**AUTH, "Content-Type": "application/json"}
OFFER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
SECRET = "whsec_" + base64.b64encode(b"mock-ga-webhook-secret-0123456789").decode()


class Clock:
    """A time source the test moves on by hand: expiry without waiting."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mock(clock: Clock) -> Iterator[MockServer]:
    server = MockServer(clock=clock, history=50)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def post(
    mock: MockServer,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> urllib3.BaseHTTPResponse:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    return urllib3.request(
        method,
        f"{mock.url}{path}",
        body=raw,
        headers=JSON_AUTH if headers is None else headers,
        retries=False,
        timeout=10,
    )


def error_of(response: urllib3.BaseHTTPResponse) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    return error


def offer_multipart(sdp: str | bytes, session: Any = None) -> tuple[bytes, str]:
    fields: dict[str, Any] = {"sdp": ("offer.sdp", sdp, "application/sdp")}
    if session is not None:
        raw = session if isinstance(session, bytes) else json.dumps(session).encode()
        fields["session"] = ("session.json", raw, "application/json")
    return urllib3.encode_multipart_formdata(fields)


# -- client secrets -------------------------------------------------------------------------


def test_client_secret_defaults_to_a_realtime_session_with_the_services_defaults(
    mock: MockServer, clock: Clock
) -> None:
    response = post(mock, "/realtime/client_secrets", {})
    assert response.status == 200
    assert response.headers["x-request-id"].startswith("req_")
    body = response.json()
    assert body["value"].startswith("ek_")
    assert body["expires_at"] == int(clock.now) + 600
    session = body["session"]
    assert session["id"].startswith("sess_")
    assert {k: v for k, v in session.items() if k != "id"} == REALTIME_SESSION_DEFAULTS
    parsed = RealtimeCreateClientSecretResponse.from_dict(body)
    assert parsed.session.type == "realtime"  # type: ignore[union-attr]
    minted = mock.minted(body["value"])
    assert minted is not None and minted.session == session
    assert body["value"] not in repr(minted)


def test_client_secret_merges_what_was_set_over_the_defaults(
    mock: MockServer, clock: Clock
) -> None:
    asked = {
        "expires_after": {"anchor": "created_at", "seconds": 30},
        "session": {
            "type": "realtime",
            "instructions": "Be brief.",
            "audio": {
                "input": {"turn_detection": None, "format": {"type": "audio/pcmu"}},
                "output": {"voice": "marin"},
            },
        },
    }
    body = post(mock, "/realtime/client_secrets", asked).json()
    assert body["expires_at"] == int(clock.now) + 30
    session = body["session"]
    assert session["instructions"] == "Be brief."
    assert session["audio"]["input"]["turn_detection"] is None
    assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "marin",
        "speed": 1.0,
    }
    assert session["model"] == "gpt-realtime"


def test_client_secret_for_a_transcription_session(mock: MockServer) -> None:
    asked = {
        "session": {"type": "transcription", "include": ["item.input_audio_transcription.logprobs"]}
    }
    body = post(mock, "/realtime/client_secrets", asked).json()
    session = body["session"]
    assert session["type"] == "transcription"
    assert session["object"] == "realtime.transcription_session"
    assert set(session["audio"]["input"]) == {
        "format",
        "transcription",
        "noise_reduction",
        "turn_detection",
    }
    assert session["include"] == ["item.input_audio_transcription.logprobs"]
    parsed = RealtimeCreateClientSecretResponse.from_dict(body)
    assert parsed.session.type == "transcription"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        (
            {"session": {"type": "realtime", "audio": {"output": {"speed": 3}}}},
            "session.audio.output.speed",
            "invalid_value",
        ),
        ({"session": {"audio": {}}}, "session.type", "missing_required_parameter"),
        ({"expires_after": {"seconds": 5}}, "expires_after.seconds", "invalid_value"),
        ({"sesion": {}}, "sesion", "unknown_parameter"),
        (
            {"session": {"type": "realtime", "instructions": None}},
            "session.instructions",
            "invalid_type",
        ),
    ],
)
def test_client_secret_refuses_bad_input_naming_the_dotted_field(
    mock: MockServer, body: dict[str, Any], param: str, code: str
) -> None:
    response = post(mock, "/realtime/client_secrets", body)
    assert response.status == 400
    error = error_of(response)
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")


def test_unparsable_or_missing_body_is_400(mock: MockServer) -> None:
    assert post(mock, "/realtime/client_secrets", b"{not json").status == 400
    assert post(mock, "/realtime/client_secrets", b"").status == 400


def test_no_key_is_401_and_wrong_method_405_and_unknown_path_404(mock: MockServer) -> None:
    response = post(mock, "/realtime/client_secrets", {}, {"Content-Type": "application/json"})
    assert response.status == 401
    assert "API key" in error_of(response)["message"]
    response = post(mock, "/realtime/client_secrets", None, AUTH, method="GET")
    assert (response.status, response.headers["Allow"]) == (405, "POST")
    assert post(mock, "/realtime/calls", None, AUTH, method="OPTIONS").status == 405
    assert post(mock, "/realtime/client_secret", {}).status == 404
    assert post(mock, "/realtime/calls/x/transfer", {}).status == 404


# -- calls ----------------------------------------------------------------------------------


def test_call_with_sdp_and_an_ephemeral_key(mock: MockServer) -> None:
    key = post(
        mock, "/realtime/client_secrets", {"session": {"type": "realtime", "instructions": "Hi"}}
    ).json()
    headers = {"Authorization": f"Bearer {key['value']}", "Content-Type": "application/sdp"}
    response = post(mock, "/realtime/calls", OFFER.encode(), headers)
    assert response.status == 201
    assert response.headers["Content-Type"] == "application/sdp"
    location = response.headers["Location"]
    assert location.startswith("/v1/realtime/calls/rtc_")
    answer = response.data.decode()
    assert answer.startswith("v=0\r\n") and "m=application" in answer and answer.endswith("\r\n")
    call = mock.calls[location.rsplit("/", 1)[1]]
    assert (call.origin, call.offer, call.answer) == ("webrtc", OFFER, answer)
    assert call.session is not None and call.session["instructions"] == "Hi"


def test_call_refuses_unknown_and_expired_ephemeral_keys(mock: MockServer, clock: Clock) -> None:
    sdp = {"Content-Type": "application/sdp"}
    response = post(
        mock, "/realtime/calls", OFFER.encode(), {**sdp, "Authorization": "Bearer ek_unknown0123"}
    )
    assert response.status == 401
    assert error_of(response)["code"] == "invalid_api_key"
    key = post(mock, "/realtime/client_secrets", {"expires_after": {"seconds": 10}}).json()["value"]
    headers = {**sdp, "Authorization": f"Bearer {key}"}
    assert post(mock, "/realtime/calls", OFFER.encode(), headers).status == 201
    clock.now += 11
    assert post(mock, "/realtime/calls", OFFER.encode(), headers).status == 401
    assert post(mock, "/realtime/calls", OFFER.encode(), sdp).status == 401


def test_call_multipart_with_a_session_part(mock: MockServer) -> None:
    body, content_type = offer_multipart(OFFER, {"type": "realtime", "model": "gpt-realtime-mini"})
    response = post(mock, "/realtime/calls", body, {**AUTH, "Content-Type": content_type})
    assert response.status == 201
    call_id = response.headers["Location"].rsplit("/", 1)[1]
    session = mock.calls[call_id].session
    assert session is not None and session["model"] == "gpt-realtime-mini"
    # The recorded request is the multipart body exactly as sent, readable by a MIME parser.
    sent = mock.requests[-1]
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {sent.headers['Content-Type']}\r\n\r\n".encode() + sent.body
    )
    names = [part.get_param("name", header="content-disposition") for part in message.iter_parts()]
    assert names == ["sdp", "session"]


@pytest.mark.parametrize(
    ("make", "status", "param"),
    [
        (
            lambda: offer_multipart(OFFER, {"type": "realtime", "audio": {"output": {"speed": 9}}}),
            400,
            "session.audio.output.speed",
        ),
        (lambda: offer_multipart(OFFER, {"model": "gpt-realtime"}), 400, "session.type"),
        (lambda: offer_multipart(OFFER, b"{nope"), 400, "session"),
        (lambda: offer_multipart("hello"), 400, "sdp"),
        (
            lambda: urllib3.encode_multipart_formdata({"session": '{"type": "realtime"}'}),
            400,
            "sdp",
        ),
        (lambda: urllib3.encode_multipart_formdata({"sdp": OFFER, "extra": "1"}), 400, "extra"),
        (lambda: (b"not multipart at all", "multipart/form-data"), 400, None),
        (lambda: (OFFER.encode(), "text/plain"), 400, None),
    ],
)
def test_call_refuses_bad_offers_and_sessions(
    mock: MockServer, make: Any, status: int, param: str | None
) -> None:
    body, content_type = make()
    response = post(mock, "/realtime/calls", body, {**AUTH, "Content-Type": content_type})
    assert response.status == status
    assert error_of(response)["param"] == param
    assert mock.calls == {}


def test_the_answerer_is_pluggable(clock: Clock) -> None:
    seen: list[tuple[str, str, str]] = []

    def answerer(offer: str, session: Any, call_id: str) -> str:
        seen.append((offer, session["type"], call_id))
        return "v=0\r\ns=custom\r\n"

    with MockServer(answerer=answerer, clock=clock) as url:
        headers = {**AUTH, "Content-Type": "application/sdp"}
        response = urllib3.request(
            "POST", f"{url}/realtime/calls", body=OFFER, headers=headers, retries=False
        )
    assert response.status == 201
    assert response.data == b"v=0\r\ns=custom\r\n"
    assert seen == [(OFFER, "realtime", response.headers["Location"].rsplit("/", 1)[1])]


def test_a_failing_answerer_is_a_500_not_a_dropped_connection(clock: Clock) -> None:
    def answerer(offer: str, session: Any, call_id: str) -> str:
        raise RuntimeError("no peer")

    with MockServer(answerer=answerer) as url:
        headers = {**AUTH, "Content-Type": "application/sdp"}
        response = urllib3.request(
            "POST", f"{url}/realtime/calls", body=OFFER, headers=headers, retries=False
        )
    assert response.status == 500
    assert error_of(response)["type"] == "server_error"


# -- call control ---------------------------------------------------------------------------


def test_accept_refer_reject_hangup_on_a_known_call(mock: MockServer) -> None:
    call_id = mock.incoming_call(sip_headers={"From": "<sip:+15550100001@example.com>"})
    base = f"/realtime/calls/{call_id}"
    accept = post(mock, f"{base}/accept", {"type": "realtime", "instructions": "Answer kindly."})
    assert (accept.status, accept.data) == (200, b"")
    assert post(mock, f"{base}/refer", {"target_uri": "tel:+14155550123"}).status == 200
    assert post(mock, f"{base}/reject", None, AUTH).status == 200
    assert post(mock, f"{base}/reject", {"status_code": 486}).status == 200
    assert post(mock, f"{base}/hangup", None, AUTH).status == 200
    call = mock.calls[call_id]
    assert call.origin == "sip"
    assert call.sip_headers == [{"name": "From", "value": "<sip:+15550100001@example.com>"}]
    assert call.accepted_with == {"type": "realtime", "instructions": "Answer kindly."}
    assert call.session is not None and call.session["audio"] == REALTIME_SESSION_DEFAULTS["audio"]
    assert (call.referred_to, call.rejected_with, call.hung_up) == ("tel:+14155550123", 486, True)
    assert [action for action, _ in call.actions] == [
        "accept",
        "refer",
        "reject",
        "reject",
        "hangup",
    ]
    assert call.actions[2] == ("reject", 603)


@pytest.mark.parametrize("action", ["accept", "hangup", "refer", "reject"])
@pytest.mark.parametrize("call_id", ["rtc_unknown", "..%2Fclient_secrets", "a%2Fb", ""])
def test_control_of_an_unknown_call_is_404(mock: MockServer, action: str, call_id: str) -> None:
    bodies = {"accept": {"type": "realtime"}, "refer": {"target_uri": "tel:+1"}}
    response = post(mock, f"/realtime/calls/{call_id}/{action}", bodies.get(action, {}))
    assert response.status == 404
    assert error_of(response)["type"] == "invalid_request_error"


def test_call_id_is_percent_decoded_once(mock: MockServer) -> None:
    call_id = mock.incoming_call("rtc_a b%")
    assert post(mock, "/realtime/calls/rtc_a%20b%25/hangup", None, AUTH).status == 200
    assert mock.calls[call_id].hung_up


@pytest.mark.parametrize(
    ("action", "body", "param"),
    [
        ("refer", {}, "target_uri"),
        ("refer", {"target_uri": 5}, "target_uri"),
        ("reject", {"status_code": "486"}, "status_code"),
        ("accept", {"type": "realtime", "audio": {"output": {"speed": 0}}}, "audio.output.speed"),
        ("accept", {"instructions": "no type"}, "type"),
    ],
)
def test_control_refuses_bad_bodies(
    mock: MockServer, action: str, body: dict[str, Any], param: str
) -> None:
    call_id = mock.incoming_call()
    response = post(mock, f"/realtime/calls/{call_id}/{action}", body)
    assert response.status == 400
    assert error_of(response)["param"] == param
    assert mock.calls[call_id].actions == []


def test_incoming_call_refuses_an_id_that_no_path_could_name(mock: MockServer) -> None:
    from openapiopenai.exceptions import ApiValueError

    for bad in ("", "a/b"):
        with pytest.raises(ApiValueError, match="call_id"):
            mock.incoming_call(bad)


def test_sip_flow_end_to_end_with_a_signed_webhook(mock: MockServer) -> None:
    """OpenAI's part played by the mock: the webhook arrives, is verified, the call accepted."""
    received: list[tuple[bytes, dict[str, str]]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, dict(self.headers.items())))
            event = unwrap(body, dict(self.headers.items()), secret=SECRET)
            assert isinstance(event, WebhookRealtimeCallIncoming)
            answered = post(
                mock, f"/realtime/calls/{event.data.call_id}/accept", {"type": "realtime"}
            )
            self.send_response(200 if answered.status == 200 else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/webhook"
        status, call_id = mock.send_incoming_call(url, secret=SECRET)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
    assert status == 200
    assert len(received) == 1
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= {
        k.lower() for k in received[0][1]
    }
    assert json.loads(received[0][0])["data"]["call_id"] == call_id
    assert mock.calls[call_id].accepted_with == {"type": "realtime"}


# -- transcription and translation ----------------------------------------------------------


def test_transcription_session(mock: MockServer, clock: Clock) -> None:
    response = post(mock, "/realtime/transcription_sessions", {"input_audio_format": "g711_ulaw"})
    assert response.status == 200
    body = response.json()
    assert body["object"] == "realtime.transcription_session"
    assert body["input_audio_format"] == "g711_ulaw"
    assert body["turn_detection"]["type"] == "server_vad"
    assert body["client_secret"]["value"].startswith("ek_")
    assert body["client_secret"]["expires_at"] == int(clock.now) + 60
    parsed = RealtimeTranscriptionSessionCreateResponse.from_dict(body)
    assert parsed.client_secret is not None
    assert mock.minted(body["client_secret"]["value"]) is not None
    bad = post(mock, "/realtime/transcription_sessions", {"turn_detection": {"type": "semantic"}})
    assert (bad.status, error_of(bad)["param"]) == (400, "turn_detection.type")


def test_translation_client_secret(mock: MockServer, clock: Clock) -> None:
    asked = {
        "expires_after": {"anchor": "created_at", "seconds": 120},
        "session": {"model": "gpt-realtime-translate", "audio": {"output": {"language": "es"}}},
    }
    body = post(mock, "/realtime/translations/client_secrets", asked).json()
    assert body["expires_at"] == int(clock.now) + 120
    session = body["session"]
    assert (session["type"], session["model"], session["expires_at"]) == (
        "translation",
        "gpt-realtime-translate",
        body["expires_at"],
    )
    assert session["audio"] == {
        "input": {"transcription": None, "noise_reduction": None},
        "output": {"language": "es"},
    }
    RealtimeTranslationClientSecretCreateResponse.from_dict(body)
    bad = post(mock, "/realtime/translations/client_secrets", {"session": {}})
    assert (bad.status, error_of(bad)["param"]) == (400, "session.model")


# -- bookkeeping ----------------------------------------------------------------------------


def test_history_is_bounded(mock: MockServer) -> None:
    keys = [post(mock, "/realtime/client_secrets", {}).json()["value"] for _ in range(60)]
    assert len(mock.requests) == 50
    assert mock.minted(keys[0]) is None  # the oldest keys are forgotten first
    assert mock.minted(keys[-1]) is not None


def test_history_must_be_positive() -> None:
    from openapiopenai.exceptions import ApiValueError

    with pytest.raises(ApiValueError, match="history"):
        MockServer(history=0)


def test_scripted_faults_apply_to_the_new_operations_too(mock: MockServer) -> None:
    mock.fail_next(1, status=429, retry_after=1)
    response = post(mock, "/realtime/client_secrets", {})
    assert (response.status, response.headers["Retry-After"]) == (429, "1")
    assert post(mock, "/realtime/client_secrets", {}).status == 200
