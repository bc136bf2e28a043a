"""The public surface of the seed page, and ApiClient: lifecycle, defaults, headers, sharing."""

from __future__ import annotations

import importlib
import json
import logging
import re
import socket
import threading

import pytest

import openapiopenai
from openapiopenai.api_client import ApiClient
from openapiopenai.configuration import Configuration
from openapiopenai.exceptions import ApiTypeError, ApiValueError
from openapiopenai.mock import MockServer
from test.conftest import API_KEY, canned_session


def snake(name: str) -> str:
    """``RealtimeSessionCreateRequestGA`` -> ``realtime_session_create_request_ga``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


class TestSurface:
    def test_names_used_by_the_seed_page(self) -> None:
        from openapiopenai.models.realtime_session_create_request import (
            RealtimeSessionCreateRequest,
        )
        from openapiopenai.models.realtime_session_create_response import (
            RealtimeSessionCreateResponse,
        )
        from openapiopenai.rest import ApiException

        assert openapiopenai.RealtimeSessionCreateRequest is RealtimeSessionCreateRequest
        assert openapiopenai.RealtimeSessionCreateResponse is RealtimeSessionCreateResponse
        assert issubclass(ApiException, openapiopenai.OpenApiException)
        assert callable(openapiopenai.Configuration)
        assert callable(openapiopenai.ApiClient)
        assert callable(openapiopenai.RealtimeApi)

    @pytest.mark.parametrize(
        "module",
        [
            "openapiopenai.api",
            "openapiopenai.api.realtime_api",
            "openapiopenai.api_client",
            "openapiopenai.api_response",
            "openapiopenai.configuration",
            "openapiopenai.exceptions",
            "openapiopenai.models",
            "openapiopenai.rest",
        ],
    )
    def test_modules(self, module: str) -> None:
        assert importlib.import_module(module).__name__ == module

    def test_api_package_exports_the_api_class(self) -> None:
        from openapiopenai.api import RealtimeApi
        from openapiopenai.api.realtime_api import RealtimeApi as Same

        assert RealtimeApi is Same is openapiopenai.RealtimeApi

    def test_api_response_module(self) -> None:
        from openapiopenai.api_response import ApiResponse

        assert ApiResponse is openapiopenai.ApiResponse

    def test_every_model_in_its_snake_case_module(self) -> None:
        models = importlib.import_module("openapiopenai.models")
        classes = [
            name
            for name in models.__all__
            if name[0].isupper()
            and not name.startswith("Known")
            and not name.isupper()
            and name not in {"OpenApiModel", "RequestModel", "ResponseModel"}
        ]
        assert len(classes) >= 100  # the sessions file's 15 and the GA file's models
        for name in classes:
            module = importlib.import_module(f"openapiopenai.models.{snake(name)}")
            assert getattr(module, name) is getattr(openapiopenai, name), name

    def test_all_names_exist(self) -> None:
        for name in openapiopenai.__all__:
            assert hasattr(openapiopenai, name), name

    def test_version(self) -> None:
        assert re.fullmatch(r"\d+\.\d+\.\d+.*", openapiopenai.__version__)


class TestLifecycle:
    def test_context_manager_returns_the_client(self, configuration: Configuration) -> None:
        client = ApiClient(configuration)
        with client as entered:
            assert entered is client

    def test_usable_after_close(
        self, configuration: Configuration, openai_mock: MockServer
    ) -> None:
        with ApiClient(configuration) as client:
            openapiopenai.RealtimeApi(client).create_realtime_session({})
        openapiopenai.RealtimeApi(client).create_realtime_session({})
        client.close()
        assert len(openai_mock.requests) == 2

    def test_repr_masks_the_key(self, configuration: Configuration) -> None:
        assert API_KEY not in repr(ApiClient(configuration))


class TestDefaults:
    def test_get_default_is_shared_and_uses_default_configuration(self) -> None:
        client = ApiClient.get_default()
        assert ApiClient.get_default() is client
        assert client.configuration is Configuration.get_default()

    def test_realtime_api_without_argument_uses_default_client(
        self, openai_mock: MockServer
    ) -> None:
        Configuration.set_default(Configuration(host=openai_mock.url, access_token=API_KEY))

        api = openapiopenai.RealtimeApi()
        session = api.create_realtime_session(openapiopenai.RealtimeSessionCreateRequest())

        assert api.api_client is ApiClient.get_default()
        assert session.client_secret.value.startswith("ek_")
        assert openai_mock.requests[-1].headers["Authorization"] == f"Bearer {API_KEY}"

    def test_set_default(self, api_client: ApiClient) -> None:
        ApiClient.set_default(api_client)
        assert openapiopenai.RealtimeApi().api_client is api_client
        ApiClient.set_default(None)
        assert ApiClient.get_default() is not api_client

    def test_default_client_reads_environment(
        self, monkeypatch: pytest.MonkeyPatch, openai_mock: MockServer
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", openai_mock.url)

        openapiopenai.RealtimeApi().create_realtime_session({})

        assert len(openai_mock.requests) == 1


class TestDefaultHeaders:
    def test_set_default_header_sent(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        api.create_realtime_session({})
        api.api_client.set_default_header("X-Team", "voice")
        api.create_realtime_session({})

        assert "X-Team" not in openai_mock.requests[0].headers
        assert openai_mock.requests[1].headers["X-Team"] == "voice"
        assert api.api_client.default_headers["X-Team"] == "voice"

    def test_default_headers_read_only(self, api_client: ApiClient) -> None:
        with pytest.raises(TypeError):
            api_client.default_headers["X"] = "y"  # type: ignore[index]

    @pytest.mark.parametrize(
        ("name", "value"), [("X-A", "a\r\nX-Injected: 1"), ("X\nB", "b"), ("", "c"), ("X-C", "\0")]
    )
    def test_line_breaks_refused(self, api_client: ApiClient, name: str, value: str) -> None:
        with pytest.raises(ApiValueError):
            api_client.set_default_header(name, value)
        assert name not in api_client.default_headers

    def test_non_string_refused(self, api_client: ApiClient) -> None:
        with pytest.raises(ApiTypeError):
            api_client.set_default_header("X-Count", 3)  # type: ignore[arg-type]

    def test_constructor_header_and_cookie(
        self, configuration: Configuration, openai_mock: MockServer
    ) -> None:
        with ApiClient(configuration, "X-Tenant", "t1", cookie="session=abc") as client:
            openapiopenai.RealtimeApi(client).create_realtime_session({})
        headers = openai_mock.requests[-1].headers
        assert headers["X-Tenant"] == "t1"
        assert headers["Cookie"] == "session=abc"

    def test_user_agent_can_be_replaced(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        assert api.api_client.user_agent.startswith("openapiopenai/")
        api.api_client.user_agent = "my-backend/2.0"
        api.create_realtime_session({})
        assert openai_mock.requests[-1].headers["User-Agent"] == "my-backend/2.0"

    def test_authorization_as_default_header_is_enough(self, openai_mock: MockServer) -> None:
        with ApiClient(Configuration(host=openai_mock.url)) as client:
            client.set_default_header("authorization", f"Bearer {API_KEY}")
            openapiopenai.RealtimeApi(client).create_realtime_session({})
        assert openai_mock.requests[-1].headers["Authorization"] == f"Bearer {API_KEY}"


class TestCallApi:
    def test_full_url_on_the_configured_host(
        self, api_client: ApiClient, openai_mock: MockServer
    ) -> None:
        response = api_client.call_api(
            "POST",
            openai_mock.url + "/realtime/sessions",
            header_params={"X-Trace": "1"},
            body=openapiopenai.RealtimeSessionCreateRequest(voice="ash"),
        )
        assert response.status == 200
        assert json.loads(response.data)["voice"] == "ash"
        assert openai_mock.requests[-1].headers["X-Trace"] == "1"

    def test_other_host_refused_before_io(
        self, api_client: ApiClient, openai_mock: MockServer
    ) -> None:
        with pytest.raises(ApiValueError):
            api_client.call_api("POST", "http://127.0.0.2:1/v1/realtime/sessions", body=b"{}")
        assert openai_mock.requests == []

    def test_form_parameters_refused(self, api_client: ApiClient) -> None:
        with pytest.raises(ApiValueError):
            api_client.call_api("POST", api_client.configuration.host, post_params={"a": "b"})


class TestDeserialize:
    def test_success(self, api_client: ApiClient, openai_mock: MockServer) -> None:
        openai_mock.respond_next(200, canned_session(voice="sage"), {"x-request-id": "req_d1"})
        raw = api_client.request("POST", "/realtime/sessions", body=b"{}")

        result = api_client.deserialize(raw, openapiopenai.RealtimeSessionCreateResponse)

        assert result.data.voice == "sage"
        assert result.status_code == 200
        assert result.request_id == "req_d1"
        assert json.loads(result.raw_data) == canned_session(voice="sage")


def test_one_client_shared_by_threads(
    api: openapiopenai.RealtimeApi, openai_mock: MockServer
) -> None:
    keys: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work(voice: str) -> None:
        try:
            for _ in range(5):
                session = api.create_realtime_session({"voice": voice})
                assert session.voice == voice
                with lock:
                    keys.append(session.client_secret.value)
        except BaseException as failure:  # reported below, in the test's thread
            failures.append(failure)

    threads = [threading.Thread(target=work, args=(f"voice-{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len(keys) == 30
    assert len(set(keys)) == 30
    assert len(openai_mock.requests) == 30


class TestTransportReuse:
    def test_rest_client_kept_while_pool_settings_do_not_change(
        self, api: openapiopenai.RealtimeApi
    ) -> None:
        client = api.api_client
        first = client.rest_client
        client.configuration.access_token = "sk-rotated-000000000000000"
        client.configuration.timeout = 9
        assert client.rest_client is first

        client.configuration.connection_pool_maxsize = 3
        assert client.rest_client is not first


class TestDebugLog:
    def test_success_logged_without_the_key(
        self, api: openapiopenai.RealtimeApi, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.DEBUG, logger="openapiopenai"):
            session = api.create_realtime_session({})
        assert "-> 200" in caplog.text
        assert "request id req_" in caplog.text
        assert API_KEY not in caplog.text
        assert session.client_secret.value not in caplog.text

    def test_failure_logged_without_the_key(self, caplog: pytest.LogCaptureFixture) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        configuration = Configuration(
            host=f"http://127.0.0.1:{port}/v1", access_token=API_KEY, retries=0
        )
        with (
            caplog.at_level(logging.DEBUG, logger="openapiopenai"),
            ApiClient(configuration) as client,
            pytest.raises(openapiopenai.ApiConnectionError),
        ):
            openapiopenai.RealtimeApi(client).create_realtime_session({})
        assert "failed after" in caplog.text
        assert "ApiConnectionError" in caplog.text
        assert API_KEY not in caplog.text


class TestPerCallAuth:
    def test_header_setting_without_value_refused_before_io(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        with pytest.raises(ApiValueError, match='"value"'):
            api.create_realtime_session({}, _request_auth={"in": "header", "key": "X"})  # type: ignore[arg-type]
        assert openai_mock.requests == []

    def test_empty_token_refused_before_io(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        with pytest.raises(ApiValueError, match="empty"):
            api.create_realtime_session({}, _request_auth="")
        assert openai_mock.requests == []

    def test_custom_header_replaces_the_configured_key(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        auth = {"in": "header", "key": "api-key", "value": "gateway-key"}

        # The mock wants a Bearer token, so it answers 401; what matters is what was sent.
        with pytest.raises(openapiopenai.ApiException):
            api.create_realtime_session({}, _request_auth=auth)  # type: ignore[arg-type]

        sent = openai_mock.requests[-1].headers
        assert sent.get("api-key") == "gateway-key"
        assert "Authorization" not in sent
        assert API_KEY not in str(dict(sent))

    def test_custom_header_is_enough_without_a_configured_key(
        self, openai_mock: MockServer
    ) -> None:
        configuration = Configuration(host=openai_mock.url, retries=0, ignore_environment=True)
        auth = {"in": "header", "key": "api-key", "value": "gateway-key"}

        with (
            ApiClient(configuration) as client,
            pytest.raises(openapiopenai.ApiException) as raised,
        ):
            openapiopenai.RealtimeApi(client).create_realtime_session({}, _request_auth=auth)  # type: ignore[arg-type]

        assert raised.value.status == 401  # sent (and refused by the mock), not "No API key"
        assert openai_mock.requests[-1].headers.get("api-key") == "gateway-key"

    def test_bearer_token_replaces_the_configured_key(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        api.create_realtime_session({}, _request_auth="sk-per-call-0000000000000")
        assert (
            openai_mock.requests[-1].headers["Authorization"] == "Bearer sk-per-call-0000000000000"
        )


class TestConstructorHeader:
    def test_header_name_without_value_refused(self, configuration: Configuration) -> None:
        with pytest.raises(ApiValueError, match="header_value"):
            ApiClient(configuration, header_name="X-Trace")


class TestCallApiPrefix:
    def test_lookalike_path_refused_before_io(
        self, api_client: ApiClient, openai_mock: MockServer
    ) -> None:
        with pytest.raises(ApiValueError):
            api_client.call_api("POST", openai_mock.url + "evil/realtime/sessions", body=b"{}")
        assert openai_mock.requests == []

    def test_base_url_itself_is_accepted(
        self, api_client: ApiClient, openai_mock: MockServer
    ) -> None:
        response = api_client.call_api("POST", openai_mock.url, body=b"{}")
        assert response.status == 404  # reached the server, which has nothing there
        assert len(openai_mock.requests) == 1


class TestInvalidResponseMessage:
    def test_names_the_model_and_each_field(
        self, api_client: ApiClient, openai_mock: MockServer
    ) -> None:
        body = canned_session(client_secret={"value": 5, "expires_at": "soon"})
        openai_mock.respond_next(200, body)
        raw = api_client.request("POST", "/realtime/sessions", body=b"{}")

        with pytest.raises(openapiopenai.UnexpectedResponseException) as raised:
            api_client.deserialize(raw, openapiopenai.RealtimeSessionCreateResponse)

        text = str(raised.value)
        assert "not a valid RealtimeSessionCreateResponse: client_secret.value: " in text
        assert "; client_secret.expires_at: " in text
        assert "invalid field" not in text


class _ChangesWhilePrepared(Configuration):
    """Changes ``organization`` the first time ``project`` is read, as another thread could
    while a client is building its headers."""

    @property  # type: ignore[override]
    def project(self) -> str | None:
        if not self.__dict__.get("_changed") and self.__dict__.get("_armed"):
            object.__setattr__(self, "_changed", True)
            self.organization = "org-new"
        return Configuration.project.fget(self)  # type: ignore[attr-defined,no-any-return]

    @project.setter
    def project(self, value: str | None) -> None:
        Configuration.project.fset(self, value)  # type: ignore[attr-defined]


def test_change_made_while_preparing_is_applied_on_the_next_call(
    openai_mock: MockServer,
) -> None:
    configuration = _ChangesWhilePrepared(
        host=openai_mock.url, access_token=API_KEY, organization="org-old", retries=0
    )
    object.__setattr__(configuration, "_armed", True)
    with ApiClient(configuration) as client:
        api = openapiopenai.RealtimeApi(client)
        api.create_realtime_session({})
        api.create_realtime_session({})

    assert openai_mock.requests[-1].headers["OpenAI-Organization"] == "org-new"


def test_default_headers_replaced_not_mutated(api_client: ApiClient) -> None:
    before = api_client.default_headers
    api_client.set_default_header("X-Trace", "1")

    assert "X-Trace" not in before  # a view taken earlier (as _prepare iterates) never changes
    assert api_client.default_headers["X-Trace"] == "1"
