"""Lambda authorizers (TOKEN and REQUEST) as API Gateway REST runs them, for the local gateway.

Read from the translated API's security schemes (``x-amazon-apigateway-authorizer``); a route
uses the authorizer its operation's ``security`` names (``NONE`` means none). Behaviour copied
from API Gateway: a missing identity source or an ``Unauthorized`` error is 401, a policy that
does not allow the method ARN is 403, any other authorizer failure is 500; allowed results are
cached per identity for ``authorizerResultTtlInSeconds`` and their ``context`` (plus
``principalId``) reaches the function as ``requestContext.authorizer``.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.sandbox import InvokeResult
from local.template import ACCOUNT_ID

log = logging.getLogger("local.authorizers")

Response = tuple[int, list[tuple[str, str]], bytes]


def _json(status: int, payload: Any, error_type: str) -> Response:
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)]
    return status, headers, json.dumps(payload).encode()


UNAUTHORIZED = _json(401, {"message": "Unauthorized"}, "UnauthorizedException")
DENIED = _json(
    403,
    {"Message": "User is not authorized to access this resource with an explicit deny"},
    "AccessDeniedException",
)
NOT_ALLOWED = _json(
    403, {"Message": "User is not authorized to access this resource"}, "AccessDeniedException"
)
MISCONFIGURED = _json(500, {"message": None}, "AuthorizerConfigurationException")


@dataclass
class Authorizer:
    """One Lambda authorizer of a REST API."""

    name: str
    kind: str  # "token" or "request"
    function: str  # logical id of the authorizer function
    identity_sources: list[str]
    ttl: int
    region: str
    _cache: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_scheme(
        cls,
        name: str,
        scheme: dict[str, Any],
        resolve: Callable[[Any], Any],
        functions_by_arn: dict[str, str],
        region: str,
    ) -> Authorizer | None:
        """Build from a security scheme; None if it is not a Lambda authorizer we can run."""
        spec = scheme.get("x-amazon-apigateway-authorizer") or {}
        kind = str(spec.get("type", "")).lower()
        if kind not in ("token", "request"):
            return None
        uri = str(resolve(spec.get("authorizerUri", "")))
        arn = uri.split("/functions/", 1)[-1].removesuffix("/invocations")
        function = functions_by_arn.get(arn)
        if function is None:
            log.warning("authorizer %s: function %s not found locally", name, arn)
            return None
        sources = [s.strip() for s in str(spec.get("identitySource") or "").split(",") if s.strip()]
        if kind == "token" and not sources:
            sources = [f"method.request.header.{scheme.get('name') or 'Authorization'}"]
        ttl = int(spec.get("authorizerResultTtlInSeconds", 300))
        return cls(name, kind, function, sources, ttl, region)

    def method_arn(self, api_id: str, stage: str, method: str, path: str) -> str:
        """The ARN API Gateway passes as ``methodArn`` (the request's path, not the template)."""
        return f"arn:aws:execute-api:{self.region}:{ACCOUNT_ID}:{api_id}/{stage}/{method}{path}"

    def _identity(self, event: dict[str, Any]) -> tuple[str, ...] | None:
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        query = event.get("queryStringParameters") or {}
        values = []
        for source in self.identity_sources:
            if source.startswith("method.request.header."):
                value = headers.get(source.removeprefix("method.request.header.").lower())
            elif source.startswith("method.request.querystring."):
                value = query.get(source.removeprefix("method.request.querystring."))
            else:  # context.* and stageVariables.* are not sent by clients: nothing to require
                continue
            if not value:
                return None
            values.append(value)
        return tuple(values)

    def authorize(
        self, event: dict[str, Any], method_arn: str, invoke: Callable[[str, bytes], InvokeResult]
    ) -> Response | dict[str, Any]:
        """Run (or reuse) the authorizer; return an error response, or the ``authorizer`` context."""
        identity = self._identity(event)
        if identity is None:
            return UNAUTHORIZED
        with self._lock:
            cached = self._cache.get(identity)
        if cached and cached[0] > time.monotonic():
            result = cached[1]
        else:
            if self.kind == "token":
                request: dict[str, Any] = {
                    "type": "TOKEN",
                    "authorizationToken": identity[0],
                    "methodArn": method_arn,
                }
            else:
                request = {
                    "type": "REQUEST",
                    "methodArn": method_arn,
                    **{
                        k: event.get(k)
                        for k in (
                            "resource",
                            "path",
                            "httpMethod",
                            "headers",
                            "multiValueHeaders",
                            "queryStringParameters",
                            "multiValueQueryStringParameters",
                            "pathParameters",
                            "stageVariables",
                            "requestContext",
                        )
                    },
                }
            answer = invoke(self.function, json.dumps(request).encode())
            if answer.failed:
                message = _error_message(answer)
                if message == "Unauthorized":
                    return UNAUTHORIZED
                log.warning("authorizer %s failed: %s", self.name, message)
                return MISCONFIGURED
            try:
                result = answer.json()
                statements = _statements(result)
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("authorizer %s returned an invalid policy: %s", self.name, exc)
                return MISCONFIGURED
            result["_statements"] = statements
            if self.ttl > 0:
                with self._lock:
                    self._cache[identity] = (time.monotonic() + self.ttl, result)
        verdict = _evaluate(result["_statements"], method_arn)
        if verdict == "Deny":
            return DENIED
        if verdict != "Allow":
            return NOT_ALLOWED
        context = {
            k: v for k, v in (result.get("context") or {}).items() if isinstance(v, str | int | float | bool)
        }
        return {**context, "principalId": result.get("principalId"), "integrationLatency": 0}


def _error_message(answer: InvokeResult) -> str:
    try:
        payload = answer.json()
    except ValueError:
        return answer.payload[:200].decode(errors="replace")
    return str(payload.get("errorMessage", "")) if isinstance(payload, dict) else str(payload)


def _statements(result: Any) -> list[tuple[str, list[str]]]:
    """(Effect, resources) of every execute-api:Invoke statement of the returned policy."""
    if not isinstance(result, dict) or "policyDocument" not in result:
        raise ValueError("no policyDocument")
    statements = result["policyDocument"]["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    out = []
    for statement in statements:
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        resources = statement.get("Resource", [])
        out.append((str(statement["Effect"]), resources if isinstance(resources, list) else [resources]))
    return out


def _evaluate(statements: list[tuple[str, list[str]]], method_arn: str) -> str | None:
    """IAM-style: an explicit Deny wins, then any Allow, else no decision."""
    matched = {
        effect
        for effect, resources in statements
        if any(fnmatch.fnmatchcase(method_arn, r) for r in resources)
    }
    if "Deny" in matched:
        return "Deny"
    return "Allow" if "Allow" in matched else None
