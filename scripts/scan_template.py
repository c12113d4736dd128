"""Runs checkov on template.yaml and fails on any finding that is neither fixed nor skipped with a reason.

    .venv-scan/bin/python scripts/scan_template.py [template.yaml]

checkov passes a skip written without a comment ("No comment provided"); this gate does not. It
also refuses checkov config files: a `skip-check` there would hide a check for every resource,
and skips belong next to the resource they excuse (its `Metadata.checkov.skip`). Standard library
only, so the unit tests can import `judge` from the test environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILES = (".checkov.yaml", ".checkov.yml")
NO_COMMENT = "No comment provided"  # what checkov records for a skip without a comment


def judge(report: dict[str, Any]) -> tuple[list[str], str]:
    """Problems in one checkov JSON report (one framework), and its summary line."""
    results = report.get("results") or {}
    problems = [
        f"FAILED {c['check_id']} on {c['resource']}: {c.get('check_name', '')}"
        for c in results.get("failed_checks") or []
    ]
    for c in results.get("skipped_checks") or []:
        reason = str((c.get("check_result") or {}).get("suppress_comment") or "").strip()
        if not reason or reason == NO_COMMENT:
            problems.append(f"SKIPPED WITHOUT A REASON {c['check_id']} on {c['resource']}")
    passed, failed, skipped = (
        len(results.get(k) or []) for k in ("passed_checks", "failed_checks", "skipped_checks")
    )
    summary = f"checkov: {passed} passed, {failed} failed, {skipped} skipped"
    return problems, summary + ("" if problems else " (each skip with its reason)")


def scan(template: Path) -> dict[str, Any]:
    """checkov's JSON report of ``template`` (CloudFormation framework, offline)."""
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "checkov"),
            "--file",
            str(template),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",  # no platform look-ups: the scan is the same offline and in CI
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"checkov gave no JSON report (exit {proc.returncode})") from None
    # One framework gives one report; be lenient should checkov wrap it in a list.
    if isinstance(report, list):
        report = next((r for r in report if r.get("check_type") == "cloudformation"), {})
    return report


def main(argv: list[str]) -> int:
    template = Path(argv[0]) if argv else ROOT / "template.yaml"
    blanket = [name for name in CONFIG_FILES if (ROOT / name).exists()]
    if blanket:
        print(f"remove {', '.join(blanket)}: skip checks per resource, in the template, with a reason")
        return 1
    report = scan(template)
    if not report.get("results"):
        print(f"checkov scanned nothing in {template}")
        return 1
    problems, summary = judge(report)
    for line in problems:
        print(line)
    print(summary)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
