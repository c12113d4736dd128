"""Where the CLI finds the API: flags, then the environment, then a config file.

The config file (TOML, ``~/.config/telnyx-ai-dialer/config.toml`` unless ``--config`` or
``DIALER_CONFIG`` names another) holds ``api_url`` and ``api_key`` at the top level, and optional
``[profiles.NAME]`` tables with the same keys (``--profile``/``DIALER_PROFILE``), e.g. one for the
local stack and one for a deployed stack. The key is never printed: :meth:`Config.describe` masks it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dialer_cli.errors import CliError, ExitCode

ENV_URL, ENV_KEY, ENV_CONFIG, ENV_PROFILE = (
    "DIALER_API_URL",
    "DIALER_API_KEY",
    "DIALER_CONFIG",
    "DIALER_PROFILE",
)


def default_config_path(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "telnyx-ai-dialer" / "config.toml"


@dataclass(frozen=True)
class Config:
    """The API to talk to. ``source`` says where each value came from (for ``doctor``)."""

    api_url: str
    api_key: str | None
    url_source: str
    key_source: str

    def describe(self) -> str:
        """One line safe to print: the URL and where the key came from, never the key."""
        key = f"key from {self.key_source} ({mask(self.api_key)})" if self.api_key else "no API key"
        return f"{self.api_url} (from {self.url_source}), {key}"


def mask(secret: str | None) -> str:
    """Enough of a key to tell two apart, not enough to use it."""
    if not secret:
        return ""
    return f"{secret[:4]}…{secret[-2:]}" if len(secret) > 10 else "…"


def load_config(
    api_url: str | None = None,
    api_key: str | None = None,
    config_file: Path | None = None,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Resolve the API URL and key: a flag wins over the environment, which wins over the file."""
    env = os.environ if env is None else env
    explicit_file = config_file or (Path(env[ENV_CONFIG]) if env.get(ENV_CONFIG) else None)
    path = explicit_file or default_config_path(env)
    profile = profile or env.get(ENV_PROFILE) or None
    file_values = _read_file(path, profile, required=explicit_file is not None or profile is not None)
    url, url_source = _first(
        (api_url, "--api-url"), (env.get(ENV_URL), ENV_URL), (file_values.get("api_url"), str(path))
    )
    key, key_source = _first(
        (api_key, "--api-key"), (env.get(ENV_KEY), ENV_KEY), (file_values.get("api_key"), str(path))
    )
    if not url:
        raise CliError(f"no API URL: pass --api-url, set {ENV_URL}, or put api_url in {path}", ExitCode.USAGE)
    if not url.startswith(("http://", "https://")):
        raise CliError(f"the API URL must start with http:// or https://, got {url!r}", ExitCode.USAGE)
    return Config(api_url=url.rstrip("/"), api_key=key or None, url_source=url_source, key_source=key_source)


def _first(*candidates: tuple[str | None, str]) -> tuple[str, str]:
    for value, source in candidates:
        if value:
            return value, source
    return "", ""


def _read_file(path: Path, profile: str | None, required: bool) -> dict[str, str]:
    if not path.is_file():
        if required:
            raise CliError(f"config file {path} does not exist", ExitCode.USAGE)
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CliError(f"config file {path} is not valid TOML: {exc}", ExitCode.USAGE) from exc
    table: object = document
    if profile:
        table = document.get("profiles", {}).get(profile)
        if not isinstance(table, dict):
            raise CliError(f"config file {path} has no [profiles.{profile}] table", ExitCode.USAGE)
    assert isinstance(table, dict)
    values = {k: table[k] for k in ("api_url", "api_key") if k in table}
    for name, value in values.items():
        if not isinstance(value, str):
            raise CliError(f"{name} in {path} must be a string", ExitCode.USAGE)
    return values
