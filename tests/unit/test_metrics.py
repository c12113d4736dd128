"""Business metrics leave once per invocation, one EMF line per metric, tenant and metadata: by
service and by tenant, campaign as metadata, counts summed."""

from __future__ import annotations

import json

import pytest

from dialer.observability import (
    CALL_COST,
    DIAL_PLACED,
    DIAL_REFUSED_429,
    METRICS_NAMESPACE,
    SERVICE,
    MetricUnit,
    discard_business_metrics,
    flush_business_metrics,
    get_metrics,
    record_metric,
)


@pytest.fixture(autouse=True)
def _empty_buffer():
    discard_business_metrics()
    yield
    discard_business_metrics()


def emf_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_metric_has_service_and_tenant_dimension_sets_and_campaign_metadata(capsys):
    # WHEN a dial is refused with 429 for a tenant's campaign
    record_metric(DIAL_REFUSED_429, 1, tenant_id="tenant-a", campaign_id="camp-1")
    flush_business_metrics()

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
    flush_business_metrics()

    [doc] = emf_lines(capsys.readouterr().out)
    assert doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "CallCost", "Unit": "None"}]
    assert doc["CallCost"] == [0.042]
    assert doc["currency"] == "USD"
    assert "outcome" not in doc  # None properties are left out


def test_without_tenant_only_the_service_dimension(capsys):
    record_metric("WebhookLagSeconds", 1.5, unit=MetricUnit.Seconds)
    flush_business_metrics()

    [doc] = emf_lines(capsys.readouterr().out)
    assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]


def test_each_call_is_independent_of_the_handlers_metrics(capsys):
    # GIVEN two tenants' facts in a row (the dialer's batch threads do this concurrently)
    record_metric(DIAL_REFUSED_429, 1, tenant_id="tenant-a")
    record_metric(DIAL_REFUSED_429, 1, tenant_id="tenant-b")
    flush_business_metrics()

    # THEN neither line carries the other's tenant
    docs = emf_lines(capsys.readouterr().out)
    assert [d["tenant_id"] for d in docs] == ["tenant-a", "tenant-b"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "not a number"])
def test_a_bad_metric_never_raises(capsys, value):
    # WHEN the value is not a finite number
    record_metric("DialPlaced", value)  # type: ignore[arg-type]
    flush_business_metrics()

    # THEN nothing is emitted and nothing raised (the handler's work goes on)
    assert emf_lines(capsys.readouterr().out) == []


def test_facts_wait_for_the_flush_and_counts_are_summed(capsys):
    # WHEN a batch places ten dials of one campaign and two of another tenant
    for _ in range(10):
        record_metric(DIAL_PLACED, 1, tenant_id="tenant-a", campaign_id="camp-1", method="call_control")
    record_metric(DIAL_PLACED, 2, tenant_id="tenant-b", campaign_id="camp-9", method="call_control")

    # THEN nothing is printed while the work runs (a bench or test prints only its own output)
    assert emf_lines(capsys.readouterr().out) == []

    # AND the flush writes one line per tenant and metadata, with the sum the alarms read
    flush_business_metrics()
    docs = {d["tenant_id"]: d for d in emf_lines(capsys.readouterr().out)}
    assert docs["tenant-a"]["DialPlaced"] == [10.0]
    assert docs["tenant-b"]["DialPlaced"] == [2.0]
    assert docs["tenant-a"]["campaign_id"] == "camp-1"

    # AND a second flush writes nothing again
    flush_business_metrics()
    assert emf_lines(capsys.readouterr().out) == []


def test_values_are_listed_and_a_full_group_is_written_early(capsys):
    # WHEN 150 lag samples arrive (EMF takes at most 100 values per metric in one line)
    for i in range(150):
        record_metric("WebhookLagSeconds", i / 10, unit=MetricUnit.Seconds)

    # THEN the first 99 were written as one line as soon as the group was full
    [early] = emf_lines(capsys.readouterr().out)
    assert early["WebhookLagSeconds"] == [i / 10 for i in range(99)]

    # AND the rest leave with the flush, nothing lost and nothing warned
    flush_business_metrics()
    out = capsys.readouterr().out
    [rest] = emf_lines(out)
    assert rest["WebhookLagSeconds"] == [i / 10 for i in range(99, 150)]
    assert "metric not emitted" not in out


def test_metrics_switched_off_print_nothing(capsys, monkeypatch):
    # GIVEN Powertools' switch (a bench that runs the engine without handlers sets it)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    # WHEN more values than one line holds are recorded and flushed
    for i in range(250):
        record_metric("WebhookLagSeconds", float(i), unit=MetricUnit.Seconds)
    flush_business_metrics()

    # THEN nothing was printed
    assert emf_lines(capsys.readouterr().out) == []


def test_the_handlers_metrics_decorator_flushes_the_business_metrics(capsys):
    metrics = get_metrics()

    @metrics.log_metrics
    def handler(event, context):
        record_metric(DIAL_REFUSED_429, 1, tenant_id="tenant-a")
        record_metric(DIAL_REFUSED_429, 1, tenant_id="tenant-a")
        return "done"

    # WHEN an invocation records two facts
    assert handler({}, None) == "done"

    # THEN its end wrote them, once, summed
    [doc] = [d for d in emf_lines(capsys.readouterr().out) if "DialRefused429" in d]
    assert doc["DialRefused429"] == [2.0]
