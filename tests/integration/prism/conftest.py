"""Prism (Telnyx's own OpenAPI spec as a mock server) and the parsed spec, for the conformance suite.

* The spec is the repository's subset of Telnyx's spec, ``tests/fixtures/telnyx/openapi.yml``
  (``TELNYX_OPENAPI_SPEC`` may name another copy, e.g. the whole spec). Its parsed form is cached
  as JSON in pytest's cache directory, keyed by the file's hash.
* Prism comes from ``node_modules/.bin/prism`` (``package.json`` pins it; ``npm ci`` installs it).
  If it is missing the tests FAIL rather than skip: a conformance suite that silently skips is
  worse than none.
* Every request is recorded through httpx event hooks: the ``sl-violations`` header Prism adds to
  an invalid request, the JSON body we sent (for the strict unknown-key walk) and the query
  (names and bounds checked against the operation's parameters: Prism does not check
  bracketed names such as ``page[size]``).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from telnyx_client.client import TelnyxClient
from tests.integration.prism.prism_recorder import Recorder
from tests.support.telnyx_fixtures import load_openapi_spec, openapi_spec_path

REPO_ROOT = Path(__file__).resolve().parents[3]
PRISM_BIN = REPO_ROOT / "node_modules" / ".bin" / "prism"
# Prism resolves the spec and lists every operation before it listens: seconds on an idle box, but 36 s
# (subset) and 68 s (whole spec) were measured with load 10 on 2 cores.
PRISM_START_TIMEOUT_S = 120.0


@pytest.fixture(scope="session")
def openapi_spec(pytestconfig: pytest.Config) -> dict[str, Any]:
    """The parsed spec (cached as JSON under .pytest_cache, keyed by the spec's sha256)."""
    return load_openapi_spec(pytestconfig.cache.mkdir("telnyx-openapi"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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
            [str(PRISM_BIN), "mock", str(openapi_spec_path()), "-h", "127.0.0.1", "-p", str(port)],
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
