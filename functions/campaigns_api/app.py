"""The campaigns API: campaigns and their lifecycle, leads (JSON batches and CSV imports), lead
search and eligibility, consent, and the tenant's internal do-not-call list.

Thin by design, like assistants_api: the tenant comes only from the authorizer's context, each
route makes one call into ``dialer.services`` and domain errors become HTTP in one place below.
Every 422 has Powertools' body (``{"detail": [{"loc", "msg", "type"}]}``).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.http_api import (
    Cursor,
    IdempotencyKey,
    Limit,
    authorizer_context,
    created,
    idempotent_creates,
    json_body,
    register_error_handlers,
    resolve,
    responses,
    tenant_of,
)
from dialer.observability import get_logger, get_metrics, get_tracer
from dialer.services.api_models import ID_PATTERN
from dialer.services.campaign_models import (
    CampaignCreateRequest,
    CampaignListResponse,
    CampaignPatchRequest,
    CampaignResponse,
    CampaignStatusRequest,
    ConsentInput,
    DncAddRequest,
    DncAuditListResponse,
    DncBulkRequest,
    DncBulkResponse,
    DncCheckResponse,
    DncEntryResponse,
    DncListResponse,
    DncRemoveRequest,
    EligibilityResponse,
    ImportCreatedResponse,
    ImportCreateRequest,
    ImportResponse,
    LeadBatchRequest,
    LeadBatchResponse,
    LeadListResponse,
    LeadResponse,
)
from dialer.services.dialing_models import (
    CallbackRequest,
    CallbackResponse,
    LeadDetailResponse,
    ProgressResponse,
)

if TYPE_CHECKING:
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.import_files import ImportFiles
    from dialer.adapters.management_table import ManagementTable
    from dialer.adapters.people_table import ContactHistory, DncTable
    from dialer.adapters.queue import JobsQueue
    from dialer.services.campaigns import CampaignsService
    from dialer.services.dialing_api import DialingApi
    from dialer.services.dnc import DncService
    from dialer.services.eligibility import EligibilityService
    from dialer.services.imports import ImportsService
    from dialer.services.leads import LeadsService
    from dialer.services.scheduled_events import ScheduledEvents

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=json_body)
register_error_handlers(app, logger)

IdPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=128)]
PhoneQuery = Annotated[str, Query(min_length=1, max_length=64, description="Any format; URL-encode the +.")]


# --- wiring (once per execution environment, never at import time) -------------------------------
@cache
def _campaigns_table() -> CampaignsTable:
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.settings import get_settings

    return CampaignsTable(get_settings().table_name)


@cache
def _management() -> ManagementTable:
    from dialer.adapters.management_table import ManagementTable
    from dialer.settings import get_settings

    return ManagementTable(get_settings().table_name)


@cache
def _dnc_table() -> DncTable:
    from dialer.adapters.people_table import DncTable
    from dialer.settings import get_settings

    return DncTable(get_settings().table_name)


@cache
def _history() -> ContactHistory:
    from datetime import timedelta

    from dialer.adapters.people_table import ContactHistory
    from dialer.settings import get_settings

    settings = get_settings()
    return ContactHistory(settings.table_name, keep=timedelta(days=settings.contact_history_days))


@cache
def _files() -> ImportFiles:
    from dialer.adapters.import_files import ImportFiles
    from dialer.settings import get_settings

    return ImportFiles(get_settings().import_bucket)


def _campaigns() -> CampaignsService:
    from dialer.services.campaigns import CampaignsService

    return CampaignsService(tenant_of(app), _campaigns_table(), _management())


def _leads() -> LeadsService:
    from dialer.services.leads import LeadsService
    from dialer.settings import get_settings

    campaigns = _campaigns()
    return LeadsService(
        campaigns.tenant_id, _campaigns_table(), campaigns, default_region=get_settings().default_region
    )


def _imports() -> ImportsService:
    from dialer.services.imports import ImportsService
    from dialer.settings import get_settings

    leads = _leads()
    return ImportsService(
        leads.tenant_id,
        _campaigns_table(),
        leads,
        _files(),
        url_seconds=get_settings().import_upload_url_seconds,
    )


def _dnc() -> DncService:
    from dialer.services.dnc import DncService
    from dialer.settings import get_settings

    tenant_id = tenant_of(app)
    authorizer = authorizer_context(app)
    actor = f"{authorizer.get('auth_method') or 'api_key'}:{authorizer.get('principalId') or 'unknown'}"
    return DncService(
        tenant_id,
        _dnc_table(),
        actor=actor,
        default_region=get_settings().default_region,
        # A listed number's pending Telnyx scheduled events are canceled too.
        after_listed=lambda phones: _scheduled(tenant_id).cancel_for_numbers(phones, reason="dnc"),
    )


def _scheduled(tenant_id: str) -> ScheduledEvents:
    from dialer.services.scheduled_events import scheduled_events_for

    return scheduled_events_for(tenant_id)


@cache
def _dispatch_queue() -> JobsQueue | None:
    from dialer.adapters.queue import JobsQueue
    from dialer.settings import get_settings

    url = get_settings().dispatch_queue_url
    return JobsQueue(url) if url else None


def _dialing() -> DialingApi:
    from dialer.adapters.calls_table import CallsTable
    from dialer.adapters.dialing_table import DialingTable
    from dialer.services.dialing_api import DialingApi
    from dialer.services.engine import tenant_defaults
    from dialer.settings import get_settings

    settings = get_settings()
    return DialingApi(
        tenant_of(app),
        campaigns=_campaigns_table(),
        dialing=DialingTable(settings.table_name),
        calls=CallsTable(settings.table_name),
        dnc=_dnc_table(),
        history=_history(),
        defaults=tenant_defaults(settings),
        notifier=_dispatch_queue(),
    )


def _eligibility() -> EligibilityService:
    from dialer.services.eligibility import EligibilityService

    return EligibilityService(tenant_of(app), _campaigns_table(), _dnc_table(), _history())


# --- campaigns -----------------------------------------------------------------------------------------
@app.post("/campaigns", tags=["campaigns"], status_code=201, responses=responses(201, CampaignResponse, 409))
def create_campaign(
    request: Annotated[CampaignCreateRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    """Create a campaign (as a draft)."""
    outcome = idempotent_creates(app).run(
        "create_campaign",
        idempotency_key,
        request.model_dump(mode="json", exclude_unset=True),
        lambda: _campaigns().create(request),
        CampaignResponse,
    )
    if not outcome.replayed:
        metrics.add_metric(name="CampaignCreated", unit="Count", value=1)
    return created(outcome)


@app.get("/campaigns", tags=["campaigns"], responses=responses(200, CampaignListResponse))
def list_campaigns(limit: Limit = 50, cursor: Cursor = None) -> CampaignListResponse:
    """The tenant's campaigns, oldest first."""
    return _campaigns().list(limit=limit, cursor=cursor)


@app.get("/campaigns/<campaign_id>", tags=["campaigns"], responses=responses(200, CampaignResponse, 404))
def get_campaign(campaign_id: IdPath) -> CampaignResponse:
    """One campaign."""
    return _campaigns().get(campaign_id)


@app.patch(
    "/campaigns/<campaign_id>", tags=["campaigns"], responses=responses(200, CampaignResponse, 404, 409)
)
def update_campaign(campaign_id: IdPath, patch: Annotated[CampaignPatchRequest, Body()]) -> CampaignResponse:
    """Change a campaign (not once it is completed or canceled)."""
    return _campaigns().update(campaign_id, patch)


@app.delete(
    "/campaigns/<campaign_id>", tags=["campaigns"], status_code=204, responses=responses(204, None, 404, 409)
)
def delete_campaign(campaign_id: IdPath) -> Response[None]:
    """Delete a draft without leads (cancel any other campaign)."""
    _campaigns().delete(campaign_id)
    return Response(status_code=204)


@app.post(
    "/campaigns/<campaign_id>/status",
    tags=["campaigns"],
    responses=responses(200, CampaignResponse, 404, 409),
)
def move_campaign(campaign_id: IdPath, request: Annotated[CampaignStatusRequest, Body()]) -> CampaignResponse:
    """Move a campaign: draft → active ⇄ paused → completed | canceled (409 for any other move;
    activating needs existing assistants and caller IDs)."""
    from dialer.domain.campaigns import CampaignStatus

    moved = _campaigns().transition(campaign_id, CampaignStatus(request.status))
    # Active: the dispatcher starts within seconds; canceled: pending leads end in the background.
    _dialing().campaign_moved(campaign_id, moved.status)
    logger.info("campaign moved", campaign_id=campaign_id, status=moved.status.value)
    return moved


@app.get(
    "/campaigns/<campaign_id>/progress",
    tags=["campaigns"],
    responses=responses(200, ProgressResponse, 404),
)
def campaign_progress(campaign_id: IdPath) -> ProgressResponse:
    """Leads by state, calls in flight, leads due now, deferrals by reason, the dial rate of the
    last minute against the limit, and concurrency slots in use."""
    return _dialing().progress(campaign_id)


# --- leads ---------------------------------------------------------------------------------------------
@app.post(
    "/campaigns/<campaign_id>/leads",
    tags=["leads"],
    responses=responses(200, LeadBatchResponse, 404, 409),
)
def add_leads(campaign_id: IdPath, request: Annotated[LeadBatchRequest, Body()]) -> LeadBatchResponse:
    """Add up to 1,000 leads; a phone number already in the campaign merges into its lead, and
    invalid items are reported (index, reason), never dropped silently."""
    result = _leads().add_batch(campaign_id, request.leads)
    metrics.add_metric(name="LeadsImported", unit="Count", value=result.imported)
    return result


@app.get("/campaigns/<campaign_id>/leads", tags=["leads"], responses=responses(200, LeadListResponse, 404))
def list_leads(campaign_id: IdPath, limit: Limit = 50, cursor: Cursor = None) -> LeadListResponse:
    """A page of a campaign's leads."""
    return _leads().list(campaign_id, limit=limit, cursor=cursor)


@app.get("/leads", tags=["leads"], responses=responses(200, LeadListResponse))
def search_leads(phone: PhoneQuery) -> LeadListResponse:
    """The tenant's leads with this phone number, across campaigns."""
    return _leads().search(phone)


@app.get("/leads/<lead_id>", tags=["leads"], responses=responses(200, LeadDetailResponse, 404))
def get_lead(lead_id: IdPath) -> LeadDetailResponse:
    """One lead, why it waits (reasons), and its attempts with their calls and outcomes."""
    return _dialing().lead_detail(lead_id)


@app.post(
    "/leads/<lead_id>/callback",
    tags=["leads"],
    responses=responses(200, CallbackResponse, 404, 409),
)
def schedule_callback(lead_id: IdPath, request: Annotated[CallbackRequest, Body()]) -> CallbackResponse:
    """Call the lead back at ``at`` (with an offset: that instant; without: lead-local time), or at
    the next legal instant after it (the answer says which). Callbacks go before fresh leads and
    do not use the retry budget."""
    return _dialing().callback(lead_id, request)


@app.get("/leads/<lead_id>/eligibility", tags=["leads"], responses=responses(200, EligibilityResponse, 404))
def lead_eligibility(
    lead_id: IdPath,
    at: Annotated[
        datetime | None,
        Query(
            description="Instant to evaluate (ISO 8601; from 1970-01-01 to before 2200-01-01 UTC); default now."
        ),
    ] = None,
) -> EligibilityResponse:
    """May this lead be dialled now (or at ``at``)? Every blocking reason, explained, and the next
    legal instant."""
    return _eligibility().check(lead_id, _aware(at))


@app.put("/leads/<lead_id>/consent", tags=["leads"], responses=responses(200, LeadResponse, 404))
def set_consent(lead_id: IdPath, request: Annotated[ConsentInput, Body()]) -> LeadResponse:
    """Set the lead's consent record (type, source, granted_at; revoked_at records a revocation,
    which also cancels the lead's pending scheduled calls and texts)."""
    lead = _leads().set_consent(lead_id, request)
    if request.revoked_at is not None:
        _scheduled(tenant_of(app)).cancel_for_lead(lead_id, reason="consent_revoked")
    return lead


def _aware(at: datetime | None) -> datetime | None:
    from datetime import UTC

    if at is not None and at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at


# --- imports -------------------------------------------------------------------------------------------
@app.post(
    "/campaigns/<campaign_id>/imports",
    tags=["imports"],
    status_code=201,
    responses=responses(201, ImportCreatedResponse, 404, 409),
)
def create_import(
    campaign_id: IdPath, request: Annotated[ImportCreateRequest, Body()]
) -> ImportCreatedResponse:
    """Start a CSV import: PUT the file to ``upload_url``; progress and per-row errors are at
    ``GET /campaigns/{campaign_id}/imports/{import_id}``."""
    return _imports().create(campaign_id, request.filename)


@app.get(
    "/campaigns/<campaign_id>/imports/<import_id>",
    tags=["imports"],
    responses=responses(200, ImportResponse, 404),
)
def get_import(
    campaign_id: IdPath,
    import_id: IdPath,
    errors_limit: Annotated[int, Query(ge=1, le=1000, description="Rejected rows per page.")] = 100,
    errors_cursor: Cursor = None,
) -> ImportResponse:
    """An import's status, counts and a page of its rejected rows (line, reason)."""
    return _imports().get(campaign_id, import_id, errors_limit=errors_limit, errors_cursor=errors_cursor)


# --- DNC -----------------------------------------------------------------------------------------------
@app.get("/dnc", tags=["dnc"], responses=responses(200, DncListResponse))
def list_dnc(limit: Limit = 50, cursor: Cursor = None) -> DncListResponse:
    """The tenant's internal do-not-call list."""
    return _dnc().entries(limit=limit, cursor=cursor)


_DNC_ADD_RESPONSES = {
    **responses(201, DncEntryResponse),
    200: {
        "description": "Already on the list.",
        "content": {"application/json": {"model": DncEntryResponse}},
    },
}


@app.post("/dnc", tags=["dnc"], status_code=201, responses=_DNC_ADD_RESPONSES)
def add_dnc(request: Annotated[DncAddRequest, Body()]) -> Response[Any]:
    """Put a number on the list (201; 200 if it was already there). Audited."""
    entry, added = _dnc().add(request.phone, reason=request.reason, source=request.source)
    return Response(
        status_code=201 if added else 200,
        content_type=content_types.APPLICATION_JSON,
        body=entry.model_dump(),
    )


@app.post("/dnc/bulk", tags=["dnc"], responses=responses(200, DncBulkResponse))
def add_dnc_bulk(request: Annotated[DncBulkRequest, Body()]) -> DncBulkResponse:
    """Put up to 1,000 numbers on the list; invalid numbers are reported by index. Audited."""
    return _dnc().add_many(request.phones, reason=request.reason, source=request.source)


@app.post("/dnc/remove", tags=["dnc"], status_code=204, responses=responses(204, None, 404))
def remove_dnc(request: Annotated[DncRemoveRequest, Body()]) -> Response[None]:
    """Take a number off the list; the reason is required and audited."""
    _dnc().remove(request.phone, reason=request.reason)
    return Response(status_code=204)


@app.get("/dnc/check", tags=["dnc"], responses=responses(200, DncCheckResponse))
def check_dnc(phone: PhoneQuery) -> DncCheckResponse:
    """Is this number on the list?"""
    return _dnc().check(phone)


@app.get("/dnc/audit", tags=["dnc"], responses=responses(200, DncAuditListResponse))
def dnc_audit(phone: PhoneQuery, limit: Limit = 50, cursor: Cursor = None) -> DncAuditListResponse:
    """Every change to a number's DNC state, newest first."""
    return _dnc().audit(phone, limit=limit, cursor=cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway (REST, proxy) entry point."""
    return resolve(app, event, context)
