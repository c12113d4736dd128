"""Logger, tracer and metrics for every function, and the phone-number masking rule.

One rule for phone numbers, in one place: anything that looks like an E.164 number is masked to
its last four digits in every log line, whatever key or message it appears in. Handlers use the
objects below instead of building their own.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

SERVICE = "telnyx-ai-dialer"
METRICS_NAMESPACE = "TelnyxAiDialer"

# Business metrics (docs/operations.md "Metrics"). Each is emitted once per fact, where the fact
# is known, through record_metric below; the template's alarms and dashboard use these names.
DIAL_PLACED = "DialPlaced"  # Telnyx accepted a dial
DIAL_REFUSED_429 = "DialRefused429"  # Telnyx answered a dial with 429; the job is re-queued
DIAL_FAILED = "DialFailed"  # Telnyx refused a dial for good (4xx: the number, or our configuration)
CALL_CONNECTED = "CallConnected"  # a call was answered (a person or a machine; outcome in metadata)
CALL_COST = "CallCost"  # a call's cost, in its currency (metadata), once it is known
WEBHOOK_LAG_SECONDS = "WebhookLagSeconds"  # event applied minus Telnyx's occurred_at
TENANT_DIMENSION = "tenant_id"

# Numbers with a plus (E.164, 8-15 digits), and bare NANP numbers (10 digits, or 11 with a
# leading 1) standing alone: not digit runs inside ids, ARNs (12-digit account ids) or UUIDs.
_PLUS_NUMBER = re.compile(r"\+(\d{4,11})(\d{4})(?!\d)")
_BARE_NUMBER = re.compile(r"(?<![\w\-+.:/])(1?\d{6})(\d{4})(?![\w\-.:/])")


def mask_phone(value: str | None) -> str:
    """Mask a phone number to its last four digits: ``+15550000200`` → ``+*******0200``."""
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if len(digits) <= 4:
        return "*" * len(digits)
    prefix = "+" if value.strip().startswith("+") else ""
    return prefix + "*" * (len(digits) - 4) + digits[-4:]


def scrub_phones(text: str) -> str:
    """Mask every phone number in ``text`` to its last four digits."""
    text = _PLUS_NUMBER.sub(lambda m: "+" + "*" * len(m.group(1)) + m.group(2), text)
    return _BARE_NUMBER.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text)


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools JSON formatter that masks phone numbers in the serialised record."""

    def serialize(self, log: Any) -> str:  # Powertools passes a dict or a PowertoolsLogRecord
        return scrub_phones(super().serialize(log))


@cache
def get_logger() -> Logger:
    """The shared structured logger (service name from POWERTOOLS_SERVICE_NAME if set)."""
    return Logger(service=SERVICE, logger_formatter=MaskingFormatter(), use_rfc3339=True)


@cache
def get_tracer() -> Tracer:
    """The shared X-Ray tracer (disabled outside Lambda and in the local stack)."""
    return Tracer(service=SERVICE)


@cache
def get_metrics() -> Metrics:
    """The shared EMF metrics object."""
    return Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)


def record_metric(
    name: str,
    value: float,
    *,
    unit: MetricUnit = MetricUnit.Count,
    tenant_id: str | None = None,
    campaign_id: str | None = None,
    **properties: str | int | float | None,
) -> None:
    """Emit one business metric now, as its own EMF line; never raises (metrics are best effort).

    Two dimension sets, one log line: ``[service]`` (what alarms and the dashboard read) and
    ``[service, tenant_id]`` (per tenant). The campaign and ``properties`` are EMF metadata:
    searchable in CloudWatch Logs Insights, not dimensions, because every distinct dimension
    value is a billed custom metric and campaigns are unbounded. A fresh provider per call keeps
    concurrent threads (the dialer's batch) and handlers' own flushes from mixing dimensions.
    Never pass a phone number, in a dimension or a property.
    """
    try:
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        metric = AmazonCloudWatchEMFProvider(
            namespace=METRICS_NAMESPACE, default_dimensions={"service": SERVICE}
        )
        metric.add_metric(name=name, unit=unit, value=value)
        if tenant_id:
            metric.add_dimensions(**{TENANT_DIMENSION: tenant_id})
        if campaign_id:
            metric.add_metadata(key="campaign_id", value=campaign_id)
        for key, prop in properties.items():
            if prop is not None:
                metric.add_metadata(key=key, value=prop)
        metric.flush_metrics(raise_on_empty_metrics=True)
    except Exception as exc:  # noqa: BLE001 - a metric must never fail the work it describes
        get_logger().warning("metric not emitted", metric=name, error=repr(exc))
