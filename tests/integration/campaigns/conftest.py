"""Campaigns API in-process: the authorizer and campaigns_api handlers against moto, and the
lead_import function fed from the import queue (S3 notifications as moto delivers them).

Tenants are bootstrapped with the CLI's service; their assistant mirrors and caller IDs are
written straight to the table (the assistants API is issue 5's, tested there)."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.integration.conftest import load_handler
from tests.integration.management.conftest import Tenant, bootstrap
from tests.support.aws import LambdaContextStub, MotoStack, drain, sqs_event
from tests.support.management import InProcessApi

STACK = "it"  # the stack name tests/support/aws.py provisions under
ASSISTANT = "assistant-5b1f6c0e-0000-4000-8000-000000000001"


@dataclass(frozen=True)
class CampaignTenant:
    """A bootstrapped tenant with an assistant in its mirror and one caller ID."""

    tenant: Tenant
    assistant_id: str
    caller_id: str

    @property
    def key(self) -> str:
        return self.tenant.api_key


@pytest.fixture(scope="session")
def import_env(moto_stack: MotoStack) -> dict[str, str]:
    """The import bucket and queue the provisioner made from template.yaml, in the functions' env."""
    sqs = boto3.client("sqs")
    dlq_url = sqs.get_queue_url(QueueName=f"{STACK}-ImportDeadLetterQueue")["QueueUrl"]
    env = {
        "IMPORT_BUCKET": f"{STACK}-importbucket",
        "IMPORT_QUEUE_URL": sqs.get_queue_url(QueueName=f"{STACK}-ImportQueue")["QueueUrl"],
        "IMPORT_DLQ_URL": dlq_url,  # for the tests; the function only needs the ARN
        "IMPORT_DLQ_ARN": sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"],
        "IMPORT_RESERVE_MS": "0",
    }
    os.environ.update(env)
    drain(sqs, env["IMPORT_QUEUE_URL"])  # S3's s3:TestEvent
    return env


def _seed(tenant_id: str, caller: str) -> CampaignTenant:
    from dialer.adapters.management_table import AssistantMirror, CallerIdRecord, ManagementTable
    from dialer.settings import get_settings

    get_settings.cache_clear()
    table = ManagementTable(get_settings().table_name, client=boto3.client("dynamodb"))
    now = datetime.now(UTC).isoformat()
    table.put_mirror(AssistantMirror(tenant_id, ASSISTANT, "Ava", "v1", "main", "texml-1", now, now))
    caller_id = f"cid_{tenant_id.replace('-', '')}"
    table.put_caller_id(CallerIdRecord(tenant_id, caller_id, caller, 100, True, now, now), new=True)
    return CampaignTenant(bootstrap(tenant_id, f"KEY_{tenant_id}"), ASSISTANT, caller_id)


@pytest.fixture(scope="session")
def campaign_tenants(moto_stack: MotoStack, import_env: dict[str, str]) -> dict[str, CampaignTenant]:
    """Two tenants, each with the same assistant id in its own mirror (ids never cross tenants)."""
    return {"a": _seed("cmp-alpha", "+15550003001"), "b": _seed("cmp-bravo", "+15550004001")}


@pytest.fixture
def ta(campaign_tenants: dict[str, CampaignTenant]) -> CampaignTenant:
    return campaign_tenants["a"]


@pytest.fixture
def tb(campaign_tenants: dict[str, CampaignTenant]) -> CampaignTenant:
    return campaign_tenants["b"]


def fresh(module: ModuleType) -> ModuleType:
    """Clear a handler module's per-environment caches (wiring built with functools.cache)."""
    for value in vars(module).values():
        if (
            callable(value)
            and hasattr(value, "cache_clear")
            and getattr(value, "__module__", "") == module.__name__
        ):
            value.cache_clear()
    return module


@pytest.fixture
def api(aws: dict[str, Any], campaign_tenants: dict[str, CampaignTenant]) -> InProcessApi:
    """The authorizer, assistants_api and campaigns_api, with fresh caches."""
    return InProcessApi(
        fresh(load_handler("authorizer")),
        fresh(load_handler("assistants_api")),
        fresh(load_handler("campaigns_api")),
    )


class Importer:
    """Plays the SQS event source of the import function: delivers queued messages until none is left."""

    def __init__(self, module: ModuleType, queue_url: str) -> None:
        self.module = module
        self.queue_url = queue_url
        self.sqs = boto3.client("sqs")
        self.invocations = 0

    def run(self, *, max_rounds: int = 10_000) -> int:
        """Deliver messages one by one (BatchSize 1, as the template says); returns how many."""
        for delivered in range(max_rounds):
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1).get("Messages", [])
            if not got:
                return delivered
            result = self.module.lambda_handler(sqs_event(got), LambdaContextStub())
            self.invocations += 1
            assert result == {"batchItemFailures": []}, result
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=got[0]["ReceiptHandle"])
        raise AssertionError("import did not finish")

    def run_failing(self, *, max_rounds: int = 100) -> int:
        """Deliver messages that fail and are never deleted, as SQS would (visibility timeout 0),
        until SQS's redrive policy has parked them all in the DLQ; returns the failed deliveries."""
        for delivered in range(max_rounds):
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=1, VisibilityTimeout=0
            ).get("Messages", [])
            if not got:
                return delivered
            # A batch whose every record failed raises (Powertools); either way SQS keeps it.
            with contextlib.suppress(BatchProcessingError):
                result = self.module.lambda_handler(sqs_event(got), LambdaContextStub())
                assert result["batchItemFailures"], "expected this delivery to fail"
        raise AssertionError("the messages never reached the dead-letter queue")

    def run_dead_letters(self) -> int:
        """Play the DLQ's event source (its ARN tells the function where records come from)."""
        dlq_url, dlq_arn = os.environ["IMPORT_DLQ_URL"], os.environ["IMPORT_DLQ_ARN"]
        delivered = 0
        while got := self.sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", []):
            result = self.module.lambda_handler(sqs_event(got, queue_arn=dlq_arn), LambdaContextStub())
            assert result == {"batchItemFailures": []}, result
            for message in got:
                self.sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            delivered += len(got)
        return delivered


@pytest.fixture
def importer(aws: dict[str, Any], import_env: dict[str, str]) -> Importer:
    module = fresh(load_handler("lead_import"))
    return Importer(module, import_env["IMPORT_QUEUE_URL"])


def upload(key: str, body: bytes) -> None:
    """What the client's PUT to the presigned URL does (moto delivers the S3 notification)."""
    boto3.client("s3").put_object(Bucket=os.environ["IMPORT_BUCKET"], Key=key, Body=body)


def object_key(upload_url: str) -> str:
    """The S3 key inside a presigned URL."""
    from urllib.parse import unquote, urlparse

    path = unquote(urlparse(upload_url).path).lstrip("/")
    bucket = os.environ["IMPORT_BUCKET"]
    return path.removeprefix(f"{bucket}/")


def campaign_body(t: CampaignTenant, **overrides: Any) -> dict[str, Any]:
    """A valid campaign for tenant ``t``."""
    return {
        "name": "Renewals",
        "assistant_id": t.assistant_id,
        "caller_ids": [t.caller_id],
        **overrides,
    }


def dumps(value: Any) -> str:
    return json.dumps(value)
