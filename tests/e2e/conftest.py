"""The whole local stack as a pytest fixture: ``local_stack`` runs ``python -m local.run`` (tools venv)
on the ``sam build`` output, on free ports, and stops it (and every sandbox process) at the end.

Override ``local_stack_args`` in a conftest to pass other runner options, e.g.
``["--parameter-overrides", "Stage=local", "--visibility-timeout", "2"]``.
"""

from __future__ import annotations

import pytest

from local import process
from local.process import BUILT_TEMPLATE, REPO, TOOLS_PYTHON, Invocation

__all__ = ["BUILT_TEMPLATE", "REPO", "TOOLS_PYTHON", "Invocation", "LocalStackProcess"]


class LocalStackProcess(process.LocalStackProcess):
    """The runner wrapper; a stack that does not start fails the test with the runner's output."""

    def start(self, timeout: float = 60) -> LocalStackProcess:
        try:
            super().start(timeout)
        except process.StackStartError as exc:
            pytest.fail(str(exc))
        return self


@pytest.fixture(scope="session")
def local_stack_process() -> type[LocalStackProcess]:
    """The runner wrapper, for tests that start a stack of their own (another template, options)."""
    return LocalStackProcess


@pytest.fixture(scope="session")
def local_stack_args() -> list[str]:
    """Extra ``local.run`` options for ``local_stack`` (override in a conftest to change them)."""
    return ["--parameter-overrides", "Stage=local", "--schedule-period", "0"]


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory, local_stack_args: list[str]):
    """The product's stack from ``.aws-sam/build`` on moto, for the whole session."""
    if not BUILT_TEMPLATE.is_file():
        pytest.fail(f"{BUILT_TEMPLATE.relative_to(REPO)} is missing: run `make build` first")
    stack = LocalStackProcess(
        BUILT_TEMPLATE, tmp_path_factory.mktemp("local-stack"), local_stack_args
    ).start()
    yield stack
    leftovers = stack.stop()
    assert not leftovers, f"sandbox processes outlived the local stack: {leftovers}"
