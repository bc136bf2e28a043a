"""TLS against a real handshake: the mock behind TLS with certificates from a private CA.

Verification is on by default; a CA file or PEM/DER data, a client certificate, a different
verification name, and (loudly) no verification at all are each proven on the wire.
"""

from __future__ import annotations

import ssl
import warnings

import pytest
import urllib3

from openapiopenai import ApiClient, Configuration, RealtimeApi
from openapiopenai.exceptions import ApiTLSError, ApiTransportError, OpenApiException
from openapiopenai.mock import MockServer
from test.conftest import API_KEY
from test.faults import TLSMaterial, TLSMockServer


def _api(host: str, retries: object = 0, **settings: object) -> RealtimeApi:
    configuration = Configuration(host=host, access_token=API_KEY, retries=retries, **settings)  # type: ignore[arg-type]
    return RealtimeApi(ApiClient(configuration))


def _assert_tls_error(error: BaseException) -> None:
    assert type(error) is ApiTLSError
    assert isinstance(error, OpenApiException)
    assert isinstance(error.__cause__, urllib3.exceptions.SSLError)
    assert API_KEY not in str(error)


def test_verification_is_on_by_default(https_mock: TLSMockServer) -> None:
    # Retries allowed, yet a certificate problem does not heal: one attempt only.
    with pytest.raises(ApiTransportError) as raised:
        _api(https_mock.url, retries=2).create_realtime_session({})

    _assert_tls_error(raised.value)
    assert "certificate verify failed" in str(raised.value)
    assert raised.value.attempts == 1
    assert https_mock.requests == []  # nothing, and so no key, was sent


def test_ca_file_makes_the_server_trusted(https_mock: TLSMockServer, tls: TLSMaterial) -> None:
    session = _api(https_mock.url, ssl_ca_cert=tls.ca_file).create_realtime_session(
        {"instructions": "over TLS"}
    )

    assert session.instructions == "over TLS"
    assert https_mock.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"


def test_ca_cert_data_as_pem_text(https_mock: TLSMockServer, tls: TLSMaterial) -> None:
    pem = tls.ca.cert_pem.bytes().decode()

    session = _api(https_mock.url, ca_cert_data=pem).create_realtime_session({})

    assert session.client_secret.value.startswith("ek_")


def test_ca_cert_data_as_der_bytes(https_mock: TLSMockServer, tls: TLSMaterial) -> None:
    der = ssl.PEM_cert_to_DER_cert(tls.ca.cert_pem.bytes().decode())

    session = _api(https_mock.url, ca_cert_data=der).create_realtime_session({})

    assert session.client_secret.value.startswith("ek_")


def test_certificate_for_another_name_is_refused(tls: TLSMaterial) -> None:
    server = TLSMockServer(tls.server_context(cert=tls.other_name_cert))
    with server:
        with pytest.raises(ApiTransportError) as raised:
            _api(server.url, ssl_ca_cert=tls.ca_file).create_realtime_session({})
        assert server.requests == []

    _assert_tls_error(raised.value)
    assert "mismatch" in str(raised.value)


def test_tls_server_name_sets_sni_and_the_name_verified(tls: TLSMaterial) -> None:
    names: list[str | None] = []
    context = tls.server_context(cert=tls.other_name_cert)
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc]
    server = TLSMockServer(context)
    with server:
        session = _api(
            server.url, ssl_ca_cert=tls.ca_file, tls_server_name=TLSMaterial.OTHER_NAME
        ).create_realtime_session({})

    assert session.client_secret.value.startswith("ek_")
    assert names == [TLSMaterial.OTHER_NAME]
    assert server.requests[0].headers["Host"].startswith("127.0.0.1:")


def test_mutual_tls_without_client_certificate_fails(tls: TLSMaterial) -> None:
    server = TLSMockServer(tls.server_context(require_client_cert=True))
    with server, pytest.raises(ApiTransportError) as raised:
        _api(server.url, ssl_ca_cert=tls.ca_file).create_realtime_session({})

    _assert_tls_error(raised.value)
    assert server.requests == []


def test_mutual_tls_with_client_certificate(tls: TLSMaterial) -> None:
    server = TLSMockServer(tls.server_context(require_client_cert=True))
    with server:
        session = _api(
            server.url,
            ssl_ca_cert=tls.ca_file,
            cert_file=tls.client_cert_file,
            key_file=tls.client_key_file,
        ).create_realtime_session({})

    assert session.client_secret.value.startswith("ek_")
    assert len(server.requests) == 1


def test_verify_ssl_false_connects_and_warns(https_mock: TLSMockServer) -> None:
    with pytest.warns(urllib3.exceptions.SecurityWarning) as caught:
        session = _api(https_mock.url, verify_ssl=False).create_realtime_session({})

    assert session.client_secret.value.startswith("ek_")
    messages = [str(warning.message) for warning in caught]
    assert any("verify_ssl=False" in message for message in messages)
    assert all(API_KEY not in message for message in messages)


def test_verify_ssl_false_warns_once_not_per_pool(https_mock: TLSMockServer) -> None:
    with pytest.warns(urllib3.exceptions.SecurityWarning):
        api = _api(https_mock.url, verify_ssl=False)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.create_realtime_session({})
        api.api_client.configuration.connection_pool_maxsize = 3  # a new pool
        api.create_realtime_session({})

    assert len(https_mock.requests) == 2
    # urllib3's own InsecureRequestWarning per request is not ours to silence.
    assert [w for w in caught if "verify_ssl=False" in str(w.message)] == []


def test_verification_stays_on_when_only_warnings_are_silenced(
    https_mock: TLSMockServer,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ApiTLSError):
            _api(https_mock.url).create_realtime_session({})


def test_changing_tls_settings_rebuilds_the_pool(
    https_mock: TLSMockServer, tls: TLSMaterial
) -> None:
    configuration = Configuration(host=https_mock.url, access_token=API_KEY, retries=0)
    api = RealtimeApi(ApiClient(configuration))
    with pytest.raises(ApiTLSError):
        api.create_realtime_session({})

    configuration.ssl_ca_cert = tls.ca_file

    assert api.create_realtime_session({}).client_secret.value.startswith("ek_")


def test_https_to_a_plain_http_server_is_a_tls_error(openai_mock: MockServer) -> None:
    host = openai_mock.url.replace("http://", "https://", 1)

    with pytest.raises(ApiTransportError) as raised:
        _api(host).create_realtime_session({})

    _assert_tls_error(raised.value)
