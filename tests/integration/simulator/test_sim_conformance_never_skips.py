"""The simulator conformance suite fails, never skips, when its oracle or its spec is missing.

Each case runs that suite in a child pytest with one dependency taken away and checks the run
failed with a message saying what is missing (a skip would exit 0)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
SUITE = "tests/integration/simulator/test_sim_conformance.py"


#: pytest's exit codes for "all passed or skipped" and "nothing collected".
NOT_A_FAILURE = (0, 5)


def _run_suite(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", SUITE, "-q", "-p", "no:cacheprovider", "-rs", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_missing_spec_fails_the_suite(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "openapi.yml"
    result = _run_suite({"TELNYX_OPENAPI_SPEC": str(missing)}, "-k", "documented_events")
    out = result.stdout + result.stderr
    assert result.returncode not in NOT_A_FAILURE, out
    assert "skipped" not in out.lower()
    assert f"Telnyx OpenAPI spec not found at {missing}" in out


def test_a_missing_sdk_oracle_fails_the_suite(tmp_path: Path) -> None:
    # A ``telnyx`` package that imports as an uninstalled one would shadows the installed SDK.
    shadow = tmp_path / "telnyx"
    shadow.mkdir()
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'telnyx'\", name='telnyx')\n"
    )
    pythonpath = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    result = _run_suite({"PYTHONPATH": pythonpath}, "-k", "sdk_client")
    out = result.stdout + result.stderr
    assert result.returncode not in NOT_A_FAILURE, out
    assert "skipped" not in out.lower()
    assert "telnyx is missing: the simulator conformance suite needs its oracles" in out
