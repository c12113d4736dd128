"""Business metrics leave as one EMF line each: by service and by tenant, campaign as metadata."""

from __future__ import annotations

import json

import pytest

from dialer.observability import (
    CALL_COST,
    DIAL_REFUSED_429,
    METRICS_NAMESPACE,
    SERVICE,
    MetricUnit,
    record_metric,
)


def emf_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_metric_has_service_and_tenant_dimension_sets_and_campaign_metadata(capsys):
    # WHEN a dial is refused with 429 for a tenant's campaign
    record_metric(DIAL_REFUSED_429, 1, tenant_id="tenant-a", campaign_id="camp-1")

    # THEN one EMF document: two dimension sets, the campaign only as metadata
    [doc] = emf_lines(capsys.readouterr().out)
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == METRICS_NAMESPACE
    assert directive["Dimensions"] == [["service"], ["service", "tenant_id"]]
    assert directive["Metrics"] == [{"Name": "DialRefused429", "Unit": "Count"}]
    assert doc["service"] == SERVICE
    assert doc["tenant_id"] == "tenant-a"
    assert doc["campaign_id"] == "camp-1"
    assert doc["DialRefused429"] == [1.0]
    assert all("campaign_id" not in dims for dims in directive["Dimensions"])


def test_cost_carries_its_currency_as_metadata(capsys):
    record_metric(CALL_COST, 0.042, unit=MetricUnit.NoUnit, tenant_id="t", currency="USD", outcome=None)

    [doc] = emf_lines(capsys.readouterr().out)
    assert doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "CallCost", "Unit": "None"}]
    assert doc["CallCost"] == [0.042]
    assert doc["currency"] == "USD"
    assert "outcome" not in doc  # None properties are left out


def test_without_tenant_only_the_service_dimension(capsys):
    record_metric("WebhookLagSeconds", 1.5, unit=MetricUnit.Seconds)

    [doc] = emf_lines(capsys.readouterr().out)
    assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]


def test_each_call_is_independent_of_the_handlers_metrics(capsys):
    # GIVEN two tenants' facts in a row (the dialer's batch threads do this concurrently)
    record_metric(DIAL_REFUSED_429, 1, tenant_id="tenant-a")
    record_metric(DIAL_REFUSED_429, 1, tenant_id="tenant-b")

    # THEN neither line carries the other's tenant
    docs = emf_lines(capsys.readouterr().out)
    assert [d["tenant_id"] for d in docs] == ["tenant-a", "tenant-b"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "not a number"])
def test_a_bad_metric_never_raises(capsys, value):
    # WHEN the value is not a finite number
    record_metric("DialPlaced", value)  # type: ignore[arg-type]

    # THEN nothing is emitted and nothing raised (the handler's work goes on)
    assert emf_lines(capsys.readouterr().out) == []
