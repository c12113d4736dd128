"""A thin API Gateway (REST, Lambda proxy v1) over the translated template's swagger paths, plus the
local control endpoints (``/_local/...``) on the same port."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from local.authorizers import Authorizer
from local.sandbox import InvokeResult
from local.template import ACCOUNT_ID, Resolver

log = logging.getLogger("local.gateway")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
# Bodies of other content types reach the function base64-encoded (and so do undecodable ones).
_TEXT_TYPES = [
    "text/*",
    "application/json",
    "application/*+json",
    "application/xml",
    "application/*+xml",
    "application/x-www-form-urlencoded",
    "application/javascript",
    "application/graphql",
]
_IDENTITY_KEYS = [
    "accessKey",
    "accountId",
    "apiKey",
    "apiKeyId",
    "caller",
    "user",
    "userArn",
    "principalOrgId",
    "clientCert",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
]
_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}
Response = tuple[int, list[tuple[str, str]], bytes]


@dataclass
class Route:
    """One method on one resource path of a REST API, integrated with a function (or a mock)."""

    method: str  # upper case; ANY for x-amazon-apigateway-any-method
    resource: str  # the path template, e.g. /webhooks/telnyx/{tenant_id}
    function: str | None  # logical id; None for a mock integration
    api_id: str
    stage: str
    binary_types: list[str] = field(default_factory=list)
    mock: dict[str, Any] | None = None
    authorizer: Authorizer | None = None  # the Lambda authorizer the operation's `security` names
    pattern: re.Pattern[str] = field(init=False)
    names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.names = re.findall(r"\{([^}]+?)\+?\}", self.resource)
        regex = re.sub(r"\\\{[^}]+?\\\+\\\}", "(.+)", re.escape(self.resource))
        self.pattern = re.compile("^" + re.sub(r"\\\{[^}]+?\\\}", "([^/]+)", regex) + "$")

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Sort key: API Gateway prefers static segments over variables over greedy ``{proxy+}``."""
        segments = self.resource.strip("/").split("/")
        greedy = sum(s.endswith("+}") for s in segments)
        static = sum(not s.startswith("{") for s in segments)
        return (greedy, -static, -len(segments))


def routes_from_template(
    resources: dict[str, dict[str, Any]], resolver: Resolver, functions_by_arn: dict[str, str]
) -> list[Route]:
    """Every route of every ``AWS::ApiGateway::RestApi`` with an inline swagger/OpenAPI body."""
    stages = {
        res["Properties"]["RestApiId"].get("Ref"): resolver.resolve(
            res["Properties"].get("StageName", "Prod")
        )
        for res in resources.values()
        if res["Type"] == "AWS::ApiGateway::Stage" and isinstance(res["Properties"].get("RestApiId"), dict)
    }
    routes: list[Route] = []
    for api_id, res in resources.items():
        body = (
            (res.get("Properties") or {}).get("Body") if res["Type"] == "AWS::ApiGateway::RestApi" else None
        )
        if not body:
            continue
        binary = body.get("x-amazon-apigateway-binary-media-types") or res["Properties"].get(
            "BinaryMediaTypes", []
        )
        binary = [t.replace("~1", "/") for t in resolver.resolve(binary)]
        schemes = (
            (body.get("components") or {}).get("securitySchemes") or body.get("securityDefinitions") or {}
        )
        authorizers = {
            name: found
            for name, scheme in schemes.items()
            if (
                found := Authorizer.from_scheme(
                    name, scheme, resolver.resolve, functions_by_arn, resolver.region
                )
            )
        }
        for resource, operations in (body.get("paths") or {}).items():
            for key, operation in operations.items():
                method = "ANY" if key == "x-amazon-apigateway-any-method" else key.upper()
                integration = operation.get("x-amazon-apigateway-integration") or {}
                function, mock = None, None
                if integration.get("type") == "mock":
                    mock = integration
                elif integration.get("type") == "aws_proxy":
                    uri = str(resolver.resolve(integration.get("uri", "")))
                    arn = re.search(r"functions/(.+?)/invocations", uri)
                    # An alias ARN (``…:function:{name}:{alias}``) runs its function locally.
                    function = (
                        functions_by_arn.get(arn.group(1))
                        or functions_by_arn.get(arn.group(1).rsplit(":", 1)[0])
                        if arn
                        else None
                    )
                if function is None and mock is None:
                    log.warning("skipping %s %s: integration not supported locally", method, resource)
                    continue
                routes.append(
                    Route(
                        method,
                        resource,
                        function,
                        api_id,
                        stages.get(api_id, "Prod"),
                        binary,
                        mock,
                        _route_authorizer(operation.get("security"), authorizers),
                    )
                )
    return sorted(routes, key=lambda r: r.specificity)


def _route_authorizer(security: list[Any] | None, authorizers: dict[str, Authorizer]) -> Authorizer | None:
    """The authorizer an operation names (SAM writes ``[{"NONE": []}]`` for an open route)."""
    for requirement in security or []:
        for name in requirement:
            if name in authorizers:
                return authorizers[name]
    return None


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The most specific route for a request, with its path parameters (None: API Gateway's 403)."""
    for route in routes:
        if route.method not in (method, "ANY"):
            continue
        found = route.pattern.match(path)
        if found:
            return route, dict(zip(route.names, found.groups(), strict=True))
    return None


def _is_binary(content_type: str, binary_types: list[str]) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    if any(fnmatch.fnmatch(mime, t.lower()) for t in binary_types):
        return True
    return bool(mime) and not any(fnmatch.fnmatch(mime, t) for t in _TEXT_TYPES)


def build_event(
    route: Route,
    params: dict[str, str],
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
) -> dict[str, Any]:
    """The ``aws_proxy`` (payload v1) event API Gateway REST sends to a function."""
    multi_headers: dict[str, list[str]] = {}
    for key, value in headers:
        multi_headers.setdefault(key, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        multi_query.setdefault(key, []).append(value)
    lower = {k.lower(): v[-1] for k, v in multi_headers.items()}
    encoded = bool(body) and _is_binary(lower.get("content-type", ""), route.binary_types)
    if body and not encoded:
        try:
            text: str | None = body.decode("utf-8")
        except UnicodeDecodeError:  # not text whatever its content type says
            text, encoded = base64.b64encode(body).decode(), True
    else:
        text = base64.b64encode(body).decode() if body else None
    now = time.time()
    request_id = str(uuid.uuid4())
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": route.api_id.lower(),
            "resourceId": f"{abs(hash(route.resource)) % 10**6:06d}",
            "resourcePath": route.resource,
            "httpMethod": method,
            "extendedRequestId": request_id,
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "path": f"/{route.stage}{path}",
            "protocol": "HTTP/1.1",
            "stage": route.stage,
            "domainName": lower.get("host", "127.0.0.1"),
            "domainPrefix": lower.get("host", "127.0.0.1").split(".", 1)[0],
            "identity": {
                "sourceIp": source_ip,
                "userAgent": lower.get("user-agent"),
                **dict.fromkeys(_IDENTITY_KEYS),
            },
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def _json_response(status: int, payload: Any, error_type: str | None = None) -> Response:
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return status, headers, json.dumps(payload).encode()


INTERNAL_ERROR = _json_response(502, {"message": "Internal server error"}, "InternalServerErrorException")
# What API Gateway answers (captured on AWS): an event over Lambda's 6 MB limit, and a body over
# its own 10 MB limit (that one comes as text, before any JSON error handling).
TOO_LARGE = _json_response(413, {"message": "Request Too Long"}, "BadRequestException")
BODY_TOO_LARGE: Response = (
    413,
    [("Content-Type", "text; charset=utf-8")],
    f"HTTP content length exceeded {MAX_BODY_BYTES} bytes.".encode(),
)
MISSING_TOKEN = _json_response(
    403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException"
)


def map_response(result: InvokeResult) -> Response:
    """API Gateway's reading of a Lambda proxy response; anything malformed is a 502, as in AWS.
    An event over Lambda's 6 MB synchronous limit (a body of ~6.3 to 10 MB, which API Gateway itself
    accepts) never reaches the function: the client is told its request is too large (413), not that
    the server failed."""
    if result.error_type == "RequestEntityTooLargeException":
        return TOO_LARGE
    if result.failed:
        return INTERNAL_ERROR
    try:
        payload = result.json()
        if not isinstance(payload, dict) or not payload.keys() <= _RESPONSE_KEYS:
            raise ValueError("not a proxy response object")
        status = int(payload["statusCode"])
        body = payload.get("body")
        if body is not None and not isinstance(body, str):
            raise ValueError("body must be a string")
        raw = (
            base64.b64decode(body or "", validate=True)
            if payload.get("isBase64Encoded")
            else (body or "").encode()
        )
        multi = {
            k: [str(v) for v in values] for k, values in (payload.get("multiValueHeaders") or {}).items()
        }
        for key, value in (payload.get("headers") or {}).items():
            if key.lower() not in {k.lower() for k in multi}:
                multi[key] = [str(value)]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        log.warning("malformed Lambda proxy response: %s", exc)
        return INTERNAL_ERROR
    headers = [(k, v) for k, values in multi.items() if k.lower() not in _HOP_BY_HOP for v in values]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return status, headers, raw


def mock_response(route: Route) -> Response:
    """A mock integration's default response (SAM uses them for CORS preflight)."""
    default = (route.mock or {}).get("responses", {}).get("default", {})
    headers = [
        (key.rsplit(".", 1)[-1], str(value).strip("'"))
        for key, value in (default.get("responseParameters") or {}).items()
    ]
    return int(default.get("statusCode", 200)), headers, b""


class StackControl(Protocol):
    """What the gateway needs from the running stack."""

    def invoke(self, function: str, event: bytes) -> InvokeResult: ...
    def fire_schedule(self, logical_id: str) -> list[dict[str, Any]]: ...
    def seed_tenant(self, tenant: str, public_key: str) -> list[str]: ...
    def describe(self) -> dict[str, Any]: ...


class Gateway(ThreadingHTTPServer):
    """The HTTP front door on 127.0.0.1: API routes and ``/_local/...`` control endpoints."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, routes: list[Route], stack: StackControl):
        super().__init__(("127.0.0.1", port), _Handler)
        self.routes = routes
        self.stack = stack
        self.controls: dict[tuple[str, str], Callable[[str, bytes], Response]] = {
            ("POST", "invoke"): self._invoke,
            ("POST", "schedules"): self._schedule,
            ("PUT", "tenants"): self._tenant,
            ("POST", "tenants"): self._tenant,
        }

    @property
    def url(self) -> str:
        """Base URL of the API (routes are served at the root, like ``sam local start-api``)."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_api(
        self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> Response:
        """Route one request to its function and map the answer."""
        found = match(self.routes, method, unquote(path))
        if found is None:
            return MISSING_TOKEN
        route, params = found
        if route.mock is not None:
            return mock_response(route)
        assert route.function is not None
        event = build_event(route, params, method, unquote(path), query, headers, body, source_ip)
        if route.authorizer is not None:
            method_arn = route.authorizer.method_arn(route.api_id.lower(), route.stage, method, unquote(path))
            decision = route.authorizer.authorize(event, method_arn, self.stack.invoke)
            if isinstance(decision, tuple):
                return decision
            event["requestContext"]["authorizer"] = decision
        result = self.stack.invoke(route.function, json.dumps(event).encode())
        if result.failed:
            log.warning(
                "%s %s -> %s: %s", method, path, route.function, result.payload[:500].decode(errors="replace")
            )
        return map_response(result)

    def handle_control(self, method: str, path: str, body: bytes) -> Response:
        """``GET /_local/health``; ``POST /_local/invoke/{Function}``; ``POST /_local/schedules/{Id}``;
        ``PUT /_local/tenants/{tenant}`` with ``{"public_key": ...}``."""
        parts = path.strip("/").split("/")
        if method == "GET" and parts[1:] in ([], ["health"]):
            return _json_response(200, self.stack.describe())
        control = self.controls.get((method, parts[1] if len(parts) == 3 else ""))
        if control is None:
            return _json_response(404, {"message": f"no control endpoint {method} {path}"})
        try:
            return control(unquote(parts[2]), body)
        except KeyError as exc:
            return _json_response(404, {"message": f"unknown {parts[1]} {exc}"})
        except ValueError as exc:
            return _json_response(400, {"message": str(exc)})

    def _invoke(self, function: str, body: bytes) -> Response:
        result = self.stack.invoke(function, body or b"{}")
        headers = [("Content-Type", "application/json")]
        if result.failed:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        return 200, headers, result.payload

    def _schedule(self, logical_id: str, body: bytes) -> Response:
        return _json_response(200, {"fired": logical_id, "targets": self.stack.fire_schedule(logical_id)})

    def _tenant(self, tenant: str, body: bytes) -> Response:
        key = json.loads(body or b"{}").get("public_key")
        if not key:
            raise ValueError('body must be {"public_key": "<base64 Ed25519 public key>"}')
        return _json_response(200, {"tenant": tenant, "parameters": self.stack.seed_tenant(tenant, key)})


class _Handler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"  # keep-alive, as clients of API Gateway expect
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Access log through logging, not stderr."""
        log.debug("%s " + format, self.client_address[0], *args)

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked); None when it is over API Gateway's limit."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while size := int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16):
                total += size
                if total > MAX_BODY_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length)

    def _dispatch(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._read_body()
        try:
            if body is None:
                self.close_connection = True  # the unread body must not be parsed as the next request
                status, headers, payload = BODY_TOO_LARGE
            elif path == "/_local" or path.startswith("/_local/"):
                status, headers, payload = self.server.handle_control(self.command, path, body)
            else:
                status, headers, payload = self.server.handle_api(
                    self.command, path, query, list(self.headers.items()), body, self.client_address[0]
                )
        except Exception:  # a fault of the local stack itself: answer as API Gateway does, never hang up
            log.exception("%s %s failed in the local gateway", self.command, path)
            status, headers, payload = INTERNAL_ERROR
        try:
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first (Telnyx's simulator times its webhooks out): nothing to tell.
            log.debug("%s %s: the client closed the connection before the answer", self.command, path)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch
