"""SQS batch building, partial-batch-failure semantics and schedule expressions of the local stack."""

import json

import pytest

from local.sandbox import InvokeResult, classify_rie_answer
from local.triggers import failed_ids, rate_seconds, sqs_records

IDS = {"m1", "m2", "m3"}


def _ok(payload):
    return InvokeResult(json.dumps(payload).encode())


def test_function_error_keeps_the_whole_batch():
    assert failed_ids(InvokeResult(b"{}", "RuntimeError"), IDS, report_failures=True) == IDS


def test_reported_failures_are_kept_the_rest_deleted():
    result = _ok({"batchItemFailures": [{"itemIdentifier": "m2"}]})
    assert failed_ids(result, IDS, report_failures=True) == {"m2"}


def test_failures_are_ignored_without_report_batch_item_failures():
    result = _ok({"batchItemFailures": [{"itemIdentifier": "m2"}]})
    assert failed_ids(result, IDS, report_failures=False) == set()


@pytest.mark.parametrize("bad", [{"itemIdentifier": "unknown"}, {"itemIdentifier": ""}, {}])
def test_an_unknown_identifier_fails_the_whole_batch(bad):
    assert failed_ids(_ok({"batchItemFailures": [bad]}), IDS, report_failures=True) == IDS


@pytest.mark.parametrize("payload", [None, {"batchItemFailures": []}, {"other": 1}])
def test_success_without_failures_deletes_everything(payload):
    assert failed_ids(_ok(payload), IDS, report_failures=True) == set()


def test_sqs_records_have_lambdas_shape():
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "rh",
        "Body": "hello",
        "MD5OfBody": "md5",
        "Attributes": {"ApproximateReceiveCount": "1"},
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "call"}},
    }
    (record,) = sqs_records([message], "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")["Records"]
    assert record["messageId"] == "m1"
    assert record["receiptHandle"] == "rh"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":q")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"]["stringValue"] == "call"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("cron(0/5 * * * ? *)", None),
    ],
)
def test_rate_expressions(expression, seconds):
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, b'{"ok": true}', None),
        (
            200,
            b'{"errorMessage": "x", "errorType": "ValueError", "requestId": "r", "stackTrace": []}',
            "ValueError",
        ),
        (200, b"Task timed out after 1.00 seconds", "Sandbox.Timedout"),
        (502, b'{"errorType": "Runtime.ExitError", "errorMessage": "exit"}', "Runtime.ExitError"),
        (200, b'{"errorType": "not an error", "errorMessage": "x", "data": 1}', None),
    ],
)
def test_rie_answers_are_classified(status, body, error):
    assert classify_rie_answer(status, body).error_type == error
