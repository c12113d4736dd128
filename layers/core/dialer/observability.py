"""Logger, tracer and metrics for every function, and the phone-number masking rule.

One rule for phone numbers, in one place: anything that looks like an E.164 number is masked to
its last four digits in every log line, whatever key or message it appears in. Handlers use the
objects below instead of building their own.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

SERVICE = "telnyx-ai-dialer"
METRICS_NAMESPACE = "TelnyxAiDialer"

# Business metrics (docs/operations.md "Metrics"). Each is recorded once per fact, where the fact
# is known, through record_metric below (written once per invocation); the template's alarms and
# dashboard use these names.
DIAL_PLACED = "DialPlaced"  # Telnyx accepted a dial
DIAL_REFUSED_429 = "DialRefused429"  # Telnyx answered a dial with 429; the job is re-queued
DIAL_FAILED = "DialFailed"  # Telnyx refused a dial for good (4xx: the number, or our configuration)
CALL_CONNECTED = "CallConnected"  # a call was answered (a person or a machine; outcome in metadata)
CALL_COST = "CallCost"  # a call's cost, in its currency (metadata), once it is known
WEBHOOK_LAG_SECONDS = "WebhookLagSeconds"  # event applied minus Telnyx's occurred_at
EVENT_DELIVERED = "EventWebhookDelivered"  # an event webhook was answered 2xx
EVENT_DELIVERY_FAILED = "EventWebhookFailed"  # one attempt failed (retried later)
EVENT_GIVEN_UP = "EventWebhookGivenUp"  # an event was not delivered within 24 h
ENDPOINT_DISABLED = "WebhookEndpointDisabled"  # an endpoint failing for 3 days was disabled
CIRCUIT_BREAKER_TRIPPED = "CircuitBreakerTripped"  # a campaign paused itself: its dials were failing
CALLER_ID_RESTED = "CallerIdRested"  # the health rule or Number Reputation rested a caller ID
REPUTATION_CHECK_FAILED = "ReputationCheckFailed"  # a Telnyx Number Reputation read failed (nothing rested)
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


class _FlushingProvider(AmazonCloudWatchEMFProvider):
    """The handlers' EMF provider: its end-of-invocation flush (``@metrics.log_metrics``) also
    writes the business metrics :func:`record_metric` buffered during the invocation."""

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        flush_business_metrics()
        super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)


@cache
def get_metrics() -> Metrics:
    """The shared EMF metrics object (its flush also writes the buffered business metrics)."""
    return Metrics(
        provider=_FlushingProvider(namespace=METRICS_NAMESPACE, service=SERVICE),
    )


#: EMF takes at most 100 values per metric in one document, and Powertools prints a set on its own
#: (past its flush and its "disabled" switch) when a metric reaches 100: a group is written at 99.
_EMF_MAX_VALUES = 99
_SUMMED_UNITS = frozenset({MetricUnit.Count, MetricUnit.Count.value})


@dataclass
class _Group:
    name: str
    unit: MetricUnit | str
    tenant_id: str | None
    metadata: tuple[tuple[str, str | int | float], ...]
    values: list[float] = field(default_factory=list)


_pending: dict[tuple[Any, ...], _Group] = {}
_pending_lock = threading.Lock()


def record_metric(
    name: str,
    value: float,
    *,
    unit: MetricUnit = MetricUnit.Count,
    tenant_id: str | None = None,
    campaign_id: str | None = None,
    **properties: str | int | float | None,
) -> None:
    """Record one business fact; never raises (metrics are best effort).

    Facts are buffered and written by :func:`flush_business_metrics` (the handlers' metrics flush
    calls it once per invocation): one EMF line per metric, tenant and metadata, counts summed,
    other values listed (a group is written early when it is nearly EMF's 100 values). A dialer
    batch of ten dials writes one ``DialPlaced`` line with the value 10, not ten lines; the sums
    are what the alarms read. Two dimension sets per line: ``[service]`` (alarms, dashboard) and
    ``[service, tenant_id]``. The campaign and ``properties`` are EMF metadata: searchable in
    CloudWatch Logs Insights, not dimensions, because every distinct dimension value is a billed
    custom metric and campaigns are unbounded. Never pass a phone number, anywhere.
    """
    try:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        metadata = sorted({"campaign_id": campaign_id, **properties}.items())
        kept = tuple((k, v) for k, v in metadata if v is not None)
        key = (name, str(unit), tenant_id, kept)
        full: _Group | None = None
        with _pending_lock:
            group = _pending.setdefault(key, _Group(name, unit, tenant_id, kept))
            if unit in _SUMMED_UNITS and group.values:
                group.values[0] += float(value)
            else:
                group.values.append(float(value))
            if len(group.values) >= _EMF_MAX_VALUES:
                full = _pending.pop(key)
        if full is not None:
            _write(full)
    except Exception as exc:  # noqa: BLE001 - a metric must never fail the work it describes
        get_logger().warning("metric not emitted", metric=name, error=repr(exc))


def flush_business_metrics() -> None:
    """Write every buffered business metric (one EMF line per group) and empty the buffer."""
    with _pending_lock:
        groups = list(_pending.values())
        _pending.clear()
    for group in groups:
        try:
            _write(group)
        except Exception as exc:  # noqa: BLE001 - best effort, as recording
            get_logger().warning("metric not emitted", metric=group.name, error=repr(exc))


def discard_business_metrics() -> None:
    """Drop what is buffered (a bench or test that runs the engine without a handler)."""
    with _pending_lock:
        _pending.clear()


def _write(group: _Group) -> None:
    # A fresh provider per line keeps groups (and the handler's own metrics) from mixing dimensions.
    metric = AmazonCloudWatchEMFProvider(namespace=METRICS_NAMESPACE, default_dimensions={"service": SERVICE})
    for value in group.values:
        metric.add_metric(name=group.name, unit=group.unit, value=value)
    if group.tenant_id:
        metric.add_dimensions(**{TENANT_DIMENSION: group.tenant_id})
    for key, prop in group.metadata:
        metric.add_metadata(key=key, value=prop)
    metric.flush_metrics(raise_on_empty_metrics=True)
