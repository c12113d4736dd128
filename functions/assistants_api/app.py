"""The management API: assistants, numbers, caller IDs and the calling tenant (``/tenants/me``).

Thin by design: each route reads the tenant from the authorizer's context (never from the path,
the body or a header), makes one call into ``dialer.services`` and returns its model. Domain
errors become HTTP in one place below. Every 422 has the same body as Powertools' validation
errors (``{"detail": [{"loc", "msg", "type"}]}``), so bad input always names the field.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.domain.caller_id_health import CallerIdHealthSettings
from dialer.http_api import (
    SECURITY,
    SECURITY_SCHEMES,
    TITLE,
    UPSTREAM,
    VERSION,
    Cursor,
    IdempotencyKey,
    Limit,
    created,
    idempotent_creates,
    json_body,
    register_error_handlers,
    resolve,
    responses,
    tenant_of,
)
from dialer.observability import get_logger, get_metrics, get_tracer
from dialer.services.api_models import (
    ID_PATTERN,
    ApiKeyCreatedResponse,
    ApiKeyCreateRequest,
    ApiKeyListResponse,
    ApiKeyResponse,
    AssistantCreateRequest,
    AssistantListResponse,
    AssistantPatchRequest,
    AssistantResponse,
    AssistantVersionListResponse,
    CallerIdCreateRequest,
    CallerIdListResponse,
    CallerIdPatchRequest,
    CallerIdResponse,
    CallerIdRestRequest,
    InsightGroupRequest,
    InsightGroupResponse,
    NumberAssignRequest,
    NumberListResponse,
    NumberResponse,
    SyncResponse,
    TenantResponse,
)

if TYPE_CHECKING:
    from dialer.adapters.management_table import ManagementTable
    from dialer.services.assistants import AssistantsService
    from dialer.services.insight_groups import InsightGroups
    from dialer.services.numbers import NumbersService
    from dialer.services.telnyx_accounts import TelnyxAccounts
    from dialer.services.tenants import TenantAdmin

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=json_body)
register_error_handlers(app, logger)

app.enable_swagger(
    path="/docs", title=TITLE, version=VERSION, security_schemes=SECURITY_SCHEMES, security=SECURITY
)

IdPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=128)]


# --- wiring (once per execution environment, never at import time) -------------------------------
@cache
def _table() -> ManagementTable:
    from dialer.adapters.management_table import ManagementTable
    from dialer.settings import get_settings

    return ManagementTable(get_settings().table_name)


@cache
def _secrets() -> Any:
    from dialer.adapters.secrets import TenantSecrets
    from dialer.settings import get_settings

    settings = get_settings()
    return TenantSecrets(
        settings.param_prefix,
        max_age=settings.config_cache_seconds,
        miss_ttl=settings.unknown_tenant_cache_seconds,
    )


@cache
def _accounts() -> TelnyxAccounts:
    from dialer.services.telnyx_accounts import TelnyxAccounts
    from dialer.settings import get_settings

    settings = get_settings()
    return TelnyxAccounts(
        _secrets(), base_url=settings.telnyx_base_url, timeout=settings.telnyx_timeout_seconds
    )


@cache
def _admin() -> TenantAdmin:
    from dialer.adapters.tenants_table import TenantsTable
    from dialer.services.tenants import TenantAdmin
    from dialer.settings import get_settings

    return TenantAdmin(TenantsTable(get_settings().table_name), _secrets())


def _base_url() -> str:
    """This deployment's public URL (setting, else the API Gateway domain and stage of the request)."""
    from dialer.settings import get_settings

    configured = get_settings().public_api_url
    if configured:
        return configured.rstrip("/")
    context = app.current_event.raw_event.get("requestContext") or {}
    domain = str(context.get("domainName") or "localhost")
    if domain.endswith(".amazonaws.com"):
        return f"https://{domain}/{context.get('stage', '')}".rstrip("/")
    proto = (app.current_event.headers or {}).get("x-forwarded-proto") or "http"
    return f"{proto}://{domain}"


def _assistants() -> AssistantsService:
    from dialer.domain.assistants import DeploymentDefaults
    from dialer.services.assistants import AssistantsService
    from dialer.settings import get_settings

    tenant_id = tenant_of(app)
    base_url = _base_url()

    def defaults() -> DeploymentDefaults:
        mapping = _insights_table().get_mapping(tenant_id)
        return DeploymentDefaults(
            base_url,
            tenant_id,
            get_settings().dynamic_variables_timeout_ms,
            _secrets().tool_secret(tenant_id),
            insight_group_id=mapping.group_id if mapping else None,
        )

    return AssistantsService(tenant_id, lambda: _accounts().client_for(tenant_id), _table(), defaults)


@cache
def _insights_table() -> Any:
    from dialer.adapters.insights_table import InsightsTable
    from dialer.settings import get_settings

    return InsightsTable(get_settings().table_name)


def _insight_groups() -> InsightGroups:
    from dialer.services.insight_groups import InsightGroups

    tenant_id = tenant_of(app)
    return InsightGroups(
        tenant_id,
        lambda: _accounts().client_for(tenant_id),
        _insights_table(),
        _secrets(),
        base_url=_base_url(),
    )


def _numbers() -> NumbersService:
    from dialer.services.numbers import NumbersService

    assistants = _assistants()
    return NumbersService(assistants.tenant_id, assistants._telnyx, _table(), assistants)


# --- tenant and API keys ------------------------------------------------------------------------------
@app.get("/tenants/me", tags=["tenant"], responses=responses(200, TenantResponse))
def get_me() -> TenantResponse:
    """The calling tenant."""
    tenant = _admin().get_tenant(tenant_of(app))
    authorizer = app.current_event.raw_event["requestContext"]["authorizer"]
    configured = _secrets().telnyx_api_key(tenant.tenant_id) is not None
    return TenantResponse(
        tenant_id=tenant.tenant_id,
        name=tenant.name,
        status=tenant.status.value,
        auth_method=str(authorizer.get("auth_method") or "api_key"),
        telnyx_configured=configured,
    )


@app.get("/tenants/me/api-keys", tags=["tenant"], responses=responses(200, ApiKeyListResponse))
def list_api_keys() -> ApiKeyListResponse:
    """The tenant's API keys (never their secrets)."""
    return ApiKeyListResponse(data=[_key(r) for r in _admin().list_api_keys(tenant_of(app))])


@app.post(
    "/tenants/me/api-keys", tags=["tenant"], status_code=201, responses=responses(201, ApiKeyCreatedResponse)
)
def create_api_key(request: Annotated[ApiKeyCreateRequest, Body()]) -> ApiKeyCreatedResponse:
    """A new API key; ``api_key`` is shown in this answer only."""
    issued = _admin().issue_api_key(tenant_of(app), request.name)
    logger.info("API key issued", key_id=issued.record.key_id)
    return ApiKeyCreatedResponse(**_key(issued.record).model_dump(), api_key=issued.plaintext)


@app.delete(
    "/tenants/me/api-keys/<key_id>", tags=["tenant"], status_code=204, responses=responses(204, None, 404)
)
def revoke_api_key(key_id: IdPath) -> Response[None]:
    """Revoke a key (cached authorizations may last up to the authorizer's TTL)."""
    _admin().revoke_api_key(tenant_of(app), key_id)
    logger.info("API key revoked", key_id=key_id)
    return Response(status_code=204)


def _key(record: Any) -> ApiKeyResponse:
    return ApiKeyResponse(
        key_id=record.key_id,
        name=record.name,
        created_at=record.created_at,
        revoked_at=record.revoked_at,
        last_used_at=record.last_used_at,
    )


# --- insight group ------------------------------------------------------------------------------------
@app.get("/tenants/me/insight-group", tags=["tenant"], responses=responses(200, InsightGroupResponse, 404))
def get_insight_group() -> InsightGroupResponse:
    """The insight group the tenant's calls report to (404 before the first POST or bootstrap)."""
    from dialer.errors import NotFound

    mapping = _insight_groups().current()
    if mapping is None:
        raise NotFound("no insight group yet (POST /tenants/me/insight-group)")
    return _insight_view(mapping, [])


@app.post(
    "/tenants/me/insight-group",
    tags=["tenant"],
    responses=responses(200, InsightGroupResponse, 404, *UPSTREAM),
)
def ensure_insight_group(request: Annotated[InsightGroupRequest, Body()]) -> InsightGroupResponse:
    """Create (idempotently) the default insight group, or plug in the tenant's own; either way
    the tenant's assistants without a group are pointed at it."""
    groups = _insight_groups()
    if request.group_id:
        mapping, attached = groups.use_own(request.group_id, request.fields, _assistants())
    else:
        mapping, attached = groups.ensure(_assistants())
    logger.info("insight group set", group_id=mapping.group_id, source=mapping.source, attached=len(attached))
    return _insight_view(mapping, attached)


def _insight_view(mapping: Any, attached: list[str]) -> InsightGroupResponse:
    return InsightGroupResponse(
        group_id=mapping.group_id,
        source=mapping.source,
        insights=dict(mapping.names),
        fields=dict(mapping.fields),
        assistants_attached=attached,
    )


# --- assistants ----------------------------------------------------------------------------------------
@app.post(
    "/assistants",
    tags=["assistants"],
    status_code=201,
    responses=responses(201, AssistantResponse, *UPSTREAM),
)
def create_assistant(
    request: Annotated[AssistantCreateRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    """Create an assistant on Telnyx with this deployment's defaults, and mirror it."""
    outcome = idempotent_creates(app).run(
        "create_assistant",
        idempotency_key,
        request.model_dump(mode="json", exclude_unset=True),
        lambda: _assistants().create(request),
        AssistantResponse,
    )
    if not outcome.replayed:
        metrics.add_metric(name="AssistantCreated", unit="Count", value=1)
    return created(outcome)


@app.get("/assistants", tags=["assistants"], responses=responses(200, AssistantListResponse))
def list_assistants(
    limit: Limit = 50,
    cursor: Cursor = None,
    include_deleted: Annotated[bool, Query(description="Include assistants deleted on Telnyx.")] = False,
) -> AssistantListResponse:
    """The tenant's assistants, from the mirror (POST /assistants/sync refreshes it)."""
    return _assistants().list(limit=limit, cursor=cursor, include_deleted=include_deleted)


@app.post("/assistants/sync", tags=["assistants"], responses=responses(200, SyncResponse, *UPSTREAM))
def sync_assistants() -> SyncResponse:
    """Pull every assistant of the tenant's Telnyx account into the mirror; mark ones deleted upstream."""
    return _assistants().sync()


@app.get(
    "/assistants/<assistant_id>",
    tags=["assistants"],
    responses=responses(200, AssistantResponse, 404, *UPSTREAM),
)
def get_assistant(assistant_id: IdPath) -> AssistantResponse:
    """One assistant, fresh from Telnyx."""
    return _assistants().get(assistant_id)


@app.patch(
    "/assistants/<assistant_id>",
    tags=["assistants"],
    responses=responses(200, AssistantResponse, 404, *UPSTREAM),
)
def update_assistant(
    assistant_id: IdPath, patch: Annotated[AssistantPatchRequest, Body()]
) -> AssistantResponse:
    """Change the given fields only; Telnyx is sent only what changes."""
    return _assistants().update(assistant_id, patch)


@app.delete(
    "/assistants/<assistant_id>",
    tags=["assistants"],
    status_code=204,
    responses=responses(204, None, 404, *UPSTREAM),
)
def delete_assistant(assistant_id: IdPath) -> Response[None]:
    """Delete an assistant on Telnyx and here."""
    _assistants().delete(assistant_id)
    return Response(status_code=204)


@app.post(
    "/assistants/<assistant_id>/clone",
    tags=["assistants"],
    status_code=201,
    responses=responses(201, AssistantResponse, 404, *UPSTREAM),
)
def clone_assistant(assistant_id: IdPath) -> AssistantResponse:
    """Clone an assistant (Telnyx does not copy telephony and messaging settings)."""
    return _assistants().clone(assistant_id)


@app.get(
    "/assistants/<assistant_id>/versions",
    tags=["assistants"],
    responses=responses(200, AssistantVersionListResponse, 404, *UPSTREAM),
)
def list_versions(assistant_id: IdPath) -> AssistantVersionListResponse:
    """The versions of an assistant."""
    return _assistants().versions(assistant_id)


@app.post(
    "/assistants/<assistant_id>/versions/<version_id>/promote",
    tags=["assistants"],
    responses=responses(200, AssistantResponse, 404, *UPSTREAM),
)
def promote_version(assistant_id: IdPath, version_id: IdPath) -> AssistantResponse:
    """Make a version the main one."""
    return _assistants().promote(assistant_id, version_id)


# --- numbers and caller IDs ------------------------------------------------------------------------------
@app.get("/numbers", tags=["numbers"], responses=responses(200, NumberListResponse, *UPSTREAM))
def list_numbers() -> NumberListResponse:
    """The tenant's Telnyx numbers and the assistant each is assigned to."""
    return _numbers().list_numbers()


@app.put(
    "/numbers/<number_id>/assignment",
    tags=["numbers"],
    responses=responses(200, NumberResponse, 404, *UPSTREAM),
)
def assign_number(number_id: IdPath, request: Annotated[NumberAssignRequest, Body()]) -> NumberResponse:
    """Point a number at an assistant's TeXML app (409 if it is assigned or routed elsewhere)."""
    return _numbers().assign(number_id, request)


@app.delete(
    "/numbers/<number_id>/assignment",
    tags=["numbers"],
    status_code=204,
    responses=responses(204, None, 404, *UPSTREAM),
)
def unassign_number(number_id: IdPath) -> Response[None]:
    """Detach a number from its assistant."""
    _numbers().unassign(number_id)
    return Response(status_code=204)


@app.post("/caller-ids", tags=["numbers"], status_code=201, responses=responses(201, CallerIdResponse))
def create_caller_id(request: Annotated[CallerIdCreateRequest, Body()]) -> CallerIdResponse:
    """Add a caller ID (with a daily cap) to the pool campaigns dial from."""
    return _caller_ids().create_caller_id(request)


@app.get("/caller-ids", tags=["numbers"], responses=responses(200, CallerIdListResponse))
def list_caller_ids(limit: Limit = 50, cursor: Cursor = None) -> CallerIdListResponse:
    """The caller-ID pool."""
    return _caller_ids().list_caller_ids(limit=limit, cursor=cursor)


@app.get("/caller-ids/<caller_id_id>", tags=["numbers"], responses=responses(200, CallerIdResponse, 404))
def get_caller_id(caller_id_id: IdPath) -> CallerIdResponse:
    """One caller ID."""
    return _caller_ids().get_caller_id(caller_id_id)


@app.patch("/caller-ids/<caller_id_id>", tags=["numbers"], responses=responses(200, CallerIdResponse, 404))
def update_caller_id(
    caller_id_id: IdPath, request: Annotated[CallerIdPatchRequest, Body()]
) -> CallerIdResponse:
    """Change a caller ID's daily cap or switch it on or off."""
    return _caller_ids().update_caller_id(caller_id_id, request)


@app.delete(
    "/caller-ids/<caller_id_id>", tags=["numbers"], status_code=204, responses=responses(204, None, 404)
)
def delete_caller_id(caller_id_id: IdPath) -> Response[None]:
    """Remove a caller ID from the pool."""
    _caller_ids().delete_caller_id(caller_id_id)
    return Response(status_code=204)


@app.post(
    "/caller-ids/<caller_id_id>/rest", tags=["numbers"], responses=responses(200, CallerIdResponse, 404)
)
def rest_caller_id(caller_id_id: IdPath, request: Annotated[CallerIdRestRequest, Body()]) -> CallerIdResponse:
    """Rest a caller ID: no dial uses it until the rest ends (``hours``, default the tenant's
    ``rest_hours``); its health starts a fresh window."""
    rested = _caller_ids().rest_caller_id(caller_id_id, request)
    logger.info("caller ID rested by an operator", caller_id_id=caller_id_id)
    return rested


@app.post(
    "/caller-ids/<caller_id_id>/restore", tags=["numbers"], responses=responses(200, CallerIdResponse, 404)
)
def restore_caller_id(caller_id_id: IdPath) -> CallerIdResponse:
    """End a caller ID's rest now (idempotent)."""
    restored = _caller_ids().restore_caller_id(caller_id_id)
    logger.info("caller ID restored", caller_id_id=caller_id_id)
    return restored


@app.get("/tenants/me/caller-id-health", tags=["numbers"], responses=responses(200, CallerIdHealthSettings))
def get_caller_id_health() -> CallerIdHealthSettings:
    """The tenant's caller-ID health rule (when a number is rested automatically)."""
    return _caller_ids().health_settings()


@app.put("/tenants/me/caller-id-health", tags=["numbers"], responses=responses(200, CallerIdHealthSettings))
def put_caller_id_health(request: Annotated[CallerIdHealthSettings, Body()]) -> CallerIdHealthSettings:
    """Replace the tenant's caller-ID health rule (omitted fields take their defaults)."""
    return _caller_ids().put_health_settings(request)


def _caller_ids() -> NumbersService:
    """Caller IDs need no Telnyx client: the service is built without touching the tenant's key."""
    from dialer.services.numbers import NumbersService

    tenant_id = tenant_of(app)
    return NumbersService(tenant_id, lambda: _accounts().client_for(tenant_id), _table(), _assistants())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway (REST, proxy) entry point."""
    return resolve(app, event, context)
