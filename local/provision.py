"""Creates a template's queues, tables, buckets and parameters on an AWS endpoint (moto by default)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from local.template import ACCOUNT_ID, Resolver, TemplateError, references

log = logging.getLogger("local.provision")

_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "RedrivePolicy",
    "RedriveAllowPolicy",
)


def _attribute(value: Any) -> str:
    """SQS attribute values are strings; CloudFormation gives numbers, booleans and JSON objects."""
    if isinstance(value, dict):
        if "maxReceiveCount" in value:  # a Ref to a Number parameter arrives as a string
            value = {**value, "maxReceiveCount": int(value["maxReceiveCount"])}
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class Provisioner:
    """Creates resources with boto3 clients from ``client(service)`` and registers their physical ids."""

    def __init__(
        self,
        resolver: Resolver,
        client: Callable[[str], Any],
        visibility_timeout: int | None = None,
    ):
        self.resolver = resolver
        self.client = client
        self.visibility_timeout = visibility_timeout
        self.queue_urls_by_arn: dict[str, str] = {}

    def _default_name(self, logical_id: str) -> str:
        return f"{self.resolver.stack_name}-{logical_id}"

    def provision(self, resources: dict[str, dict[str, Any]]) -> dict[str, str]:
        """Create every supported data resource, dependencies first; return logical id → physical id."""
        creators = {
            "AWS::SQS::Queue": self._queue,
            "AWS::DynamoDB::Table": self._table,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SSM::Parameter": self._parameter,
        }
        wanted = {
            lid: res
            for lid, res in resources.items()
            if res["Type"] in creators
            and ("Condition" not in res or self.resolver.condition(res["Condition"]))
        }
        physical: dict[str, str] = {}
        done: set[str] = set()

        def create(lid: str, trail: tuple[str, ...]) -> None:
            if lid in done:
                return
            if lid in trail:
                raise TemplateError(f"circular reference: {' -> '.join((*trail, lid))}")
            props = wanted[lid].get("Properties") or {}
            for dep in sorted(references(props) & set(wanted)):
                create(dep, (*trail, lid))
            physical[lid] = creators[wanted[lid]["Type"]](lid, self.resolver.resolve(props))
            done.add(lid)

        for lid in wanted:
            create(lid, ())
        return physical

    def _queue(self, lid: str, props: dict[str, Any]) -> str:
        fifo = bool(props.get("FifoQueue"))
        name = props.get("QueueName") or self._default_name(lid) + (".fifo" if fifo else "")
        attributes = {k: _attribute(props[k]) for k in _QUEUE_ATTRIBUTES if k in props}
        if self.visibility_timeout is not None:
            attributes["VisibilityTimeout"] = str(self.visibility_timeout)
        sqs = self.client("sqs")
        try:
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        except ClientError as exc:  # an external endpoint may keep queues from an earlier run
            if _code(exc) not in ("QueueAlreadyExists", "QueueNameExists"):
                raise
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        arn = f"arn:aws:sqs:{self.resolver.region}:{ACCOUNT_ID}:{name}"
        self.queue_urls_by_arn[arn] = url
        self.resolver.register(lid, url, Arn=arn, QueueName=name, QueueUrl=url)
        return url

    def _table(self, lid: str, props: dict[str, Any]) -> str:
        name = props.get("TableName") or self._default_name(lid)
        on_demand = props.get("BillingMode") == "PAY_PER_REQUEST" or "ProvisionedThroughput" not in props
        args: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
        }
        if on_demand:
            args["BillingMode"] = "PAY_PER_REQUEST"
        else:
            args["ProvisionedThroughput"] = _throughput(props["ProvisionedThroughput"])
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if props.get(key):
                args[key] = [_index(index, on_demand) for index in props[key]]
        if (props.get("StreamSpecification") or {}).get("StreamViewType"):
            args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        ddb = self.client("dynamodb")
        try:
            description = ddb.create_table(**args)["TableDescription"]
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":
                raise
            log.warning("table %s exists already: reused as it is", name)
            description = ddb.describe_table(TableName=name)["Table"]
        ttl = props.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled") in (True, "true"):
            try:
                ddb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )
            except Exception as exc:  # some stand-ins (dynalite) have no TTL API
                log.warning("TTL not enabled on %s: %s", name, exc)
        self.resolver.register(
            lid, name, Arn=description["TableArn"], StreamArn=description.get("LatestStreamArn", "")
        )
        return name

    def _bucket(self, lid: str, props: dict[str, Any]) -> str:
        # Bucket names are lower case and at most 63 characters.
        name = props.get("BucketName") or self._default_name(lid).lower()[:63]
        location = {} if self.resolver.region == "us-east-1" else {"LocationConstraint": self.resolver.region}
        try:
            self.client("s3").create_bucket(
                Bucket=name, **({"CreateBucketConfiguration": location} if location else {})
            )
        except ClientError as exc:
            if _code(exc) != "BucketAlreadyOwnedByYou":
                raise
        notifications = bucket_notifications(props.get("NotificationConfiguration") or {})
        if notifications:
            # The queues exist already: the bucket references them, so they were created first.
            self.client("s3").put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration=notifications
            )
        self.resolver.register(
            lid,
            name,
            Arn=f"arn:aws:s3:::{name}",
            DomainName=f"{name}.s3.amazonaws.com",
            RegionalDomainName=f"{name}.s3.{self.resolver.region}.amazonaws.com",
        )
        return name

    def _parameter(self, lid: str, props: dict[str, Any]) -> str:
        name = props.get("Name") or f"/{self.resolver.stack_name}/{lid}"
        self.client("ssm").put_parameter(
            Name=name, Value=str(props["Value"]), Type=props.get("Type", "String"), Overwrite=True
        )
        self.resolver.register(lid, name, Type=props.get("Type", "String"), Value=str(props["Value"]))
        return name


def bucket_notifications(spec: dict[str, Any]) -> dict[str, Any]:
    """A bucket's CloudFormation ``NotificationConfiguration`` as the S3 API takes it.

    Only queue notifications are applied (the local stack delivers them through its SQS pumps);
    topic and Lambda notifications are logged and skipped.
    """
    for kind in ("TopicConfigurations", "LambdaConfigurations"):
        if spec.get(kind):
            log.warning("bucket %s are not supported locally; skipped", kind)
    out = []
    for entry in spec.get("QueueConfigurations") or []:
        config: dict[str, Any] = {"QueueArn": entry["Queue"], "Events": [entry["Event"]]}
        rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
        if rules:
            config["Filter"] = {
                "Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}
            }
        out.append(config)
    return {"QueueConfigurations": out} if out else {}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _throughput(spec: dict[str, Any]) -> dict[str, int]:
    return {k: int(spec[k]) for k in ("ReadCapacityUnits", "WriteCapacityUnits")}


def _index(index: dict[str, Any], on_demand: bool) -> dict[str, Any]:
    index = {k: v for k, v in index.items() if k not in ("ContributorInsightsSpecification",)}
    if on_demand:
        index.pop("ProvisionedThroughput", None)
    elif "ProvisionedThroughput" in index:
        index["ProvisionedThroughput"] = _throughput(index["ProvisionedThroughput"])
    return index


def register_computed(resolver: Resolver, resources: dict[str, dict[str, Any]]) -> None:
    """Register Ref/GetAtt values of resources that are not provisioned but may be referenced
    (functions, layers, APIs, roles ...), so that, e.g., an env var holding a role ARN resolves."""
    region = resolver.region
    for lid, res in resources.items():
        if lid in resolver.refs:
            continue
        kind = res["Type"]
        props = res.get("Properties") or {}
        if kind == "AWS::Lambda::Function":
            name = props.get("FunctionName") if isinstance(props.get("FunctionName"), str) else lid
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
            resolver.register(lid, name, Arn=arn)
        elif kind == "AWS::Lambda::LayerVersion":
            resolver.register(lid, f"arn:aws:lambda:{region}:{ACCOUNT_ID}:layer:{lid}:1")
        elif kind == "AWS::Lambda::Alias":
            # Ref of an alias is its ARN: the function's ARN with ``:{alias}`` (SAM's AutoPublishAlias
            # points API integrations at it). Locally an alias runs its function's code.
            target = (
                (props.get("FunctionName") or {}).get("Ref")
                if isinstance(props.get("FunctionName"), dict)
                else None
            )
            name = props.get("FunctionName") if isinstance(props.get("FunctionName"), str) else target or lid
            resolver.register(
                lid, f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}:{props.get('Name', 'live')}"
            )
        elif kind == "AWS::ApiGateway::RestApi":
            resolver.register(lid, lid.lower(), RootResourceId="root")
        else:
            service = kind.split("::")[1].lower()
            resolver.register(lid, lid, Arn=f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{lid}")
