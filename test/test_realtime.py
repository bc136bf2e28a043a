"""Realtime conversations over WebSocket, against real ``websockets`` servers on 127.0.0.1.

Each test scripts the server's side of the protocol (test/realtime_server.py) and checks what
the SDK sends, receives, raises and hides.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3.exceptions import SecurityWarning
from urllib3.util.retry import Retry

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.exceptions import (
    ApiConnectionError,
    ApiException,
    ApiProxyError,
    ApiTimeoutError,
    ApiTLSError,
    ApiTypeError,
    ApiValidationError,
    ApiValueError,
    RealtimeConnectionClosedError,
    ServiceException,
    UnauthorizedException,
)
from openapiopenai.models import (
    RealtimeClientEventResponseCreate,
    RealtimeServerEvent,
    RealtimeServerEventError,
    RealtimeServerEventResponseAudioDelta,
    RealtimeServerEventSessionCreated,
)
from openapiopenai.realtime import RealtimeConnection, UnknownServerEvent
from openapiopenai.realtime._protocol import ServerEvents, event_classes
from test.conftest import API_KEY
from test.faults import ForwardProxy, SlowProxy, TLSMaterial, blackhole_listener, unused_port
from test.realtime_server import (
    WAIT,
    Peer,
    Refusal,
    ScriptedServer,
    SilentServer,
    session_created,
)

EPHEMERAL_KEY = "ek_68af1e9e2f3c8191abcdefabcdef0123"


def _api(host: str, **settings: Any) -> RealtimeApi:
    settings.setdefault("retries", 0)
    return RealtimeApi(ApiClient(Configuration(host=host, access_token=API_KEY, **settings)))


def _greet_then(*events: dict[str, Any], close: int | None = 1000) -> Any:
    """A script: ``session.created``, then ``events``, then a close with ``close``."""

    def script(peer: Peer) -> None:
        peer.send(session_created())
        for event in events:
            peer.send(event)
        if close is not None:
            peer.close(close, "done" if close != 1000 else "")

    return script


@pytest.fixture
def echo_server() -> Iterator[ScriptedServer]:
    """Greets, then answers each client event with an unknown ``test.echo`` event naming it."""

    def script(peer: Peer) -> None:
        peer.send(session_created())
        while True:
            event = peer.recv()
            peer.send({"type": "test.echo", "event_id": "e", "of": event["event_id"]})

    with ScriptedServer(script) as server:
        yield server


# -- the handshake -----------------------------------------------------------------------------


def test_url_headers_and_first_event() -> None:
    with ScriptedServer(_greet_then()) as server:
        api = _api(server.url, organization="org-1", project="proj_1")
        with api.connect(model="gpt-realtime 2/x") as conn:
            first = conn.recv()

    assert isinstance(first, RealtimeServerEventSessionCreated)
    path, headers = server.requests[0]
    assert path == "/v1/realtime?model=gpt-realtime%202%2Fx"
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["OpenAI-Organization"] == "org-1"
    assert headers["OpenAI-Project"] == "proj_1"
    assert headers["User-Agent"].startswith("openapiopenai/")
    assert "OpenAI-Beta" not in headers


def test_sideband_transcription_and_translation_urls() -> None:
    with ScriptedServer(_greet_then()) as server:
        api = _api(server.url)
        with api.connect(call_id="rtc_abc"):
            pass
        with api.connect(intent="transcription"):
            pass
        with api.connect_translation(model="gpt-realtime-translate") as translation:
            assert translation.url.endswith(
                "/v1/realtime/translations?model=gpt-realtime-translate"
            )

    assert [path for path, _ in server.requests] == [
        "/v1/realtime?call_id=rtc_abc",
        "/v1/realtime?intent=transcription",
        "/v1/realtime/translations?model=gpt-realtime-translate",
    ]


def test_model_with_call_id_is_refused_before_any_io() -> None:
    with pytest.raises(ApiValueError, match="model and call_id"):
        _api(f"http://127.0.0.1:{unused_port()}/v1").connect(model="gpt-realtime", call_id="rtc_1")


def test_beta_header_and_unknown_options_are_refused() -> None:
    api = _api(f"http://127.0.0.1:{unused_port()}/v1")
    with pytest.raises(ApiValueError, match="OpenAI-Beta"):
        api.connect(model="m", _headers={"OpenAI-Beta": "realtime=v1"})
    with pytest.raises(ApiTypeError, match="max_size"):
        api.connect(model="m", max_size=5)  # type: ignore[call-arg]
    with pytest.raises(ApiValueError, match="receive_timeout"):
        api.connect(model="m", receive_timeout=-1)


def test_ephemeral_key_replaces_the_api_key() -> None:
    with (
        ScriptedServer(_greet_then()) as server,
        _api(server.url).connect(model="m", _request_auth=EPHEMERAL_KEY),
    ):
        pass

    assert server.requests[0][1]["Authorization"] == f"Bearer {EPHEMERAL_KEY}"


def test_refused_handshake_raises_the_http_exception_without_the_key() -> None:
    body = {
        "error": {
            "message": f"Incorrect API key provided: {EPHEMERAL_KEY}",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
            "param": None,
        }
    }
    refusal = Refusal(401, body, {"x-request-id": "req_123"})
    with (
        ScriptedServer(_greet_then(), refusals=[refusal]) as server,
        pytest.raises(UnauthorizedException) as raised,
    ):
        _api(server.url, retries=3).connect(model="m", _request_auth=EPHEMERAL_KEY)

    error = raised.value
    assert (error.status, error.request_id, error.code) == (401, "req_123", "invalid_api_key")
    assert len(server.requests) == 1  # a 401 is not retried
    assert error.__cause__ is None and error.__context__ is None
    for text in (str(error), repr(error), error.message or ""):
        assert EPHEMERAL_KEY not in text
        assert API_KEY not in text


def _redirect(location: str) -> Refusal:
    """A redirect whose body echoes the key, as a careless server's might."""
    return Refusal(302, {"echo": f"you sent {API_KEY}"}, {"Location": location})


def _assert_redirect_refused(raised: pytest.ExceptionInfo[ApiException], requests: int) -> None:
    error = raised.value
    assert (error.status, error.attempts, requests) == (302, 1, 1)
    assert "Redirect not followed" in str(error)
    # Nothing in the chain holds the answer (or the key it echoed).
    assert error.__cause__ is None and error.__context__ is None
    assert API_KEY not in str(error) and API_KEY not in repr(error)


def test_a_redirect_of_the_upgrade_is_never_followed() -> None:
    with (
        ScriptedServer(_greet_then(), refusals=[_redirect("/v1/elsewhere")]) as server,
        pytest.raises(ApiException) as raised,
    ):
        _api(server.url, retries=3).connect(model="m")

    _assert_redirect_refused(raised, len(server.requests))


def test_a_redirect_through_a_proxy_is_an_api_exception() -> None:
    with (
        ScriptedServer(_greet_then(), refusals=[_redirect("/v1/elsewhere")]) as server,
        ForwardProxy() as proxy,
        pytest.raises(ApiException) as raised,
    ):
        _api(server.url, proxy=proxy.url, retries=3).connect(model="m")

    _assert_redirect_refused(raised, len(server.requests))


def test_a_redirect_from_wss_to_ws_is_an_api_exception(tls: TLSMaterial) -> None:
    with (
        ScriptedServer(
            _greet_then(),
            refusals=[_redirect("ws://127.0.0.1:9/v1")],
            ssl_context=tls.server_context(),
        ) as server,
        pytest.raises(ApiException) as raised,
    ):
        _api(server.url, ssl_ca_cert=tls.ca_file, retries=3).connect(model="m")

    _assert_redirect_refused(raised, len(server.requests))


def test_429_and_503_are_retried_honouring_retry_after() -> None:
    refusals = [
        Refusal(429, headers={"Retry-After": "0"}),
        Refusal(503, headers={"retry-after-ms": "1"}),
    ]
    with (
        ScriptedServer(_greet_then(), refusals=refusals) as server,
        _api(server.url, retries=2).connect(model="m") as conn,
    ):
        assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)

    assert len(server.requests) == 3


def test_a_plain_urllib3_retry_retries_only_what_it_names() -> None:
    # As on the HTTP side: urllib3 retries a status only if status_forcelist names it.
    policy = Retry(total=3, status_forcelist=[503], backoff_factor=0)
    refusals = [Refusal(503), Refusal(401), Refusal(401)]
    with (
        ScriptedServer(_greet_then(), refusals=refusals) as server,
        pytest.raises(UnauthorizedException) as raised,
    ):
        _api(server.url, retries=policy).connect(model="m")

    assert raised.value.attempts == 2
    assert len(server.requests) == 2


def test_retries_run_out() -> None:
    with (
        ScriptedServer(_greet_then(), refusals=[Refusal(500)] * 3) as server,
        pytest.raises(ServiceException) as raised,
    ):
        _api(server.url, retries=1).connect(model="m")

    assert raised.value.attempts == 2
    assert len(server.requests) == 2


def test_a_refused_connection_is_retried_then_reported() -> None:
    api = _api(f"http://127.0.0.1:{unused_port()}/v1", retries=2)
    with pytest.raises(ApiConnectionError) as raised:
        api.connect(model="m")

    assert raised.value.attempts == 3
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)


def test_no_key_is_refused_before_any_io() -> None:
    api = RealtimeApi(
        ApiClient(Configuration(host="http://127.0.0.1:9/v1", ignore_environment=True))
    )
    with pytest.raises(ApiValueError, match="No API key"):
        api.connect(model="m")


# -- TLS and proxies ---------------------------------------------------------------------------


def test_tls_with_the_configured_ca(tls: TLSMaterial) -> None:
    with ScriptedServer(_greet_then(), ssl_context=tls.server_context()) as server:
        assert server.url.startswith("https://")
        with _api(server.url, ssl_ca_cert=tls.ca_file).connect(model="m") as conn:
            assert conn.url.startswith("wss://")
            assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)


def test_tls_refuses_an_untrusted_certificate_without_retrying(tls: TLSMaterial) -> None:
    with (
        ScriptedServer(_greet_then(), ssl_context=tls.server_context()) as server,
        pytest.raises(ApiTLSError) as raised,
    ):
        _api(server.url, retries=2).connect(model="m")

    assert raised.value.attempts == 1


def test_through_a_proxy_tunnel() -> None:
    with (
        ScriptedServer(_greet_then()) as server,
        ForwardProxy() as proxy,
        _api(server.url, proxy=proxy.url).connect(model="m") as conn,
    ):
        assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)

    assert [(seen.method, seen.target) for seen in proxy.seen] == [
        ("CONNECT", f"127.0.0.1:{server.port}")
    ]
    assert "Authorization" not in proxy.seen[0].headers
    assert proxy.tunnels == 1


def test_no_proxy_skips_the_proxy() -> None:
    with (
        ScriptedServer(_greet_then()) as server,
        ForwardProxy() as proxy,
        _api(server.url, proxy=proxy.url, no_proxy="127.0.0.1").connect(model="m"),
    ):
        pass

    assert proxy.seen == []


def test_tls_with_a_client_certificate_and_the_ca_as_data(tls: TLSMaterial) -> None:
    context = tls.server_context(require_client_cert=True)
    with ScriptedServer(_greet_then(), ssl_context=context) as server:
        api = _api(
            server.url,
            ca_cert_data=Path(tls.ca_file).read_text(),
            cert_file=tls.client_cert_file,
            key_file=tls.client_key_file,
        )
        with api.connect(model="m") as conn:
            assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)


def test_tls_without_verification_connects_and_warns(tls: TLSMaterial) -> None:
    with ScriptedServer(_greet_then(), ssl_context=tls.server_context()) as server:
        with pytest.warns(SecurityWarning):
            api = _api(server.url, verify_ssl=False)
        with api.connect(model="m") as conn:
            assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)


def test_tls_server_name_is_checked_against_the_certificate(tls: TLSMaterial) -> None:
    context = tls.server_context(cert=tls.other_name_cert)
    with ScriptedServer(_greet_then(), ssl_context=context) as server:
        named = _api(server.url, ssl_ca_cert=tls.ca_file, tls_server_name=tls.OTHER_NAME)
        with named.connect(model="m") as conn:
            assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)
        with pytest.raises(ApiTLSError):
            _api(server.url, ssl_ca_cert=tls.ca_file).connect(model="m")


def test_a_proxy_that_wants_credentials() -> None:
    with ScriptedServer(_greet_then()) as server, ForwardProxy(credentials=("u", "p w")) as proxy:
        with pytest.raises(ApiProxyError):
            _api(server.url, proxy=proxy.url).connect(model="m")
        with_credentials = f"http://u:p%20w@127.0.0.1:{proxy.port}"
        with _api(server.url, proxy=with_credentials).connect(model="m") as conn:
            assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)

    assert proxy.seen[-1].headers["Proxy-Authorization"] == proxy.expected_auth
    assert len(proxy.seen) == 2  # a refusal with a status is not retried


def test_proxy_headers_reach_the_proxy_and_not_the_server() -> None:
    with ScriptedServer(_greet_then()) as server, ForwardProxy() as proxy:
        api = _api(server.url, proxy=proxy.url, proxy_headers={"X-Proxy-Team": "voice"})
        with api.connect(model="m") as conn:
            assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)

    assert proxy.seen[0].headers["X-Proxy-Team"] == "voice"
    assert "X-Proxy-Team" not in server.requests[0][1]


def test_an_unreachable_proxy_is_a_proxy_error() -> None:
    api = _api("http://127.0.0.1:9/v1", proxy=f"http://127.0.0.1:{unused_port()}", retries=1)
    with pytest.raises(ApiProxyError) as raised:
        api.connect(model="m")

    assert raised.value.attempts == 2


def test_tls_through_a_proxy_tunnel(tls: TLSMaterial) -> None:
    with (
        ScriptedServer(_greet_then(), ssl_context=tls.server_context()) as server,
        ForwardProxy() as proxy,
    ):
        api = _api(server.url, proxy=proxy.url, ssl_ca_cert=tls.ca_file)
        with api.connect(model="m") as conn:
            assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)

    assert [(seen.method, seen.target) for seen in proxy.seen] == [
        ("CONNECT", f"localhost:{server.port}")
    ]
    assert "Authorization" not in proxy.seen[0].headers


def test_an_https_proxy_for_wss_is_refused_before_any_io(tls: TLSMaterial) -> None:
    with (
        ScriptedServer(_greet_then(), ssl_context=tls.server_context()) as server,
        ForwardProxy() as proxy,
        pytest.raises(ApiValueError) as raised,
    ):
        api = _api(server.url, proxy=f"https://127.0.0.1:{proxy.port}", ssl_ca_cert=tls.ca_file)
        api.connect(model="m")

    assert raised.value.path_to_item == ["proxy"]
    assert "https:// proxy" in str(raised.value) and "http://" in str(raised.value)
    assert proxy.connections == 0
    assert server.requests == []


def test_the_upgrade_gets_only_what_the_tunnel_left_of_the_deadline() -> None:
    # The tunnel takes 0.6 s and the upgrade's answer 0.6 s more: each fits in the deadline of
    # 1 s, both together do not.
    with (
        ScriptedServer(_greet_then()) as server,
        SlowProxy(answer_after=0.6, relay_after=0.6) as proxy,
        pytest.raises(ApiTimeoutError) as raised,
    ):
        _api(server.url, proxy=proxy.url, deadline=1.0).connect(model="m")

    assert "deadline of 1 s" in str(raised.value)
    assert proxy.tunnels == 1


def test_a_proxy_answering_a_byte_at_a_time_is_held_to_the_deadline() -> None:
    # About 4 s for the whole answer, each byte well within the deadline of 1 s.
    with (
        ScriptedServer(_greet_then()) as server,
        SlowProxy(byte_gap=0.1) as proxy,
        pytest.raises(ApiTimeoutError) as raised,
    ):
        _api(server.url, proxy=proxy.url, deadline=1.0).connect(model="m")

    assert "deadline of 1 s" in str(raised.value)
    assert server.requests == []


def test_a_connect_timeout_is_an_api_timeout_error() -> None:
    with blackhole_listener() as port:
        api = _api(f"http://127.0.0.1:{port}/v1", timeout=(0.2, 5))
        with pytest.raises(ApiTimeoutError) as raised:
            api.connect(model="m")

    assert raised.value.attempts == 1


# -- receiving ---------------------------------------------------------------------------------


def test_unknown_event_types_keep_everything() -> None:
    novel = {"type": "brand.new.event", "event_id": "event_9", "payload": {"a": [1, 2]}}
    nested_first = {"item": {"type": "message"}, "type": "other.new", "event_id": "event_10"}
    with (
        ScriptedServer(_greet_then(novel, nested_first, close=1000)) as server,
        _api(server.url).connect(model="m") as conn,
    ):
        events = list(conn)

    assert [type(event) for event in events] == [
        RealtimeServerEventSessionCreated,
        UnknownServerEvent,
        UnknownServerEvent,
    ]
    assert events[1].type == "brand.new.event"
    assert events[1].to_dict() == novel
    assert events[2].to_dict() == nested_first


def test_a_known_type_with_a_broken_body_never_raises() -> None:
    broken = {"type": "response.output_audio.delta", "event_id": "e", "delta": 5}
    garbage = "not json {"
    with (
        ScriptedServer(lambda peer: (peer.send(broken), peer.send_text(garbage))) as server,
        _api(server.url).connect(model="m") as conn,
    ):
        first, second = conn.recv(), conn.recv()

    assert isinstance(first, UnknownServerEvent)
    assert first.to_dict() == broken
    assert first.problem is not None and "delta" in first.problem
    assert isinstance(second, UnknownServerEvent)
    assert second.to_dict() == {"type": "", "raw": garbage}


def test_an_event_id_that_is_not_text_never_raises() -> None:
    unknown = {"type": "brand.new.event", "event_id": 123}
    known = {"type": "error", "event_id": [1], "error": {"type": "server_error"}}
    with (
        ScriptedServer(lambda peer: (peer.send(unknown), peer.send(known))) as server,
        _api(server.url).connect(model="m") as conn,
    ):
        first, second = conn.recv(), conn.recv()

    assert isinstance(first, UnknownServerEvent)
    assert first.to_dict() == unknown
    assert first.problem is not None and "event_id" in first.problem
    assert isinstance(second, UnknownServerEvent)
    assert second.to_dict() == known
    assert second.problem is not None and "event_id" in second.problem


def test_audio_deltas_give_their_bytes() -> None:
    pcm = bytes(range(256)) * 10
    delta = {
        "type": "response.output_audio.delta",
        "event_id": "event_2",
        "response_id": "resp_1",
        "item_id": "item_1",
        "output_index": 0,
        "content_index": 0,
        "delta": base64.b64encode(pcm).decode(),
    }
    with ScriptedServer(_greet_then(delta)) as server, _api(server.url).connect(model="m") as conn:
        conn.recv()
        event = conn.recv()

    assert isinstance(event, RealtimeServerEventResponseAudioDelta)
    assert event.delta_bytes == pcm


def test_error_events_lead_back_to_the_event_that_caused_them() -> None:
    def script(peer: Peer) -> None:
        peer.send(session_created())
        cause = peer.recv()
        peer.send(
            {
                "type": "error",
                "event_id": "event_5",
                "error": {
                    "type": "invalid_request_error",
                    "code": "conversation_already_has_active_response",
                    "message": "Conversation already has an active response",
                    "param": None,
                    "event_id": cause["event_id"],
                },
            }
        )
        peer.recv()  # until the client closes

    with ScriptedServer(script) as server, _api(server.url).connect(model="m") as conn:
        assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)
        sent_id = conn.response.create()
        error = conn.recv()
        assert isinstance(error, RealtimeServerEventError)
        cause = conn.sent_event(error.error.event_id)

    assert error.error.event_id == sent_id
    assert isinstance(cause, RealtimeClientEventResponseCreate)
    assert server.received == [{"type": "response.create", "event_id": sent_id}]


def test_receive_timeout_leaves_the_connection_open() -> None:
    release = threading.Event()

    def script(peer: Peer) -> None:
        release.wait(10)
        peer.send(session_created())
        peer.recv()

    with (
        ScriptedServer(script) as server,
        _api(server.url).connect(model="m", receive_timeout=0.05) as conn,
    ):
        with pytest.raises(ApiTimeoutError):
            conn.recv()
        release.set()
        assert isinstance(conn.recv(timeout=None), RealtimeServerEventSessionCreated)


def test_a_16_mib_message_each_way_by_default() -> None:
    audio = base64.b64encode(b"\x01\x02" * (6 * 1024 * 1024)).decode()  # 16 MiB of text
    sizes: list[int] = []

    def script(peer: Peer) -> None:
        event = peer.recv()
        sizes.append(len(event["audio"]))
        peer.send(
            {
                "type": "conversation.item.retrieved",
                "event_id": "event_3",
                "item": {
                    "type": "message",
                    "role": "assistant",
                    "id": "item_1",
                    "content": [{"type": "output_audio", "audio": event["audio"]}],
                },
            }
        )
        peer.close()

    with ScriptedServer(script) as server, _api(server.url).connect(model="m") as conn:
        conn.input_audio_buffer.append(audio)
        (retrieved,) = list(conn)

    assert sizes == [len(audio)] and len(audio) >= 16 * 1024 * 1024
    assert retrieved.to_dict()["item"]["content"][0]["audio"] == audio


def test_the_message_limit_is_a_setting() -> None:
    big = {"type": "test.big", "event_id": "e", "pad": "x" * 5000}
    with (
        ScriptedServer(_greet_then(big)) as server,
        _api(server.url).connect(model="m", max_message_bytes=1000) as conn,
    ):
        conn.recv()
        with pytest.raises(RealtimeConnectionClosedError) as raised:
            conn.recv()

    assert raised.value.code == 1009


# -- closing -----------------------------------------------------------------------------------


def test_iteration_ends_quietly_on_a_normal_close() -> None:
    with (
        ScriptedServer(_greet_then(close=1000)) as server,
        _api(server.url).connect(model="m") as conn,
    ):
        events = list(conn)

    assert len(events) == 1


@pytest.mark.parametrize("code", [1001, 1011, 4000])
def test_iteration_raises_on_any_other_close(code: int) -> None:
    with (
        ScriptedServer(_greet_then(close=code)) as server,
        _api(server.url).connect(model="m") as conn,
    ):
        received = []
        with pytest.raises(RealtimeConnectionClosedError) as raised:
            for event in conn:
                received.append(event)

    assert (raised.value.code, raised.value.reason) == (code, "done")
    assert len(received) == 1


def test_a_drop_without_a_close_frame_raises_1006() -> None:
    with (
        ScriptedServer(lambda peer: (peer.send(session_created()), peer.drop())) as server,
        _api(server.url).connect(model="m") as conn,
    ):
        with pytest.raises(RealtimeConnectionClosedError) as raised:
            list(conn)
        with pytest.raises(RealtimeConnectionClosedError):
            conn.response.create()

    assert raised.value.code == 1006
    assert "without a close frame" in str(raised.value)


def test_close_returns_when_the_server_never_answers() -> None:
    with SilentServer(session_created()) as server:
        conn = _api(server.url).connect(model="m")
        assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)
        closer = threading.Thread(target=conn.close)
        closer.start()
        closer.join(10)  # a bound, not a measurement: the default close_timeout is 1 s
        assert not closer.is_alive()
        assert conn.close_code is not None
        assert list(conn) == []  # closed by us: iteration just ends


# -- sending -----------------------------------------------------------------------------------


def test_helpers_send_exactly_what_was_set(echo_server: ScriptedServer) -> None:
    with _api(echo_server.url).connect(model="m") as conn:
        conn.recv()
        ids = [
            conn.session.update({"type": "realtime", "instructions": "Be brief."}),
            conn.response.create(),
            conn.response.create({"output_modalities": ["text"]}, event_id="mine"),
            conn.response.cancel(),
            conn.conversation.item.create(
                {"type": "function_call_output", "call_id": "call_1", "output": "{}"},
                previous_item_id="item_0",
            ),
            conn.conversation.item.delete("item_1"),
            conn.conversation.item.retrieve("item_2"),
            conn.conversation.item.truncate("item_3", 0, 1500),
            conn.input_audio_buffer.append(b"\x00\x01\x02"),
            conn.input_audio_buffer.append("AAEC"),
            conn.input_audio_buffer.commit(),
            conn.input_audio_buffer.clear(),
            conn.output_audio_buffer.clear(),
        ]
        echoes = [conn.recv().to_dict()["of"] for _ in ids]

    assert echoes == ids
    assert ids[2] == "mine"
    without_ids = [{k: v for k, v in e.items() if k != "event_id"} for e in echo_server.received]
    assert without_ids == [
        {"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief."}},
        {"type": "response.create"},
        {"type": "response.create", "response": {"output_modalities": ["text"]}},
        {"type": "response.cancel"},
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "call_1", "output": "{}"},
            "previous_item_id": "item_0",
        },
        {"type": "conversation.item.delete", "item_id": "item_1"},
        {"type": "conversation.item.retrieve", "item_id": "item_2"},
        {
            "type": "conversation.item.truncate",
            "item_id": "item_3",
            "content_index": 0,
            "audio_end_ms": 1500,
        },
        {"type": "input_audio_buffer.append", "audio": "AAEC"},
        {"type": "input_audio_buffer.append", "audio": "AAEC"},
        {"type": "input_audio_buffer.commit"},
        {"type": "input_audio_buffer.clear"},
        {"type": "output_audio_buffer.clear"},
    ]
    assert len(set(ids)) == len(ids)


def test_send_takes_models_and_dicts(echo_server: ScriptedServer) -> None:
    with _api(echo_server.url).connect(model="m") as conn:
        conn.recv()
        model_id = conn.send(RealtimeClientEventResponseCreate())
        dict_id = conn.send({"type": "response.cancel", "response_id": "resp_1"})
        assert [conn.recv().to_dict()["of"] for _ in range(2)] == [model_id, dict_id]


def test_invalid_events_are_refused_with_a_dotted_path_and_never_sent(
    echo_server: ScriptedServer,
) -> None:
    with _api(echo_server.url).connect(model="m") as conn:
        conn.recv()
        with pytest.raises(ApiValidationError) as raised:
            conn.session.update({"type": "realtime", "audio": {"output": {"speed": "fast"}}})
        with pytest.raises(ApiValueError, match="type must be one of"):
            conn.send({"type": "response.craete"})
        with pytest.raises(ApiValidationError, match="item_id"):
            conn.send({"type": "conversation.item.delete"})
        with pytest.raises(ApiValueError, match="base64"):
            conn.input_audio_buffer.append("not base64!")
        with pytest.raises(ApiTypeError, match="audio"):
            conn.input_audio_buffer.append(123)  # type: ignore[arg-type]
        last = conn.response.create()
        assert conn.recv().to_dict()["of"] == last

    assert "session.audio.output.speed" in str(raised.value)
    assert [event["type"] for event in echo_server.received] == ["response.create"]


def test_one_thread_sends_while_another_receives(echo_server: ScriptedServer) -> None:
    chunk = b"\x00\x10" * 480  # 20 ms of 24 kHz PCM16
    count = 200
    sent: list[str] = []
    with _api(echo_server.url).connect(model="m", receive_timeout=10) as conn:
        conn.recv()

        def capture() -> None:
            for _ in range(count):
                sent.append(conn.input_audio_buffer.append(chunk))

        sender = threading.Thread(target=capture)
        sender.start()
        echoed = [conn.recv().to_dict()["of"] for _ in range(count)]
        sender.join(10)

    assert echoed == sent
    assert len(echo_server.received) == count
    assert all(base64.b64decode(event["audio"]) == chunk for event in echo_server.received)


def test_looking_up_a_sent_event_while_another_thread_sends() -> None:
    def discard(peer: Peer) -> None:
        peer.send(session_created())
        while True:
            peer.connection.recv(WAIT)

    failures: list[BaseException] = []
    sending = threading.Event()
    sending.set()
    switch_interval = sys.getswitchinterval()
    # Threads take turns often, so that a lookup is interrupted by appends many times over.
    sys.setswitchinterval(1e-6)
    try:
        with ScriptedServer(discard) as server, _api(server.url).connect(model="m") as conn:
            conn.recv()

            def look_up() -> None:
                try:
                    while sending.is_set():
                        conn.sent_event("never sent")
                except BaseException as failure:  # recorded: the test fails on it below
                    failures.append(failure)

            reader = threading.Thread(target=look_up)
            reader.start()
            for _ in range(3000):
                conn.input_audio_buffer.append(b"\x00\x10" * 8)
                if failures:
                    break
            sending.clear()
            reader.join(WAIT)
    finally:
        sys.setswitchinterval(switch_interval)

    assert failures == []


def test_close_from_another_thread_ends_iteration_quietly(echo_server: ScriptedServer) -> None:
    seen: list[str] = []
    outcome: list[object] = []
    conn = _api(echo_server.url).connect(model="m")

    def read() -> None:
        try:
            for event in conn:
                seen.append(event.type)
            outcome.append("ended")
        except Exception as failure:  # recorded: the test fails on it below
            outcome.append(failure)

    reader = threading.Thread(target=read)
    reader.start()
    conn.response.create()  # answered with an echo
    deadline = time.monotonic() + WAIT
    while len(seen) < 2 and time.monotonic() < deadline:  # the reader took events: close now
        threading.Event().wait(0.01)
    conn.close()
    reader.join(10)

    assert not reader.is_alive()
    assert len(seen) >= 2 and outcome == ["ended"]


def test_translation_helpers(echo_server: ScriptedServer) -> None:
    with _api(echo_server.url).connect_translation(model="gpt-realtime-translate") as conn:
        conn.recv()
        ids = [
            conn.session.update({"audio": {"output": {"language": "fr"}}}),
            conn.input_audio_buffer.append(b"\x00\x00"),
            conn.session.close(),
        ]
        assert [conn.recv().to_dict()["of"] for _ in ids] == ids

    assert [event["type"] for event in echo_server.received] == [
        "session.update",
        "session.input_audio_buffer.append",
        "session.close",
    ]


# -- secrets -----------------------------------------------------------------------------------


def test_secrets_never_show(echo_server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="openapiopenai")
    with _api(echo_server.url, debug=True).connect(model="m", _request_auth=EPHEMERAL_KEY) as conn:
        shown = [repr(conn), str(conn), conn.url]
        conn.recv()
        conn.response.create()
        conn.recv()
    shown.append(caplog.text)

    for text in shown:
        assert EPHEMERAL_KEY not in text
        assert API_KEY not in text


def test_the_websocket_log_masks_the_key(
    echo_server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")  # everything, websockets' own handshake lines included
    with _api(echo_server.url).connect(model="m", _request_auth=EPHEMERAL_KEY) as conn:
        conn.recv()

    handshake = [
        r
        for r in caplog.records
        if r.getMessage().startswith("> Authorization") and r.name != "websockets.server"
    ]
    assert [r.name for r in handshake] == ["openapiopenai.websocket"]
    assert handshake[0].getMessage() == "> Authorization"  # the header's name, not its value
    # The test server (websockets.server) logs what it received; the client side never does.
    client_side = [r.getMessage() for r in caplog.records if r.name != "websockets.server"]
    assert any(EPHEMERAL_KEY in r.getMessage() for r in caplog.records)  # the server saw it
    assert not [line for line in client_side if EPHEMERAL_KEY in line or API_KEY in line]


def test_repr_says_where_and_whether_open(echo_server: ScriptedServer) -> None:
    conn: RealtimeConnection = _api(echo_server.url).connect(model="m")
    assert repr(conn) == f"RealtimeConnection(url={conn.url!r}, open)"
    conn.close()
    assert repr(conn).endswith("closed)")


# -- settings, deadline, packaging -------------------------------------------------------------


def test_an_unanswered_keepalive_ping_ends_the_connection_with_1011() -> None:
    with SilentServer(session_created()) as server:
        conn = _api(server.url).connect(model="m", ping_interval=0.05, ping_timeout=0.05)
        try:
            assert isinstance(conn.recv(), RealtimeServerEventSessionCreated)
            with pytest.raises(RealtimeConnectionClosedError) as raised:
                conn.recv(timeout=10)
        finally:
            conn.close()

    assert raised.value.code == 1011
    assert "keepalive" in raised.value.reason


def test_a_retry_after_beyond_the_deadline_is_not_waited_for() -> None:
    refusals = [Refusal(503, headers={"Retry-After": "30"})]
    with (
        ScriptedServer(_greet_then(), refusals=refusals) as server,
        pytest.raises(ServiceException) as raised,
    ):
        _api(server.url, retries=3, deadline=5).connect(model="m")

    assert raised.value.attempts == 1
    assert len(server.requests) == 1


def test_the_sent_event_of_an_append_is_its_model_without_audio(
    echo_server: ScriptedServer,
) -> None:
    with _api(echo_server.url).connect(model="m") as conn:
        conn.recv()
        event_id = conn.input_audio_buffer.append(b"\x01\x02\x03", event_id='my "id"')
        conn.recv()
        sent = conn.sent_event(event_id)

    assert event_id == 'my "id"'
    assert echo_server.received[0]["event_id"] == 'my "id"'
    assert sent is not None
    assert sent.to_dict() == {
        "type": "input_audio_buffer.append",
        "event_id": 'my "id"',
        "audio": "",
    }
    assert conn.sent_event("never sent") is None


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_importing_the_sdk_builds_no_event_and_loads_no_websockets() -> None:
    completed = _python(
        "import sys, openapiopenai\n"
        "loaded = [m for m in sys.modules if 'websockets' in m or 'realtime_server_event' in m"
        " or m.startswith('openapiopenai.realtime')]\n"
        "print(loaded)"
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_without_the_extra_connect_names_it() -> None:
    completed = _python(
        "import sys; sys.modules['websockets'] = None\n"
        "from openapiopenai import ApiClient, Configuration, RealtimeApi\n"
        "from openapiopenai.exceptions import MissingDependencyError\n"
        "configuration = Configuration(access_token='sk-x', ignore_environment=True)\n"
        "api = RealtimeApi(ApiClient(configuration))\n"
        "try:\n"
        "    api.connect(model='gpt-realtime')\n"
        "except MissingDependencyError as error:\n"
        "    print(error)\n"
    )
    assert completed.returncode == 0, completed.stderr
    assert "pip install -e '.[realtime]'" in completed.stdout


# -- the parser on anything --------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
KNOWN_TYPES = sorted(event_classes(RealtimeServerEvent))


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(KNOWN_TYPES) | st.text(max_size=20),
    body=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4),
)
def test_any_server_object_is_delivered_never_raised(kind: str, body: dict[str, Any]) -> None:
    message = {**body, "type": kind}
    event = ServerEvents(RealtimeServerEvent).parse(json.dumps(message).encode())

    assert event.type == kind
    if isinstance(event, UnknownServerEvent):
        assert event.to_dict() == message


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64))
def test_any_bytes_are_delivered_never_raised(data: bytes) -> None:
    event = ServerEvents(RealtimeServerEvent).parse(data)
    assert isinstance(event.type, str)
