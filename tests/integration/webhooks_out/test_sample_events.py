"""The webhook functions' sample events (``sam local invoke -e``) run through the real handlers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import load_handler
from tests.support.aws import LambdaContextStub
from tests.support.signing import REPO

EVENTS = REPO / "events"


def _load(path: str) -> dict[str, Any]:
    return json.loads((EVENTS / path).read_text())


def test_endpoint_samples(aws: dict[str, Any]) -> None:
    handler = load_handler("webhook_endpoints_api")
    made = handler.lambda_handler(_load("webhook_endpoints_api/create_endpoint.json"), LambdaContextStub())
    assert made["statusCode"] == 201, made["body"]
    assert json.loads(made["body"])["secret"].startswith("whsec_")
    listed = handler.lambda_handler(_load("webhook_endpoints_api/list_deliveries.json"), LambdaContextStub())
    assert listed["statusCode"] == 404  # we_sample is no endpoint of the sample tenant
    endpoint_id = json.loads(made["body"])["id"]
    deleted = handler.lambda_handler(
        {
            **_load("webhook_endpoints_api/list_deliveries.json"),
            "httpMethod": "DELETE",
            "resource": "/webhook-endpoints/{endpoint_id}",
            "path": f"/webhook-endpoints/{endpoint_id}",
            "pathParameters": {"endpoint_id": endpoint_id},
        },
        LambdaContextStub(),
    )
    assert deleted["statusCode"] == 204


def test_delivery_sample(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from dialer.settings import get_settings

    monkeypatch.setenv("WEBHOOK_DELIVERY_LOOP_SECONDS", "0")
    get_settings.cache_clear()
    handler = load_handler("webhook_delivery")
    handler.deliverer.cache_clear()
    assert isinstance(
        handler.lambda_handler(_load("webhook_delivery/schedule.json"), LambdaContextStub()), dict
    )
    get_settings.cache_clear()
