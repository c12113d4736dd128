"""POST /tools/{tenant_id}/{tool}: the in-call tools of this deployment's assistants.

Thin: authentication, identity and the tools live in ``dialer.services.assistant_tools`` and the
effects in ``dialer.services.dispositions``. Telnyx-facing, so no API-key authorizer: the Ed25519
signature and the tenant's tool secret authenticate it. No Powertools Tracer (cold start, as on the
intake). A failed dependency is a 503 (Telnyx may retry; every tool is idempotent).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.errors import (
    BadRequest,
    InvalidInput,
    NotFound,
    TemporarilyUnavailable,
    Unauthorized,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamTimeout,
)
from dialer.observability import get_logger, get_metrics
from dialer.services.assistant_tools import AssistantTools, ToolRequest

logger = get_logger()
metrics = get_metrics()
app = APIGatewayRestResolver()


@cache
def tools() -> AssistantTools:
    """The tools service, wired once per execution environment (not at import time)."""
    from dialer.adapters.calls_table import CallsTable
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.dialing_table import DialingTable
    from dialer.adapters.dispositions_table import DispositionsTable
    from dialer.adapters.people_table import ContactHistory, DncTable
    from dialer.adapters.secrets import TenantSecrets
    from dialer.services.dialing_api import DialingApi
    from dialer.services.dispositions import Dispositions
    from dialer.services.engine import tenant_defaults
    from dialer.services.scheduled_events import scheduled_events_for
    from dialer.settings import get_settings

    settings = get_settings()
    secrets = TenantSecrets(
        settings.param_prefix,
        max_age=settings.config_cache_seconds,
        miss_ttl=settings.unknown_tenant_cache_seconds,
    )
    table = DispositionsTable(settings.table_name)
    dnc = DncTable(settings.table_name)
    dialing = DialingTable(settings.table_name)
    calls = CallsTable(settings.table_name)
    history = ContactHistory(settings.table_name)
    defaults = tenant_defaults(settings)
    return AssistantTools(
        tenant_keys=secrets,
        secrets=secrets,
        table=table,
        dispositions=lambda tenant_id: Dispositions(
            tenant_id,
            table,
            dnc,
            dialing,
            default_region=settings.default_region,
            # An opt-out cancels the number's pending Telnyx scheduled events too.
            after_listed=lambda phones: scheduled_events_for(tenant_id).cancel_for_numbers(
                phones, reason="dnc"
            ),
        ),
        # The same service as POST /leads/{id}/callback.
        callbacks=lambda tenant_id: DialingApi(
            tenant_id,
            campaigns=CampaignsTable(settings.table_name),
            dialing=dialing,
            calls=calls,
            dnc=dnc,
            history=history,
            defaults=defaults,
        ),
    )


def _error(status: int, code: str, message: str) -> Response[dict[str, str]]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": code, "message": message},
    )


@app.exception_handler(Unauthorized)
def _unauthorized(exc: Unauthorized) -> Response[dict[str, str]]:
    logger.warning("tool call rejected", reason=exc.reason)
    metrics.add_metric(name="ToolRejected", unit="Count", value=1)
    return _error(401, "unauthorized", "tool call could not be authenticated")


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response[dict[str, str]]:
    logger.warning("tool not found", reason=str(exc))
    return _error(404, "not_found", str(exc))


@app.exception_handler(BadRequest)
def _bad_request(exc: BadRequest) -> Response[dict[str, str]]:
    logger.warning("tool body unparseable", reason=str(exc))
    return _error(400, "bad_request", str(exc))


@app.exception_handler(InvalidInput)
def _invalid(exc: InvalidInput) -> Response[dict[str, str]]:
    logger.warning("tool input invalid", reason=str(exc))
    return _error(400, "bad_request", str(exc))


@app.exception_handler(TemporarilyUnavailable)
@app.exception_handler(UpstreamFailed)
@app.exception_handler(UpstreamTimeout)
@app.exception_handler(UpstreamRateLimited)
def _unavailable(exc: Exception) -> Response[dict[str, str]]:
    logger.exception("tool call failed")
    metrics.add_metric(name="ToolFailed", unit="Count", value=1)
    return _error(503, "unavailable", "try again")


@app.post("/tools/<tenant_id>/<tool>")
def call_tool(tenant_id: str, tool: str) -> Response[dict[str, Any]]:
    """Run one tool call."""
    event = app.current_event
    raw = event.decoded_body or ""
    answer = tools().call(
        ToolRequest(
            tenant_id=tenant_id,
            tool=tool,
            raw_body=raw.encode("utf-8") if isinstance(raw, str) else raw,
            headers=event.headers or {},
        )
    )
    logger.info("tool answered", tool=tool, ok=answer.get("ok"))
    metrics.add_metric(name="ToolAnswered", unit="Count", value=1)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway (REST, proxy) entry point."""
    return app.resolve(event, context)
