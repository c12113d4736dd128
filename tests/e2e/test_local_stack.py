"""The local stack end to end, on a tiny template of its own (tests/e2e/fixtures/stack) built with
``sam build``: routes → functions → moto, SQS with a poison record, schedules, timeouts, clean exit."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).parent / "fixtures" / "stack"
SAM = Path(__file__).resolve().parents[2] / ".venv-tools" / "bin" / "sam"


@pytest.fixture(scope="module")
def built_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture stack built the way the product is (``sam build``), in a temporary directory."""
    work = tmp_path_factory.mktemp("fixture-build")
    build_dir = work / "build"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    env.setdefault("PYENV_VERSION", "3.11.7:3.12.1")  # sam finds python3.12 through pyenv
    # Run from a scratch directory, so sam's caches (.aws-sam/...) stay out of the repository.
    template = FIXTURE / "template.yaml"
    command = [str(SAM), "build", "--template-file", str(template), "--build-dir", str(build_dir)]
    command += ["--base-dir", str(FIXTURE), "--cache-dir", str(work / "cache")]
    built = subprocess.run(
        command, cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if built.returncode:
        pytest.fail(f"sam build of the fixture stack failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}")
    return build_dir / "template.yaml"


@pytest.fixture(scope="module")
def stack(built_fixture: Path, tmp_path_factory: pytest.TempPathFactory, local_stack_process):
    """The fixture stack running, timers off (schedules fire on demand)."""
    process = local_stack_process(
        built_fixture, tmp_path_factory.mktemp("fixture-stack"), ["--schedule-period", "0"]
    )
    process.start()
    yield process
    leftovers = process.stop()
    assert not leftovers, f"sandbox processes outlived the stack: {leftovers}"


@pytest.fixture(scope="module")
def api(stack):
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield client


def _wait_for(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout} s")


def test_route_runs_the_function_which_writes_to_dynamodb(stack, api):
    # WHEN an item is posted through the gateway
    response = api.post("/items/abc", json={"colour": "blue"})
    # THEN the function answered and its write is in moto
    assert response.status_code == 201
    assert response.json() == {"id": "abc"}
    item = stack.boto3_client("dynamodb").get_item(
        TableName=stack.resources["ItemsTable"], Key={"pk": {"S": "item#abc"}, "sk": {"S": "v1"}}
    )["Item"]
    assert item["body"] == {"M": {"colour": {"S": "blue"}}}
    assert item["stage"] == {"S": "test"}


def test_event_and_environment_seen_by_the_function(api):
    response = api.get("/echo/a/b?x=1&x=2", headers=[("X-Dup", "1"), ("X-Dup", "2")])
    payload = response.json()
    event = payload["event"]
    assert event["resource"] == "/echo/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["multiValueHeaders"]["X-Dup"] == ["1", "2"]
    assert event["requestContext"]["stage"] == "Prod"
    # Fn::If, Fn::Select, Fn::Join with pseudo parameters, GetAtt QueueName, Ref of a bucket
    assert payload["env"] == {
        "MODE": "testing",
        "FIRST_ZONE": "zone-b",
        "JOINED": "test|us-east-1|123456789012",
        "WORK_QUEUE_NAME": "local-WorkQueue",
        "BUCKET": "local-uploadsbucket",
    }
    assert payload["function"] == "ApiFunction"


def test_unknown_route_or_method_is_403(api):
    for method, path in (("GET", "/nope"), ("DELETE", "/items/abc")):
        response = api.request(method, path)
        assert response.status_code == 403
        assert response.json() == {"message": "Missing Authentication Token"}


def test_handler_error_is_502(api):
    response = api.get("/boom")
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_binary_bodies_both_ways(api):
    body = bytes(range(256))
    sent = api.post("/echo/bin?summary=1", content=body, headers={"Content-Type": "application/octet-stream"})
    assert sent.json() == {"length": 256, "isBase64Encoded": True}
    received = api.get("/echo/x?binary=1")
    assert received.content == b"\x00\x01\xfe"
    assert received.headers.get_list("X-Multi") == ["a", "b"]


def test_large_bodies(api):
    # 5 MiB reaches the function; 8 MiB is over Lambda's 6 MiB payload limit; 11 MiB over API Gateway's.
    # Both refusals are 413, as API Gateway answers them (not a 502: the client sent too much).
    five = api.post("/echo/big?summary=1", content=b"a" * (5 << 20), headers={"Content-Type": "text/plain"})
    assert five.json() == {"length": 5 << 20, "isBase64Encoded": False}
    eight = api.post("/echo/big?summary=1", content=b"a" * (8 << 20))
    assert (eight.status_code, eight.json()) == (413, {"message": "Request Too Long"})
    eleven = api.post("/echo/big", content=b"a" * (11 << 20))
    assert (eleven.status_code, eleven.text) == (413, "HTTP content length exceeded 10485760 bytes.")


def test_sqs_poison_record_ends_in_dlq_and_the_others_are_processed(stack):
    sqs, ddb = stack.boto3_client("sqs"), stack.boto3_client("dynamodb")
    queue, dlq = stack.resources["WorkQueue"], stack.resources["WorkDeadLetterQueue"]
    # GIVEN one batch with a poison record between two good ones
    sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(("good-1", "poison", "good-2"))
        ],
    )

    # THEN the good ones are processed and deleted, and the poison one is parked in the DLQ
    def processed() -> bool:
        items = ddb.scan(TableName=stack.resources["ItemsTable"])["Items"]
        return {i["pk"]["S"] for i in items} >= {"work#good-1", "work#good-2"}

    _wait_for(processed)
    dead = _wait_for(lambda: sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages"))
    assert [m["Body"] for m in dead] == ["poison"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_schedule_fired_on_demand(stack):
    outcome = stack.fire_schedule("TickFunctionTick")
    assert outcome == [{"function": "TickFunction", "error": None, "payload": {"ticked": True}}]
    ddb = stack.boto3_client("dynamodb")
    ticks = ddb.query(
        TableName=stack.resources["ItemsTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "tick"}},
    )["Items"]
    assert {"source": "tick"} in [json.loads(t["event"]["S"]) for t in ticks]


def test_cron_schedule_without_input_gets_the_scheduled_event_envelope(stack):
    stack.fire_schedule("TickFunctionNightly")
    ticks = stack.boto3_client("dynamodb").query(
        TableName=stack.resources["ItemsTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "tick"}},
    )["Items"]
    events = [json.loads(t["event"]["S"]) for t in ticks]
    assert any(e.get("detail-type") == "Scheduled Event" and e["source"] == "aws.scheduler" for e in events)


def test_unknown_schedule_is_404(stack):
    with pytest.raises(httpx.HTTPStatusError, match="404"):
        stack.fire_schedule("NoSuchRule")


def test_direct_invoke_reports_function_errors(stack):
    result = stack.invoke("ApiFunction", {"resource": "/boom"})
    assert result.error == "RuntimeError"
    assert result.payload["errorMessage"] == "boom on purpose"


def test_timeout_is_enforced_and_the_function_recovers(stack):
    # GIVEN a function with a 1 s timeout
    # WHEN it runs for 3 s
    timed_out = stack.invoke("SlowFunction", {"sleep": 3})
    # THEN Lambda's timeout error comes back, and the next invocation runs normally
    assert timed_out.error == "Sandbox.Timedout"
    recovered = stack.invoke("SlowFunction", {"sleep": 0})
    assert recovered.error is None
    assert 0 < recovered.payload["remaining_ms"] <= 1000


def test_tenant_public_key_is_stored_in_ssm(stack):
    key = base64.b64encode(bytes(range(32))).decode()
    names = stack.seed_tenant("acme", key)
    assert names == ["/fixture/test/tenants/acme/webhook_public_key"]
    value = stack.boto3_client("ssm").get_parameter(Name=names[0])["Parameter"]["Value"]
    assert value == key
    with pytest.raises(httpx.HTTPStatusError, match="400"):
        stack.seed_tenant("acme", "not-a-key")


def test_dev_tenant_is_created_with_a_usable_key_pair(stack):
    from nacl.signing import SigningKey

    dev = json.loads(Path(stack.info["dev_tenant_file"]).read_text())
    signing_key = SigningKey(base64.b64decode(dev["signing_seed"]))
    assert base64.b64encode(bytes(signing_key.verify_key)).decode() == dev["public_key"]
    name = f"/fixture/test/tenants/{dev['tenant_id']}/webhook_public_key"
    assert stack.boto3_client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == dev["public_key"]


@pytest.mark.parametrize(("sandbox", "sig"), [("rie", signal.SIGINT), ("python", signal.SIGTERM)])
def test_exit_leaves_no_child_processes(built_fixture, tmp_path, local_stack_process, sandbox, sig):
    # GIVEN a stack whose functions have warm runtimes (sandbox processes and their children)
    stack = local_stack_process(
        built_fixture, tmp_path, ["--schedule-period", "0", "--sandbox", sandbox]
    ).start()
    try:
        assert httpx.post(f"{stack.api_url}/items/exit", json={}, timeout=30).status_code == 201
        assert httpx.get(f"{stack.api_url}/boom", timeout=30).status_code == 502
        pids = stack.pids()
        assert len(pids) >= len(stack.info["functions"])
    finally:
        # WHEN the runner is interrupted
        leftovers = stack.stop(sig)
    # THEN it exits cleanly and takes every process it started with it
    assert stack.exit_code == 0
    assert leftovers == []
    assert not any(stack.process_alive(pid) for pid in pids)


def test_product_stack_starts_and_routes_webhooks(local_stack):
    # GIVEN the product's own built template on the local stack
    assert {
        "StateTable",
        "EventsQueue",
        "EventsDeadLetterQueue",
        "PayloadBucket",
    } <= local_stack.resources.keys()
    routes = {(r["method"], r["path"]) for r in local_stack.info["routes"]}
    assert ("POST", "/webhooks/telnyx/{tenant_id}") in routes
    # THEN the dev tenant's key is where the functions look for it
    prefix = local_stack.info["param_prefixes"][0]
    assert prefix == "/telnyx-ai-dialer/local"
    ssm = local_stack.boto3_client("ssm")
    assert ssm.get_parameter(Name=f"{prefix}/tenants/default/webhook_public_key")["Parameter"]["Value"]
    # AND an unsigned webhook reaches the intake function (its answer, not the gateway's 403/502)
    response = httpx.post(f"{local_stack.api_url}/webhooks/telnyx/default", json={"data": {}}, timeout=60)
    assert response.status_code not in (403, 502)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "unauthorized"}, 401),
        ({"Authorization": "deny"}, 403),
        ({"Authorization": "crash"}, 500),
    ],
)
def test_token_authorizer_refusals(api, headers, status):
    assert api.get("/secret", headers=headers).status_code == status


def test_token_authorizer_context_reaches_the_function(api):
    response = api.get("/secret", headers={"Authorization": "allow-acme"})
    assert response.status_code == 200
    authorizer = response.json()["event"]["requestContext"]["authorizer"]
    assert authorizer["tenant_id"] == "acme"
    assert authorizer["principalId"] == "user-1"
    assert response.json()["event"]["requestContext"]["authorizer"]["n"] == 1


def test_request_authorizer_results_are_cached_per_identity(stack, api):
    table = stack.boto3_client("dynamodb")
    name = stack.resources["ItemsTable"]

    def calls() -> int:
        items = table.scan(TableName=name)["Items"]
        return sum(1 for i in items if i["pk"]["S"] == "authorizer-call")

    before = calls()
    for _ in range(3):
        assert api.get("/cached", headers={"X-Api-Key": "allow-cache"}).status_code == 200
    assert calls() == before + 1  # one invocation, then the cached policy
    assert api.get("/cached", headers={"X-Api-Key": "allow-other"}).status_code == 200
    assert calls() == before + 2
    assert api.get("/cached").status_code == 401
