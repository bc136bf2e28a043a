"""Configuration: defaults, environment, validation, defaults registry, live changes."""

from __future__ import annotations

import copy
import sys
import warnings
from typing import Any

import pytest
from urllib3 import Timeout
from urllib3.exceptions import SecurityWarning
from urllib3.util.retry import Retry

import openapiopenai
import openapiopenai.configuration as configuration_module
from openapiopenai.configuration import Configuration
from openapiopenai.exceptions import ApiTypeError, ApiValueError
from openapiopenai.mock import MockServer
from test.conftest import API_KEY

ENV_KEY = "sk-env-abcdefghijklmnopqrstuvwxyz012345"


def call(configuration: Configuration) -> openapiopenai.RealtimeSessionCreateResponse:
    """One real call with ``configuration``, through a fresh client."""
    with openapiopenai.ApiClient(configuration) as client:
        return openapiopenai.RealtimeApi(client).create_realtime_session({})


class TestDefaults:
    def test_values(self) -> None:
        configuration = Configuration()

        assert configuration.host == "https://api.openai.com/v1"
        assert configuration.access_token is None
        assert configuration.organization is None
        assert configuration.project is None
        assert configuration.timeout.connect_timeout == 5
        assert configuration.timeout.read_timeout == 60
        assert isinstance(configuration.retries, openapiopenai.RetryPolicy)
        assert configuration.retries.total == 2
        assert configuration.verify_ssl is True
        assert configuration.proxy is None
        assert configuration.debug is False
        assert configuration.connection_pool_maxsize >= 1

    def test_user_agent(self) -> None:
        expected = (
            f"openapiopenai/{openapiopenai.__version__} "
            f"python/{sys.version_info.major}.{sys.version_info.minor}"
        )
        assert Configuration().user_agent == expected

    def test_user_agent_sent(self, api: openapiopenai.RealtimeApi, openai_mock: MockServer) -> None:
        api.create_realtime_session({})
        agent = openai_mock.requests[-1].headers["User-Agent"]
        python = f"{sys.version_info[0]}.{sys.version_info[1]}"
        assert agent == f"openapiopenai/{openapiopenai.__version__} python/{python}"

    def test_host_trailing_slash_dropped(self) -> None:
        assert Configuration(host="http://127.0.0.1:9/v1/").host == "http://127.0.0.1:9/v1"

    def test_no_organization_or_project_headers_by_default(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        api.create_realtime_session({})
        names = {name.lower() for name in openai_mock.requests[-1].headers}
        assert "openai-organization" not in names
        assert "openai-project" not in names


class TestEnvironment:
    def test_all_variables_read_and_sent(
        self, monkeypatch: pytest.MonkeyPatch, openai_mock: MockServer
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", openai_mock.url)
        monkeypatch.setenv("OPENAI_ORG_ID", "org-envorg")
        monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_envproj")

        configuration = Configuration()
        session = call(configuration)

        assert configuration.host == openai_mock.url
        assert configuration.access_token == ENV_KEY
        headers = openai_mock.requests[-1].headers
        assert headers["Authorization"] == f"Bearer {ENV_KEY}"
        assert headers["OpenAI-Organization"] == "org-envorg"
        assert headers["OpenAI-Project"] == "proj_envproj"
        assert session.client_secret.value.startswith("ek_")

    def test_explicit_arguments_win(
        self, monkeypatch: pytest.MonkeyPatch, openai_mock: MockServer
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
        monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_env")

        call(
            Configuration(
                host=openai_mock.url,
                access_token=API_KEY,
                organization="org-arg",
                project="proj_arg",
            )
        )

        headers = openai_mock.requests[-1].headers
        assert headers["Authorization"] == f"Bearer {API_KEY}"
        assert headers["OpenAI-Organization"] == "org-arg"
        assert headers["OpenAI-Project"] == "proj_arg"

    def test_ignore_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
        monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_env")

        configuration = Configuration(ignore_environment=True)

        assert configuration.access_token is None
        assert configuration.host == "https://api.openai.com/v1"
        assert configuration.organization is None
        assert configuration.project is None

    def test_empty_variables_count_as_unset(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "")
        monkeypatch.setenv("OPENAI_BASE_URL", "")
        configuration = Configuration()
        assert configuration.access_token is None
        assert configuration.host == "https://api.openai.com/v1"

    def test_bad_base_url_in_environment_named(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", "api.openai.com/v1")
        with pytest.raises(ApiValueError) as caught:
            Configuration()
        assert "host" in str(caught.value)


class TestInvalidValues:
    @pytest.mark.parametrize(
        "host",
        ["api.openai.com", "ftp://api.openai.com/v1", "http://", "https:///v1", "http://a\r\nb/v1"],
    )
    def test_bad_host(self, host: str) -> None:
        with pytest.raises(ApiValueError) as caught:
            Configuration(host=host)
        assert "host" in str(caught.value)

    def test_host_not_a_string(self) -> None:
        with pytest.raises(ApiTypeError) as caught:
            Configuration(host=8080)  # type: ignore[arg-type]
        assert "host" in str(caught.value)

    @pytest.mark.parametrize("name", ["access_token", "organization", "project"])
    @pytest.mark.parametrize("bad", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b"])
    def test_header_settings_refuse_line_breaks(self, name: str, bad: str) -> None:
        with pytest.raises(ApiValueError) as caught:
            Configuration(**{name: bad})  # type: ignore[arg-type]
        assert name in str(caught.value)
        assert bad not in str(caught.value)

    @pytest.mark.parametrize("name", ["access_token", "organization", "project"])
    def test_header_settings_must_be_strings(self, name: str) -> None:
        with pytest.raises(ApiTypeError) as caught:
            Configuration(**{name: 12345})  # type: ignore[arg-type]
        assert name in str(caught.value)

    def test_bad_token_refused_on_assignment_and_old_kept(self) -> None:
        configuration = Configuration(access_token=API_KEY)
        with pytest.raises(ApiValueError):
            configuration.access_token = "sk-x\r\n"
        assert configuration.access_token == API_KEY

    @pytest.mark.parametrize("timeout", ["5", [1, 2], (1, 2, 3), True, object()])
    def test_bad_timeout_type(self, timeout: object) -> None:
        with pytest.raises(ApiTypeError) as caught:
            Configuration(timeout=timeout)  # type: ignore[arg-type]
        assert "timeout" in str(caught.value)

    @pytest.mark.parametrize("timeout", [0, -1, (0, 5), (5, -1), ("5", 5)])
    def test_bad_timeout_value(self, timeout: object) -> None:
        with pytest.raises(ApiValueError) as caught:
            Configuration(timeout=timeout)  # type: ignore[arg-type]
        assert "timeout" in str(caught.value)

    @pytest.mark.parametrize(
        ("timeout", "message"),
        [
            (-1, "timeout must be a finite number of seconds above 0, not -1"),
            (0, "timeout must be a finite number of seconds above 0, not 0"),
            ((0, 5), "connect timeout must be a finite number of seconds above 0 or None, not 0"),
            (
                (5, -1.5),
                "read timeout must be a finite number of seconds above 0 or None, not -1.5",
            ),
            (
                ("5", 5),
                "connect timeout must be a finite number of seconds above 0 or None, not '5'",
            ),
        ],
    )
    def test_bad_timeout_is_explained_in_the_sdks_words(
        self, openai_mock: MockServer, timeout: Any, message: str
    ) -> None:
        with pytest.raises(ApiValueError) as at_setup:
            Configuration(timeout=timeout)
        configuration = Configuration(host=openai_mock.url, access_token=API_KEY)
        api = openapiopenai.RealtimeApi(openapiopenai.ApiClient(configuration))
        with pytest.raises(ApiValueError) as per_call:
            api.create_realtime_client_secret({}, _request_timeout=timeout)
        assert str(at_setup.value) == str(per_call.value) == message
        assert at_setup.value.__cause__ is None and at_setup.value.__context__ is None
        assert openai_mock.requests == []

    @pytest.mark.parametrize("retries", ["2", 2.0, True, [2]])
    def test_bad_retries_type(self, retries: object) -> None:
        with pytest.raises(ApiTypeError) as caught:
            Configuration(retries=retries)  # type: ignore[arg-type]
        assert "retries" in str(caught.value)

    def test_negative_retries(self) -> None:
        with pytest.raises(ApiValueError) as caught:
            Configuration(retries=-1)
        assert "retries" in str(caught.value)

    @pytest.mark.parametrize("size", [0, -3, "10", True])
    def test_bad_pool_size(self, size: object) -> None:
        with pytest.raises(ApiValueError) as caught:
            Configuration(connection_pool_maxsize=size)  # type: ignore[arg-type]
        assert "connection_pool_maxsize" in str(caught.value)

    def test_bad_proxy(self) -> None:
        with pytest.raises(ApiValueError) as caught:
            Configuration(proxy="socks://127.0.0.1:1080")
        assert "proxy" in str(caught.value)


class TestTimeoutAndRetryForms:
    def test_number(self) -> None:
        timeout = Configuration(timeout=7).timeout
        assert (timeout.connect_timeout, timeout.read_timeout) == (7, 7)

    def test_pair(self) -> None:
        timeout = Configuration(timeout=(1.5, 30)).timeout
        assert (timeout.connect_timeout, timeout.read_timeout) == (1.5, 30)

    def test_urllib3_timeout(self) -> None:
        given = Timeout(connect=2, read=3)
        assert Configuration(timeout=given).timeout is given

    def test_retries_zero(self) -> None:
        assert Configuration(retries=0).retries.total == 0

    def test_retries_object(self) -> None:
        given = Retry(total=5)
        assert Configuration(retries=given).retries is given

    def test_zero_retries_means_one_request(
        self, no_retry_api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        openai_mock.fail_next(status=500)
        with pytest.raises(openapiopenai.ServiceException):
            no_retry_api.create_realtime_session({})
        assert len(openai_mock.requests) == 1


class TestNoApiKey:
    def test_refused_before_io_with_instructions(self, openai_mock: MockServer) -> None:
        configuration = Configuration(host=openai_mock.url)

        with pytest.raises(ApiValueError) as caught:
            call(configuration)

        assert openai_mock.requests == []
        assert "OPENAI_API_KEY" in str(caught.value)
        assert "access_token" in str(caught.value)

    def test_refused_for_every_method(self, openai_mock: MockServer) -> None:
        with openapiopenai.ApiClient(Configuration(host=openai_mock.url)) as client:
            api = openapiopenai.RealtimeApi(client)
            for method in (
                api.create_realtime_session,
                api.create_realtime_session_with_http_info,
                api.create_realtime_session_without_preload_content,
            ):
                with pytest.raises(ApiValueError):
                    method({})
        assert openai_mock.requests == []

    def test_key_set_later_is_used(self, openai_mock: MockServer) -> None:
        configuration = Configuration(host=openai_mock.url)
        with openapiopenai.ApiClient(configuration) as client:
            api = openapiopenai.RealtimeApi(client)
            with pytest.raises(ApiValueError):
                api.create_realtime_session({})
            configuration.access_token = API_KEY
            api.create_realtime_session({})
        assert openai_mock.requests[-1].headers["Authorization"] == f"Bearer {API_KEY}"

    def test_per_call_auth_is_enough(self, openai_mock: MockServer) -> None:
        with openapiopenai.ApiClient(Configuration(host=openai_mock.url)) as client:
            openapiopenai.RealtimeApi(client).create_realtime_session({}, _request_auth=API_KEY)
        assert openai_mock.requests[-1].headers["Authorization"] == f"Bearer {API_KEY}"


class TestDefaultRegistry:
    def test_get_default_is_shared(self) -> None:
        assert Configuration.get_default() is Configuration.get_default()

    def test_get_default_reads_environment_when_created(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
        assert Configuration.get_default().access_token == ENV_KEY

    def test_set_default(self) -> None:
        mine = Configuration(access_token=API_KEY)
        Configuration.set_default(mine)
        assert Configuration.get_default() is mine
        Configuration.set_default(None)
        assert Configuration.get_default() is not mine

    def test_get_default_copy_is_independent(self) -> None:
        Configuration.set_default(Configuration(access_token=API_KEY, organization="org-a"))

        clone = Configuration.get_default_copy()
        clone.organization = "org-b"
        clone.access_token = "sk-other-000000000000"

        assert clone is not Configuration.get_default()
        assert Configuration.get_default().organization == "org-a"
        assert Configuration.get_default().access_token == API_KEY

    def test_get_default_copy_nested_settings_independent(self) -> None:
        Configuration.set_default(Configuration(proxy_headers={"X-Proxy": "1"}))

        clone = Configuration.get_default_copy()
        assert clone.proxy_headers is not None
        clone.proxy_headers["X-Proxy"] = "2"

        assert Configuration.get_default().proxy_headers == {"X-Proxy": "1"}

    def test_deepcopy_is_independent(self) -> None:
        original = Configuration(access_token=API_KEY, proxy_headers={"X-Proxy": "1"})
        clone = copy.deepcopy(original)
        assert clone.proxy_headers is not None and original.proxy_headers is not None
        clone.proxy_headers["X-Proxy"] = "2"
        assert original.proxy_headers["X-Proxy"] == "1"
        assert clone.access_token == API_KEY

    def test_default_used_by_client_without_configuration(self, openai_mock: MockServer) -> None:
        Configuration.set_default(Configuration(host=openai_mock.url, access_token=API_KEY))

        client = openapiopenai.ApiClient()
        openapiopenai.RealtimeApi(client).create_realtime_session({})

        assert client.configuration is Configuration.get_default()
        assert len(openai_mock.requests) == 1


class TestChangesAfterTheClientExists:
    @pytest.mark.filterwarnings("ignore::urllib3.exceptions.SecurityWarning")
    def test_revision_changes_on_every_setting(self) -> None:
        configuration = Configuration()
        seen = {configuration.revision}
        for name, value in [
            ("access_token", API_KEY),
            ("host", "http://127.0.0.1:9/v1"),
            ("organization", "org-x"),
            ("project", "proj_x"),
            ("timeout", 3),
            ("retries", 1),
            ("verify_ssl", False),
            ("debug", False),
        ]:
            setattr(configuration, name, value)
            assert configuration.revision not in seen, name
            seen.add(configuration.revision)

    def test_revisions_unique_across_objects(self) -> None:
        assert Configuration().revision != Configuration().revision

    def test_every_change_applies_to_the_next_call(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        configuration = api.api_client.configuration
        api.create_realtime_session({})
        first = openai_mock.requests[-1].headers

        configuration.access_token = "sk-rotated-key-0000000000000"
        configuration.organization = "org-later"
        configuration.project = "proj_later"
        api.create_realtime_session({})
        second = openai_mock.requests[-1].headers

        assert first["Authorization"] == f"Bearer {API_KEY}"
        assert "OpenAI-Organization" not in first
        assert second["Authorization"] == "Bearer sk-rotated-key-0000000000000"
        assert second["OpenAI-Organization"] == "org-later"
        assert second["OpenAI-Project"] == "proj_later"

        configuration.organization = None
        api.create_realtime_session({})
        assert "OpenAI-Organization" not in openai_mock.requests[-1].headers

    def test_host_change_applies_to_the_next_call(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        other = MockServer()
        other.start()
        try:
            api.create_realtime_session({})
            api.api_client.configuration.host = other.url
            api.create_realtime_session({})
        finally:
            other.stop()
        assert len(openai_mock.requests) == 1
        assert len(other.requests) == 1

    def test_retries_change_applies_to_the_next_call(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        api.api_client.configuration.retries = 0
        openai_mock.fail_next(2, status=503)
        with pytest.raises(openapiopenai.ServiceException):
            api.create_realtime_session({})
        assert len(openai_mock.requests) == 1

    def test_replacing_the_configuration_object(
        self, api: openapiopenai.RealtimeApi, openai_mock: MockServer
    ) -> None:
        api.create_realtime_session({})
        api.api_client.configuration = Configuration(
            host=openai_mock.url, access_token="sk-replacement-000000000000"
        )
        api.create_realtime_session({})
        assert openai_mock.requests[-1].headers["Authorization"] == (
            "Bearer sk-replacement-000000000000"
        )


class TestSafeText:
    def test_repr_masks_token(self) -> None:
        text = repr(Configuration(access_token=API_KEY))
        assert API_KEY not in text
        assert "sk-***" in text
        assert str(Configuration(access_token=API_KEY)) == text

    def test_repr_hides_proxy_credentials(self) -> None:
        text = repr(Configuration(proxy="http://user:s3cret-pass@127.0.0.1:3128"))
        assert "s3cret-pass" not in text

    def test_debug_report(self) -> None:
        report = Configuration().to_debug_report()
        assert openapiopenai.__version__ in report
        assert "Python" in report
        assert f"Version of the API: {configuration_module.API_VERSION}" in report
        assert configuration_module.API_VERSION == "2.3.0"


class TestAuthAndHosts:
    def test_auth_settings(self) -> None:
        assert Configuration().auth_settings() == {}
        settings = Configuration(access_token=API_KEY).auth_settings()["ApiKeyAuth"]
        assert settings["in"] == "header"
        assert settings["key"] == "Authorization"
        assert settings["value"] == f"Bearer {API_KEY}"

    def test_host_settings(self) -> None:
        configuration = Configuration(host="http://127.0.0.1:9/v1")
        assert configuration.get_host_settings()[0]["url"] == "https://api.openai.com/v1"
        assert configuration.get_host_from_settings(0) == "https://api.openai.com/v1"
        assert configuration.get_host_from_settings(None) == "http://127.0.0.1:9/v1"

    @pytest.mark.parametrize("index", [1, -1, 7])
    def test_bad_host_index(self, index: int) -> None:
        with pytest.raises(ApiValueError) as caught:
            Configuration().get_host_from_settings(index)
        assert str(index) in str(caught.value)

    def test_server_index_selects_the_published_server(self) -> None:
        configuration = Configuration(host="http://127.0.0.1:9/v1", server_index=0)
        assert configuration.get_host_from_settings(configuration.server_index) == (
            "https://api.openai.com/v1"
        )


class TestVerifySslWarning:
    def test_constructor_warns_at_the_callers_line(self) -> None:
        with pytest.warns(SecurityWarning, match="verify_ssl=False") as caught:
            Configuration(verify_ssl=False)
        assert [warning.filename for warning in caught] == [__file__]

    def test_setter_warns_at_the_callers_line(self) -> None:
        configuration = Configuration()
        with pytest.warns(SecurityWarning, match="verify_ssl=False") as caught:
            configuration.verify_ssl = False
        assert [warning.filename for warning in caught] == [__file__]
        assert configuration.verify_ssl is False

    def test_verified_configuration_does_not_warn(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            Configuration().verify_ssl = True


def test_plain_urllib3_retry_is_used_as_given() -> None:
    # Documented: no OpenAI rules are added to it (use RetryPolicy for those).
    plain = Retry(total=3)
    assert Configuration(retries=plain).retries is plain
