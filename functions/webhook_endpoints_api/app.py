"""The webhook-endpoints API: where a tenant's systems hear about calls, leads, campaigns and
imports (signed event webhooks out, issue 24).

Its own function, not more routes on campaigns_api: its role writes only webhook items, and the
secrets it hands out never pass through a function that serves anything else. Thin like the
other APIs: the tenant comes only from the authorizer's context, each route makes one call into
``dialer.services.webhook_endpoints``, domain errors become HTTP in one place.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.http_api import Cursor, Limit, json_body, register_error_handlers, resolve, responses, tenant_of
from dialer.observability import get_logger, get_metrics, get_tracer
from dialer.services.api_models import ID_PATTERN
from dialer.services.webhook_models import (
    DeliveryListResponse,
    ReplayRequest,
    ReplayResponse,
    SecretRotateRequest,
    SecretRotateResponse,
    WebhookEndpointCreatedResponse,
    WebhookEndpointCreateRequest,
    WebhookEndpointListResponse,
    WebhookEndpointPatchRequest,
    WebhookEndpointResponse,
)

if TYPE_CHECKING:
    from dialer.adapters.webhooks_table import WebhooksTable
    from dialer.services.webhook_endpoints import WebhookEndpoints

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=json_body)
register_error_handlers(app, logger)

IdPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=128)]


@cache
def _table() -> WebhooksTable:
    from dialer.adapters.webhooks_table import WebhooksTable
    from dialer.settings import get_settings

    return WebhooksTable(get_settings().table_name)


def _endpoints() -> WebhookEndpoints:
    from dialer import clock
    from dialer.services.webhook_endpoints import WebhookEndpoints
    from dialer.settings import get_settings

    return WebhookEndpoints(
        tenant_of(app), _table(), clock=clock.now, allow_loopback=get_settings().webhook_allow_loopback
    )


@app.post(
    "/webhook-endpoints",
    tags=["webhooks"],
    status_code=201,
    responses=responses(201, WebhookEndpointCreatedResponse, 409),
)
def create_endpoint(request: Annotated[WebhookEndpointCreateRequest, Body()]) -> Response[Any]:
    """A new endpoint (https, a public host). The answer holds its signing secret: the only time
    it is shown."""
    body = _endpoints().create(request)
    return Response(
        status_code=201, content_type=content_types.APPLICATION_JSON, body=body.model_dump(mode="json")
    )


@app.get("/webhook-endpoints", tags=["webhooks"], responses=responses(200, WebhookEndpointListResponse))
def list_endpoints() -> WebhookEndpointListResponse:
    """Every endpoint of the tenant (never a secret)."""
    return _endpoints().list()


@app.get(
    "/webhook-endpoints/<endpoint_id>",
    tags=["webhooks"],
    responses=responses(200, WebhookEndpointResponse, 404),
)
def get_endpoint(endpoint_id: IdPath) -> WebhookEndpointResponse:
    """One endpoint."""
    return _endpoints().get(endpoint_id)


@app.patch(
    "/webhook-endpoints/<endpoint_id>",
    tags=["webhooks"],
    responses=responses(200, WebhookEndpointResponse, 404, 409),
)
def update_endpoint(
    endpoint_id: IdPath, patch: Annotated[WebhookEndpointPatchRequest, Body()]
) -> WebhookEndpointResponse:
    """Change the URL, the event types, the description, or enable/disable it."""
    return _endpoints().update(endpoint_id, patch)


@app.delete(
    "/webhook-endpoints/<endpoint_id>",
    tags=["webhooks"],
    status_code=204,
    responses=responses(204, None, 404),
)
def delete_endpoint(endpoint_id: IdPath) -> Response[None]:
    """Delete the endpoint: nothing more is sent to it."""
    _endpoints().delete(endpoint_id)
    return Response(status_code=204)


@app.post(
    "/webhook-endpoints/<endpoint_id>/rotate-secret",
    tags=["webhooks"],
    responses=responses(200, SecretRotateResponse, 404, 409),
)
def rotate_secret(
    endpoint_id: IdPath, request: Annotated[SecretRotateRequest, Body()]
) -> SecretRotateResponse:
    """A new signing secret (shown once); the old one keeps signing beside it for the overlap."""
    return _endpoints().rotate_secret(endpoint_id, request)


@app.get(
    "/webhook-endpoints/<endpoint_id>/deliveries",
    tags=["webhooks"],
    responses=responses(200, DeliveryListResponse, 404),
)
def list_deliveries(endpoint_id: IdPath, limit: Limit = 50, cursor: Cursor = None) -> DeliveryListResponse:
    """The endpoint's deliveries, newest first: attempts, status codes, latency."""
    return _endpoints().deliveries(endpoint_id, limit=limit, cursor=cursor)


@app.post(
    "/webhook-endpoints/<endpoint_id>/replay",
    tags=["webhooks"],
    responses=responses(200, ReplayResponse, 404, 409),
)
def replay(endpoint_id: IdPath, request: Annotated[ReplayRequest, Body()]) -> ReplayResponse:
    """Send again every event since an instant, or one event, under its original webhook-id."""
    return _endpoints().replay(endpoint_id, request)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway (REST, proxy) entry point."""
    return resolve(app, event, context)
