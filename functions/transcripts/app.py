"""SQS consumer: fetches an ended conversation's messages from Telnyx and keeps them in S3.

One job per call (``dialer.domain.transcripts.TranscriptJob``), sent by the event processor so a
slow Telnyx never holds webhook processing. Partial batch failures: a job whose Telnyx call failed
alone goes back to the queue and returns after the visibility timeout. A conversation whose
messages are not there yet is asked for again by a delayed copy of its job. The fetch writes one
deterministic key per call, so a retry duplicates nothing.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.lambda_init import telnyx_tls, wire_ahead
from dialer.observability import get_logger, get_metrics, get_tracer
from dialer.sqs_batch import ReportingBatchProcessor

if TYPE_CHECKING:
    from dialer.services.transcripts import TranscriptFetcher

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()

processor = ReportingBatchProcessor(
    failure_message="transcript not fetched; SQS will redeliver it", failure_metric="TranscriptFailed"
)


@cache
def fetcher() -> TranscriptFetcher:
    """The transcript fetcher, wired once per execution environment."""
    from dialer import clock
    from dialer.adapters.calls_table import CallsTable
    from dialer.adapters.queue import JobsQueue
    from dialer.adapters.transcripts_store import S3TranscriptStore
    from dialer.services.engine import telnyx_accounts
    from dialer.services.transcripts import QueuedTranscriptRequests, TranscriptFetcher
    from dialer.settings import get_settings

    settings = get_settings()
    return TranscriptFetcher(
        calls=CallsTable(settings.table_name),
        store=S3TranscriptStore(settings.transcript_bucket),
        # Reads only: the client may retry them (nothing on Telnyx changes).
        telnyx=telnyx_accounts(settings, max_retries=2),
        # "Not yet" asks again through a delayed copy of the job on its own queue.
        retry=QueuedTranscriptRequests(JobsQueue(settings.transcripts_queue_url))
        if settings.transcripts_queue_url
        else None,
        max_tries=settings.transcript_max_tries,
        clock=clock.now,
    )


wire_ahead(fetcher, services=("dynamodb", "s3", "ssm"), modules=("telnyx_client._http",), also=(telnyx_tls,))


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord) -> None:
    """Run one job; any exception marks only this record as failed."""
    from dialer.domain.transcripts import TranscriptJob

    job = TranscriptJob.from_json(record.body)
    fetched = fetcher().fetch(job)
    logger.info(
        "transcript job",
        tenant_id=job.tenant_id,
        call_control_id=job.call_control_id,
        conversation_id=job.conversation_id,
        result=fetched.result.value,
        attempt=job.attempt,
        messages=fetched.messages,
    )
    metrics.add_metric(
        name=f"Transcript{fetched.result.value.title().replace('_', '')}", unit="Count", value=1
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS batch entry point (the template sets ReportBatchItemFailures)."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
