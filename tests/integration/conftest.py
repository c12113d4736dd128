"""In-process integration: the real handlers against moto (mock_aws), resources from template.yaml."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.moto_conditions import cached_conditions
from local.moto_serialize import fast_attribute_values
from local.moto_sqs import lean_sqs
from local.moto_update import fast_updates
from local.moto_wire import json_wire
from tests.support.aws import MotoStack, aws_env_defaults, drain, function_environment, provision, seed_tenant
from tests.support.signing import WebhookSigner, new_signer

TENANT = "acme"


@pytest.fixture(scope="session")
def moto_stack() -> Iterator[MotoStack]:
    """One moto world per session (creating tables per test costs ~90 ms each). DynamoDB attribute
    values are serialised by the local stack's direct path (byte for byte moto's output, pinned by
    tests/unit/local/test_local_moto_serialize.py): moto's generic serializer was a third of the
    suite's DynamoDB time. Update and condition expressions take the local stack's cheaper path too
    (every answer moto's own, pinned by tests/unit/local/test_local_moto_update.py), and the item
    operations' JSON is read and written with ``json`` (local/moto_wire.py, pinned by
    tests/unit/local/test_local_moto_wire.py)."""
    aws_env_defaults()
    with mock_aws(), fast_attribute_values(), fast_updates(), cached_conditions(), json_wire(), lean_sqs():
        stack = provision(lambda service: boto3.client(service, region_name="us-east-1"))
        saved = dict(os.environ)
        os.environ.update(function_environment(stack))
        yield stack
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def signer(moto_stack: MotoStack) -> WebhookSigner:
    """The tenant's Telnyx signing key; its public half is in SSM."""
    key = new_signer()
    seed_tenant(boto3.client("ssm"), TENANT, key.public_key_b64)
    return key


@pytest.fixture
def aws(moto_stack: MotoStack) -> Iterator[dict[str, Any]]:
    """Fresh caches and an empty events queue for every test; boto3 clients for asserts."""
    from dialer.adapters import aws as aws_clients
    from dialer.settings import get_settings

    get_settings.cache_clear()
    aws_clients.client.cache_clear()
    clients = {name: boto3.client(name) for name in ("sqs", "dynamodb", "s3", "ssm")}
    drain(clients["sqs"], moto_stack.events_queue_url)
    yield clients
    drain(clients["sqs"], moto_stack.events_queue_url)


def load_handler(function: str) -> ModuleType:
    """Import ``functions/<function>/app.py`` fresh, as its own Lambda would (one module per function)."""
    module = importlib.import_module(f"functions.{function}.app")
    for name in ("intake", "event_processor"):
        cached = getattr(module, name, None)
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()
    return module


@pytest.fixture
def intake_handler(aws: dict[str, Any]) -> ModuleType:
    return load_handler("webhook_intake")


@pytest.fixture
def processor_handler(aws: dict[str, Any]) -> ModuleType:
    return load_handler("event_processor")
