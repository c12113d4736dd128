"""Every dead-letter queue and every function in template.yaml is watched by an alarm.

A new queue's DLQ or a new function without its alarm fails here, not in production.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from dialer.observability import DIAL_REFUSED_429, METRICS_NAMESPACE, SERVICE
from tests.support.aws import load_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def _ref_target(value: Any) -> str | None:
    """The logical id a Ref / GetAtt points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def dead_letter_queues(template: dict[str, Any]) -> set[str]:
    """Queues something parks failures in: a RedrivePolicy target or a function's DeadLetterQueue."""
    found: set[str] = set()
    for queue in _resources(template, "AWS::SQS::Queue").values():
        redrive = (queue.get("Properties") or {}).get("RedrivePolicy") or {}
        if target := _ref_target(redrive.get("deadLetterTargetArn")):
            found.add(target)
    configs = [template.get("Globals", {}).get("Function", {})]
    configs += [r.get("Properties") or {} for r in _resources(template, "AWS::Serverless::Function").values()]
    for config in configs:
        dlq = config.get("DeadLetterQueue") or {}
        if dlq.get("Type") == "SQS" and (target := _ref_target(dlq.get("TargetArn"))):
            found.add(target)
    return found


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in _resources(template, "AWS::CloudWatch::Alarm").values()]


def _dimension(alarm: dict[str, Any], name: str) -> Any:
    return next((d["Value"] for d in alarm.get("Dimensions") or [] if d["Name"] == name), None)


def test_the_template_has_dead_letter_queues(template):
    # The discovery below must find the known ones, or the next test proves nothing.
    assert {
        "EventsDeadLetterQueue",
        "ImportDeadLetterQueue",
        "DialsDeadLetterQueue",
        "DispatchDeadLetterQueue",
        "FailedInvocationsQueue",
    } <= dead_letter_queues(template)


def test_every_dead_letter_queue_alarms_when_not_empty(template):
    watched = {
        _ref_target(_dimension(a, "QueueName"))
        for a in _alarms(template)
        if a["Namespace"] == "AWS/SQS"
        and a["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and a["Threshold"] == 0
        and a["ComparisonOperator"] == "GreaterThanThreshold"
    }
    assert dead_letter_queues(template) - watched == set()


def test_every_function_has_an_errors_alarm(template):
    functions = set(_resources(template, "AWS::Serverless::Function"))
    watched = {
        _ref_target(_dimension(a, "FunctionName"))
        for a in _alarms(template)
        if a["Namespace"] == "AWS/Lambda" and a["MetricName"] == "Errors"
    }
    assert functions
    assert functions - watched == set()


def test_every_alarm_notifies_the_alarm_topic(template):
    for alarm in _alarms(template):
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], alarm["AlarmDescription"]


def test_the_429_alarm_reads_the_metric_the_code_emits(template):
    [alarm] = [a for a in _alarms(template) if a["MetricName"] == DIAL_REFUSED_429]
    assert alarm["Namespace"] == METRICS_NAMESPACE
    assert _dimension(alarm, "service") == SERVICE
    # ... and the functions' Powertools settings agree
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert (env["POWERTOOLS_METRICS_NAMESPACE"], env["POWERTOOLS_SERVICE_NAME"]) == (
        METRICS_NAMESPACE,
        SERVICE,
    )


def test_dashboard_body_is_json_once_substituted(template):
    [dashboard] = _resources(template, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([^}]+)\}", body))
    resources = set(template["Resources"]) | set(template["Parameters"])
    # every ${...} is a pseudo parameter, a parameter, a resource or one's attribute
    assert {n.split(".")[0] for n in names if not n.startswith("AWS::")} <= resources
    doc = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    metrics = {
        m[1] for w in doc["widgets"] for m in w["properties"].get("metrics", []) if isinstance(m[0], str)
    }
    assert {"DialPlaced", "DialRefused429", "CallConnected", "CallCost", "WebhookLagSeconds"} <= metrics
