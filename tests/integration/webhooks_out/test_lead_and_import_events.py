"""``lead.opted_out``, ``lead.callback_scheduled`` and ``import.completed`` through the real
handlers on moto (assistant_tools, event_processor, lead_import) and the real deliverer to a
receiver on loopback: each change is reported once, signed, in the same write as the change (a
deliverer that dies before sending loses nothing), and a repeat of the request that made it (a
retried tool call, a second insight, a duplicated import message) reports nothing again."""

from __future__ import annotations

import itertools
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from standardwebhooks import Webhook

from dialer import keys
from dialer.adapters.campaigns_table import CampaignsTable
from dialer.adapters.people_table import DncTable
from dialer.adapters.webhook_sender import HttpSender, SendResult
from dialer.adapters.webhooks_table import EndpointRecord, WebhooksTable
from dialer.domain.dialing import utc_iso
from dialer.domain.event_webhooks import new_secret
from dialer.services.dialing_api import DialingApi
from dialer.services.imports import ImportRef, continuation_message
from dialer.services.webhook_delivery import WebhookDeliverer
from tests.integration.campaigns.conftest import (
    Importer,
    _seed,
    campaign_body,
    fresh,
    import_env,  # noqa: F401  (a fixture the import tests need)
    object_key,
    upload,
)
from tests.integration.conftest import TENANT, load_handler
from tests.integration.test_after_call_effects import insight
from tests.integration.test_assistant_tools import (
    _eligible_lead,
    _next_wednesday_local,
    call_tool,
    tool_secrets,  # noqa: F401  (a fixture the tool calls need)
)
from tests.integration.test_event_processor import message_for, run
from tests.support.aws import LambdaContextStub, MotoStack, sqs_event
from tests.support.management import InProcessApi
from tests.support.receiver import Received, receiver
from tests.support.seed import Seeder

TYPES = ("lead.opted_out", "lead.callback_scheduled", "import.completed")


class Crash(Exception):
    """The deliverer dies here."""


class DiesOnSend:
    def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        raise Crash


@dataclass
class Crm:
    """A receiver subscribed to the three events for one tenant, and the deliverer that feeds it."""

    table: WebhooksTable
    tenant: str
    hook: Received
    secret: str
    clock_at: datetime

    def deliver(self) -> None:
        """Run the deliverer until a run fans out and delivers nothing (what other tests left
        behind, to receivers long gone, may keep failing: that is not ours to wait for)."""
        for _ in range(10):
            stats = WebhookDeliverer(
                self.table,
                HttpSender(allow_loopback=True, timeout=2),
                clock=lambda: self.clock_at,
                wall_clock=lambda: datetime.now(UTC),
            ).run_once(limit=1000)
            if not stats.counts["fanned_out"] and not stats.counts["delivered"]:
                return
        raise AssertionError("the deliverer never ran out of work")

    def deliver_after_a_crash(self) -> None:
        """A deliverer that dies on its first send, then a new one once the lease is over."""
        with pytest.raises(Crash):
            WebhookDeliverer(
                self.table, DiesOnSend(), clock=lambda: self.clock_at, wall_clock=lambda: datetime.now(UTC)
            ).run_once(limit=1000)
        self.clock_at += timedelta(seconds=31)
        self.deliver()

    def received(self, event_type: str, **match: Any) -> list[tuple[str, dict[str, Any]]]:
        """(webhook-id, verified body) of each delivery of ``event_type`` whose data matches."""
        got = []
        for headers, body in self.hook.requests:
            doc = Webhook(self.secret).verify(body, headers)  # raises on a bad signature
            if doc["type"] == event_type and all(doc["data"].get(k) == v for k, v in match.items()):
                got.append((headers["webhook-id"], doc))
        return got


def _crm(table: WebhooksTable, tenant: str, hook: Received) -> Iterator[Crm]:
    now = utc_iso(datetime.now(UTC))
    secret = new_secret()
    endpoint = EndpointRecord(
        tenant_id=tenant,
        endpoint_id="we_" + uuid.uuid4().hex[:8],
        url=hook.url,
        event_types=TYPES,
        description="crm",
        enabled=True,
        created_at=now,
        updated_at=now,
        secrets=({"secret": secret, "expires_at": None},),
    )
    assert table.put_endpoint(endpoint)
    try:
        yield Crm(table, tenant, hook, secret, datetime.now(UTC))
    finally:  # later tests of the tenant send to no dead endpoint of ours
        table.delete_endpoint(tenant, endpoint.endpoint_id)


@pytest.fixture
def webhooks(moto_stack: MotoStack, aws: dict[str, Any]) -> WebhooksTable:
    return WebhooksTable(moto_stack.table_name)


@pytest.fixture
def crm(webhooks: WebhooksTable) -> Iterator[Crm]:
    with receiver() as hook:
        yield from _crm(webhooks, TENANT, hook)


@pytest.fixture
def seed(moto_stack: MotoStack) -> Seeder:
    return Seeder(CampaignsTable(moto_stack.table_name))


@pytest.fixture
def tools(aws: dict[str, Any], tool_secrets: None) -> Any:  # noqa: F811
    module = load_handler("assistant_tools")
    module.tools.cache_clear()
    return module


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


_NUMBERS = itertools.count(2000 + secrets.randbelow(7000))


def _phone(area: str = "312") -> str:
    """A number no other test of the session lists (the tenant's DNC list is shared)."""
    return f"+1{area}555{next(_NUMBERS) % 10_000:04d}"


def dies_after(real: Any, *, when: Any = None) -> Any:
    """``real``, then a crash (when ``when(kwargs)`` says so): the writer dies right after its
    write committed, before anything after it in the request ran."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if when is None or when(kwargs):
            raise Crash
        return result

    return wrapper


def _call_dying(tools: Any, tool: str, body: dict[str, Any], signer: Any) -> None:
    """A tool call whose function dies after the state change (Telnyx sees an error)."""
    try:
        response = call_tool(tools, tool, body, signer=signer)
    except Crash:
        return
    assert response["statusCode"] >= 500, response


def _crash_before_the_stamp(seed: Seeder, call_id: str) -> None:
    """What a processor that died after an insight's effects but before stamping the call with
    it leaves behind: the redelivery applies the insight again."""
    seed.table.ops.update(keys.call_key(TENANT, call_id), remove=("insights_applied",))
    item = seed.table.items.get(keys.call_key(TENANT, call_id))
    assert item is not None
    assert "insights_applied" not in item


# --- lead.opted_out -----------------------------------------------------------------------------
def test_an_opt_out_on_a_call_reports_each_lead_of_the_number_once(
    crm: Crm, tools: Any, processor_handler: Any, seed: Seeder, signer: Any
) -> None:
    # GIVEN one person in two campaigns, called now for the first
    phone = _phone()
    first, second = _unique("cmp_oo"), _unique("cmp_oo")
    seed.campaign(TENANT, first)
    seed.campaign(TENANT, second)
    dialled = seed.lead(TENANT, first, phone)
    other = seed.lead(TENANT, second, phone)
    call_id = "v3:" + _unique("oo")
    seed.linked_call(dialled, 1, call_id)
    # WHEN they opt out through the assistant's tool, the function dies right after listing the
    # number, Telnyx retries the call, and the deliverer dies before sending
    body = {"call_control_id": call_id, "lead_id": dialled.lead_id, "end_user": phone}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DncTable, "add", dies_after(DncTable.add))
        _call_dying(tools, "opt_out", body, signer)
    assert call_tool(tools, "opt_out", body, signer=signer)["json"]["already_listed"] is True
    crm.deliver_after_a_crash()
    # THEN each of their leads is reported opted out once, signed, naming the call
    for lead in (dialled, other):
        ((_, doc),) = crm.received("lead.opted_out", lead_id=lead.lead_id)
        assert doc["data"] == {
            "lead_id": lead.lead_id,
            "campaign_id": lead.campaign_id,
            "source": "call",
            "call_id": call_id,
        }
        assert doc["sequence"] == 1
        assert doc["version"] == 1
        assert phone not in json.dumps(doc)  # no payload carries a phone number
    # WHEN Telnyx retries the tool call again and the call's insight concludes do_not_call too
    assert call_tool(tools, "opt_out", body, signer=signer)["json"]["already_listed"] is True
    run(processor_handler, [message_for(insight(call_id, _unique("ev"), "do_not_call", stringified=False))])
    crm.deliver()
    # THEN nothing more is reported: the number was listed once
    assert len(crm.received("lead.opted_out", lead_id=dialled.lead_id)) == 1
    assert len(crm.received("lead.opted_out", lead_id=other.lead_id)) == 1


def test_a_do_not_call_insight_reports_the_opt_out_once_however_often_it_comes(
    crm: Crm, processor_handler: Any, seed: Seeder
) -> None:
    phone = _phone()
    campaign = _unique("cmp_oi")
    seed.campaign(TENANT, campaign)
    lead = seed.lead(TENANT, campaign, phone)
    call_id = "v3:" + _unique("oi")
    seed.linked_call(lead, 1, call_id)
    # WHEN the insight concluding do_not_call is applied, and redelivered after a crash that
    # came before the call was stamped with it (so its effects run again)
    message = message_for(insight(call_id, _unique("ev"), "do_not_call", stringified=False))
    assert run(processor_handler, [message]) == {"batchItemFailures": []}
    _crash_before_the_stamp(seed, call_id)
    assert run(processor_handler, [message]) == {"batchItemFailures": []}
    crm.deliver_after_a_crash()
    # THEN one lead.opted_out, from the insight
    ((_, doc),) = crm.received("lead.opted_out", lead_id=lead.lead_id)
    assert doc["data"]["source"] == "insight"
    assert doc["data"]["call_id"] == call_id


# --- lead.callback_scheduled --------------------------------------------------------------------
def _callback_insight(call_id: str, at: str) -> dict[str, Any]:
    doc = insight(call_id, _unique("ev"), "callback_requested", stringified=False)
    doc["data"]["payload"]["results"][0]["result"]["callback_at"] = at
    return doc


def test_a_callback_is_reported_once_per_booked_time(
    crm: Crm, tools: Any, processor_handler: Any, seed: Seeder, signer: Any
) -> None:
    # GIVEN a lead on a call
    campaign = _unique("cmp_cb")
    lead = _eligible_lead(seed, campaign, _phone("212"))
    call_id = "v3:" + _unique("cb")
    seed.linked_call(lead, 1, call_id)
    # WHEN the assistant books a callback, the function dies right after booking it, Telnyx
    # retries the tool call, and the deliverer dies before sending
    body = {"call_control_id": call_id, "lead_id": lead.lead_id, "when": _next_wednesday_local(15)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DialingApi, "_schedule", dies_after(DialingApi._schedule))
        _call_dying(tools, "schedule_callback", body, signer)
    answer = call_tool(tools, "schedule_callback", body, signer=signer)["json"]
    assert answer["ok"] is True, answer
    assert call_tool(tools, "schedule_callback", body, signer=signer)["json"]["ok"] is True
    crm.deliver_after_a_crash()
    # THEN one lead.callback_scheduled with the booked instant
    booked = utc_iso(datetime.fromisoformat(answer["callback_at"]))
    ((_, doc),) = crm.received("lead.callback_scheduled", lead_id=lead.lead_id)
    assert doc["data"] == {
        "lead_id": lead.lead_id,
        "campaign_id": campaign,
        "callback_at": booked,
        "requested_at": booked,
        "adjusted": False,
        "applies": "now",
    }
    assert doc["sequence"] == 1
    # WHEN the call's insights ask for another time, redelivered after a crash before the stamp
    later = datetime.fromisoformat(answer["callback_at"]).astimezone(ZoneInfo("America/New_York"))
    later = later.replace(hour=16)
    message = message_for(_callback_insight(call_id, later.isoformat()))
    assert run(processor_handler, [message]) == {"batchItemFailures": []}
    _crash_before_the_stamp(seed, call_id)
    assert run(processor_handler, [message]) == {"batchItemFailures": []}
    crm.deliver()
    # THEN that change is reported once more, the new time after the first (sequence 2)
    docs = [d for _, d in crm.received("lead.callback_scheduled", lead_id=lead.lead_id)]
    assert [d["data"]["callback_at"] for d in docs] == [booked, utc_iso(later)]
    assert [d["sequence"] for d in docs] == [1, 2]
    stored = seed.table.get_lead(TENANT, lead.lead_id)
    assert stored is not None
    assert stored.callback_at == utc_iso(later)


def test_a_callback_booked_during_the_call_applies_after_it(
    crm: Crm, tools: Any, seed: Seeder, signer: Any
) -> None:
    campaign = _unique("cmp_cd")
    lead = _eligible_lead(seed, campaign, _phone("212"))
    seed.set_lead(TENANT, lead.lead_id, status="dialing")
    body = {"lead_id": lead.lead_id, "when": _next_wednesday_local(11)}
    for _ in range(2):
        assert call_tool(tools, "schedule_callback", body, signer=signer)["json"]["ok"] is True
    crm.deliver()
    ((_, doc),) = crm.received("lead.callback_scheduled", lead_id=lead.lead_id)
    assert doc["data"]["applies"] == "after_call"


# --- import.completed ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def importing_tenant(moto_stack: MotoStack, import_env: dict[str, str]) -> Any:  # noqa: F811
    return _seed("wh-imports", "+15550005001")


@pytest.fixture
def import_crm(webhooks: WebhooksTable, importing_tenant: Any) -> Iterator[Crm]:
    with receiver() as hook:
        yield from _crm(webhooks, importing_tenant.tenant.tenant_id, hook)


@pytest.fixture
def api(aws: dict[str, Any], importing_tenant: Any) -> InProcessApi:
    return InProcessApi(
        fresh(load_handler("authorizer")),
        fresh(load_handler("assistants_api")),
        fresh(load_handler("campaigns_api")),
    )


@pytest.fixture
def importer(aws: dict[str, Any], import_env: dict[str, str]) -> Importer:  # noqa: F811
    return Importer(fresh(load_handler("lead_import")), import_env["IMPORT_QUEUE_URL"])


def _import(
    api: InProcessApi, t: Any, importer: Importer, data: bytes, *, chunk_rows: str
) -> tuple[str, str]:
    cid = api.post("/campaigns", t.key, campaign_body(t)).body["id"]
    created = api.post(f"/campaigns/{cid}/imports", t.key, {"filename": "leads.csv"}).body
    upload(object_key(created["upload_url"]), data)
    from dialer.settings import get_settings

    with pytest.MonkeyPatch.context() as patch:
        # Small chunks, one invocation each: the counts come from every checkpoint; the function
        # dies right after the write that ends the import (SQS delivers the message again).
        patch.setenv("IMPORT_CHUNK_ROWS", chunk_rows)
        patch.setenv("IMPORT_RESERVE_MS", "999999")
        ends = dies_after(CampaignsTable.checkpoint_import, when=lambda kwargs: kwargs["finished"])
        patch.setattr(CampaignsTable, "checkpoint_import", ends)
        patch.setattr(CampaignsTable, "fail_import", dies_after(CampaignsTable.fail_import))
        get_settings.cache_clear()
        fresh(importer.module)
        assert _run_until_empty(importer) == 1  # the one crash
    get_settings.cache_clear()
    fresh(importer.module)
    return cid, created["import_id"]


def _run_until_empty(importer: Importer) -> int:
    """Deliver the import queue's messages, a failed one again at once; returns the failures."""
    failures = 0
    for _ in range(100):
        got = importer.sqs.receive_message(
            QueueUrl=importer.queue_url, MaxNumberOfMessages=1, VisibilityTimeout=0
        ).get("Messages", [])
        if not got:
            return failures
        try:
            failed = importer.module.lambda_handler(sqs_event(got), LambdaContextStub())["batchItemFailures"]
        except (Crash, BatchProcessingError):
            failed = True
        if failed:
            failures += 1
            continue
        importer.sqs.delete_message(QueueUrl=importer.queue_url, ReceiptHandle=got[0]["ReceiptHandle"])
    raise AssertionError("the import queue never emptied")


def test_an_import_reports_its_end_once_with_its_counts(
    import_crm: Crm,
    api: InProcessApi,
    importer: Importer,
    importing_tenant: Any,
    import_env: dict[str, str],  # noqa: F811
) -> None:
    # GIVEN a file of 5 good rows, a duplicate and a bad phone, imported in chunks of 3 rows
    rows = [f"+1212555{7000 + i},Lead{i}" for i in range(5)] + ["+12125557000,Again", "not-a-phone,Bad"]
    data = ("Phone,First Name\n" + "\n".join(rows) + "\n").encode()
    t = importing_tenant
    cid, import_id = _import(api, t, importer, data, chunk_rows="3")
    view = api.get(f"/campaigns/{cid}/imports/{import_id}", t.key).body
    assert view["status"] == "completed", view
    # WHEN the import message comes again (SQS delivers at least once) after the deliverer died
    ref = ImportRef(t.tenant.tenant_id, cid, import_id)
    boto3.client("sqs").send_message(
        QueueUrl=import_env["IMPORT_QUEUE_URL"], MessageBody=continuation_message(ref)
    )
    assert _run_until_empty(importer) == 0
    import_crm.deliver_after_a_crash()
    # THEN one import.completed with the import's own counts, across every chunk
    ((_, doc),) = import_crm.received("import.completed", import_id=import_id)
    progress = view["progress"]
    assert doc["data"] == {
        "campaign_id": cid,
        "import_id": import_id,
        "status": "completed",
        "rows": progress["rows"],
        "imported": progress["imported"],
        "merged": progress["merged"],
        "rejected": progress["rejected"],
        "failure": None,
    }
    assert (doc["data"]["rows"], doc["data"]["imported"], doc["data"]["rejected"]) == (7, 5, 1)
    assert "sequence" not in doc  # not about a lead


def test_a_failed_import_reports_its_end_with_the_reason(
    import_crm: Crm, api: InProcessApi, importer: Importer, importing_tenant: Any
) -> None:
    _, import_id = _import(
        api, importing_tenant, importer, b'Phone,"Name\n+12125557100,A\n', chunk_rows="1000"
    )
    import_crm.deliver()
    ((_, doc),) = import_crm.received("import.completed", import_id=import_id)
    assert doc["data"]["status"] == "failed"
    assert "not a CSV row" in doc["data"]["failure"]
    assert doc["data"]["rows"] == 0


def test_an_import_whose_file_never_came_reports_its_end_once(
    import_crm: Crm, api: InProcessApi, importing_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialer.services.imports import UPLOAD_GRACE
    from tests.integration.campaigns.test_import_expiry import URL_SECONDS, reap

    t = importing_tenant
    cid = api.post("/campaigns", t.key, campaign_body(t)).body["id"]
    import_id = api.post(f"/campaigns/{cid}/imports", t.key, {"filename": "never.csv"}).body["import_id"]
    # WHEN the reaper fails it once its upload URL has expired (and runs again: nothing more)
    late = URL_SECONDS + UPLOAD_GRACE.total_seconds()
    reap(monkeypatch, tenant_id=t.tenant.tenant_id, seconds_later=late + 60)
    reap(monkeypatch, tenant_id=t.tenant.tenant_id, seconds_later=late + 120)
    import_crm.deliver()
    # THEN one import.completed says it failed, and why
    ((_, doc),) = import_crm.received("import.completed", import_id=import_id)
    assert doc["data"]["status"] == "failed"
    assert doc["data"]["failure"].startswith("no file was uploaded before the upload URL expired")
