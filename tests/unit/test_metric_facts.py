"""Each business metric is emitted where its fact is known, with the tenant and campaign it
belongs to (the EMF shape itself: tests/unit/test_metrics.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from dialer.adapters.calls_table import Applied, ApplyResult
from dialer.adapters.dialing_table import AttemptRecord
from dialer.domain.dialing import AttemptState
from dialer.domain.webhook_message import WebhookMessage
from dialer.services import after_call, dialer, processing


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def record(name: str, value: float, **kwargs: Any) -> None:
        calls.append({"name": name, "value": value, **kwargs})

    for module in (dialer, after_call, processing):
        monkeypatch.setattr(module, "record_metric", record)
    return calls


class Nothing:
    """Accepts any call (the dialing table and job queue, whose effects are tested elsewhere)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def attempt() -> AttemptRecord:
    return AttemptRecord("tenant-a", "lead-1", "camp-1", 1, AttemptState.POSTING, "2026-11-30T00:00:00Z")


def test_a_429_counts_dial_refused_for_its_tenant_and_campaign(emitted):
    # GIVEN a dialer (only its 429 path's collaborators)
    service = object.__new__(dialer.Dialer)
    service.dialing = Nothing()  # type: ignore[assignment]
    service.jobs = Nothing()  # type: ignore[assignment]
    service.epoch = lambda: 0.0

    # WHEN Telnyx answers the dial with 429
    result = service._rate_limited(attempt())

    # THEN the job is re-queued and DialRefused429 counted once, per tenant, campaign as metadata
    assert result == dialer.JobResult.REQUEUED
    assert emitted == [
        {"name": "DialRefused429", "value": 1, "tenant_id": "tenant-a", "campaign_id": "camp-1"}
    ]


def test_connect_and_cost_come_from_the_totals_delta(emitted):
    call = {"campaign_id": "camp-1", "outcome": "answered_human", "cost_currency": "USD"}

    after_call._record_call_metrics("tenant-a", call, {"connected": Decimal(1), "cost": Decimal("0.0425")})

    assert [(e["name"], e["value"]) for e in emitted] == [("CallConnected", 1), ("CallCost", 0.0425)]
    assert emitted[0]["outcome"] == "answered_human"
    assert emitted[1]["currency"] == "USD"
    assert {e["tenant_id"] for e in emitted} == {"tenant-a"}


def test_a_delta_without_connect_or_cost_emits_nothing(emitted):
    after_call._record_call_metrics("tenant-a", {"campaign_id": "c"}, {"calls": Decimal(1)})
    assert emitted == []


class Calls:
    def __init__(self, result: ApplyResult) -> None:
        self.result = result

    def apply_event(self, receipt: Any, facts: Any) -> Applied:
        return Applied(self.result)


def message(occurred_at: datetime) -> str:
    body = {
        "data": {
            "record_type": "event",
            "event_type": "call.hangup",
            "id": "evt-1",
            "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
            "payload": {"call_control_id": "v3:call-1", "hangup_cause": "normal_clearing"},
        }
    }
    return WebhookMessage(
        tenant_id="tenant-a",
        event_id="evt-1",
        event_type="call.hangup",
        content_type="application/json",
        received_at="",
        signed_at=0,
        body=json.dumps(body),
    ).to_json()


@pytest.mark.parametrize(("result", "lags"), [(ApplyResult.APPLIED, [7.5]), (ApplyResult.DUPLICATE, [])])
def test_webhook_lag_is_measured_on_first_application_only(emitted, result, lags):
    now = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    events = processing.EventProcessor(calls=Calls(result), payloads=Nothing(), clock=lambda: now)

    events.process(message(now - timedelta(seconds=7.5)))

    assert [e["value"] for e in emitted if e["name"] == "WebhookLagSeconds"] == lags
    assert all(e["tenant_id"] == "tenant-a" for e in emitted)
