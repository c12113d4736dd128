"""SQS consumer: runs CSV lead imports in checkpointed chunks.

Messages are S3 ``ObjectCreated`` notifications of the import bucket (S3's ``s3:TestEvent`` is
skipped) and our own continuation messages. Each import advances until the invocation's time runs
low, then sends a continuation and returns; a failure returns the message to SQS (and after
``maxReceiveCount``, the DLQ), and the next delivery resumes at the checkpoint. One bad record
never fails its batch-mates.

The function also consumes the import dead-letter queue (``IMPORT_DLQ_ARN``): a message parked
there marks its import ``failed``, with the line it reached, so no import shows ``processing``
for ever.

The same queue carries asynchronous results exports (:mod:`dialer.services.results_export`): a
campaign too big to answer inline is read here and stored under the bucket's ``exports/``; an
export job parked in the dead-letter queue marks its export ``failed``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.observability import get_logger, get_metrics, get_tracer
from dialer.services.imports import ImportProcessor, ImportRef, refs_from_message
from dialer.services.results_export import ResultsExporter, export_ref
from dialer.sqs_batch import ReportingBatchProcessor

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()


processor = ReportingBatchProcessor(
    failure_message="import message failed; SQS will redeliver it", failure_metric="ImportMessageFailed"
)


@cache
def import_processor() -> ImportProcessor:
    """The import service, wired once per execution environment."""
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.import_files import ImportFiles
    from dialer.adapters.management_table import ManagementTable
    from dialer.adapters.queue import SqsQueue
    from dialer.services.campaigns import CampaignsService
    from dialer.services.imports import continuation_message
    from dialer.services.leads import LeadsService
    from dialer.settings import get_settings

    settings = get_settings()
    table = CampaignsTable(settings.table_name)
    management = ManagementTable(settings.table_name)
    queue = SqsQueue(settings.import_queue_url)

    def leads_for(tenant_id: str) -> LeadsService:
        campaigns = CampaignsService(tenant_id, table, management)
        return LeadsService(tenant_id, table, campaigns, default_region=settings.default_region)

    def continue_later(ref: ImportRef) -> None:
        queue.send(continuation_message(ref))

    return ImportProcessor(
        table,
        ImportFiles(settings.import_bucket),
        leads_for,
        continue_later,
        default_region=settings.default_region,
        chunk_rows=settings.import_chunk_rows,
        max_bytes=settings.import_max_bytes,
        reserve_ms=settings.import_reserve_ms,
    )


@cache
def exporter() -> ResultsExporter:
    """The results-export worker, wired once per execution environment."""
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.exports_table import ResultsExports
    from dialer.adapters.import_files import ImportFiles
    from dialer.settings import get_settings

    settings = get_settings()
    return ResultsExporter(
        campaigns=CampaignsTable(settings.table_name),
        exports=ResultsExports(settings.table_name),
        files=ImportFiles(settings.import_bucket),
    )


def is_dead_letter(record: SQSRecord) -> bool:
    """Whether the record comes from the import dead-letter queue."""
    from dialer.settings import get_settings

    dlq_arn = get_settings().import_dlq_arn
    return bool(dlq_arn) and record.event_source_arn == dlq_arn


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    """Advance the imports one message is about; any exception fails only this record.

    Powertools passes ``lambda_context`` (the parameter name matters): the time budget comes
    from it."""
    export = export_ref(record.body)
    if export is not None:
        if is_dead_letter(record):
            if exporter().give_up(export):
                logger.warning("results export failed: its job reached the dead-letter queue")
                metrics.add_metric(name="ExportDeadLettered", unit="Count", value=1)
            return
        outcome = exporter().run(export)
        logger.info("results export job", export_id=export.export_id, outcome=outcome)
        metrics.add_metric(name=f"Export{outcome.capitalize()}", unit="Count", value=1)
        return
    refs = refs_from_message(record.body)
    if not refs:
        logger.info("message skipped (S3 test event or not an import)", message_id=record.message_id)
        return
    if is_dead_letter(record):
        for ref in refs:
            if import_processor().give_up(ref):
                logger.warning(
                    "import failed: its message reached the dead-letter queue", import_id=ref.import_id
                )
                metrics.add_metric(name="ImportDeadLettered", unit="Count", value=1)
        return
    for ref in refs:
        outcome = import_processor().run(ref, lambda_context.get_remaining_time_in_millis)
        logger.info("import advanced", import_id=ref.import_id, outcome=outcome)
        metrics.add_metric(name=f"Import{outcome.capitalize()}", unit="Count", value=1)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS batch entry point (the template sets ReportBatchItemFailures)."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
