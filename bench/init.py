"""Benchmark of the init (dynamic-variables) webhook, the route Telnyx waits on before the
assistant speaks: cold import of its handler next to `import telnyx`, and its warm latency per
branch through lambda_handler against in-process moto (signature, SSM-cached key, GetItem/Query);
the same for the tools route (set_disposition: signature, call link, two UpdateItems).

Prints one figure per line, `name value unit`; inputs on `#` lines. Run with `make bench` (it
builds first and puts the layers on PYTHONPATH as Lambda does). Goals (issue 11): cold import
≤ 0.15 of the SDK's; warm p99 ≤ 25 ms.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from intake import cold_import_ms, handler_paths  # noqa: E402 - sibling bench module

WARM_REQUESTS = 400


def bench_cold() -> None:
    sdk = cold_import_ms("telnyx", [], isolated=False, cwd=REPO)
    paths, isolated, cwd = handler_paths("dynamic_variables", "DynamicVariablesFunction")
    ms = cold_import_ms("app", paths, isolated=isolated, cwd=cwd)
    intake_paths, intake_isolated, intake_cwd = handler_paths("webhook_intake", "WebhookIntakeFunction")
    intake = cold_import_ms("app", intake_paths, isolated=intake_isolated, cwd=intake_cwd)
    tools_paths, tools_isolated, tools_cwd = handler_paths("assistant_tools", "AssistantToolsFunction")
    tools = cold_import_ms("app", tools_paths, isolated=tools_isolated, cwd=tools_cwd)
    print(f"# cold imports: median of fresh interpreters; handler from {'build' if isolated else 'source'}")
    print(f"sdk.cold_import {sdk:.1f} ms")
    print(f"init.cold_import {ms:.1f} ms")
    print(f"init.cold_import_vs_sdk {ms / sdk:.3f} ratio")
    print(f"webhook_intake.cold_import {intake:.1f} ms")
    print(f"tools.cold_import {tools:.1f} ms")
    print(f"tools.cold_import_vs_sdk {tools / sdk:.3f} ratio")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def bench_warm() -> None:
    import boto3
    from dynamo_meter import DynamoMeter  # sibling bench module
    from moto import mock_aws

    from dialer.adapters.campaigns_table import CampaignsTable
    from local.moto_shims import embedded_moto
    from tests.support.aws import (
        LambdaContextStub,
        aws_env_defaults,
        function_environment,
        provision,
        seed_tenant,
    )
    from tests.support.seed import Seeder, init_event
    from tests.support.signing import api_gateway_event, new_signer

    aws_env_defaults()
    with mock_aws(), embedded_moto():  # moto as the local stack runs it
        meter = DynamoMeter().install()  # after mock_aws: it replaces the default session
        stack = provision(lambda service: boto3.client(service, region_name="us-east-1"))
        os.environ.update(function_environment(stack, "DynamicVariablesFunction"))
        signer = new_signer()
        seed_tenant(boto3.client("ssm"), "bench", signer.public_key_b64)
        seed = Seeder(CampaignsTable(stack.table_name))
        seed.campaign("bench", "cmp_bench", variables={"customer": "first_name"})
        lead = seed.lead("bench", "cmp_bench", "+12125550100", first_name="Ada", state="NY")
        seed.attempt(lead, 1)
        seed.linked_call(lead, 1, "v3:bench-call")
        bodies = {
            "attempt": init_event(call_control_id="v3:bench-call", end_user=lead.lead.phone),
            "number": init_event(call_control_id="v3:inbound", end_user=lead.lead.phone),
            "unknown": init_event(call_control_id="v3:nobody", end_user="+12125550999"),
        }
        context = LambdaContextStub()
        print(
            f"# warm: {WARM_REQUESTS} signed init webhooks per branch through lambda_handler, "
            "DynamoDB/SSM on in-process moto (moto's own cost included)"
        )
        with contextlib.redirect_stdout(io.StringIO()) as sink, contextlib.redirect_stderr(io.StringIO()):
            handler = importlib.import_module("functions.dynamic_variables.app")
            figures: dict[str, list[float]] = {}
            requests: dict[str, float] = {}
            for branch, raw in bodies.items():
                event = api_gateway_event("bench", raw, signer.headers(raw))
                for _ in range(20):  # warm: clients built, key and campaign cached
                    assert handler.lambda_handler(event, context)["statusCode"] == 200
                times = []
                meter.reset()
                for _ in range(WARM_REQUESTS):
                    start = time.perf_counter()
                    response = handler.lambda_handler(event, context)
                    times.append((time.perf_counter() - start) * 1000)
                    assert response["statusCode"] == 200, response
                figures[branch] = times
                requests[branch] = meter.reset().total_requests() / WARM_REQUESTS
            tools_handler = importlib.import_module("functions.assistant_tools.app")
            tool_body = json.dumps(
                {"disposition": "interested", "call_control_id": "v3:bench-call", "lead_id": "{{lead_id}}"}
            ).encode()
            tool_event = api_gateway_event("bench", tool_body, signer.headers(tool_body))
            tool_event["resource"] = "/tools/{tenant_id}/{tool}"
            tool_event["path"] = "/tools/bench/set_disposition"
            tool_event["pathParameters"] = {"tenant_id": "bench", "tool": "set_disposition"}
            for _ in range(20):
                assert tools_handler.lambda_handler(tool_event, context)["statusCode"] == 200
            times = []
            for _ in range(WARM_REQUESTS):
                start = time.perf_counter()
                response = tools_handler.lambda_handler(tool_event, context)
                times.append((time.perf_counter() - start) * 1000)
                assert response["statusCode"] == 200, response
            tool_times = times
        del sink
        for branch, times in figures.items():
            print(f"init.{branch}.warm_p50 {statistics.median(times):.2f} ms")
            print(f"init.{branch}.warm_p99 {percentile(times, 0.99):.2f} ms")
            print(f"init.{branch}.dynamodb_requests {requests[branch]:.2f} count")
        print(f"tools.set_disposition.warm_p50 {statistics.median(tool_times):.2f} ms")
        print(f"tools.set_disposition.warm_p99 {percentile(tool_times, 0.99):.2f} ms")
        p99 = percentile(figures["attempt"], 0.99)
        print(f"init.attempt.warm_p99_share_of_1s_budget {p99 / 1000 * 100:.2f} %")


def bench_service_only() -> None:
    """The init service with an in-memory context: our own cost per answer (signature check, JSON,
    variable building, the deadline's thread hop), without any DynamoDB round trip."""
    from dialer.adapters.init_context import CampaignView, LeadPartition, LeadView
    from dialer.services.init_webhook import InitWebhook
    from tests.support.seed import init_event
    from tests.support.signing import new_signer

    signer = new_signer()
    lead = LeadView(
        "ld_1",
        "cmp_1",
        "+12125550100",
        {"first_name": "Ada", "state": "NY"},
        {"plan": "gold"},
        "America/New_York",
        "dialing",
        1,
    )

    class Memory:
        def call_link(self, tenant_id, call_control_id):
            return {"lead_id": "ld_1", "attempt_n": 1, "assistant_id": "asst"}

        def lead_partition(self, tenant_id, lead_id):
            return LeadPartition(lead, {1: {"n": 1, "assistant_id": "asst"}})

        def leads_by_phone(self, tenant_id, e164):
            return [lead]

        def campaigns(self, tenant_id, ids):
            return {"cmp_1": CampaignView("cmp_1", "active", {"customer": "first_name"})}

    class Keys:
        def webhook_public_key(self, tenant_id):
            return signer.public_key_b64

    service = InitWebhook(tenant_keys=Keys(), context=Memory(), deadline_seconds=1.0)
    raw = init_event(call_control_id="v3:x", end_user=lead.phone)
    headers = signer.headers(raw)
    for _ in range(50):
        service.answer("bench", raw, headers)
    times = []
    for _ in range(WARM_REQUESTS * 2):
        start = time.perf_counter()
        service.answer("bench", raw, headers)
        times.append((time.perf_counter() - start) * 1000)
    print(f"# service only: {len(times)} answers, in-memory reads (no DynamoDB), same signed body")
    print(f"init.service_only_p50 {statistics.median(times):.3f} ms")
    print(f"init.service_only_p99 {percentile(times, 0.99):.3f} ms")


GATEWAY_REQUESTS = 300


def bench_gateway() -> None:
    """The same requests over HTTP through the local stack (API Gateway emulation → Lambda
    sandbox → moto server): what Telnyx's request costs end to end on this machine."""
    import tempfile

    import httpx

    from dialer.adapters.campaigns_table import CampaignsTable
    from tests.e2e.conftest import BUILT_TEMPLATE, LocalStackProcess
    from tests.support.seed import Seeder, init_event
    from tests.support.signing import new_signer

    if not BUILT_TEMPLATE.exists():
        print("# gateway: skipped (no sam build output; `make bench` builds first)")
        return
    with tempfile.TemporaryDirectory() as workdir:
        args = ["--parameter-overrides", "Stage=bench", "--schedule-period", "0"]
        stack = LocalStackProcess(BUILT_TEMPLATE, Path(workdir), args).start(timeout=180)
        try:
            signer = new_signer()
            stack.seed_tenant("bench", signer.public_key_b64)
            seed = Seeder(
                CampaignsTable(stack.resources["StateTable"], client=stack.boto3_client("dynamodb"))
            )
            seed.campaign("bench", "cmp_bench", variables={"customer": "first_name"})
            lead = seed.lead("bench", "cmp_bench", "+12125550100", first_name="Ada", state="NY")
            seed.attempt(lead, 1)
            seed.linked_call(lead, 1, "v3:bench-call")
            init_raw = init_event(call_control_id="v3:bench-call", end_user=lead.lead.phone)
            tool_raw = json.dumps(
                {"disposition": "interested", "call_control_id": "v3:bench-call", "lead_id": "{{lead_id}}"}
            ).encode()
            routes = {
                "init.gateway": ("/webhooks/telnyx/bench/init", init_raw),
                "tools.gateway": ("/tools/bench/set_disposition", tool_raw),
            }
            print(
                f"# gateway: {GATEWAY_REQUESTS} sequential signed requests per route over HTTP through the local "
                "stack (gateway emulation, warm Lambda sandbox, moto server); after 20 warm-up requests"
            )
            with httpx.Client(base_url=stack.api_url, timeout=30) as http:
                for name, (path, raw) in routes.items():
                    times = []
                    for i in range(GATEWAY_REQUESTS + 20):
                        headers = signer.headers(raw)
                        start = time.perf_counter()
                        response = http.post(path, content=raw, headers=headers)
                        elapsed = (time.perf_counter() - start) * 1000
                        assert response.status_code == 200, response.text
                        if i >= 20:
                            times.append(elapsed)
                    print(f"{name}.warm_p50 {statistics.median(times):.2f} ms")
                    print(f"{name}.warm_p99 {percentile(times, 0.99):.2f} ms")
        finally:
            stack.stop()


if __name__ == "__main__":
    if sys.argv[1:] == ["warm"]:  # the in-process figures alone (no cold imports, no local stack)
        bench_warm()
    else:
        bench_cold()
        bench_service_only()
        bench_warm()
        bench_gateway()
