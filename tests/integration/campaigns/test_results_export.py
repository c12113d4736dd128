"""Results of any size: a campaign too big to read inside one API answer gets an asynchronous
export (202 and an export id; a job on the import queue; 303 to the CSV when done), a small one is
answered inline as before, and a job that fails on every delivery ends ``failed``.

The threshold (5,000 leads in production) is lowered for these tests so that a few dozen leads
play both sides of it in a second; everything else is the real analytics API, import queue and
import function on moto."""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

import boto3
import httpx
import pytest

from tests.integration.campaigns.conftest import CampaignTenant, Importer, campaign_body
from tests.support.management import InProcessApi

THRESHOLD = 20


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    import dialer.services.results_export as results_export

    monkeypatch.setattr(results_export, "INLINE_MAX_LEADS", THRESHOLD)


def campaign_with(api: InProcessApi, t: CampaignTenant, count: int) -> str:
    cid = str(api.post("/campaigns", t.key, campaign_body(t)).body["id"])
    leads = [{"phone": f"+1212555{1000 + i:04d}", "first_name": f"L{i}"} for i in range(count)]
    added = api.post(f"/campaigns/{cid}/leads", t.key, {"leads": leads})
    assert added.status in (200, 201), added.body
    return cid


def fetch(url: str) -> str:
    """What the presigned link serves (read from moto's bucket by its key)."""
    from urllib.parse import unquote, urlparse

    bucket = os.environ["IMPORT_BUCKET"]
    key = unquote(urlparse(url).path).lstrip("/").removeprefix(f"{bucket}/")
    return str(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode())


def test_a_small_campaign_is_answered_inline_as_before(api: InProcessApi, ta: CampaignTenant) -> None:
    cid = campaign_with(api, ta, THRESHOLD)
    inline = api.get(f"/campaigns/{cid}/results", ta.key)
    assert inline.status == 200
    assert inline.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(inline.body)))) == THRESHOLD
    linked = api.get(f"/campaigns/{cid}/results", ta.key, query={"link": "true"})
    assert (linked.status, linked.body["rows"]) == (303, THRESHOLD)


def test_a_big_campaign_is_an_asynchronous_export_with_a_link_when_done(
    api: InProcessApi, ta: CampaignTenant, tb: CampaignTenant, importer: Importer
) -> None:
    # GIVEN a campaign with more leads than the inline answer takes
    cid = campaign_with(api, ta, THRESHOLD + 5)
    # WHEN its results are asked for (twice, and with link=true: one job for all)
    first = api.get(f"/campaigns/{cid}/results", ta.key)
    second = api.get(f"/campaigns/{cid}/results", ta.key, query={"link": "true"})
    # THEN the answer is 202 with where to get the export, the same export both times
    assert first.status == 202, first.body
    assert first.body["status"] == "pending"
    location = first.headers["location"]
    assert location == first.body["location"] == f"/campaigns/{cid}/results/exports/{first.body['id']}"
    assert (second.status, second.body["id"]) == (202, first.body["id"])
    # AND while it waits, the export says so
    waiting = api.get(location, ta.key)
    assert (waiting.status, waiting.body["status"]) == (202, "pending")
    assert waiting.headers["retry-after"]
    # AND another tenant cannot see it
    assert api.get(location, tb.key).status == 404

    # WHEN the import function runs the job (once, though the queue may deliver it twice)
    assert importer.run() == 1
    # THEN the export answers 303 to the CSV, one row per lead, the inline columns
    done = api.get(location, ta.key)
    assert done.status == 303, done.body
    assert done.body["rows"] == THRESHOLD + 5
    text = fetch(done.headers["location"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == THRESHOLD + 5
    assert {r["first_name"] for r in rows} == {f"L{i}" for i in range(THRESHOLD + 5)}
    # AND a new ask after it finished starts a fresh export (the results may have changed)
    again = api.get(f"/campaigns/{cid}/results", ta.key)
    assert again.status == 202
    assert again.body["id"] != first.body["id"]
    importer.run()


def test_an_export_whose_job_fails_on_every_delivery_ends_failed(
    api: InProcessApi, ta: CampaignTenant, importer: Importer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an export whose job cannot store its CSV (the bucket refuses, every time)
    cid = campaign_with(api, ta, THRESHOLD + 1)
    location = api.get(f"/campaigns/{cid}/results", ta.key).headers["location"]
    from dialer.settings import get_settings

    with monkeypatch.context() as m:
        m.setenv("IMPORT_BUCKET", "no-such-bucket")
        importer.module.exporter.cache_clear()
        get_settings.cache_clear()
        # WHEN every delivery fails and the job is parked in the dead-letter queue
        assert importer.run_failing() == 5  # ImportMaxReceiveCount
        assert api.get(location, ta.key).status == 202
        assert importer.run_dead_letters() == 1
    importer.module.exporter.cache_clear()
    get_settings.cache_clear()
    # THEN the export is failed, saying what to do
    failed: Any = api.get(location, ta.key)
    assert (failed.status, failed.body["status"]) == (200, "failed")
    assert "ask for the results again" in failed.body["failure"]
    # AND the next ask starts a new export
    assert api.get(f"/campaigns/{cid}/results", ta.key).body["id"] not in location


API_URL = "https://api.test"


class InProcessTransport(httpx.BaseTransport):
    """The CLI's HTTP, answered by the in-process API; a presigned S3 link by moto's bucket (an
    in-process moto serves no HTTP)."""

    def __init__(self, api: InProcessApi) -> None:
        self.api = api

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not str(request.url).startswith(API_URL):
            assert "authorization" not in request.headers  # S3 refuses a second credential
            return httpx.Response(200, content=fetch(str(request.url)).encode())
        query = request.url.query.decode()
        auth = request.headers.get("authorization", "")
        answer = self.api.request(
            request.method,
            request.url.path + (f"?{query}" if query else ""),
            token=auth.removeprefix("Bearer ") or None,
        )
        body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
        headers = {k: v for k, v in answer.headers.items() if k != "content-length"}
        return httpx.Response(answer.status, headers=headers, content=body.encode())


def test_the_cli_waits_for_a_big_campaigns_export_and_writes_its_csv(
    api: InProcessApi, ta: CampaignTenant, importer: Importer
) -> None:
    from dialer_cli.api import Api
    from dialer_cli.config import Config
    from dialer_cli.exports import results

    # GIVEN a big campaign, and the CLI talking to the API
    cid = campaign_with(api, ta, THRESHOLD + 3)
    cli = Api(Config(API_URL, ta.key, "test", "test"), transport=InProcessTransport(api))
    waited: list[float] = []

    def sleep(seconds: float) -> None:  # the time the CLI waits is when the import function runs
        waited.append(seconds)
        importer.run()

    # WHEN it exports the results
    text = results(cli, cid, sleep=sleep)
    # THEN it waited for the export (as the API's Retry-After said) and got every lead's row
    assert waited == [5.0]
    assert text is not None
    assert len(list(csv.DictReader(io.StringIO(text)))) == THRESHOLD + 3


def test_the_cli_stops_waiting_for_an_unfinished_export_and_says_where_it_goes_on(
    api: InProcessApi, ta: CampaignTenant, importer: Importer
) -> None:
    from dialer_cli.api import Api
    from dialer_cli.config import Config
    from dialer_cli.errors import CliError, ExitCode
    from dialer_cli.exports import results

    cid = campaign_with(api, ta, THRESHOLD + 2)
    cli = Api(Config(API_URL, ta.key, "test", "test"), transport=InProcessTransport(api))
    # An export that never finishes in the time given: exit 6, saying where it goes on
    now = [0.0]

    def later(seconds: float) -> None:
        now[0] += seconds
        assert now[0] < 60, "still waiting past the deadline"

    with pytest.raises(CliError) as unfinished:
        results(cli, cid, wait_seconds=12, sleep=later, clock=lambda: now[0])
    assert unfinished.value.code == ExitCode.INCOMPLETE
    assert f"/campaigns/{cid}/results/exports/" in str(unfinished.value)
    importer.run()  # (it did finish, later)
