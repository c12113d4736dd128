"""The analytics API: campaign stats (with A/B variants), call details and transcripts, a lead's
calls and the per-lead results export.

Its own function (not more routes on campaigns_api): its role only reads (but for writing a big
results export under the import bucket's ``exports/``), and its traffic (dashboards polling
stats) never competes with lead imports for the same concurrency.
Thin like the other APIs: the tenant comes only from the authorizer's context, each route makes
one call into ``dialer.services.analytics``, domain errors become HTTP in one place.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.http_api import json_body, register_error_handlers, resolve, responses, tenant_of
from dialer.observability import get_logger, get_metrics, get_tracer
from dialer.services.analytics_models import (
    CallDetailResponse,
    CallListResponse,
    CampaignStatsResponse,
    ResultsExportStatus,
    ResultsLink,
    TranscriptResponse,
)
from dialer.services.api_models import ID_PATTERN

if TYPE_CHECKING:
    from dialer.services.analytics import AnalyticsService
    from dialer.services.results_export import ExportJobs

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=json_body)
register_error_handlers(app, logger)

IdPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=128)]

_CSV_RESPONSES = {
    200: {
        "description": "One row per lead: outcome, disposition, result, attempts, cost, callback, summary.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    202: {
        "description": (
            "The campaign has more than 5,000 leads: its results are built by an asynchronous "
            "export. `Location` is where to GET it (202 while it runs, 303 to the CSV when done); "
            "asks while it runs share it."
        ),
        "content": {"application/json": {"schema": ResultsExportStatus.model_json_schema()}},
    },
    303: {
        "description": (
            "The export is too big to answer inline (or `link=true` was asked): `Location` is a "
            "presigned S3 URL to the same CSV, valid 15 minutes (fetch it without the API key)."
        ),
        "content": {"application/json": {"schema": ResultsLink.model_json_schema()}},
    },
    **{code: body for code, body in responses(200, None, 404).items() if code != 200},
}
_EXPORT_RESPONSES = {
    200: {
        "description": "The export failed (`failure` says why): ask for the results again.",
        "content": {"application/json": {"schema": ResultsExportStatus.model_json_schema()}},
    },
    202: {
        "description": "The export is still being built: GET it again in a few seconds (`Retry-After`).",
        "content": {"application/json": {"schema": ResultsExportStatus.model_json_schema()}},
    },
    303: {
        "description": (
            "Done: `Location` is a presigned S3 URL to the CSV, valid 15 minutes (fetch it without "
            "the API key)."
        ),
        "content": {"application/json": {"schema": ResultsLink.model_json_schema()}},
    },
    **{code: body for code, body in responses(200, None, 404).items() if code != 200},
}


@cache
def _tables() -> tuple[Any, ...]:
    from dialer.adapters.calls_table import CallsTable
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.dialing_table import DialingTable
    from dialer.adapters.totals_table import TotalsTable
    from dialer.settings import get_settings

    settings = get_settings()
    table = settings.table_name
    transcripts = None
    if settings.transcript_bucket:
        from dialer.adapters.transcripts_store import S3TranscriptStore

        transcripts = S3TranscriptStore(settings.transcript_bucket)
    return CampaignsTable(table), DialingTable(table), CallsTable(table), TotalsTable(table), transcripts


@cache
def _exports() -> Any:
    from dialer.adapters.import_files import ImportFiles
    from dialer.settings import get_settings

    bucket = get_settings().import_bucket
    return ImportFiles(bucket) if bucket else None


@cache
def _export_tables() -> Any:
    from dialer.adapters.exports_table import ResultsExports
    from dialer.adapters.queue import SqsQueue
    from dialer.settings import get_settings

    settings = get_settings()
    if not settings.import_queue_url:
        return None
    return ResultsExports(settings.table_name), SqsQueue(settings.import_queue_url)


def _jobs() -> ExportJobs | None:
    """Asynchronous exports (None where no import queue is configured: every export is inline)."""
    from dialer.services.results_export import ExportJobs

    wired, files = _export_tables(), _exports()
    if wired is None or files is None:
        return None
    exports, queue = wired
    return ExportJobs(tenant_of(app), exports=exports, queue=queue, files=files)


def _export_answer(campaign_id: str, record: Any) -> Response[str]:
    location = f"/campaigns/{campaign_id}/results/exports/{record.export_id}"
    body = ResultsExportStatus(
        id=record.export_id,
        campaign_id=campaign_id,
        status=record.status,
        created_at=record.created_at,
        finished_at=record.finished_at,
        rows=record.rows,
        failure=record.failure,
        location=location,
    )
    pending = record.status == "pending"
    return Response(
        status_code=202 if pending else 200,
        content_type="application/json",
        body=body.model_dump_json(),
        headers={"Location": location, "Retry-After": "5"} if pending else {},
    )


def _link_answer(url: str, expires_at: str, rows: int) -> Response[str]:
    found = ResultsLink(url=url, expires_at=expires_at, rows=rows)
    return Response(
        status_code=303,
        content_type="application/json",
        body=found.model_dump_json(),
        headers={"Location": url},
    )


def _analytics() -> AnalyticsService:
    from dialer.services.analytics import AnalyticsService

    campaigns, dialing, calls, totals, transcripts = _tables()
    return AnalyticsService(
        tenant_of(app),
        campaigns=campaigns,
        dialing=dialing,
        calls=calls,
        totals=totals,
        transcripts=transcripts,
    )


@app.get(
    "/campaigns/<campaign_id>/stats", tags=["analytics"], responses=responses(200, CampaignStatsResponse, 404)
)
def campaign_stats(campaign_id: IdPath) -> CampaignStatsResponse:
    """Leads by state; calls by outcome and disposition; connect, human and voicemail rates;
    average talk time; cost total, per call, per connected minute and per reached lead; budget
    left; per A/B variant the same with a two-proportion z-test on conversion."""
    return _analytics().stats(campaign_id)


@app.get("/campaigns/<campaign_id>/results", tags=["analytics"], responses=_CSV_RESPONSES)
def campaign_results(
    campaign_id: IdPath,
    link: Annotated[
        bool, Query(description="Answer with a presigned link even when the CSV is small.")
    ] = False,
) -> Response[str]:
    """The campaign's results as CSV, one row per lead (a presigned link when it is big; an
    asynchronous export when the campaign has more than 5,000 leads)."""
    export = _analytics().export_results(campaign_id, store=_exports(), link=link, jobs=_jobs())
    if export.job is not None:
        return _export_answer(campaign_id, export.job)
    if export.url:
        return _link_answer(export.url, export.expires_at or "", export.rows)
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=export.csv or "",
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}-results.csv"'},
    )


@app.get(
    "/campaigns/<campaign_id>/results/exports/<export_id>", tags=["analytics"], responses=_EXPORT_RESPONSES
)
def campaign_results_export(campaign_id: IdPath, export_id: IdPath) -> Response[str]:
    """An asynchronous results export: 202 while it is built, 303 to the CSV when done, its
    reason when it failed. 404 for an unknown export (or another campaign's)."""
    from dialer.errors import NotFound

    jobs = _jobs()
    if jobs is None:
        raise NotFound(f"export {export_id} not found")
    view = jobs.view(campaign_id, export_id)
    if view.url:
        return _link_answer(view.url, view.link_expires_at or "", view.record.rows or 0)
    return _export_answer(campaign_id, view.record)


@app.get("/calls/<call_id>", tags=["analytics"], responses=responses(200, CallDetailResponse, 404))
def get_call(call_id: IdPath) -> CallDetailResponse:
    """One call: lifecycle, conversation, insights, disposition and cost parts."""
    return _analytics().call(call_id)


@app.get("/calls/<call_id>/transcript", tags=["analytics"], responses=responses(200, TranscriptResponse, 404))
def get_transcript(call_id: IdPath) -> TranscriptResponse:
    """The messages of the call's AI conversation, oldest first, when the tenant's assistant keeps
    data (fetched from Telnyx once the conversation ended; kept for the deployment's retention).
    404 says whether the call is unknown or has no transcript, and why."""
    return _analytics().transcript(call_id)


@app.get("/leads/<lead_id>/calls", tags=["analytics"], responses=responses(200, CallListResponse, 404))
def lead_calls(lead_id: IdPath) -> CallListResponse:
    """A lead's calls, newest first."""
    return _analytics().lead_calls(lead_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway (REST, proxy) entry point."""
    return resolve(app, event, context)
