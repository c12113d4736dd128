"""POST /webhooks/telnyx/{tenant_id}/init: answer Telnyx's dynamic-variables webhook.

Telnyx waits on this answer before the assistant speaks, so this handler is lean on purpose: no
Powertools event handler or Tracer (their imports cost more than the whole lookup), no pydantic
request model; one route, read straight from the API Gateway proxy event. The lookup and its
deadline live in ``dialer.services.init_webhook``. Answers: 200 (always, once the signature is
good), 401 (bad signature or unknown tenant: Telnyx then proceeds with the assistant defaults),
400 (a body that cannot be read at all: not UTF-8, or marked base64 and not), 405 (not a POST).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.errors import BadRequest, Unauthorized
from dialer.lambda_init import wire_ahead
from dialer.observability import get_logger, get_metrics
from dialer.proxy_event import json_response, method_not_allowed, path_parameter
from dialer.request_body import event_body
from dialer.services.init_webhook import InitWebhook

logger = get_logger()
metrics = get_metrics()


@cache
def init_webhook() -> InitWebhook:
    """The init service, wired once per execution environment (not at import time)."""
    from dialer import clock
    from dialer.adapters.init_context import InitContextTable, fast_dynamodb_client
    from dialer.adapters.tenant_config import SsmTenantConfig
    from dialer.settings import get_settings

    settings = get_settings()
    return InitWebhook(
        tenant_keys=SsmTenantConfig(
            settings.param_prefix,
            max_age=settings.config_cache_seconds,
            miss_ttl=settings.unknown_tenant_cache_seconds,
        ),
        context=InitContextTable(settings.table_name, client=fast_dynamodb_client()),
        deadline_seconds=settings.init_deadline_ms / 1000,
        clock=clock.now,  # lead-local date/time as the engine sees it (shifted only locally)
    )


# A provisioned environment runs its init ahead of any call: its first answer does not pay for
# the clients inside Telnyx's timeout (on-demand ones wire on first use).
wire_ahead(init_webhook)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway (REST, proxy) entry point."""
    refused = method_not_allowed(event, "POST")
    if refused:
        return refused
    tenant_id = path_parameter(event, "tenant_id")
    try:
        answer = init_webhook().answer(tenant_id, event_body(event), event.get("headers") or {})
    except BadRequest as exc:
        logger.warning("init webhook body unreadable", reason=str(exc))
        metrics.add_metric(name="InitRejected", unit="Count", value=1)
        return json_response(400, {"error": "bad_request", "message": str(exc)})
    except Unauthorized as exc:
        logger.warning("init webhook rejected", reason=exc.reason)
        metrics.add_metric(name="InitRejected", unit="Count", value=1)
        return json_response(401, {"error": "unauthorized", "message": "signature could not be verified"})
    logger.info("init webhook answered", branch=answer.branch.value)
    metrics.add_metric(name=f"InitAnswered_{answer.branch.value}", unit="Count", value=1)
    return json_response(200, answer.body)
