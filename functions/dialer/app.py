"""The dialer: SQS consumer of dial jobs (one claimed attempt each), partial batch failures.

A batch's records run concurrently on a small thread pool (each job mostly waits: on DynamoDB,
on its dial-rate token, on Telnyx), so one instance keeps up with 30 dials a second. A record
that raises is reported failed alone and comes back after the visibility timeout; the job's own
state (its attempt record) makes any redelivery safe.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.lambda_init import calling_calendars, telnyx_tls, wire_ahead
from dialer.observability import get_logger, get_metrics, get_tracer

if TYPE_CHECKING:
    from dialer.services.dialer import Dialer

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()
WORKERS = 10


@cache
def dialer() -> Dialer:
    """The dialer service, wired once per execution environment."""
    from dialer.services.engine import build_dialer
    from dialer.settings import get_settings

    return build_dialer(get_settings())


wire_ahead(
    dialer,
    services=("dynamodb", "sqs", "ssm"),
    modules=("telnyx_client._http", "telnyx_client.api.calls", "aws_lambda_powertools.utilities.parameters"),
    also=(calling_calendars, telnyx_tls),
)


def handle_record(record: dict[str, Any]) -> str | None:
    """Handle one SQS record; returns its message id when it failed (to be redelivered)."""
    from dialer.services.dialer import DialJob

    message_id = str(record.get("messageId"))
    try:
        job = DialJob.from_json(str(record["body"]))
    except (KeyError, ValueError, TypeError):
        logger.error("not a dial job; dropped to the DLQ path", message_id=message_id)
        return message_id
    started = time.monotonic()
    try:
        result = dialer().handle(job)
    except Exception as exc:  # noqa: BLE001 - reported per record; SQS redelivers it
        logger.warning("dial job failed; SQS will redeliver it", message_id=message_id, error=repr(exc))
        metrics.add_metric(name="DialJobFailed", unit="Count", value=1)
        return message_id
    logger.info(
        "dial job",
        message_id=message_id,
        attempt=f"{job.lead_id}#attempt-{job.n}",
        result=result.value,
        queued_ms=_queued_ms(record),
        took_ms=round((time.monotonic() - started) * 1000),
    )
    metrics.add_metric(name=f"Dial{result.value.capitalize()}", unit="Count", value=1)
    return None


def _queued_ms(record: dict[str, Any]) -> int | None:
    """How long the job waited in the queue before its first receive (both instants are SQS's
    own): a growing wait means the dialers are not keeping up with the dispatcher."""
    attributes = record.get("attributes") or {}
    try:
        return int(attributes["ApproximateFirstReceiveTimestamp"]) - int(attributes["SentTimestamp"])
    except (KeyError, TypeError, ValueError):
        return None


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """SQS batch entry point (the template sets ReportBatchItemFailures)."""
    records = list(event.get("Records") or [])
    # Wired here, on one thread, before the pool's threads share it: a cold environment's first
    # batch would otherwise have each thread wire (clients, Telnyx connection pool) its own.
    dialer()
    with ThreadPoolExecutor(max_workers=min(WORKERS, max(1, len(records)))) as pool:
        failed = [m for m in pool.map(handle_record, records) if m is not None]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
