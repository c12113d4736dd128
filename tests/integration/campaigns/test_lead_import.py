"""CSV imports in-process: presigned upload → S3 notification (moto) → import queue → lead_import in
checkpointed chunks with continuations; per-row errors readable by line; duplicates merged; a
100,000-row file with bad rows of every kind imports completely."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest

from tests.integration.campaigns.conftest import CampaignTenant, Importer, campaign_body, object_key, upload
from tests.support.aws import LambdaContextStub, sqs_event
from tests.support.lead_csv import generate, phone_for
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
    # (every page: leads are listed by their hashed id, so a quoted-newline row can be anywhere)
    leads, cursor = [], None
    while True:
        page = api.get(
            f"/campaigns/{cid}/leads",
            ta.key,
            query={"limit": "100", **({"cursor": cursor} if cursor else {})},
        ).body
        leads += page["data"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert len(leads) == csv_file.imported
    assert any("\n" in (item["address"] or "") for item in leads) or csv_file.rows < 62


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


# --- imports never stuck (issue 14) -------------------------------------------------------------
def _import(
    api: InProcessApi, t: CampaignTenant, importer: Importer, data: bytes
) -> tuple[str, dict[str, Any]]:
    """Upload ``data`` into a new campaign, run the import function; (campaign id, import view)."""
    cid = api.post("/campaigns", t.key, campaign_body(t)).body["id"]
    created = _start(api, t, cid)
    upload(object_key(created["upload_url"]), data)
    importer.run()
    return cid, api.get(f"/campaigns/{cid}/imports/{created['import_id']}", t.key).body


def _counts(body: dict[str, Any]) -> tuple[str, int, int, int]:
    p = body["progress"]
    return body["status"], p["rows"], p["imported"], p["rejected"]


def _rows(first: int, count: int) -> list[str]:
    return [f"{phone_for(first + i)},Lead{i},Smith" for i in range(count)]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        # one header field over the csv module's 128 KiB field limit
        (b"Phone,Name" + b"x" * 200_000, "header row is longer than 65536 bytes"),
        # 10,000 long column names (the checkpoint would not fit a DynamoDB item)
        (b"Phone," + b",".join(b"column_%05d_%s" % (i, b"y" * 40) for i in range(10_000)), "longer than"),
        # many short columns
        (b"Phone," + b",".join(b"c%d" % i for i in range(5000)), "5001 columns; at most 1000"),
        (b"Phone,Na\x00me", "NUL byte"),
        (b'Phone,"Name', "not a CSV row"),
    ],
    ids=["field-over-csv-limit", "10000-long-names", "5000-columns", "nul", "open-quote"],
)
def test_an_unusable_header_fails_the_import_with_a_reason(
    api: InProcessApi, ta: CampaignTenant, importer: Importer, header: bytes, reason: str
) -> None:
    # GIVEN a file whose header cannot be used, WHEN imported (every delivery must succeed)
    data = header + b"\n" + "\n".join(_rows(0, 3)).encode() + b"\n"
    _, body = _import(api, ta, importer, data)
    # THEN the import failed at once, and says why
    assert body["status"] == "failed", body
    assert reason in body["failure"]


def test_cr_only_line_endings_import_like_crlf(
    api: InProcessApi, ta: CampaignTenant, importer: Importer
) -> None:
    # GIVEN the generated file (bad rows of every kind, quoted newlines) with CR-only line ends
    csv_file = generate(300)
    data = csv_file.data.replace(b"\r\n", b"\r")
    assert b"\r\n" not in data
    assert data.count(b"\r") > 300
    # WHEN imported, THEN every row is accounted for exactly as with CRLF, at the same lines
    cid, body = _import(api, ta, importer, data)
    assert _counts(body) == ("completed", csv_file.rows, csv_file.imported, len(csv_file.rejected))
    assert body["progress"]["bytes_read"] == len(data)
    assert _all_errors(api, ta, cid, body["import_id"]) == csv_file.rejected


def test_a_stray_quote_rejects_its_own_row_only(
    api: InProcessApi, ta: CampaignTenant, importer: Importer
) -> None:
    # GIVEN 60 rows; the 10th (line 11) opens a quote it never closes, and line 31 has a
    # properly quoted field (whose quotes must not pair up with the stray one)
    rows = _rows(100, 60)
    rows[9] = f'{phone_for(109)},"Stray,Smith'
    rows[29] = f'{phone_for(129)},"Acme, Inc",Smith'
    rows[44] = f'{phone_for(144)},"Multi\nline",Smith'  # a real quoted newline (lines 46-47)
    data = ("Phone,First Name,Last Name\n" + "\n".join(rows) + "\n").encode()
    # WHEN imported
    cid, body = _import(api, ta, importer, data)
    # THEN the stray row is rejected at its line, and every other row is imported
    assert _counts(body) == ("completed", 60, 59, 1)
    assert _all_errors(api, ta, cid, body["import_id"]) == {11: "malformed_row"}
    assert body["errors"][0]["message"] == "a quoted field does not close on this row"
    assert body["progress"]["bytes_read"] == len(data)


def test_a_stray_quote_on_the_last_rows_and_over_long_rows_are_reported_precisely(
    api: InProcessApi, ta: CampaignTenant, importer: Importer
) -> None:
    # GIVEN a row far over the row size limit (no line end for 300 KB), then rows, and a quote
    # opened two rows before the end of the file
    rows = _rows(200, 6)
    rows[1] = f"{phone_for(201)},{'z' * 300_000},Smith"
    rows[3] = f'{phone_for(203)},"Open,Smith'
    data = ("Phone,First Name,Last Name\n" + "\n".join(rows)).encode()  # no final line end
    cid, body = _import(api, ta, importer, data)
    assert _counts(body) == ("completed", 6, 4, 2)
    assert _all_errors(api, ta, cid, body["import_id"]) == {3: "malformed_row", 5: "malformed_row"}


def test_nul_bytes_are_rejected_per_row(api: InProcessApi, ta: CampaignTenant, importer: Importer) -> None:
    rows = _rows(300, 5)
    rows[2] = f"{phone_for(302)},Nu\x00ll,Smith"
    data = ("Phone,First Name,Last Name\r\n" + "\r\n".join(rows) + "\r\n").encode()
    cid, body = _import(api, ta, importer, data)
    assert _counts(body) == ("completed", 5, 4, 1)
    assert _all_errors(api, ta, cid, body["import_id"]) == {4: "invalid_encoding"}


def test_a_second_phone_column_is_kept_and_reported(
    api: InProcessApi, ta: CampaignTenant, importer: Importer
) -> None:
    # GIVEN a file with both a phone and a mobile column
    data = f"Phone,Mobile,First Name\n{phone_for(400)},{phone_for(401)},Ada\n,{phone_for(402)},Bob\n".encode()
    cid, body = _import(api, ta, importer, data)
    # THEN the first column is the lead's phone, the second is kept on the lead (custom field)
    assert _counts(body) == ("completed", 2, 1, 1)
    lead = api.get("/leads", ta.key, query={"phone": phone_for(400)}).body["data"][0]
    assert lead["custom_fields"] == {"Mobile": phone_for(401)}
    # AND the import reports it (line 1: the header), beside the row without a phone
    errors = api.get(f"/campaigns/{cid}/imports/{body['import_id']}", ta.key).body["errors"]
    assert [(e["line"], e["reason"], e["field"]) for e in errors] == [
        (1, "duplicate_column", "phone"),
        (3, "phone_missing", "phone"),
    ]
    assert "'Mobile'" in errors[0]["message"]


def test_a_message_parked_in_the_dlq_fails_its_import(
    api: InProcessApi, ta: CampaignTenant, importer: Importer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialer.settings import get_settings

    # GIVEN an import that has started (one chunk of 50 rows done, a continuation queued)
    monkeypatch.setenv("IMPORT_CHUNK_ROWS", "50")
    monkeypatch.setenv("IMPORT_RESERVE_MS", "999999")
    get_settings.cache_clear()
    importer.module.import_processor.cache_clear()
    cid = api.post("/campaigns", ta.key, campaign_body(ta)).body["id"]
    created = _start(api, ta, cid)
    key = object_key(created["upload_url"])
    upload(key, ("Phone,First Name\n" + "\n".join(f"{phone_for(500 + i)},L" for i in range(120))).encode())
    got = importer.sqs.receive_message(QueueUrl=importer.queue_url, MaxNumberOfMessages=1)["Messages"]
    assert importer.module.lambda_handler(sqs_event(got), LambdaContextStub()) == {"batchItemFailures": []}
    importer.sqs.delete_message(QueueUrl=importer.queue_url, ReceiptHandle=got[0]["ReceiptHandle"])
    # AND its file then disappears (e.g. the bucket's expiry rule), so every delivery fails
    boto3.client("s3").delete_object(Bucket=os.environ["IMPORT_BUCKET"], Key=key)
    assert importer.run_failing() == 5  # ImportMaxReceiveCount
    status = api.get(f"/campaigns/{cid}/imports/{created['import_id']}", ta.key).body["status"]
    assert status == "processing"
    # WHEN the dead-letter queue's consumer gets the parked message
    assert importer.run_dead_letters() == 1
    # THEN the import is failed, with where it stopped; the rows before it are kept
    body = api.get(f"/campaigns/{cid}/imports/{created['import_id']}", ta.key).body
    assert (body["status"], body["progress"]["imported"]) == ("failed", 49)  # the header + 49 rows
    assert body["failure"].startswith("the import stopped after line 50: processing failed on every retry")
    assert body["finished_at"]
