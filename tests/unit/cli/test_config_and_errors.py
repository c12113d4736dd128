"""The CLI's configuration (flag > environment > file, profiles, the key never shown) and its exit
codes (the API's statuses mapped once, the error body's field messages kept)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dialer_cli.api import Api
from dialer_cli.assistants import settings_changes
from dialer_cli.config import Config, load_config
from dialer_cli.errors import CliError, ExitCode

KEY = "dk_live_0123456789abcdef"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_flag_beats_environment_beats_file(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", 'api_url = "http://file"\napi_key = "file-key"\n')
    env = {"DIALER_CONFIG": str(config)}
    assert load_config(env=env).api_url == "http://file"
    assert load_config(env={**env, "DIALER_API_URL": "http://env"}).api_url == "http://env"
    resolved = load_config(api_url="http://flag/", env={**env, "DIALER_API_URL": "http://env"})
    assert (resolved.api_url, resolved.url_source) == ("http://flag", "--api-url")
    assert (resolved.api_key, resolved.key_source) == ("file-key", str(config))


def test_default_file_under_xdg_config_home_and_profiles(tmp_path: Path) -> None:
    write(
        tmp_path / "telnyx-ai-dialer" / "config.toml",
        'api_url = "http://local"\n[profiles.prod]\napi_url = "https://prod"\napi_key = "pk"\n',
    )
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert load_config(env=env).api_url == "http://local"
    prod = load_config(profile="prod", env=env)
    assert (prod.api_url, prod.api_key) == ("https://prod", "pk")
    with pytest.raises(CliError) as missing:
        load_config(profile="staging", env=env)
    assert missing.value.code is ExitCode.USAGE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("api_url = ", "not valid TOML"),
        ("api_url = 3", "must be a string"),
    ],
)
def test_a_bad_config_file_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CliError) as error:
        load_config(config_file=write(tmp_path / "c.toml", text), env={})
    assert error.value.code is ExitCode.USAGE
    assert message in error.value.message


def test_no_url_or_a_bad_one_is_a_usage_error(tmp_path: Path) -> None:
    for env in ({"HOME": str(tmp_path)}, {"DIALER_API_URL": "localhost:3000"}):
        with pytest.raises(CliError) as error:
            load_config(env=env)
        assert error.value.code is ExitCode.USAGE
    with pytest.raises(CliError, match="does not exist"):
        load_config(config_file=tmp_path / "nope.toml", env={})


def test_the_key_is_never_described() -> None:
    config = load_config(env={"DIALER_API_URL": "http://x", "DIALER_API_KEY": KEY})
    assert KEY not in config.describe()
    assert KEY not in repr(Config(config.api_url, "", "", ""))


def api_answering(status: int, body: object, key: str | None = KEY) -> Api:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    return Api(Config("http://api", key, "test", "test"), transport=transport)


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (400, {"error": "invalid", "message": "bad"}, ExitCode.USAGE),
        (422, {"detail": [{"loc": ["body", "name"], "msg": "Field required"}]}, ExitCode.USAGE),
        (401, {"message": "Unauthorized"}, ExitCode.AUTH),
        (403, {"message": "User is not authorized"}, ExitCode.AUTH),
        (404, {"error": "not_found", "message": "no campaign"}, ExitCode.NOT_FOUND),
        (403, {"message": "Missing Authentication Token"}, ExitCode.NOT_FOUND),  # API Gateway: no route
        (409, {"error": "conflict", "message": "not paused"}, ExitCode.API_ERROR),
        (500, {"message": "Internal server error"}, ExitCode.API_ERROR),
    ],
)
def test_statuses_map_to_exit_codes(status: int, body: object, code: ExitCode) -> None:
    with pytest.raises(CliError) as error:
        api_answering(status, body).get("/campaigns/x")
    assert error.value.code is code
    assert KEY not in error.value.message


def test_validation_errors_keep_their_fields() -> None:
    body = {"detail": [{"loc": ["body", "pacing", "max_dials_per_minute"], "msg": "must be > 0"}]}
    with pytest.raises(CliError) as error:
        api_answering(422, body).post("/campaigns", {})
    assert error.value.details == ["pacing.max_dials_per_minute: must be > 0"]


def test_a_missing_key_is_named_as_missing() -> None:
    with pytest.raises(CliError, match="API key is missing"):
        api_answering(401, {"message": "Unauthorized"}, key=None).get("/tenants/me")


def test_unreachable_api_is_exit_5() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    api = Api(Config("http://api", KEY, "t", "t"), transport=httpx.MockTransport(refuse))
    with pytest.raises(CliError) as error:
        api.get("/tenants/me")
    assert error.value.code is ExitCode.UNREACHABLE


def test_optional_resources_read_as_absent_on_older_stacks() -> None:
    assert api_answering(404, {"message": "Not Found"}).get_optional("/campaigns/x/stats") is None
    assert api_answering(403, {"message": "Missing Authentication Token"}).get_optional("/x") is None
    with pytest.raises(CliError):
        api_answering(403, {"message": "User is not authorized"}).get_optional("/x")


def test_settings_changes_compare_objects_key_by_key() -> None:
    current = {"greeting": "Hi", "voice_settings": {"voice": "a", "speed": 1.0}, "tags": ["x", "y"]}
    desired = {"greeting": "Hi", "voice_settings": {"voice": "b"}, "tags": ["x"], "model": "m"}
    assert settings_changes(desired, current) == [
        ("voice_settings.voice", "a", "b"),
        ("tags", ["x", "y"], ["x"]),
        ("model", None, "m"),
    ]
    assert settings_changes({"voice_settings": {"voice": "a"}}, current) == []
