"""The local gateway's route matching and its API Gateway (REST, proxy v1) event and response mapping."""

import base64
import json

import pytest

from local.gateway import Route, build_event, map_response, match
from local.sandbox import InvokeResult


def _routes(*specs):
    routes = [Route(method, path, "Fn", "MyApi", "local") for method, path in specs]
    return sorted(routes, key=lambda r: r.specificity)


ROUTES = _routes(
    ("POST", "/webhooks/telnyx/{tenant_id}"),
    ("POST", "/webhooks/telnyx/{tenant_id}/init"),
    ("GET", "/items/special"),
    ("GET", "/items/{id}"),
    ("ANY", "/files/{proxy+}"),
)


@pytest.mark.parametrize(
    ("method", "path", "resource", "params"),
    [
        ("POST", "/webhooks/telnyx/acme", "/webhooks/telnyx/{tenant_id}", {"tenant_id": "acme"}),
        ("POST", "/webhooks/telnyx/acme/init", "/webhooks/telnyx/{tenant_id}/init", {"tenant_id": "acme"}),
        ("GET", "/items/special", "/items/special", {}),
        ("GET", "/items/42", "/items/{id}", {"id": "42"}),
        ("DELETE", "/files/a/b/c.txt", "/files/{proxy+}", {"proxy": "a/b/c.txt"}),
    ],
)
def test_most_specific_route_wins(method, path, resource, params):
    route, found = match(ROUTES, method, path)
    assert (route.resource, found) == (resource, params)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/webhooks/telnyx/acme"), ("GET", "/nope"), ("GET", "/items")]
)
def test_unknown_route_or_method_does_not_match(method, path):
    assert match(ROUTES, method, path) is None


def _event(headers, body=b"", query=""):
    route, params = match(ROUTES, "POST", "/webhooks/telnyx/acme")
    return build_event(route, params, "POST", "/webhooks/telnyx/acme", query, headers, body, "10.0.0.1")


def test_event_has_the_proxy_v1_shape():
    # GIVEN a JSON webhook with a repeated header and query parameter
    headers = [("Content-Type", "application/json"), ("X-A", "1"), ("X-A", "2")]
    # WHEN it becomes an event
    event = _event(headers, b'{"data": 1}', "x=1&x=2&empty=")
    # THEN it carries what API Gateway REST sends
    assert event["resource"] == "/webhooks/telnyx/{tenant_id}"
    assert event["path"] == "/webhooks/telnyx/acme"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"tenant_id": "acme"}
    assert event["headers"]["X-A"] == "2"
    assert event["multiValueHeaders"]["X-A"] == ["1", "2"]
    assert event["queryStringParameters"] == {"x": "2", "empty": ""}
    assert event["multiValueQueryStringParameters"]["x"] == ["1", "2"]
    assert event["body"] == '{"data": 1}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "local"
    assert context["path"] == "/local/webhooks/telnyx/acme"
    assert context["resourcePath"] == "/webhooks/telnyx/{tenant_id}"
    assert context["identity"]["sourceIp"] == "10.0.0.1"
    assert context["requestId"]


def test_form_encoded_body_stays_text():
    event = _event([("Content-Type", "application/x-www-form-urlencoded")], b"CallSid=1&To=%2B1555")
    assert (event["body"], event["isBase64Encoded"]) == ("CallSid=1&To=%2B1555", False)


@pytest.mark.parametrize(
    ("content_type", "body"), [("application/octet-stream", b"abc"), ("application/json", b"\xff\xfe")]
)
def test_binary_or_undecodable_body_is_base64(content_type, body):
    event = _event([("Content-Type", content_type)], body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_no_body_no_query_no_params_are_null():
    route, params = match(ROUTES, "GET", "/items/special")
    event = build_event(route, params, "GET", "/items/special", "", [], b"", "127.0.0.1")
    assert event["body"] is None
    assert event["queryStringParameters"] is None
    assert event["pathParameters"] is None


def _result(payload):
    return InvokeResult(json.dumps(payload).encode())


def test_response_maps_status_headers_and_body():
    status, headers, body = map_response(
        _result(
            {
                "statusCode": 201,
                "headers": {"X-One": "1"},
                "multiValueHeaders": {"Set-Cookie": ["a", "b"]},
                "body": "created",
            }
        )
    )
    assert status == 201
    assert body == b"created"
    assert ("X-One", "1") in headers
    assert [v for k, v in headers if k == "Set-Cookie"] == ["a", "b"]
    assert ("Content-Type", "application/json") in headers  # API Gateway's default


def test_base64_response_is_decoded():
    payload = {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
    assert map_response(_result(payload))[2] == b"\x00\x01"


@pytest.mark.parametrize(
    "payload",
    [
        {"body": "no status"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "unexpected": 1},
        ["not", "an", "object"],
    ],
)
def test_malformed_proxy_response_is_502(payload):
    status, _, body = map_response(_result(payload))
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})


def test_function_error_is_502():
    result = InvokeResult(b'{"errorType": "ValueError", "errorMessage": "x"}', "ValueError")
    assert map_response(result)[0] == 502


def test_an_event_over_lambdas_payload_limit_is_413_not_a_server_error(tmp_path):
    from local.sandbox import MAX_EVENT_BYTES, FunctionSpec, Sandbox

    # GIVEN a body API Gateway accepts (< 10 MB) whose event is over Lambda's 6 MB limit
    sandbox = Sandbox(
        FunctionSpec("Fn", "fn", "app.handler", "python3.12", tmp_path), "python3", tmp_path, {}, tmp_path
    )
    refused = sandbox.invoke(b"x" * (MAX_EVENT_BYTES + 1))
    # THEN the function is not started, and the gateway answers 413, as for a body over its own limit
    assert sandbox.process is None
    status, _, body = map_response(refused)
    assert status == 413
    assert b"Request Too Long" in body


def test_a_pool_runs_invocations_side_by_side_up_to_its_concurrency():
    import threading
    import time

    from local.sandbox import FunctionPool

    running, most, lock = [0], [0], threading.Lock()

    class Environment:  # stands in for a Lambda runtime process: holds its invocation a moment
        def invoke(self, event: bytes) -> InvokeResult:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.2)
            with lock:
                running[0] -= 1
            return InvokeResult(b"{}")

        def close(self) -> None:
            pass

    # GIVEN a pool of at most 3 environments
    pool = FunctionPool(Environment, 3)
    # WHEN 6 invocations arrive at once
    threads = [threading.Thread(target=pool.invoke, args=(b"{}",)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN 3 ran side by side, never more, in 3 environments kept warm
    assert most[0] == pool.peak == 3
    assert len(pool.sandboxes) == 3
    # AND once closed, nothing starts another
    pool.close()
    assert pool.invoke(b"{}").error_type == "Sandbox.Stopped"


def test_a_provisioned_pool_starts_every_environment_before_the_first_invocation() -> None:
    import time

    from local.sandbox import FunctionPool

    started: list[object] = []

    class Environment:  # stands in for a Lambda runtime process that records its (cold) start
        def start(self) -> None:
            started.append(self)

        def invoke(self, event: bytes) -> InvokeResult:
            return InvokeResult(b"{}")

        def close(self) -> None:
            pass

    # GIVEN a pool of 4 environments whose function has provisioned concurrency
    pool = FunctionPool(Environment, 4)
    pool.start()
    pool.start_all()
    deadline = time.monotonic() + 5
    while len(pool.sandboxes) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    # THEN all 4 run before any invocation, and 4 at once need no other
    assert len(started) == len(pool.sandboxes) == 4
    for _ in range(4):
        pool.invoke(b"{}")
    assert len(pool.sandboxes) == 4
    pool.close()
