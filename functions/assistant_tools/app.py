"""POST /tools/{tenant_id}/{tool}: the in-call tools of this deployment's assistants.

Thin: authentication, identity and the tools live in ``dialer.services.assistant_tools`` and the
effects in ``dialer.services.dispositions``. Telnyx-facing, so no API-key authorizer: the Ed25519
signature and the tenant's tool secret authenticate it. Telnyx waits on it mid-call: one route,
read straight from the proxy event (no Powertools event handler or Tracer, most of a cold import),
as the init webhook does. A failed dependency is a 503 (Telnyx may retry; every tool is idempotent).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.errors import (
    BadRequest,
    InvalidInput,
    NotFound,
    StorageRejected,
    TemporarilyUnavailable,
    Unauthorized,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamTimeout,
)
from dialer.lambda_init import wire_ahead
from dialer.observability import get_logger, get_metrics
from dialer.proxy_event import json_response, method_not_allowed, path_parameter
from dialer.request_body import event_body

if TYPE_CHECKING:
    from dialer.services.assistant_tools import AssistantTools

logger = get_logger()
metrics = get_metrics()


@cache
def tools() -> AssistantTools:
    """The tools service, wired once per execution environment (not at import time)."""
    from dialer.adapters.calls_table import CallsTable
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.dialing_table import DialingTable
    from dialer.adapters.dispositions_table import DispositionsTable
    from dialer.adapters.people_table import ContactHistory, DncTable
    from dialer.adapters.secrets import TenantSecrets
    from dialer.services.assistant_tools import AssistantTools
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


wire_ahead(tools, services=("dynamodb", "ssm"))


def _answer(tenant_id: str, tool: str, event: dict[str, Any]) -> dict[str, Any]:
    """Run one tool call; domain errors become the documented status codes."""
    from dialer.services.assistant_tools import ToolRequest

    try:
        answer = tools().call(
            ToolRequest(
                tenant_id=tenant_id, tool=tool, raw_body=event_body(event), headers=event.get("headers") or {}
            )
        )
    except Unauthorized as exc:
        logger.warning("tool call rejected", reason=exc.reason)
        metrics.add_metric(name="ToolRejected", unit="Count", value=1)
        return json_response(
            401, {"error": "unauthorized", "message": "tool call could not be authenticated"}
        )
    except NotFound as exc:
        logger.warning("tool not found", reason=str(exc))
        return json_response(404, {"error": "not_found", "message": str(exc)})
    except (BadRequest, InvalidInput, StorageRejected) as exc:
        logger.warning("tool body unusable", reason=str(exc))
        return json_response(400, {"error": "bad_request", "message": str(exc)})
    except (TemporarilyUnavailable, UpstreamFailed, UpstreamTimeout, UpstreamRateLimited):
        logger.exception("tool call failed")
        metrics.add_metric(name="ToolFailed", unit="Count", value=1)
        return json_response(503, {"error": "unavailable", "message": "try again"})
    logger.info("tool answered", tool=tool, ok=answer.get("ok"))
    metrics.add_metric(name="ToolAnswered", unit="Count", value=1)
    return json_response(200, answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway (REST, proxy) entry point: the template routes only POST /tools/{tenant_id}/{tool}."""
    return method_not_allowed(event, "POST") or _answer(
        path_parameter(event, "tenant_id"), path_parameter(event, "tool"), event
    )
