"""SQS consumer: applies each verified webhook exactly once (partial batch failures, then DLQ).

One bad record never fails its batch-mates: Powertools' BatchProcessor reports only the failed
message ids, SQS redelivers those after the visibility timeout and parks them in the DLQ after
``maxReceiveCount``. Nothing is dropped silently.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.lambda_init import calling_calendars, telnyx_tls, wire_ahead
from dialer.observability import get_logger, get_metrics, get_tracer
from dialer.services.processing import EventProcessor
from dialer.sqs_batch import ReportingBatchProcessor

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()


processor = ReportingBatchProcessor(
    failure_message="event processing failed; SQS will redeliver it", failure_metric="EventFailed"
)


@cache
def event_processor() -> EventProcessor:
    """The processing service, wired once per execution environment."""
    from dialer import clock
    from dialer.adapters.blobs import S3PayloadStore
    from dialer.adapters.calls_table import CallsTable
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.dialing_table import DialingTable
    from dialer.adapters.insights_table import InsightsTable
    from dialer.adapters.people_table import ContactHistory
    from dialer.adapters.secrets import TenantSecrets
    from dialer.adapters.voicemail_table import VoicemailTable
    from dialer.services.engine import build_after_call
    from dialer.services.inbound_slots import InboundSlots, Reactions
    from dialer.services.insight_groups import InsightLookups
    from dialer.services.lead_effects import CallOutcomes
    from dialer.services.telnyx_accounts import TelnyxAccounts
    from dialer.services.voicemail import VoicemailDrop
    from dialer.settings import get_settings

    settings = get_settings()
    transcripts = None
    if settings.transcripts_queue_url and settings.transcript_retention_days > 0:
        from dialer.adapters.queue import JobsQueue
        from dialer.services.transcripts import QueuedTranscriptRequests

        transcripts = QueuedTranscriptRequests(JobsQueue(settings.transcripts_queue_url))
    calls = CallsTable(settings.table_name, receipt_ttl_days=settings.receipt_ttl_days)
    accounts = TelnyxAccounts(
        TenantSecrets(
            settings.param_prefix,
            max_age=settings.config_cache_seconds,
            miss_ttl=settings.unknown_tenant_cache_seconds,
        ),
        base_url=settings.telnyx_base_url,
        timeout=settings.telnyx_timeout_seconds,
    )
    campaigns = CampaignsTable(settings.table_name)
    history = ContactHistory(settings.table_name, keep=timedelta(days=settings.contact_history_days))
    dialing = DialingTable(settings.table_name)
    settler = CallOutcomes(dialing, campaigns, history, clock.now)
    return EventProcessor(
        calls=calls,
        payloads=S3PayloadStore(settings.payload_bucket),
        settler=settler,
        reader=calls,
        after_call=build_after_call(settings, calls),
        transcripts=transcripts,
        insights=InsightLookups(InsightsTable(settings.table_name), accounts.client_for),
        reactions=Reactions(
            VoicemailDrop(campaigns, VoicemailTable(settings.table_name), accounts.client_for, clock.now),
            InboundSlots(dialing, clock.now),
        ),
    )


wire_ahead(
    event_processor,
    services=("dynamodb", "sqs", "s3", "ssm"),
    modules=("telnyx_client._http", "telnyx_client.api.calls", "aws_lambda_powertools.utilities.parameters"),
    also=(calling_calendars, telnyx_tls),
)


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord) -> None:
    """Process one message; any exception marks only this record as failed."""
    processed = event_processor().process(record.body)
    logger.info(
        "event processed",
        event_id=processed.event_id,
        event_type=processed.event_type,
        call_control_id=processed.call_control_id,
        result=processed.result.value,
        lead_effect=processed.lead_effect,
        after_call=list(processed.after_call),
        transcript_requested=processed.transcript_requested,
        reaction=processed.reaction,
        receive_count=record.attributes.approximate_receive_count,
    )
    metrics.add_metric(name=f"Event{processed.result.value.capitalize()}", unit="Count", value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS batch entry point (the template sets ReportBatchItemFailures)."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
