"""What every management-API function shares: the one mapping of domain errors to HTTP, the tenant
from the authorizer, and the OpenAPI vocabulary (security, paging parameters, documented errors).

Handlers call :func:`register_error_handlers` on their resolver once and :func:`tenant_of` in each
route. Keeping this in one module keeps every function's answers (status codes, bodies, headers)
identical, which is what one OpenAPI document for the whole API promises.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from pydantic import BaseModel

from dialer.errors import (
    ConcurrentUpdate,
    Conflict,
    InvalidInput,
    NotFound,
    TemporarilyUnavailable,
    TenantNotConfigured,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
)
from dialer.services.api_models import ErrorResponse, GatewayErrorResponse

if TYPE_CHECKING:
    from dialer.services.idempotency import Created, IdempotentCreates

TITLE = "Telnyx AI dialer management API"
VERSION = "1.0.0"
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": HTTPBearer(description="An API key (tdk_...) or, in JWT mode, a JWT from your login provider.")
}
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]

Limit = Annotated[int, Query(ge=1, le=100, description="Page size.")]
Cursor = Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes a retry safe: the same key with the same body answers what the first request "
        "answered (header Idempotent-Replayed: true) and creates nothing; with another body it is a 422; "
        "while the first is still running, a 409. Keys are kept 24 hours, per tenant.",
    ),
]

#: Deepest JSON body accepted. Far beyond any real document (assistant tools with JSON-schema
#: parameters nest about ten levels) and far below Python's recursion limit, so a 3 KB body of
#: brackets is a 422 instead of a RecursionError in json, pydantic or our own merge code.
MAX_JSON_DEPTH = 64

# Status codes a route that calls Telnyx can answer besides its own.
UPSTREAM = (409, 502, 503, 504)

_DESCRIPTIONS = {
    404: "Not found for this tenant.",
    409: "Conflicts with the current state (or the tenant has no Telnyx API key).",
    502: "Telnyx rejected this tenant's API key, or failed.",
    503: "Telnyx is rate limiting (see Retry-After), or a dependency is unavailable; retry.",
    504: "Telnyx did not answer in time.",
}


def responses(status: int, model: type[Any] | None, *codes: int) -> dict[int, Any]:
    """OpenAPI responses of a route: its success, the errors it can answer, and the gateway's 401."""
    documented: dict[int, Any] = {
        401: {
            "description": "No or invalid credentials.",
            "content": {"application/json": {"model": GatewayErrorResponse}},
        }
    }
    if model is None:
        # An explicit empty content: else Powertools documents the return annotation as a JSON
        # body, which a 204 (no body, no Content-Type) can never match.
        documented[status] = {"description": "Done.", "content": {}}
    else:
        documented[status] = {"description": "Success.", "content": {"application/json": {"model": model}}}
    for code in codes:
        documented[code] = {
            "description": _DESCRIPTIONS[code],
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return documented


class Unauthenticated(Exception):
    """The request reached the function without an authorizer context."""


def authorizer_context(app: APIGatewayRestResolver) -> dict[str, Any]:
    """The context the Lambda authorizer attached to the current request (empty if none)."""
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    return context if isinstance(context, dict) else {}


def tenant_of(app: APIGatewayRestResolver) -> str:
    """The tenant the authorizer resolved: never from the path, the body or a header."""
    tenant_id = authorizer_context(app).get("tenant_id")
    if not tenant_id:
        raise Unauthenticated
    return str(tenant_id)


def json_body(text: str) -> Any:
    """The request body as JSON, for ``APIGatewayRestResolver(json_body_deserializer=json_body)``.

    Malformed JSON stays Powertools' ``json_invalid`` 422; a body nested deeper than
    :data:`MAX_JSON_DEPTH`, or with a number Python will not convert (over 4,300 digits), is a 422
    of its own instead of an unhandled RecursionError or ValueError (a 500)."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise _body_error("json_too_deep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise _body_error("json_invalid", str(exc)) from None
    if _nesting(parsed) > MAX_JSON_DEPTH:
        raise _body_error("json_too_deep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return parsed


def _nesting(value: Any) -> int:
    """How deep ``value`` nests arrays and objects (iterative: the point is to avoid recursion)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict | list):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return depth
            deepest = max(deepest, depth)
            pending.extend((child, depth) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _body_error(kind: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body",), "msg": message, "input": {}, "ctx": {}}])


def idempotent_creates(app: APIGatewayRestResolver) -> IdempotentCreates:
    """The calling tenant's idempotent creates (``Idempotency-Key``)."""
    from dialer.adapters.idempotency_table import IdempotencyTable
    from dialer.services.idempotency import IdempotentCreates
    from dialer.settings import get_settings

    return IdempotentCreates(tenant_of(app), IdempotencyTable(get_settings().table_name))


def created(outcome: Created[BaseModel]) -> Response[Any]:
    """The 201 of a create; a replayed answer says so in ``Idempotent-Replayed``."""
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=outcome.result.model_dump(mode="json"),
        headers={"Idempotent-Replayed": "true"} if outcome.replayed else None,
    )


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=ErrorResponse(error=code, message=message).model_dump(),
        headers=headers,
    )


def _unprocessable(errors: list[dict[str, Any]]) -> Response[Any]:
    return Response(status_code=422, content_type=content_types.APPLICATION_JSON, body={"detail": errors})


def register_error_handlers(app: APIGatewayRestResolver, logger: Logger) -> None:
    """Map every domain exception to its HTTP answer on ``app``. Client errors log at info/warning,
    without a stack trace; only our own (or AWS's) failures log one."""

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response[Any]:
        errors = [
            {"loc": list(e["loc"]), "msg": str(e.get("msg", "")), "type": e["type"]} for e in exc.errors()
        ]
        logger.info("request rejected", status=422, fields=[".".join(map(str, e["loc"])) for e in errors])
        return _unprocessable(errors)

    @app.exception_handler(OverflowError)
    @app.exception_handler(RecursionError)
    def _out_of_range(exc: Exception) -> Response[Any]:
        # A safety net: inputs are bounded where they are read (json_body, each model's limits), so
        # reaching here means a value slipped past them. Still the client's input, so a 422; the
        # stack trace is logged because the missing bound is ours to add.
        logger.warning("request rejected: a value is out of range", status=422, exc_info=exc)
        return _unprocessable(
            [{"loc": ["request"], "msg": "a value is out of range", "type": "value_out_of_range"}]
        )

    @app.exception_handler(InvalidInput)
    def _invalid_input(exc: InvalidInput) -> Response[Any]:
        logger.info("request rejected", status=422, reason=str(exc))
        return _unprocessable([dict(e) for e in exc.errors])

    @app.exception_handler(Unauthenticated)
    def _unauthenticated(exc: Unauthenticated) -> Response[Any]:
        logger.warning("request without authorizer context")
        return Response(
            status_code=401, content_type=content_types.APPLICATION_JSON, body={"message": "Unauthorized"}
        )

    @app.exception_handler(NotFound)
    def _not_found(exc: NotFound) -> Response[Any]:
        logger.info("not found", reason=str(exc))
        return _error(404, "not_found", str(exc))

    @app.exception_handler(Conflict)
    def _conflict(exc: Conflict) -> Response[Any]:
        logger.info("conflict", reason=str(exc))
        return _error(409, "conflict", str(exc))

    @app.exception_handler(ConcurrentUpdate)
    def _concurrent(exc: ConcurrentUpdate) -> Response[Any]:
        logger.info("concurrent update", reason=str(exc))
        return _error(409, "conflict", str(exc))

    @app.exception_handler(TenantNotConfigured)
    def _not_configured(exc: TenantNotConfigured) -> Response[Any]:
        logger.warning("tenant has no Telnyx API key")
        return _error(409, "telnyx_not_configured", str(exc))

    @app.exception_handler(UpstreamRejected)
    def _upstream_rejected(exc: UpstreamRejected) -> Response[Any]:
        logger.warning("Telnyx rejected the tenant's API key")
        return _error(502, "telnyx_auth", str(exc))

    @app.exception_handler(UpstreamRateLimited)
    def _upstream_limited(exc: UpstreamRateLimited) -> Response[Any]:
        retry_after = str(max(1, round(exc.retry_after))) if exc.retry_after else "1"
        logger.warning("Telnyx rate limited the tenant", retry_after=retry_after)
        return _error(503, "telnyx_rate_limited", str(exc), {"Retry-After": retry_after})

    @app.exception_handler(UpstreamTimeout)
    def _upstream_timeout(exc: UpstreamTimeout) -> Response[Any]:
        logger.warning("Telnyx timed out")
        return _error(504, "telnyx_timeout", str(exc))

    @app.exception_handler(UpstreamFailed)
    def _upstream_failed(exc: UpstreamFailed) -> Response[Any]:
        logger.warning("Telnyx failed", reason=str(exc))
        return _error(502, "telnyx_failed", str(exc))

    @app.exception_handler(TemporarilyUnavailable)
    def _unavailable(exc: TemporarilyUnavailable) -> Response[Any]:
        logger.exception("dependency unavailable")  # ours or AWS's: the stack trace matters
        return _error(503, "unavailable", "try again", {"Retry-After": "1"})
