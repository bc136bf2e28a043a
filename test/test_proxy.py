"""Proxies: a real forward proxy on 127.0.0.1 must see (and relay) the traffic it is given.

Plain ``http://`` hosts go through it as absolute-URI requests, ``https://`` hosts through a
CONNECT tunnel (so the proxy never sees the API key), with credentials and extra headers for
the proxy, and ``no_proxy`` to skip it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from openapiopenai import ApiClient, Configuration, RealtimeApi, RetryPolicy
from openapiopenai.exceptions import ApiException, ApiProxyError, ApiTransportError
from openapiopenai.mock import MockServer
from test.conftest import API_KEY
from test.faults import ForwardProxy, TLSMaterial, TLSMockServer, unused_port

USER, PASSWORD = "proxyuser", "s3cret pass"
#: The password percent-encoded, as it must be written inside a URL.
PASSWORD_IN_URL = "s3cret%20pass"


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as server:
        yield server


@pytest.fixture
def auth_proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy(credentials=(USER, PASSWORD)) as server:
        yield server


def _api(host: str, retries: object = 0, **settings: object) -> RealtimeApi:
    configuration = Configuration(host=host, access_token=API_KEY, retries=retries, **settings)  # type: ignore[arg-type]
    return RealtimeApi(ApiClient(configuration))


def _with_credentials(proxy: ForwardProxy) -> str:
    return f"http://{USER}:{PASSWORD_IN_URL}@127.0.0.1:{proxy.port}"


def test_http_host_goes_through_the_proxy(proxy: ForwardProxy, openai_mock: MockServer) -> None:
    session = _api(openai_mock.url, proxy=proxy.url).create_realtime_session(
        {"instructions": "via proxy"}
    )

    assert session.instructions == "via proxy"
    assert [(seen.method, seen.target) for seen in proxy.seen] == [
        ("POST", openai_mock.url + "/realtime/sessions")
    ]
    assert len(openai_mock.requests) == 1
    assert openai_mock.requests[0].json() == {"instructions": "via proxy"}


def test_https_host_goes_through_a_connect_tunnel(
    proxy: ForwardProxy, https_mock: TLSMockServer, tls: TLSMaterial
) -> None:
    session = _api(
        https_mock.url, proxy=proxy.url, ssl_ca_cert=tls.ca_file
    ).create_realtime_session({"instructions": "tunnelled"})

    assert session.instructions == "tunnelled"
    authority = https_mock.url.removeprefix("https://").removesuffix("/v1")
    assert [(seen.method, seen.target) for seen in proxy.seen] == [("CONNECT", authority)]
    assert proxy.tunnels == 1
    # Only the TLS endpoint sees the key; the proxy saw nothing but the CONNECT line.
    assert "Authorization" not in proxy.seen[0].headers
    assert https_mock.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"


def test_tunnel_still_verifies_the_server_certificate(
    proxy: ForwardProxy, https_mock: TLSMockServer
) -> None:
    with pytest.raises(ApiTransportError) as raised:
        _api(https_mock.url, proxy=proxy.url).create_realtime_session({})

    assert "certificate verify failed" in str(raised.value)
    assert proxy.tunnels == 1
    assert https_mock.requests == []


def test_proxy_headers_reach_the_proxy(proxy: ForwardProxy, openai_mock: MockServer) -> None:
    _api(
        openai_mock.url, proxy=proxy.url, proxy_headers={"X-Proxy-Tag": "team-a"}
    ).create_realtime_session({})

    assert proxy.seen[0].headers["X-Proxy-Tag"] == "team-a"


def test_proxy_headers_are_sent_on_connect(
    proxy: ForwardProxy, https_mock: TLSMockServer, tls: TLSMaterial
) -> None:
    _api(
        https_mock.url,
        proxy=proxy.url,
        ssl_ca_cert=tls.ca_file,
        proxy_headers={"X-Proxy-Tag": "team-b"},
    ).create_realtime_session({})

    assert proxy.seen[0].method == "CONNECT"
    assert proxy.seen[0].headers["X-Proxy-Tag"] == "team-b"
    assert "X-Proxy-Tag" not in https_mock.requests[0].headers


def test_credentials_in_the_proxy_url_http(
    auth_proxy: ForwardProxy, openai_mock: MockServer
) -> None:
    session = _api(openai_mock.url, proxy=_with_credentials(auth_proxy)).create_realtime_session({})

    assert session.client_secret.value.startswith("ek_")
    assert auth_proxy.seen[0].headers["Proxy-Authorization"] == auth_proxy.expected_auth
    # The proxy credentials are for the proxy only.
    assert "Proxy-Authorization" not in openai_mock.requests[0].headers


def test_credentials_in_the_proxy_url_https(
    auth_proxy: ForwardProxy, https_mock: TLSMockServer, tls: TLSMaterial
) -> None:
    api = _api(https_mock.url, proxy=_with_credentials(auth_proxy), ssl_ca_cert=tls.ca_file)

    assert api.create_realtime_session({}).client_secret.value.startswith("ek_")
    assert auth_proxy.tunnels == 1
    assert "Proxy-Authorization" not in https_mock.requests[0].headers


def test_credentials_as_proxy_headers(auth_proxy: ForwardProxy, openai_mock: MockServer) -> None:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    session = _api(
        openai_mock.url,
        proxy=auth_proxy.url,
        proxy_headers={"Proxy-Authorization": f"Basic {token}"},
    ).create_realtime_session({})

    assert session.client_secret.value.startswith("ek_")


def test_missing_credentials_on_connect_is_a_proxy_error(
    auth_proxy: ForwardProxy, https_mock: TLSMockServer, tls: TLSMaterial
) -> None:
    with pytest.raises(ApiProxyError) as raised:
        _api(https_mock.url, proxy=auth_proxy.url, ssl_ca_cert=tls.ca_file).create_realtime_session(
            {}
        )

    assert "407" in str(raised.value)
    assert raised.value.__cause__ is not None
    assert auth_proxy.tunnels == 0
    assert https_mock.requests == []


def test_missing_credentials_on_http_is_a_407_error(
    auth_proxy: ForwardProxy, openai_mock: MockServer
) -> None:
    # Forwarded requests get the proxy's own answer: a 407 response, not retried.
    with pytest.raises(ApiException) as raised:
        _api(openai_mock.url, proxy=auth_proxy.url, retries=2).create_realtime_session({})

    assert raised.value.status == 407
    assert raised.value.attempts == 1
    assert openai_mock.requests == []


def test_wrong_password_is_refused(auth_proxy: ForwardProxy, https_mock: TLSMockServer) -> None:
    proxy_url = f"http://{USER}:wrong@127.0.0.1:{auth_proxy.port}"

    with pytest.raises(ApiProxyError):
        _api(https_mock.url, proxy=proxy_url).create_realtime_session({})


def test_proxy_password_is_not_shown(auth_proxy: ForwardProxy) -> None:
    proxy_url = f"http://{USER}:{PASSWORD_IN_URL}@127.0.0.1:{unused_port()}"
    configuration = Configuration(
        host="https://api.example.test/v1", access_token=API_KEY, proxy=proxy_url, retries=0
    )

    with pytest.raises(ApiProxyError) as raised:
        RealtimeApi(ApiClient(configuration)).create_realtime_session({})

    for text in (repr(configuration), str(configuration), str(raised.value), repr(raised.value)):
        assert PASSWORD_IN_URL not in text
        assert PASSWORD not in text


def test_unreachable_proxy_is_a_proxy_error_and_retried(openai_mock: MockServer) -> None:
    retries = RetryPolicy(total=2, backoff_factor=0.01, backoff_jitter=0)
    proxy_url = f"http://127.0.0.1:{unused_port()}"

    with pytest.raises(ApiProxyError) as raised:
        _api(openai_mock.url, proxy=proxy_url, retries=retries).create_realtime_session({})

    assert raised.value.attempts == 3
    assert openai_mock.requests == []


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost, 127.0.0.1", "*"])
def test_no_proxy_bypasses_the_proxy(
    proxy: ForwardProxy, openai_mock: MockServer, no_proxy: str
) -> None:
    _api(openai_mock.url, proxy=proxy.url, no_proxy=no_proxy).create_realtime_session({})

    assert proxy.seen == []
    assert proxy.connections == 0
    assert len(openai_mock.requests) == 1


@pytest.mark.parametrize("no_proxy", ["localhost", ".example.com", "10.0.0.1"])
def test_no_proxy_for_other_hosts_keeps_the_proxy(
    proxy: ForwardProxy, openai_mock: MockServer, no_proxy: str
) -> None:
    _api(openai_mock.url, proxy=proxy.url, no_proxy=no_proxy).create_realtime_session({})

    assert len(proxy.seen) == 1
