"""POST /webhooks/telnyx/{tenant_id}: verify a Telnyx webhook and make it durable in SQS; and
POST /webhooks/telnyx/{tenant_id}/insights: the insight-group webhook (signed, or carrying the
tenant's insights token), the same way.

Thin by design: the checks and the enqueue live in ``dialer.services.intake``; this module only
maps the API Gateway event in and the domain errors out. Telnyx retries any non-2xx, so only a
dependency failure answers 5xx; a request that can never succeed answers 4xx.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.errors import BadRequest, PayloadTooLarge, TemporarilyUnavailable, Unauthorized
from dialer.lambda_init import wire_ahead
from dialer.observability import get_logger, get_metrics
from dialer.request_body import event_body
from dialer.services.intake import InboundWebhook, WebhookIntake

logger = get_logger()
metrics = get_metrics()
app = APIGatewayRestResolver()


@cache
def intake() -> WebhookIntake:
    """The intake service, wired once per execution environment (not at import time)."""
    from dialer.adapters.blobs import S3PayloadStore
    from dialer.adapters.queue import SqsQueue
    from dialer.adapters.tenant_config import SsmTenantConfig
    from dialer.settings import get_settings

    settings = get_settings()
    return WebhookIntake(
        tenant_keys=SsmTenantConfig(
            settings.param_prefix,
            max_age=settings.config_cache_seconds,
            miss_ttl=settings.unknown_tenant_cache_seconds,
        ),
        queue=SqsQueue(settings.events_queue_url),
        payloads=S3PayloadStore(settings.payload_bucket),
        max_body_bytes=settings.max_webhook_bytes,
        inline_max_bytes=settings.sqs_inline_max_bytes,
    )


wire_ahead(intake, services=("sqs", "ssm"))


def _error(status: int, code: str, message: str) -> Response[dict[str, str]]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": code, "message": message},
    )


@app.exception_handler(Unauthorized)
def _unauthorized(exc: Unauthorized) -> Response[dict[str, str]]:
    logger.warning("webhook rejected", reason=exc.reason)
    metrics.add_metric(name="WebhookRejected", unit="Count", value=1)
    return _error(401, "unauthorized", "signature could not be verified")


@app.exception_handler(BadRequest)
def _bad_request(exc: BadRequest) -> Response[dict[str, str]]:
    logger.warning("webhook body unparseable", reason=str(exc))
    metrics.add_metric(name="WebhookRejected", unit="Count", value=1)
    return _error(400, "bad_request", str(exc))


@app.exception_handler(PayloadTooLarge)
def _too_large(exc: PayloadTooLarge) -> Response[dict[str, str]]:
    logger.warning("webhook body too large", reason=str(exc))
    metrics.add_metric(name="WebhookRejected", unit="Count", value=1)
    return _error(413, "payload_too_large", str(exc))


@app.exception_handler(TemporarilyUnavailable)
def _unavailable(exc: TemporarilyUnavailable) -> Response[dict[str, str]]:
    # A stack trace is useful here: this is our fault or AWS's, and Telnyx will retry.
    logger.exception("webhook not made durable")
    metrics.add_metric(name="WebhookIntakeFailed", unit="Count", value=1)
    return _error(503, "unavailable", "try again")


@app.not_found
def _no_route(exc: Exception) -> Response[dict[str, str]]:
    # Both routes are POST only; a local gateway (or a template that routes more) may send others.
    if app.current_event.http_method.upper() != "POST":
        response = _error(
            405, "method_not_allowed", f"{app.current_event.http_method} is not served here; use POST"
        )
        response.headers["Allow"] = "POST"
        return response
    return _error(404, "not_found", "no such route")


@app.post("/webhooks/telnyx/<tenant_id>")
def receive(tenant_id: str) -> Response[dict[str, Any]]:
    """Verify and enqueue one Telnyx webhook."""
    event = app.current_event
    raw_body = event_body(event.raw_event)
    accepted = intake().accept(
        InboundWebhook(
            tenant_id=tenant_id,
            raw_body=raw_body,
            headers=event.headers or {},
            content_type=event.headers.get("content-type") if event.headers else None,
        )
    )
    logger.info(
        "webhook accepted",
        event_id=accepted.event_id,
        event_type=accepted.event_type,
        claim_checked=accepted.claim_checked,
    )
    metrics.add_metric(name="WebhookAccepted", unit="Count", value=1)
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body={"status": "accepted", "event_id": accepted.event_id},
    )


@app.post("/webhooks/telnyx/<tenant_id>/insights")
def receive_insights(tenant_id: str) -> Response[dict[str, Any]]:
    """Authenticate and enqueue one insight-group webhook."""
    event = app.current_event
    raw_body = event_body(event.raw_event)
    headers = event.headers or {}
    token = event.get_query_string_value("token") or headers.get("x-insights-token")
    accepted = intake().accept_insights(
        InboundWebhook(
            tenant_id=tenant_id,
            raw_body=raw_body,
            headers=headers,
            content_type=headers.get("content-type"),
        ),
        token,
    )
    logger.info("insight-group webhook accepted", event_id=accepted.event_id)
    metrics.add_metric(name="WebhookAccepted", unit="Count", value=1)
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body={"status": "accepted", "event_id": accepted.event_id},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway (REST, proxy) entry point.

    No Powertools Tracer here, on purpose: constructing it imports the X-Ray SDK and botocore
    (~220 ms of cold start) on the route Telnyx waits on. The function still has X-Ray active
    tracing from the template (docs/decisions.md).
    """
    return app.resolve(event, context)
