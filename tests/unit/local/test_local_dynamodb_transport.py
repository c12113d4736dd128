"""The local stack's DynamoDB transport (``local/runtime_plugins/local_dynamodb_transport.py``)
gives a caller what botocore's own HTTP stack gives: the same answers and the same errors
(codes, messages, cancellation reasons, a failed condition's item, binary values) for every item
operation the product uses, against the local moto server the runner starts. It is loaded the way
the runner loads it (botocore's client plugin variable), and it does answer where it claims to (a
transport that always fell back would pass the comparison too)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local import moto_wire
from tests.unit.local.test_local_moto_wire import run_operations

REPO = Path(__file__).resolve().parents[3]
PLUGINS = REPO / "local" / "runtime_plugins"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """The moto server as the runner starts it (it stops when its stdin closes)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "local.moto_server"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    assert server.stdin is not None
    line = server.stdout.readline()
    assert line.startswith("MOTO_READY "), line
    try:
        yield f"http://127.0.0.1:{line.split()[1]}"
    finally:
        server.stdin.close()
        server.wait(timeout=10)


def _client(endpoint: str, monkeypatch: pytest.MonkeyPatch, *, plugin: bool) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    if plugin:
        monkeypatch.syspath_prepend(str(PLUGINS))
        monkeypatch.setenv("BOTOCORE_EXPERIMENTAL__PLUGINS", "local_dynamodb=local_dynamodb_transport")
    else:
        monkeypatch.delenv("BOTOCORE_EXPERIMENTAL__PLUGINS", raising=False)
    return boto3.Session().client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)


def _run(ddb: Any) -> tuple[list[tuple[str, Any]], Counter[str]]:
    """Every step's answer (metadata dropped) or error; and which operations the transport
    answered itself (its answers are not botocore's ``AWSResponse``)."""
    answered: Counter[str] = Counter()

    def seen(http_response: Any, model: Any, **_: Any) -> None:
        if type(http_response).__name__ == "Answer":
            answered[model.name] += 1

    ddb.meta.events.register("after-call.dynamodb", seen)
    return run_operations(ddb), answered


def test_every_answer_and_error_is_the_same_as_botocores_own(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    vanilla, untouched = _run(_client(endpoint, monkeypatch, plugin=False))
    fast, answered = _run(_client(endpoint, monkeypatch, plugin=True))
    assert untouched == Counter()
    assert [name for name, _ in fast] == [name for name, _ in vanilla]
    for (name, want), (_, got) in zip(vanilla, fast, strict=True):
        assert got == want, name
    # the comparison saw what it is meant to: binary values, errors with their modelled fields
    answers = dict(vanilla)
    assert answers["get binary"]["Item"]["b"] == {"B": b"\x00\xff"}
    assert answers["transaction canceled"][1]["CancellationReasons"][1]["Code"] == "ConditionalCheckFailed"
    assert answers["update, condition fails, old item returned"][1]["Item"]["pk"] == {"S": "a"}
    assert answers["unknown table"][1]["Error"]["Code"] == "ResourceNotFoundException"
    # and the transport answered every item operation (errors included), the table calls not
    from local_dynamodb_transport import DATA_PLANE

    assert DATA_PLANE == moto_wire.ITEM_OPERATIONS  # one list of item operations, kept in step
    for operation in sorted(DATA_PLANE):
        assert answered[operation] >= 1, operation
    assert answered["CreateTable"] == 0
    assert answered["DeleteTable"] == 0
