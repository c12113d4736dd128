"""Benchmark the Telnyx client layer: cold import and per-request overhead.

Prints one line per figure, ``name value unit``. Inputs: cold figures are the median of
``COLD_RUNS`` fresh interpreters (time measured inside the child around the import only, so
interpreter start-up is excluded); the official ``telnyx`` SDK (dev-only oracle) is the baseline.
Per-request figures are ``CALLS`` calls through an ``httpx.MockTransport`` returning a canned
``GET /calls/{id}`` answer, against a bare ``httpx.Client`` over the same transport.

Run: ``.venv/bin/python bench/client.py``
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "telnyx_client"
COLD_RUNS = 7
CALLS = 1000

_CHILD = """
import time
t0 = time.perf_counter()
{body}
print((time.perf_counter() - t0) * 1000.0)
"""

CLIENT_IMPORT = "import telnyx_client.client"
CLIENT_FIRST_CALL = """
import httpx
from telnyx_client.client import TelnyxClient
body = b'{"data":{"call_control_id":"v3:x","call_leg_id":"l","call_session_id":"s","is_alive":false,"record_type":"call"}}'
transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body, headers={"content-type": "application/json"}))
TelnyxClient("KEY", transport=transport).calls.dial(
    {"connection_id": "1", "to": "+15550000200", "from": "+15550000100", "command_id": "a", "client_state": {"a": 1}}
)
"""
SDK_IMPORT = "import telnyx"
SDK_FIRST_CALL = """
import httpx, telnyx
body = b'{"data":{"call_control_id":"v3:x","call_leg_id":"l","call_session_id":"s","is_alive":false,"record_type":"call"}}'
transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body, headers={"content-type": "application/json"}))
telnyx.Telnyx(api_key="KEY", http_client=httpx.Client(transport=transport), max_retries=0).calls.dial(
    connection_id="1", to="+15550000200", from_="+15550000100", command_id="a", client_state="eyJhIjoxfQ=="
)
"""


def cold_ms(body: str) -> float:
    """Median milliseconds of ``body`` in fresh interpreters."""
    env = {**os.environ, "PYTHONPATH": str(LAYER), "PYTHONDONTWRITEBYTECODE": "0"}
    samples = []
    for _ in range(COLD_RUNS):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD.format(body=body)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def per_call_us() -> tuple[float, float]:
    """(client µs/call, bare httpx µs/call) for a canned GET /calls/{id}."""
    import httpx

    from telnyx_client.client import TelnyxClient

    body = (
        b'{"data":{"call_control_id":"v3:x","call_leg_id":"l","call_session_id":"s",'
        b'"is_alive":true,"record_type":"call","start_time":"2026-11-24T15:00:00Z"}}'
    )
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, content=body, headers={"content-type": "application/json"})
    )
    client = TelnyxClient("KEY", transport=transport)
    bare = httpx.Client(
        base_url="https://api.telnyx.com/v2", transport=transport, headers={"Authorization": "Bearer KEY"}
    )
    for _ in range(50):  # warm both paths (model schemas, connection objects)
        client.calls.retrieve("v3:x")
        json.loads(bare.get("/calls/v3:x").content)

    t0 = time.perf_counter()
    for _ in range(CALLS):
        client.calls.retrieve("v3:x")
    ours = (time.perf_counter() - t0) / CALLS * 1e6

    t0 = time.perf_counter()
    for _ in range(CALLS):
        json.loads(bare.get("/calls/v3:x").content)
    raw = (time.perf_counter() - t0) / CALLS * 1e6
    return ours, raw


def main() -> None:
    """Print the figures."""
    imp = cold_ms(CLIENT_IMPORT)
    first = cold_ms(CLIENT_FIRST_CALL)
    sdk_imp = cold_ms(SDK_IMPORT)
    sdk_first = cold_ms(SDK_FIRST_CALL)
    print(f"client.cold_import {imp:.1f} ms")
    print(f"sdk.cold_import {sdk_imp:.1f} ms")
    print(f"client.cold_import_vs_sdk {imp / sdk_imp:.3f} ratio")
    print(f"client.cold_import_to_first_dial {first:.1f} ms")
    print(f"sdk.cold_import_to_first_dial {sdk_first:.1f} ms")
    print(f"client.cold_first_dial_vs_sdk {first / sdk_first:.3f} ratio")
    ours, raw = per_call_us()
    print(f"client.per_call {ours:.1f} us")
    print(f"httpx_bare.per_call {raw:.1f} us")
    print(f"client.overhead_per_call {ours - raw:.1f} us")
    print(f"client.per_call_vs_bare {ours / raw:.2f} ratio")
    print(f"bench.inputs cold_runs={COLD_RUNS} calls={CALLS} -")


if __name__ == "__main__":
    main()
