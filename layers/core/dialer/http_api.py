"""What every management-API function shares: the one mapping of domain errors to HTTP, the tenant
from the authorizer, and the OpenAPI vocabulary (security, paging parameters, documented errors).

Handlers call :func:`register_error_handlers` on their resolver once and :func:`tenant_of` in each
route. Keeping this in one module keeps every function's answers (status codes, bodies, headers)
identical, which is what one OpenAPI document for the whole API promises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from pydantic import BaseModel

from dialer.errors import (
    ConcurrentUpdate,
    Conflict,
    InvalidInput,
    NotFound,
    StorageRejected,
    TemporarilyUnavailable,
    TenantNotConfigured,
    UnreadableBody,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
)
from dialer.proxy_event import json_response
from dialer.request_body import event_body, read_json, text_of
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

    Read by :func:`dialer.request_body.read_json` like every other body; what it refuses
    (malformed, nested too deep, a number out of range, a lone surrogate) is a 422 naming the body,
    Powertools' shape for every other invalid body."""
    try:
        return read_json(text)
    except UnreadableBody as exc:
        raise RequestValidationError(
            [{"type": exc.kind, "loc": ("body",), "msg": str(exc), "input": {}, "ctx": {}}]
        ) from None


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``app.resolve`` behind the one body reader: what every HTTP function's handler returns.

    The body reaches Powertools as checked UTF-8 text: a base64 body (the local gateway encodes a
    body that is not UTF-8) is decoded here, and one that is not UTF-8 is a 400 before any route
    runs (Powertools' ``decoded_body`` would raise UnicodeDecodeError, a 502)."""
    if event.get("body"):
        try:
            text = text_of(event_body(event))
        except UnreadableBody as exc:
            return json_response(
                400, ErrorResponse(error="bad_request", message=str(exc)).model_dump(mode="json")
            )
        event = {**event, "body": text, "isBase64Encoded": False}
    return app.resolve(event, context)


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

    @app.exception_handler(NotFoundError)
    def _no_route(exc: NotFoundError) -> Response[Any]:
        # No route for this method and path. The template sends every method of a path to its
        # function (``Method: any``), so a path we serve with another method is a 405 naming the
        # methods it has, not Powertools' 404.
        event = app.current_event
        allowed = sorted(
            {
                route.method
                for route in app._static_routes + app._dynamic_routes
                if route.rule.match(event.path)
            }
        )
        if allowed:
            logger.info("method not allowed", status=405, method=event.http_method)
            return _error(
                405,
                "method_not_allowed",
                f"{event.http_method} is not served here; use {', '.join(allowed)}",
                {"Allow": ", ".join(allowed)},
            )
        logger.info("no such route", status=404)
        return _error(404, "not_found", "no such route")

    @app.exception_handler(StorageRejected)
    def _storage_rejected(exc: StorageRejected) -> Response[Any]:
        # DynamoDB refused the request as invalid: the same input would fail again, so not "try
        # again". A value slipped past its model's bound; the trace shows which, for us to add it.
        logger.warning("request rejected by storage", status=422, exc_info=exc)
        return _unprocessable(
            [{"loc": ["request"], "msg": "a value cannot be stored as sent", "type": "value_not_storable"}]
        )

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
