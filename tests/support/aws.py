"""moto-backed AWS for integration tests, built from template.yaml's own resource definitions.

The tables, queues and bucket are created by the local stack's provisioner from the template's
CloudFormation properties, so tests and infrastructure cannot drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from local.provision import Provisioner
from local.template import Resolver
from tests.support.signing import REPO

REGION = "us-east-1"
STAGE = "test"
PARAM_PREFIX = f"/telnyx-ai-dialer/{STAGE}"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short-form tags into their long form."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template() -> dict[str, Any]:
    """template.yaml as long-form CloudFormation (a fresh, private loader: no global side effects)."""
    return yaml.load((REPO / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass
class MotoStack:
    """Physical names of the template's data resources in moto, and the functions' environment."""

    table_name: str
    events_queue_url: str
    dlq_url: str
    bucket: str
    physical: dict[str, str] = field(default_factory=dict)
    environments: dict[str, dict[str, str]] = field(default_factory=dict)


def provision(client_factory: Any) -> MotoStack:
    """Create the template's tables, queues and buckets with ``client_factory(service)``, and resolve
    each function's environment (Globals + its own variables) against them, as CloudFormation would."""
    cfn = load_template()
    params = {name: spec.get("Default") for name, spec in cfn["Parameters"].items()}
    params["Stage"] = STAGE
    resolver = Resolver(cfn, params, REGION, "it")
    physical = Provisioner(resolver, client_factory).provision(cfn["Resources"])
    global_env = (
        ((cfn.get("Globals") or {}).get("Function") or {}).get("Environment", {}).get("Variables", {})
    )
    environments = {
        logical_id: {
            name: str(value)
            for name, value in resolver.resolve(
                {**global_env, **(resource["Properties"].get("Environment") or {}).get("Variables", {})}
            ).items()
        }
        for logical_id, resource in cfn["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    return MotoStack(
        table_name=physical["StateTable"],
        events_queue_url=physical["EventsQueue"],
        dlq_url=physical["EventsDeadLetterQueue"],
        bucket=physical["PayloadBucket"],
        physical=physical,
        environments=environments,
    )


def function_environment(stack: MotoStack, *functions: str) -> dict[str, str]:
    """The environment template.yaml gives ``functions`` (default: all of them, merged), without
    X-Ray (no daemon in tests)."""
    merged: dict[str, str] = {}
    for name in functions or tuple(stack.environments):
        merged.update(stack.environments[name])
    return {**merged, "POWERTOOLS_TRACE_DISABLED": "true"}


def seed_tenant(ssm: Any, tenant_id: str, public_key_b64: str) -> None:
    """Store a tenant's webhook public key where the functions read it."""
    ssm.put_parameter(
        Name=f"{PARAM_PREFIX}/tenants/{tenant_id}/webhook_public_key",
        Value=public_key_b64,
        Type="String",
        Overwrite=True,
    )


def drain(sqs: Any, queue_url: str, max_messages: int = 100) -> list[dict[str, Any]]:
    """Receive (and delete) everything currently in a queue."""
    messages: list[dict[str, Any]] = []
    while len(messages) < max_messages:
        got = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
        ).get("Messages", [])
        if not got:
            break
        for m in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        messages.extend(got)
    return messages


def sqs_event(
    messages: list[dict[str, Any]], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:events"
) -> dict[str, Any]:
    """The Lambda SQS event for received messages (or raw bodies as dicts with 'Body')."""
    records = []
    for i, m in enumerate(messages):
        records.append(
            {
                "messageId": m.get("MessageId", f"m{i}"),
                "receiptHandle": m.get("ReceiptHandle", f"rh{i}"),
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "x",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def aws_env_defaults() -> None:
    """Dummy credentials so nothing can ever reach a real account."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)


class LambdaContextStub:
    """The attributes Powertools reads from a Lambda context."""

    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def create_gsi_table(ddb: Any, name: str) -> None:
    """A pay-per-request table keyed ``pk``/``sk`` with one index ``gsi`` keyed ``gpk``/``gsk``
    (projection ALL): the shape the local moto shims' differential tests run their operations on."""
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gpk", "gsk")],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi",
                "KeySchema": [
                    {"AttributeName": "gpk", "KeyType": "HASH"},
                    {"AttributeName": "gsk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
