"""The scan gate (scripts/scan_template.py): a finding passes only fixed, or skipped with a reason."""

from __future__ import annotations

from typing import Any

from scripts.scan_template import NO_COMMENT, judge


def _check(check_id: str, resource: str, comment: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"result": "SKIPPED" if comment is not None else "PASSED"}
    if comment is not None:
        result["suppress_comment"] = comment
    return {"check_id": check_id, "resource": resource, "check_name": "a check", "check_result": result}


def _report(passed: int = 0, failed: tuple[str, ...] = (), skipped: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "check_type": "cloudformation",
        "results": {
            "passed_checks": [_check("CKV_AWS_1", f"AWS::SQS::Queue.Q{i}") for i in range(passed)],
            "failed_checks": [_check(c, "AWS::S3::Bucket.B") for c in failed],
            "skipped_checks": [_check("CKV_AWS_117", "AWS::Serverless::Function.F", c) for c in skipped],
        },
    }


def test_clean_report_passes_and_counts():
    problems, summary = judge(_report(passed=3, skipped=("no VPC: nothing private to reach",)))
    assert problems == []
    assert summary == "checkov: 3 passed, 0 failed, 1 skipped (each skip with its reason)"


def test_a_failed_check_fails_the_gate():
    problems, summary = judge(_report(passed=3, failed=("CKV_AWS_21",)))
    assert problems == ["FAILED CKV_AWS_21 on AWS::S3::Bucket.B: a check"]
    assert summary == "checkov: 3 passed, 1 failed, 0 skipped"


def test_a_skip_without_a_reason_fails_the_gate():
    # checkov itself records a comment-less Metadata skip as "No comment provided" and passes it.
    for comment in (NO_COMMENT, "", "   "):
        problems, _ = judge(_report(skipped=(comment,)))
        assert problems == ["SKIPPED WITHOUT A REASON CKV_AWS_117 on AWS::Serverless::Function.F"]
