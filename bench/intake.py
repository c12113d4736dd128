"""Benchmark of the webhook path: cold import of each handler vs the official SDK, and the warm
per-event cost of webhook_intake (verify + enqueue) against in-process moto.

Prints one figure per line, `name value unit`. Inputs are stated in the lines that start with
`#`. Run with `make bench` (it builds first, and puts the layers on PYTHONPATH as Lambda does).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / ".aws-sam" / "build"
COLD_RUNS = 9
WARM_EVENTS = 500

IMPORT_PROBE = (
    "import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
)


def cold_import_ms(module: str, pythonpath: list[Path], *, isolated: bool, cwd: Path) -> float:
    """Median wall time of importing ``module`` in a fresh interpreter (Lambda's init import)."""
    python = os.path.realpath(sys.executable) if isolated else sys.executable
    # -s: no user site. The stdlib `site` still loads, as the Lambda runtime has loaded it (and
    # json, typing, collections …) before it imports a handler.
    flags = ["-s"] if isolated else []
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join(map(str, pythonpath)),
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_REGION": "us-east-1",
    }
    samples = []
    for _ in range(COLD_RUNS):
        out = subprocess.run(
            [python, *flags, "-c", IMPORT_PROBE.format(module=module)],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            check=True,
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def handler_paths(function: str, build_name: str) -> tuple[list[Path], bool, Path]:
    runtime = REPO / ".local" / "lambda-runtime"
    if (BUILD / build_name).exists():
        layers = [BUILD / "TelnyxClientLayer" / "python", BUILD / "CoreLayer" / "python"]
        return [BUILD / build_name, *layers, runtime], True, BUILD / build_name
    source = REPO / "functions" / function
    return [source, REPO / "layers" / "telnyx_client", REPO / "layers" / "core"], False, source


def bench_cold() -> None:
    sdk = cold_import_ms("telnyx", [], isolated=False, cwd=REPO)
    print(
        f"# cold imports: median of {COLD_RUNS} fresh interpreters each; handlers from "
        f"{'.aws-sam/build (isolated, as in Lambda)' if BUILD.exists() else 'source (no build found)'}"
    )
    print(f"sdk.cold_import {sdk:.1f} ms")
    for function, build_name in (
        ("webhook_intake", "WebhookIntakeFunction"),
        ("event_processor", "EventProcessorFunction"),
    ):
        paths, isolated, cwd = handler_paths(function, build_name)
        ms = cold_import_ms("app", paths, isolated=isolated, cwd=cwd)
        print(f"{function}.cold_import {ms:.1f} ms")
        print(f"{function}.cold_import_vs_sdk {ms / sdk:.2f} ratio")
    client = cold_import_ms(
        "telnyx_client.signature, telnyx_client.webhooks",
        [REPO / "layers" / "telnyx_client"],
        isolated=False,
        cwd=REPO,
    )
    print(f"telnyx_client.webhook_modules.cold_import {client:.1f} ms")


def bench_warm() -> None:
    import boto3
    from moto import mock_aws

    from tests.support.aws import (
        LambdaContextStub,
        aws_env_defaults,
        function_environment,
        provision,
        seed_tenant,
    )
    from tests.support.signing import api_gateway_event, load_fixture, new_signer

    aws_env_defaults()
    # Logs and EMF metrics are still produced (as in Lambda) but written to memory, not the console.
    import contextlib
    import io

    with mock_aws():
        stack = provision(lambda service: boto3.client(service, region_name="us-east-1"))
        os.environ.update(function_environment(stack))
        signer = new_signer()
        seed_tenant(boto3.client("ssm"), "bench", signer.public_key_b64)
        template = load_fixture("call.hangup")
        events = []
        for i in range(WARM_EVENTS + 20):
            template["data"]["id"] = f"bench-{i}"
            raw = json.dumps(template).encode()
            events.append(api_gateway_event("bench", raw, signer.headers(raw)))
        context = LambdaContextStub()
        times = []
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import importlib  # inside: the logger binds to the stream current at its creation

            handler = importlib.import_module("functions.webhook_intake.app")
            for event in events[:20]:  # warm: clients built, key cached, caches filled
                handler.lambda_handler(event, context)
            for event in events[20:]:
                start = time.perf_counter()
                response = handler.lambda_handler(event, context)
                times.append((time.perf_counter() - start) * 1000)
                assert response["statusCode"] == 200, response
        sqs = boto3.client("sqs")
        depth = int(
            sqs.get_queue_attributes(
                QueueUrl=stack.events_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        assert depth == WARM_EVENTS + 20
        times.sort()
        print(
            f"# warm: {WARM_EVENTS} signed call.hangup webhooks ({len(raw)} bytes) through lambda_handler, "
            "SSM/SQS on in-process moto (moto's own cost included)"
        )
        print(f"intake.warm_p50 {statistics.median(times):.2f} ms")
        print(f"intake.warm_p95 {times[int(len(times) * 0.95)]:.2f} ms")
        print(f"intake.warm_mean {statistics.fmean(times):.2f} ms")

    from telnyx_client.signature import verify

    raw = json.dumps(template).encode()
    headers = signer.headers(raw)
    key = signer.public_key_b64
    from telnyx_client.signature import load_public_key

    vk = load_public_key(key)
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        verify(raw, headers, vk)
    per = (time.perf_counter() - start) / n * 1e6
    print(f"signature.verify {per:.1f} us")


if __name__ == "__main__":
    bench_cold()
    bench_warm()
