"""The 100,000-row CSV import, in-process against moto, in a process of its own.

It leaves 100,000 leads in moto, and moto's scans and index queries grow with the table: run in the
integration suite's process it made every later test slower (~10 minutes in all). `make test` runs
this directory as its own pytest invocation.
"""

from __future__ import annotations

import time

from tests.integration.campaigns.conftest import CampaignTenant, Importer, campaign_body, object_key, upload
from tests.integration.campaigns.test_lead_import import _all_errors, _start
from tests.support.lead_csv import generate
from tests.support.management import InProcessApi


def test_100k_rows_import_with_a_per_row_error_report(
    api: InProcessApi, ta: CampaignTenant, importer: Importer
) -> None:
    # GIVEN a 100,000-row CSV with invalid numbers, missing phones, duplicates, bad zones and consent
    cid = api.post("/campaigns", ta.key, campaign_body(ta)).body["id"]
    csv_file = generate(100_000)
    created = _start(api, ta, cid)
    # WHEN it is uploaded and imported
    started = time.perf_counter()
    upload(object_key(created["upload_url"]), csv_file.data)
    importer.run()
    elapsed = time.perf_counter() - started
    # THEN nothing is dropped: every row is imported, merged or rejected with its line and reason
    body = api.get(f"/campaigns/{cid}/imports/{created['import_id']}", ta.key).body
    assert body["status"] == "completed", body
    progress = body["progress"]
    assert progress["rows"] == 100_000
    assert (progress["imported"], progress["merged"], progress["rejected"]) == (
        csv_file.imported,
        csv_file.merged,
        len(csv_file.rejected),
    )
    assert _all_errors(api, ta, cid, created["import_id"]) == csv_file.rejected
    assert api.get(f"/campaigns/{cid}", ta.key).body["lead_count"] == csv_file.imported
    print(f"import.100k_inprocess {elapsed:.1f} s")  # informational; the benchmark is bench/import.py
