"""SQS batch building, partial-batch-failure semantics and schedule expressions of the local stack."""

import json
import threading

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


def test_schedule_periods_by_schedule_or_target_function():
    from local.run import _schedule_periods
    from local.triggers import Schedule, Scheduler, Target

    every, each = _schedule_periods(["0", "DispatcherFunction=5", "ReaperTick=20.5"])
    assert (every, each) == (0.0, {"DispatcherFunction": 5.0, "ReaperTick": 20.5})
    schedules = {
        "DispatcherFunctionTick": Schedule(
            "DispatcherFunctionTick",
            "arn",
            "rate(1 minute)",
            [Target("DispatcherFunction", None, None)],
            "aws.events",
        ),
        "ReaperTick": Schedule(
            "ReaperTick", "arn", "rate(5 minutes)", [Target("ReaperFunction", None, None)], "aws.events"
        ),
        "Other": Schedule(
            "Other", "arn", "rate(1 hour)", [Target("OtherFunction", None, None)], "aws.events"
        ),
    }
    stop = threading.Event()
    stop.set()  # timers exit at once
    scheduler = Scheduler(schedules, lambda *_: None, None, "us-east-1", stop)
    scheduler.start(every, each)
    assert scheduler.periods == {"DispatcherFunctionTick": 5.0, "ReaperTick": 20.5, "Other": 0.0}
    scheduler.start(None, {})
    assert scheduler.periods == {"DispatcherFunctionTick": 60, "ReaperTick": 300, "Other": 3600}


@pytest.mark.parametrize("bad", ["soon", "=5", "X=-1"])
def test_bad_schedule_periods_are_refused(bad):
    from local.run import _schedule_periods

    with pytest.raises(SystemExit):
        _schedule_periods([bad])


def test_clock_offset_needs_the_local_stage():
    from local.run import check_clock_offset, parse_args
    from local.template import TemplateError

    assert parse_args(["--clock-offset", "-3600"]).clock_offset == -3600
    check_clock_offset(-3600, "local")
    check_clock_offset(0, "prod")
    with pytest.raises(TemplateError, match="Stage=local"):
        check_clock_offset(3600, "dev")


def test_warm_names_functions_of_the_template():
    from local.run import LocalStack, Options, parse_args
    from local.template import TemplateError

    assert parse_args(["--warm", "DialerFunction", "--warm", "EventProcessorFunction"]).warm == {
        "DialerFunction",
        "EventProcessorFunction",
    }
    assert parse_args([]).warm == frozenset()
    # A misspelt name is refused before any environment starts (none would be warmed silently).
    with pytest.raises(TemplateError, match="DialerFuntion"):
        LocalStack(Options(warm=frozenset({"DialerFuntion"})))._start_sandboxes([])
