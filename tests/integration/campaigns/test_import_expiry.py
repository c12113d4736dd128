"""Nothing left pending: an import whose file never comes is failed by the reaper (its five-minute
schedule) once its upload URL has been expired for the grace period, with a reason; an import
whose file did arrive is left to the import function."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.campaigns.conftest import CampaignTenant, Importer, campaign_body, object_key, upload
from tests.integration.conftest import load_handler
from tests.support.management import InProcessApi

URL_SECONDS = 3600  # the upload URL's lifetime (settings.import_upload_url_seconds, by default)


def reap(monkeypatch: pytest.MonkeyPatch, *, seconds_later: float, tenant_id: str) -> dict[str, int]:
    """One pass of the reaper as its Lambda handler wires it, its clock ``seconds_later`` than now,
    over ``tenant_id`` only: this moto world holds every earlier test's tenants, and a pass over all
    of them (stale leases and claims that a shifted clock makes due) took 20-50 s in CI."""
    from dialer.settings import get_settings

    with monkeypatch.context() as m:
        m.setenv("STAGE", "local")  # the only stage whose clock may be shifted
        m.setenv("CLOCK_OFFSET_SECONDS", str(seconds_later))
        get_settings.cache_clear()
        module = load_handler("reaper")
        module.reaper.cache_clear()
        try:
            done = dict(module.reaper().run([tenant_id]))
        finally:
            module.reaper.cache_clear()
    get_settings.cache_clear()
    return done


def status(api: InProcessApi, t: CampaignTenant, campaign_id: str, import_id: str) -> dict[str, Any]:
    body = api.get(f"/campaigns/{campaign_id}/imports/{import_id}", t.key).body
    assert isinstance(body, dict)
    return body


def test_an_import_never_uploaded_fails_after_its_url_expired_and_one_uploaded_goes_on(
    api: InProcessApi, ta: CampaignTenant, importer: Importer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialer.services.imports import UPLOAD_GRACE

    # GIVEN two imports: one whose file never comes, one whose file arrived but whose S3
    # notification is still queued (the import function has not run)
    cid = api.post("/campaigns", ta.key, campaign_body(ta)).body["id"]
    forgotten = api.post(f"/campaigns/{cid}/imports", ta.key, {"filename": "never.csv"}).body
    uploaded = api.post(f"/campaigns/{cid}/imports", ta.key, {"filename": "late.csv"}).body
    assert forgotten["expires_in"] == URL_SECONDS
    upload(object_key(uploaded["upload_url"]), b"Phone,First Name\n+12125550142,Ann\n")

    # WHEN the reaper runs while the URL is still valid, and again inside the grace after it expired
    # (other tests' imports share this moto world: the reaper may expire theirs, so only this
    # test's imports are looked at)
    reap(monkeypatch, tenant_id=ta.tenant.tenant_id, seconds_later=0)
    grace = UPLOAD_GRACE.total_seconds()
    reap(monkeypatch, tenant_id=ta.tenant.tenant_id, seconds_later=URL_SECONDS + grace - 60)
    # THEN both are still pending
    assert status(api, ta, cid, forgotten["import_id"])["status"] == "pending"
    assert status(api, ta, cid, uploaded["import_id"])["status"] == "pending"

    # WHEN it runs once the grace has passed (twice: a second run changes nothing)
    done = reap(monkeypatch, tenant_id=ta.tenant.tenant_id, seconds_later=URL_SECONDS + grace + 60)
    body = status(api, ta, cid, forgotten["import_id"])
    reap(monkeypatch, tenant_id=ta.tenant.tenant_id, seconds_later=URL_SECONDS + grace + 120)

    # THEN the forgotten import failed, saying why and what to do, once
    assert done.get("import_expired", 0) >= 1, done
    assert body["status"] == "failed"
    assert body["failure"].startswith("no file was uploaded before the upload URL expired at ")
    assert "create a new import" in body["failure"]
    assert body["finished_at"]
    assert status(api, ta, cid, forgotten["import_id"]) == body
    # AND the uploaded one is left to the import function, which completes it
    assert status(api, ta, cid, uploaded["import_id"])["status"] == "pending"
    importer.run()
    finished = status(api, ta, cid, uploaded["import_id"])
    assert (finished["status"], finished["progress"]["imported"]) == ("completed", 1)
