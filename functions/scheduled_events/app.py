"""Telnyx scheduled events of a lead: schedule a call or a text (compliance-gated), list, cancel.

Thin, like the other management functions: the tenant comes only from the authorizer's context,
each route makes one call into ``dialer.services.scheduled_events`` and domain errors become HTTP
in one place. A compliance refusal names its reason codes: 422 when only the time is wrong (each
entry's ``type`` is a reason code), 409 ``not_callable`` with ``reasons`` when the lead may not be
contacted at all (DNC, consent, …).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.errors import NotCallable
from dialer.http_api import json_body, register_error_handlers, resolve, responses, tenant_of
from dialer.observability import get_logger, get_metrics, get_tracer
from dialer.services.api_models import ID_PATTERN, ErrorResponse
from dialer.services.scheduled_event_models import (
    NotCallableResponse,
    ScheduledCallRequest,
    ScheduledEventListResponse,
    ScheduledEventResponse,
    ScheduledTextRequest,
)

if TYPE_CHECKING:
    from dialer.services.scheduled_events import ScheduledEvents

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=json_body)
register_error_handlers(app, logger)

IdPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=128)]
EventIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$", max_length=128)]
_CREATE_RESPONSES = {
    **responses(201, ScheduledEventResponse, 404, 502, 503, 504),
    409: {
        "description": "The lead may not be contacted (reasons), or its campaign is closed.",
        "content": {"application/json": {"model": NotCallableResponse | ErrorResponse}},
    },
}


@app.exception_handler(NotCallable)
def _not_callable(exc: NotCallable) -> Response[Any]:
    logger.info("not callable", reasons=exc.reasons)
    metrics.add_metric(name="ScheduledEventRefused", unit="Count", value=1)
    return Response(
        status_code=409,
        content_type=content_types.APPLICATION_JSON,
        body={"error": "not_callable", "message": str(exc), "reasons": exc.reasons},
    )


def _service() -> ScheduledEvents:
    from dialer.services.scheduled_events import scheduled_events_for

    return scheduled_events_for(tenant_of(app))


def _created(event: ScheduledEventResponse) -> Response[Any]:
    metrics.add_metric(name="ScheduledEventCreated", unit="Count", value=1)
    return Response(
        status_code=201, content_type=content_types.APPLICATION_JSON, body=event.model_dump(mode="json")
    )


@app.post("/leads/<lead_id>/scheduled-calls", tags=["leads"], status_code=201, responses=_CREATE_RESPONSES)
def schedule_call(lead_id: IdPath, request: Annotated[ScheduledCallRequest, Body()]) -> Response[Any]:
    """Have Telnyx call the lead at ``at`` with the campaign's assistant, from one of its caller IDs,
    if that instant is inside the lead's legal window, the number is not on the DNC list and
    consent allows (else 422/409 with the reason codes, and nothing is created)."""
    return _created(_service().schedule_call(lead_id, request))


@app.post("/leads/<lead_id>/scheduled-texts", tags=["leads"], status_code=201, responses=_CREATE_RESPONSES)
def schedule_text(lead_id: IdPath, request: Annotated[ScheduledTextRequest, Body()]) -> Response[Any]:
    """Have Telnyx text the lead at ``at`` (same rules as a scheduled call)."""
    return _created(_service().schedule_text(lead_id, request))


@app.get(
    "/leads/<lead_id>/scheduled-events",
    tags=["leads"],
    responses=responses(200, ScheduledEventListResponse, 404),
)
def list_scheduled_events(lead_id: IdPath) -> ScheduledEventListResponse:
    """The lead's scheduled calls and texts (ours), newest first, canceled ones included."""
    return _service().of_lead(lead_id)


@app.delete(
    "/leads/<lead_id>/scheduled-events/<event_id>",
    tags=["leads"],
    status_code=204,
    responses=responses(204, None, 404, 502, 503, 504),
)
def cancel_scheduled_event(lead_id: IdPath, event_id: EventIdPath) -> Response[None]:
    """Cancel a scheduled call or text on Telnyx and here (204 again if it already was)."""
    _service().cancel(lead_id, event_id)
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway (REST, proxy) entry point."""
    return resolve(app, event, context)
