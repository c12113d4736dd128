"""The dispatcher: every minute (EventBridge schedule) it dials due leads of every tenant's active
campaigns through the minute, in ~1 s sub-ticks; messages on the dispatch queue start a tenant at
once (a campaign activated or resumed) or continue a cancel sweep.

Both entry points end up in :class:`dialer.services.dispatcher.Dispatcher`; a per-tenant lease
keeps two concurrent runs from pacing the same tenant (claims are safe without it, the lease is
about pacing).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.lambda_init import calling_calendars, wire_ahead
from dialer.observability import get_logger, get_metrics, get_tracer
from dialer.sqs_batch import ReportingBatchProcessor

if TYPE_CHECKING:
    from dialer.adapters.queue import JobsQueue
    from dialer.services.dispatcher import Dispatcher, DispatchReport

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()

processor = ReportingBatchProcessor(
    failure_message="dispatch message failed; SQS will redeliver it", failure_metric="DispatchMessageFailed"
)
_MARGIN_SECONDS = 5.0


@cache
def dispatcher() -> Dispatcher:
    """The dispatcher service, wired once per execution environment."""
    from dialer.services.engine import build_dispatcher
    from dialer.settings import get_settings

    return build_dispatcher(get_settings())


@cache
def dispatch_queue() -> JobsQueue:
    """The dispatch queue (continuations of sweeps)."""
    from dialer.adapters.queue import JobsQueue
    from dialer.settings import get_settings

    return JobsQueue(get_settings().dispatch_queue_url)


wire_ahead(dispatcher, services=("dynamodb", "sqs"), also=(calling_calendars,))


def _report(report: DispatchReport, source: str) -> None:
    logger.info(
        "dispatch run",
        source=source,
        ticks=report.ticks,
        items_read=report.items_read,
        claimed=report.claimed,
        deferred=report.deferred,
        ended=report.ended,
        lost=report.lost,
        completed=report.completed,
        by_reason=dict(report.by_reason),
    )
    metrics.add_metric(name="LeadsClaimed", unit="Count", value=report.claimed)
    metrics.add_metric(name="LeadsDeferred", unit="Count", value=report.deferred)


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    """One dispatch-queue message (a kick or a sweep)."""

    def remaining() -> float:
        return lambda_context.get_remaining_time_in_millis() / 1000.0

    report = dispatcher().handle_message(record.body, remaining=remaining, continuations=dispatch_queue())
    _report(report, "queue")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    """Schedule event (a run of sub-ticks) or an SQS batch from the dispatch queue."""
    if isinstance(event, dict) and "Records" in event:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    service = dispatcher()
    seconds = min(
        service.config.loop_seconds, context.get_remaining_time_in_millis() / 1000.0 - _MARGIN_SECONDS
    )
    report = service.run(seconds=max(0.0, seconds))
    _report(report, "schedule")
    return {"ticks": report.ticks, "claimed": report.claimed, "deferred": report.deferred}
