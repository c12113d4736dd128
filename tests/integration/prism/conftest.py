"""Prism (Telnyx's own OpenAPI spec as a mock server) and the parsed spec, for the conformance suite.

* The spec is found through ``TELNYX_OPENAPI_SPEC`` (default ``<repo>/../shared/telnyx/openapi.yml``,
  where CI clones ``shared/`` beside the repository). Parsing its 4 MB of YAML takes ~2 s, so the
  parsed form is cached as JSON in pytest's cache directory, keyed by the file's hash.
* Prism comes from ``node_modules/.bin/prism`` (``package.json`` pins it; ``npm ci`` installs it).
  If it is missing the tests FAIL rather than skip: a conformance suite that silently skips is
  worse than none.
* Every request is recorded through httpx event hooks: the ``sl-violations`` header Prism adds to
  an invalid request, and the JSON body we sent (for the strict unknown-key walk).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from telnyx_client.client import TelnyxClient
from tests.integration.prism.prism_recorder import Recorder

REPO_ROOT = Path(__file__).resolve().parents[3]
PRISM_BIN = REPO_ROOT / "node_modules" / ".bin" / "prism"
PRISM_START_TIMEOUT_S = 60.0


def spec_path() -> Path:
    """Where the Telnyx OpenAPI spec is (env ``TELNYX_OPENAPI_SPEC`` or ``../shared`` beside the repo)."""
    configured = os.environ.get("TELNYX_OPENAPI_SPEC")
    return (
        Path(configured) if configured else (REPO_ROOT.parent / "shared" / "telnyx" / "openapi.yml").resolve()
    )


@pytest.fixture(scope="session")
def openapi_spec_path() -> Path:
    """The spec file; fails loudly when it is not where CI puts it."""
    path = spec_path()
    if not path.is_file():
        pytest.fail(f"Telnyx OpenAPI spec not found at {path}; set TELNYX_OPENAPI_SPEC")
    return path


@pytest.fixture(scope="session")
def openapi_spec(openapi_spec_path: Path, pytestconfig: pytest.Config) -> dict[str, Any]:
    """The parsed spec (cached as JSON under .pytest_cache, keyed by the spec's sha256)."""
    raw = openapi_spec_path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    cache_file = pytestconfig.cache.mkdir("telnyx-openapi") / f"spec-{digest}.json"
    if cache_file.is_file():
        with contextlib.suppress(ValueError, OSError):
            return json.loads(cache_file.read_bytes())
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(raw, Loader=loader)  # noqa: S506 - SafeLoader/CSafeLoader only
    tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(spec, default=str))
    tmp.replace(cache_file)
    return spec


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def prism_url(openapi_spec_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start Prism on a free port for the session; yield its base URL (no ``/v2``)."""
    if not PRISM_BIN.exists():
        pytest.fail(
            f"Prism is not installed ({PRISM_BIN} missing). Run `npm ci` at the repository root "
            "(scripts/bootstrap.sh does it); the conformance suite needs it."
        )
    port = _free_port()
    log_path = tmp_path_factory.mktemp("prism") / "prism.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(PRISM_BIN), "mock", str(openapi_spec_path), "-h", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, proc, log_path)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_ready(base_url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    started = time.monotonic()
    while time.monotonic() - started < PRISM_START_TIMEOUT_S:
        if proc.poll() is not None:
            pytest.fail(f"Prism exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            response = httpx.get(
                f"{base_url}/ai/assistants", headers={"Authorization": "Bearer x"}, timeout=1.0
            )
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        if response.status_code == 200:
            return
        time.sleep(0.2)
    pytest.fail(f"Prism did not answer within {PRISM_START_TIMEOUT_S}s:\n{log_path.read_text()[-2000:]}")


@pytest.fixture
def recorder() -> Recorder:
    """A fresh recorder per test."""
    return Recorder()


@pytest.fixture
def make_client(
    prism_url: str, recorder: Recorder, openapi_spec: dict[str, Any]
) -> Iterator[Callable[..., TelnyxClient]]:
    """Build clients pointed at Prism; after the test, every exchange must be conformant."""
    clients: list[TelnyxClient] = []

    def build(**kwargs: Any) -> TelnyxClient:
        kwargs.setdefault("max_retries", 0)
        client = TelnyxClient("KEY_FAKE", prism_url, event_hooks=recorder.hooks(), **kwargs)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
    problems = recorder.problems(openapi_spec)
    assert not problems, "non-conformant requests:\n" + "\n".join(problems)


@pytest.fixture
def client(make_client: Callable[..., TelnyxClient]) -> TelnyxClient:
    """A client against Prism with the default headers."""
    return make_client()
