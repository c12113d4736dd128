"""Packaging smoke test: each function, as `sam build` packaged it, imports and runs with ONLY its
built code, its built layers and the Lambda runtime's own packages on the path.

It runs each handler in a fresh, isolated interpreter (`-S -s`: no site-packages, no venv), so a
dependency missing from a layer's requirements.txt fails here as it would in AWS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from dialer.adapters.secrets import TenantSecrets
from dialer.adapters.tenants_table import TenantsTable
from dialer.services.tenants import TenantAdmin
from scripts.sign_event import TEST_SEED, resign
from tests.support.aws import (
    PARAM_PREFIX,
    REGION,
    aws_env_defaults,
    drain,
    function_environment,
    provision,
    seed_tenant,
)
from tests.support.signing import REPO, new_signer

BUILD = REPO / ".aws-sam" / "build"
RUNTIME = REPO / ".local" / "lambda-runtime"  # stands in for Lambda's /var/runtime (awslambdaric, boto3)
LAYERS = ("TelnyxClientLayer", "CoreLayer")

RUNNER = """
import json, sys
import app
class Context:
    function_name = "smoke"; memory_limit_in_mb = 512; aws_request_id = "smoke-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:smoke"
    def get_remaining_time_in_millis(self): return 10000
print("RESULT=" + json.dumps(app.lambda_handler(json.load(sys.stdin), Context())))
"""


@pytest.fixture(scope="module")
def moto_server():
    if not (BUILD / "template.yaml").exists():
        pytest.fail("no sam build output: run `make build` first")
    aws_env_defaults()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        yield endpoint
    finally:
        server.stop()


def invoke(function: str, event: dict, env: dict[str, str]) -> dict:
    """Run the built handler in an isolated python3.12, as Lambda would."""
    python = os.path.realpath(sys.executable)  # the base interpreter behind the venv's symlink
    path = [BUILD / function, *(BUILD / layer / "python" for layer in LAYERS), RUNTIME]
    proc = subprocess.run(
        [python, "-S", "-s", "-c", RUNNER],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        cwd=BUILD / function,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(map(str, path)), **env},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT="))
    return json.loads(line.removeprefix("RESULT="))


def test_built_functions_run_with_only_their_packaged_dependencies(moto_server):
    # GIVEN the template's resources on a moto server, a tenant key in SSM and a bootstrapped tenant
    def client(service: str):
        return boto3.client(service, region_name=REGION, endpoint_url=moto_server)

    stack = provision(client)
    signer = new_signer()
    seed_tenant(client("ssm"), "default", signer.public_key_b64)
    admin = TenantAdmin(
        TenantsTable(stack.table_name, client=client("dynamodb")),
        TenantSecrets(PARAM_PREFIX, client=client("ssm")),
    )
    admin.create_tenant("default", "Packaging smoke test")
    api_key = admin.issue_api_key("default", "smoke").plaintext
    aws = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }

    def env(function: str) -> dict[str, str]:
        return {**function_environment(stack, function), **aws}

    events = REPO / "events"

    # WHEN the built intake gets the sample webhook, signed now
    sample = resign(json.loads((events / "webhook_intake/call_hangup.json").read_text()), TEST_SEED)
    response = invoke("WebhookIntakeFunction", sample, env("WebhookIntakeFunction"))
    # THEN it answers 200 and the event is in the queue
    assert response["statusCode"] == 200, response
    assert len(drain(client("sqs"), stack.events_queue_url)) == 1

    # AND the built init webhook answers the (re-signed) sample: an unknown caller, 200
    sample = resign(
        json.loads((events / "dynamic_variables/assistant_initialization.json").read_text()), TEST_SEED
    )
    response = invoke("DynamicVariablesFunction", sample, env("DynamicVariablesFunction"))
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["dynamic_variables"]["caller_known"] == "false"

    # AND the built processor applies the sample batch
    batch = json.loads((events / "event_processor/call_lifecycle.json").read_text())
    assert invoke("EventProcessorFunction", batch, env("EventProcessorFunction")) == {"batchItemFailures": []}
    item = client("dynamodb").get_item(
        TableName=stack.table_name,
        Key={
            "pk": {"S": "T#default#CALL#v3:TEST-fake-call-control-id-0000000000000000000001"},
            "sk": {"S": "CALL"},
        },
    )["Item"]
    assert item["outcome"]["S"] == "answered_human"

    # AND the built tools function records the sample disposition on that call (a disposition for
    # a call the tenant has no record of is a 404)
    sample = resign(json.loads((events / "assistant_tools/set_disposition.json").read_text()), TEST_SEED)
    response = invoke("AssistantToolsFunction", sample, env("AssistantToolsFunction"))
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["result"] == "recorded"

    # AND the built authorizer allows the tenant's API key (and names the tenant)
    token_event = json.loads((events / "authorizer/api_key.json").read_text())
    token_event["authorizationToken"] = f"Bearer {api_key}"
    policy = invoke("AuthorizerFunction", token_event, env("AuthorizerFunction"))
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert policy["context"]["tenant_id"] == "default"

    # AND the built management API answers for that tenant
    me = invoke(
        "AssistantsApiFunction",
        json.loads((events / "assistants_api/get_tenant_me.json").read_text()),
        env("AssistantsApiFunction"),
    )
    assert me["statusCode"] == 200, me
    assert json.loads(me["body"])["tenant_id"] == "default"

    # AND the built scheduled-events function answers for that tenant (no such lead: 404)
    listed = invoke(
        "ScheduledEventsFunction",
        json.loads((events / "scheduled_events/list_scheduled_events.json").read_text()),
        env("ScheduledEventsFunction"),
    )
    assert listed["statusCode"] == 404, listed
    assert json.loads(listed["body"])["error"] == "not_found"

    # AND the built campaigns API answers its samples for that tenant (a list; a callback for a
    # lead that does not exist is a 404)
    campaigns = invoke(
        "CampaignsApiFunction",
        json.loads((events / "campaigns_api/list_campaigns.json").read_text()),
        env("CampaignsApiFunction"),
    )
    assert campaigns["statusCode"] == 200, campaigns
    callback = invoke(
        "CampaignsApiFunction",
        json.loads((events / "campaigns_api/post_lead_callback.json").read_text()),
        env("CampaignsApiFunction"),
    )
    assert callback["statusCode"] == 404, callback

    # AND the built import consumer skips what is not an import and fails only the poison record
    imports = json.loads((events / "lead_import/batch_with_poison.json").read_text())
    assert invoke("LeadImportFunction", imports, env("LeadImportFunction")) == {
        "batchItemFailures": [{"itemIdentifier": "msg-poison"}]
    }

    # AND the built transcripts consumer runs its sample (a call it does not know: nothing to do)
    # and reports only the poison record of the other one
    job = json.loads((events / "transcripts/transcript_job.json").read_text())
    assert invoke("TranscriptsFunction", job, env("TranscriptsFunction")) == {"batchItemFailures": []}
    poison = json.loads((events / "transcripts/batch_with_poison.json").read_text())
    assert invoke("TranscriptsFunction", poison, env("TranscriptsFunction")) == {
        "batchItemFailures": [{"itemIdentifier": "msg-poison"}]
    }

    # AND the built analytics function answers the transcript route (the sample call has none)
    transcript = invoke(
        "AnalyticsApiFunction",
        json.loads((events / "analytics_api/get_call_transcript.json").read_text()),
        env("AnalyticsApiFunction"),
    )
    assert transcript["statusCode"] == 404, transcript
    assert "has no transcript" in json.loads(transcript["body"])["message"]

    # AND the built console serves its page and a script, each with its security headers
    page = invoke("ConsoleFunction", json.loads((events / "console/get_page.json").read_text()), {})
    script = invoke("ConsoleFunction", json.loads((events / "console/get_script.json").read_text()), {})
    assert (page["statusCode"], script["statusCode"]) == (200, 200), (page, script)
    assert page["headers"]["Content-Type"].startswith("text/html")
    assert "<html" in page["body"].lower()
    assert script["headers"]["Content-Type"].startswith("text/javascript")
    assert "default-src 'none'" in page["headers"]["Content-Security-Policy"]

    # AND the built webhook-endpoints API creates an endpoint (its secret shown once) and answers
    # 404 for another tenant's; the built deliverer runs a pass on its schedule sample
    made = invoke(
        "WebhookEndpointsApiFunction",
        json.loads((events / "webhook_endpoints_api/create_endpoint.json").read_text()),
        env("WebhookEndpointsApiFunction"),
    )
    assert made["statusCode"] == 201, made
    assert json.loads(made["body"])["secret"].startswith("whsec_")
    deliveries = invoke(
        "WebhookEndpointsApiFunction",
        json.loads((events / "webhook_endpoints_api/list_deliveries.json").read_text()),
        env("WebhookEndpointsApiFunction"),
    )
    assert deliveries["statusCode"] == 404, deliveries
    delivered = invoke(
        "WebhookDeliveryFunction",
        json.loads((events / "webhook_delivery/schedule.json").read_text()),
        {**env("WebhookDeliveryFunction"), "WEBHOOK_DELIVERY_LOOP_SECONDS": "0"},
    )
    assert isinstance(delivered, dict), delivered
    assert "errorMessage" not in delivered, delivered

    # AND the dialing engine's functions run on their samples: a dispatcher run (schedule) and a
    # kick, a dial job for an attempt that does not exist (nothing to do), a reaper pass
    assert "ticks" in invoke(
        "DispatcherFunction",
        json.loads((events / "dispatcher/schedule.json").read_text()),
        {**env("DispatcherFunction"), "DISPATCH_LOOP_SECONDS": "1"},
    )
    kick = invoke(
        "DispatcherFunction",
        json.loads((events / "dispatcher/kick.json").read_text()),
        {**env("DispatcherFunction"), "DISPATCH_LOOP_SECONDS": "1"},
    )
    assert kick == {"batchItemFailures": []}, kick
    jobs = invoke(
        "DialerFunction", json.loads((events / "dialer/dial_jobs.json").read_text()), env("DialerFunction")
    )
    assert jobs == {"batchItemFailures": []}, jobs
    assert (
        invoke(
            "ReaperFunction", json.loads((events / "reaper/schedule.json").read_text()), env("ReaperFunction")
        )
        == {}
    )


def test_build_output_has_no_dev_only_packages():
    """The official SDK and test tools must never ship (cold start, size, attack surface)."""
    for layer in LAYERS:
        names = (
            {p.name.split("-")[0].lower() for p in (BUILD / layer / "python").iterdir()}
            if (BUILD / layer).exists()
            else set()
        )
        assert not names & {"telnyx", "moto", "pytest", "hypothesis"}, (
            layer,
            names & {"telnyx", "moto", "pytest"},
        )
    assert Path(BUILD / "TelnyxClientLayer" / "python" / "telnyx_client" / "signature.py").exists()
