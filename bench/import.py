"""CSV lead import through the local stack: 100,000 rows from presigned PUT to ``completed``.

Starts the stack like tests/e2e does (``python -m local.run`` on the ``sam build`` output, moto's
server, the import function in its own Lambda-like process fed by the S3 → SQS notification),
bootstraps a tenant, creates a campaign, PUTs a generated CSV (tests/support/lead_csv.py: 100,000
rows, ~7% rejected of every kind, ~1% duplicates) and polls the import until it completes.
Prints ``name value unit`` lines. Needs ``sam build`` first. Run:
``PYTHONPATH=layers/telnyx_client:layers/core:. .venv/bin/python bench/import.py [rows]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.e2e.conftest import BUILT_TEMPLATE, LocalStackProcess
from tests.support.lead_csv import generate

STAGE = "bench"
TENANT = "bench"


def main(rows: int) -> int:
    """Run the import once and print its figures."""
    from dialer.adapters.management_table import CallerIdRecord, ManagementTable
    from dialer.adapters.secrets import TenantSecrets
    from dialer.adapters.tenants_table import TenantsTable
    from dialer.services.tenants import TenantAdmin

    csv_file = generate(rows)
    print(f"import.input_rows {rows} rows")
    print(f"import.input_bytes {len(csv_file.data)} bytes")
    with tempfile.TemporaryDirectory() as workdir:
        args = ["--parameter-overrides", f"Stage={STAGE}", "--schedule-period", "0"]
        stack = LocalStackProcess(BUILT_TEMPLATE, Path(workdir), args).start(timeout=120)
        try:
            table = stack.resources["StateTable"]
            admin = TenantAdmin(
                TenantsTable(table, client=stack.boto3_client("dynamodb")),
                TenantSecrets(f"/telnyx-ai-dialer/{STAGE}", client=stack.boto3_client("ssm")),
            )
            admin.create_tenant(TENANT)
            key = admin.issue_api_key(TENANT, "bench").plaintext
            now = datetime.now(UTC).isoformat()
            ManagementTable(table, client=stack.boto3_client("dynamodb")).put_caller_id(
                CallerIdRecord(TENANT, "cid_bench", "+15550006001", 100, True, now, now), new=True
            )
            with httpx.Client(
                base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
            ) as http:
                cid = http.post("/campaigns", json={"name": "bench", "caller_ids": ["cid_bench"]}).json()[
                    "id"
                ]
                created = http.post(f"/campaigns/{cid}/imports", json={"filename": "bench.csv"}).json()
                started = time.perf_counter()
                httpx.put(created["upload_url"], content=csv_file.data, timeout=120).raise_for_status()
                uploaded = time.perf_counter()
                while True:
                    body = http.get(
                        f"/campaigns/{cid}/imports/{created['import_id']}", params={"errors_limit": 1}
                    ).json()
                    if body["status"] in ("completed", "failed"):
                        break
                    time.sleep(0.5)
                done = time.perf_counter()
        finally:
            stack.stop()
    progress = body["progress"]
    complete = body["status"] == "completed" and progress["rows"] == rows
    expected = (csv_file.imported, csv_file.merged, len(csv_file.rejected))
    counted = (progress["imported"], progress["merged"], progress["rejected"])
    print(f"import.upload_put {uploaded - started:.2f} s")
    print(f"import.local_stack_total {done - started:.1f} s")
    print(f"import.local_stack_rows_per_s {rows / (done - started):.0f} rows/s")
    print(f"import.rows_accounted {int(complete and counted == expected)} bool")
    return 0 if complete and counted == expected else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
