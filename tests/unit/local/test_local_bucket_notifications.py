"""The local provisioner applies a bucket's NotificationConfiguration (S3 → SQS) on the endpoint."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

import boto3
from moto import mock_aws

from local.provision import Provisioner, bucket_notifications
from local.template import Resolver
from tests.support.aws import aws_env_defaults

CFN_NOTIFICATIONS = {
    "QueueConfigurations": [
        {
            "Event": "s3:ObjectCreated:*",
            "Queue": "arn:aws:sqs:us-east-1:123456789012:imports",
            "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "imports/"}]}},
        }
    ]
}


def test_queue_configurations_are_translated_to_the_s3_api_shape() -> None:
    assert bucket_notifications(CFN_NOTIFICATIONS) == {
        "QueueConfigurations": [
            {
                "QueueArn": "arn:aws:sqs:us-east-1:123456789012:imports",
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "imports/"}]}},
            }
        ]
    }
    assert bucket_notifications({}) == {}
    assert bucket_notifications({"LambdaConfigurations": [{"Event": "x", "Function": "f"}]}) == {}


def test_provisioned_bucket_notifies_its_queue_and_the_queue_exists_first() -> None:
    # GIVEN a template whose bucket notifies a queue it references (declared after the bucket)
    aws_env_defaults()
    resources = {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "NotificationConfiguration": {
                    "QueueConfigurations": [
                        {
                            "Event": "s3:ObjectCreated:*",
                            "Queue": {"Fn::GetAtt": ["Queue", "Arn"]},
                            "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "imports/"}]}},
                        }
                    ]
                }
            },
        },
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    }
    with mock_aws():
        resolver = Resolver({"Resources": resources}, {}, "us-east-1", "t")
        physical = Provisioner(
            resolver, lambda service: boto3.client(service, region_name="us-east-1")
        ).provision(resources)
        s3, sqs = boto3.client("s3", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        # WHEN objects are uploaded inside and outside the prefix
        s3.put_object(Bucket=physical["Bucket"], Key="imports/a.csv", Body=b"phone\n")
        s3.put_object(Bucket=physical["Bucket"], Key="other/b.csv", Body=b"phone\n")
        # THEN only the prefixed upload is announced (after S3's test event; keys come URL-encoded)
        bodies = []
        while got := sqs.receive_message(QueueUrl=physical["Queue"], MaxNumberOfMessages=10).get("Messages"):
            bodies += [json.loads(m["Body"]) for m in got]
            for m in got:
                sqs.delete_message(QueueUrl=physical["Queue"], ReceiptHandle=m["ReceiptHandle"])
        keys = [unquote_plus(r["s3"]["object"]["key"]) for b in bodies for r in b.get("Records", [])]
        assert keys == ["imports/a.csv"]
