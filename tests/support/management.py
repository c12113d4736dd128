"""Drive the management API in-process, as API Gateway would: TOKEN authorizer first, then the
function with the authorizer's context. Used by the integration tests (moto + the Telnyx simulator)."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.support.aws import LambdaContextStub

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/test/GET/assistants"


@dataclass
class ApiResponse:
    """What the client sees."""

    status: int
    headers: dict[str, str]
    body: Any

    def json(self) -> Any:
        """The parsed body."""
        return self.body


def rest_event(
    method: str,
    path: str,
    resource: str,
    params: dict[str, str],
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A REST API (v1 proxy) event. Bytes are sent as they are: base64-encoded when they are not
    UTF-8, as the local gateway does."""
    encoded = False
    if isinstance(body, bytes):
        try:
            raw: str | None = body.decode("utf-8")
        except UnicodeDecodeError:
            raw, encoded = base64.b64encode(body).decode(), True
    else:
        raw = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    hdrs = {
        "content-type": "application/json",
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        **(headers or {}),
    }
    context: dict[str, Any] = {
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/test{path}",
        "stage": "test",
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "requestId": "req",
        "requestTimeEpoch": int(time.time() * 1000),
        "identity": {"sourceIp": "127.0.0.1"},
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": context,
        "body": raw,
        "isBase64Encoded": encoded,
    }


_RESOURCES = [
    "/tenants/me/api-keys/{key_id}",
    "/tenants/me/api-keys",
    "/tenants/me/insight-group",
    "/tenants/me/caller-id-health",
    "/tenants/me",
    "/assistants/{assistant_id}/versions/{version_id}/promote",
    "/assistants/{assistant_id}/versions",
    "/assistants/{assistant_id}/clone",
    "/assistants/sync",
    "/assistants/{assistant_id}",
    "/assistants",
    "/numbers/{number_id}/assignment",
    "/numbers",
    "/caller-ids/{caller_id_id}/restore",
    "/caller-ids/{caller_id_id}/rest",
    "/caller-ids/{caller_id_id}",
    "/caller-ids",
    "/docs",
    # analytics_api (issue 10)
    "/campaigns/{campaign_id}/stats",
    "/campaigns/{campaign_id}/results/exports/{export_id}",
    "/campaigns/{campaign_id}/results",
    "/leads/{lead_id}/calls",
    "/calls/{call_id}/transcript",
    "/calls/{call_id}",
    # webhook_endpoints_api (issue 24)
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    "/webhook-endpoints/{endpoint_id}/deliveries",
    "/webhook-endpoints/{endpoint_id}/replay",
    "/webhook-endpoints/{endpoint_id}",
    "/webhook-endpoints",
    # campaigns_api (issue 6)
    "/campaigns/{campaign_id}/imports/{import_id}",
    "/campaigns/{campaign_id}/imports",
    "/campaigns/{campaign_id}/status",
    "/campaigns/{campaign_id}/progress",
    "/campaigns/{campaign_id}/leads",
    "/campaigns/{campaign_id}",
    "/campaigns",
    # scheduled_events (issue 11)
    "/leads/{lead_id}/scheduled-events/{event_id}",
    "/leads/{lead_id}/scheduled-events",
    "/leads/{lead_id}/scheduled-calls",
    "/leads/{lead_id}/scheduled-texts",
    "/leads/{lead_id}/eligibility",
    "/leads/{lead_id}/consent",
    "/leads/{lead_id}/callback",
    "/leads/{lead_id}",
    "/leads",
    "/dnc/bulk",
    "/dnc/remove",
    "/dnc/check",
    "/dnc/audit",
    "/dnc",
]
#: Paths served by campaigns_api (and analytics_api, its read-only sibling, and under /leads,
#: scheduled_events: same isolation suite); everything else by assistants_api.
CAMPAIGNS_API_PREFIXES = ("/campaigns", "/leads", "/dnc", "/calls")
#: Resources served by analytics_api (issue 10).
ANALYTICS_API_RESOURCES = (
    "/campaigns/{campaign_id}/stats",
    "/campaigns/{campaign_id}/results/exports/{export_id}",
    "/campaigns/{campaign_id}/results",
    "/leads/{lead_id}/calls",
    "/calls/{call_id}/transcript",
    "/calls/{call_id}",
)


def served_by_campaigns_api(path: str) -> bool:
    """True when ``path`` (a resource or a concrete path) belongs to campaigns_api or to its
    neighbour scheduled_events (one isolation suite covers both: same tenants, same leads)."""
    return path.startswith(CAMPAIGNS_API_PREFIXES)


def served_by_scheduled_events(resource: str) -> bool:
    """True when the resource belongs to the scheduled_events function."""
    return resource.startswith("/leads/{lead_id}/scheduled-")


def resource_of(path: str) -> tuple[str, dict[str, str]]:
    """The API Gateway resource and path parameters matching ``path`` (static segments win)."""
    parts = path.strip("/").split("/")
    for resource in _RESOURCES:
        rparts = resource.strip("/").split("/")
        if len(rparts) != len(parts):
            continue
        params: dict[str, str] = {}
        for r, p in zip(rparts, parts, strict=True):
            if r.startswith("{"):
                params[r.strip("{}")] = p
            elif r != p:
                break
        else:
            return resource, params
    raise LookupError(path)


class InProcessApi:
    """The authorizer and the API handlers (assistants_api, and campaigns_api for its paths),
    called like API Gateway calls them."""

    def __init__(self, authorizer: ModuleType, api: ModuleType, campaigns: ModuleType | None = None) -> None:
        self.authorizer = authorizer
        self.api = api
        self.campaigns = campaigns

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        body: Any = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        """One request; 401 as API Gateway answers it when the authorizer denies."""
        path, _, qs = path.partition("?")
        if qs:
            # Decoded, as API Gateway hands query parameters to the function (%2B is a +).
            query = {**dict(parse_qsl(qs, keep_blank_values=True)), **(query or {})}
        resource, params = resource_of(path)
        authorizer_context = None
        if resource != "/docs":
            if token is None:
                return ApiResponse(401, {}, {"message": "Unauthorized"})
            try:
                answer = self.authorizer.lambda_handler(
                    {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN},
                    LambdaContextStub(),
                )
            except self.authorizer.AuthorizerDenied:
                return ApiResponse(401, {}, {"message": "Unauthorized"})
            authorizer_context = {**answer["context"], "principalId": answer["principalId"]}
        event = rest_event(
            method,
            path,
            resource,
            params,
            body=body,
            query=query,
            headers=headers,
            authorizer=authorizer_context,
        )
        if resource in ANALYTICS_API_RESOURCES:
            handler = self._analytics_api()
        elif resource.startswith("/webhook-endpoints"):
            import importlib

            handler = importlib.import_module("functions.webhook_endpoints_api.app")
        elif served_by_scheduled_events(resource):
            handler = self._scheduled_events()
        elif served_by_campaigns_api(resource):
            handler = self._campaigns_api()
        else:
            handler = self.api
        out = handler.lambda_handler(event, LambdaContextStub())
        text = out.get("body") or ""
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        headers = {k.lower(): v for k, v in (out.get("headers") or {}).items()}
        for k, values in (out.get("multiValueHeaders") or {}).items():
            headers[k.lower()] = values[-1]
        return ApiResponse(out["statusCode"], headers, parsed)

    def _campaigns_api(self) -> ModuleType:
        if self.campaigns is None:
            import importlib

            self.campaigns = importlib.import_module("functions.campaigns_api.app")
        return self.campaigns

    def _analytics_api(self) -> ModuleType:
        """analytics_api, its per-environment caches cleared once per InProcessApi (a fresh stack)."""
        module: ModuleType | None = getattr(self, "_analytics", None)
        if module is None:
            import importlib

            module = importlib.import_module("functions.analytics_api.app")
            for value in vars(module).values():
                if callable(value) and hasattr(value, "cache_clear") and value.__module__ == module.__name__:
                    value.cache_clear()
            self._analytics = module
        return module

    def _scheduled_events(self) -> ModuleType:
        import importlib

        return importlib.import_module("functions.scheduled_events.app")

    def get(self, path: str, token: str | None, **kw: Any) -> ApiResponse:
        """GET."""
        return self.request("GET", path, token=token, **kw)

    def every(self, path: str, token: str | None, query: dict[str, str] | None = None) -> list[Any]:
        """Every item of a paginated listing (tests share tenants: one page may not hold yours)."""
        items: list[Any] = []
        cursor = None
        while True:
            page = self.get(
                path, token, query={**(query or {}), "limit": "100", **({"cursor": cursor} if cursor else {})}
            )
            assert page.status == 200, page.body
            items += page.body["data"]
            cursor = page.body.get("next_cursor")
            if not cursor:
                return items

    def post(self, path: str, token: str | None, body: Any = None, **kw: Any) -> ApiResponse:
        """POST."""
        return self.request("POST", path, token=token, body=body if body is not None else {}, **kw)

    def patch(self, path: str, token: str | None, body: Any, **kw: Any) -> ApiResponse:
        """PATCH."""
        return self.request("PATCH", path, token=token, body=body, **kw)

    def put(self, path: str, token: str | None, body: Any, **kw: Any) -> ApiResponse:
        """PUT."""
        return self.request("PUT", path, token=token, body=body, **kw)

    def delete(self, path: str, token: str | None, **kw: Any) -> ApiResponse:
        """DELETE."""
        return self.request("DELETE", path, token=token, **kw)


def query_string(query: dict[str, str]) -> str:
    """``?a=b`` (empty when there is nothing)."""
    return f"?{urlencode(query)}" if query else ""
