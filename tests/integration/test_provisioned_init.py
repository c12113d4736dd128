"""Environments Lambda initialises ahead of use wire their service during init; on-demand ones on
first use; and the dialer's thread pool shares one wiring (dialer.lambda_init, docs/local-stack.md)."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from tests.integration.conftest import load_handler
from tests.support.aws import LambdaContextStub

INIT_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"


@pytest.mark.parametrize(
    ("function", "factory"),
    [
        ("dialer", "dialer"),
        ("event_processor", "event_processor"),
        ("webhook_intake", "intake"),
        ("assistant_tools", "tools"),
        ("transcripts", "fetcher"),
        ("dynamic_variables", "init_webhook"),
    ],
)
def test_a_provisioned_environment_wires_its_service_during_init(
    aws: dict[str, Any], moto_stack: Any, monkeypatch: pytest.MonkeyPatch, function: str, factory: str
) -> None:
    from dialer.adapters import aws as aws_clients

    monkeypatch.setenv("DIALS_QUEUE_URL", moto_stack.physical["DialsQueue"])
    module = load_handler(function)
    try:
        monkeypatch.setenv(INIT_TYPE, "on-demand")
        importlib.reload(module)
        assert getattr(module, factory).cache_info().currsize == 0  # wired by its first invocation
        monkeypatch.setenv(INIT_TYPE, "provisioned-concurrency")
        aws_clients.client.cache_clear()
        importlib.reload(module)
        assert getattr(module, factory).cache_info().currsize == 1
        if function != "dynamic_variables":  # its own fast DynamoDB client, built by the wiring
            assert aws_clients.client.cache_info().currsize > 0  # the shared clients too
    finally:
        monkeypatch.delenv(INIT_TYPE)
        importlib.reload(module)  # later tests load this module as an on-demand one, unwired


def test_a_cold_dialer_wires_once_for_a_batch_on_several_threads(
    aws: dict[str, Any], moto_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a cold dialer environment (nothing wired) and a batch of dial jobs it runs on threads
    monkeypatch.setenv("DIALS_QUEUE_URL", moto_stack.physical["DialsQueue"])
    module = load_handler("dialer")
    module.dialer.cache_clear()
    records = [
        {
            "messageId": f"m{i}",
            "body": json.dumps({"tenant_id": "acme", "campaign_id": "c1", "lead_id": f"l{i}", "n": 1}),
        }
        for i in range(8)
    ]
    # WHEN the batch runs
    module.lambda_handler({"Records": records}, LambdaContextStub())
    # THEN the service was wired once and shared (each thread wiring its own would be 8 sets of
    # clients and Telnyx connection pools in the first second of a burst)
    assert module.dialer.cache_info().misses == 1
