"""What a webhook event costs after intake (issue 21), against moto: one conditional write per event
(the receipt on the call, no read first), and what runs after the commit (the lead's effects,
totals) works on the call as the commit left it. The removed reads' guarantees are pinned where a
condition now carries them (and in test_one_write_events.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import boto3
import pytest

from dialer import clock
from dialer.adapters.calls_table import ApplyResult, CallsTable, EventReceipt
from dialer.adapters.campaigns_table import CampaignsTable
from dialer.adapters.dialing_table import DialingTable, TenantLimits
from dialer.adapters.dispositions_table import DispositionsTable
from dialer.adapters.people_table import ContactHistory, DncTable
from dialer.adapters.totals_table import TotalsTable
from dialer.domain.calls import facts_from_event
from dialer.services.after_call import AfterCall
from dialer.services.lead_effects import CallOutcomes
from dialer.services.processing import EventProcessor
from telnyx_client.webhooks import parse_webhook
from tests.integration.conftest import TENANT
from tests.integration.test_event_processor import message_for, with_call
from tests.support.seed import Seeder
from tests.support.signing import load_fixture


class Counting:
    """A DynamoDB client that records the operations it is asked for."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.operations: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not callable(attribute) or name.startswith("_") or name in ("meta", "exceptions"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.operations.append(name)
            return attribute(*args, **kwargs)

        return call


@pytest.fixture
def counted(moto_stack) -> Counting:  # type: ignore[no-untyped-def]
    return Counting(boto3.client("dynamodb", region_name="us-east-1"))


def processor(table: str, client: Counting) -> EventProcessor:
    """The event processor as the function builds it (settler and after-call effects), every
    adapter on the counting client."""
    calls = CallsTable(table, client=client)
    campaigns = CampaignsTable(table, client=client)
    dialing = DialingTable(table, client=client)
    history = ContactHistory(table, client=client)
    after_call = AfterCall(
        table_name=table,
        calls=calls,
        campaigns=campaigns,
        dialing=dialing,
        dispositions=DispositionsTable(table, client=client),
        dnc=DncTable(table, client=client),
        history=history,
        totals=TotalsTable(table, client=client),
        defaults=TenantLimits(channel_limit=10, dials_per_second=1, dials_per_5s=5),
        clock=clock.now,
    )
    return EventProcessor(
        calls=calls,
        payloads=None,  # type: ignore[arg-type]
        settler=CallOutcomes(dialing, campaigns, history, clock.now),
        reader=calls,
        after_call=after_call,
    )


def linked_call(table: str, call_control_id: str, phone: str) -> None:
    """A campaign, a lead and its accepted attempt's call, linked as the dialer links it."""
    seed = Seeder(CampaignsTable(table))
    campaign_id = f"cmp_{call_control_id[3:]}"
    seed.campaign(TENANT, campaign_id)
    lead = seed.lead(TENANT, campaign_id, phone)
    seed.linked_call(lead, 1, call_control_id)


def event(name: str, call_control_id: str) -> dict[str, str]:
    doc = with_call(load_fixture(name), call_control_id)
    return message_for(doc)


def test_an_event_of_a_linked_open_call_costs_one_write(moto_stack, counted):
    # GIVEN a call the dialer linked to its accepted attempt
    call_id = "v3:lean-open-1"
    linked_call(moto_stack.table_name, call_id, "+13125550171")
    events = processor(moto_stack.table_name, counted)
    for name in ("call.initiated", "call.answered", "call.machine.premium.detection.ended"):
        # WHEN each event of the open call is processed with the engine's settler and effects
        counted.operations.clear()
        done = events.process(event(name, call_id)["Body"])
        # THEN it is one conditional UpdateItem of the call (its receipt on it): no read of the
        # call first (the process knows the version its last write left; the first event knows
        # there is none yet), none for the settler or the after-call effects (the write returns
        # the item), no attempt read (a linked call's attempt was accepted with the link)
        assert done.result == ApplyResult.APPLIED
        assert counted.operations == ["update_item"], name


def test_a_redelivery_changes_nothing_and_still_repairs(moto_stack, counted):
    # GIVEN an applied event
    call_id = "v3:lean-dup-1"
    linked_call(moto_stack.table_name, call_id, "+13125550172")
    events = processor(moto_stack.table_name, counted)
    message = event("call.answered", call_id)["Body"]
    assert events.process(message).result == ApplyResult.APPLIED
    version = CallsTable(moto_stack.table_name).get_call_item(TENANT, call_id)["version"]  # type: ignore[index]
    # WHEN SQS delivers it again
    counted.operations.clear()
    again = events.process(message)
    # THEN the receipts' condition refuses it (the only duplicate check), the refusal hands back
    # the call for the repair path (no read), and the call is unchanged
    assert again.result == ApplyResult.DUPLICATE
    assert counted.operations == ["update_item"]
    assert CallsTable(moto_stack.table_name).get_call_item(TENANT, call_id)["version"] == version  # type: ignore[index]


def test_totals_from_a_stale_copy_of_the_call_count_once(moto_stack):
    # GIVEN an ended, linked call, counted by its hangup's own transaction
    table = moto_stack.table_name
    call_id = "v3:lean-totals-1"
    linked_call(table, call_id, "+13125550173")
    hangup = json.loads(json.dumps(load_fixture("call.hangup")))
    hangup["data"]["payload"]["call_control_id"] = call_id
    parsed = parse_webhook(json.dumps(hangup).encode(), "application/json")
    facts = facts_from_event(parsed.event_type, parsed.event_id, parsed.occurred_at, parsed.payload)
    receipt = EventReceipt(TENANT, parsed.event_id, parsed.event_type, call_id, "", None)
    applied = CallsTable(table).apply_event(receipt, facts)
    assert applied.counted
    assert applied.counted["calls"] == 1
    assert applied.call is not None
    # WHEN an effect syncs the totals from a copy of the call taken before they were counted
    stale = {**applied.call, "totals_rev": 0}
    stale.pop("totals")
    again = TotalsTable(table).sync_call(TENANT, call_id, known=stale)
    # THEN the copy's ``totals_rev`` fails the commit's condition, the call is read, and nothing
    # more is counted
    assert again is None
    totals = TotalsTable(table).campaign_totals(TENANT, f"cmp_{call_id[3:]}")
    assert totals["calls"] == Decimal(1)


def test_a_hangup_counts_its_call_in_its_own_transaction_once(moto_stack, counted):
    # GIVEN a linked call (its attempt's record is not needed for the totals)
    table = moto_stack.table_name
    call_id = "v3:lean-hangup-1"
    linked_call(table, call_id, "+13125550174")
    events = processor(table, counted)
    assert events.process(event("call.initiated", call_id)["Body"]).result == ApplyResult.APPLIED
    counted.operations.clear()
    message = event("call.hangup", call_id)["Body"]
    # WHEN its hangup is processed, and then delivered again
    first = events.process(message)
    operations = list(counted.operations)
    again = events.process(message)
    # THEN the call is counted by the event's own transaction (no totals transaction after it),
    # once: the redelivery is a duplicate and counts nothing
    assert first.result == ApplyResult.APPLIED
    assert first.after_call == ("totals",)
    # the commit (call + counters), the attempt (with its lead and campaign: the settlement's reads)
    assert operations == ["transact_write_items", "batch_get_item"]
    assert again.result == ApplyResult.DUPLICATE
    assert again.after_call == ()
    totals = TotalsTable(table).campaign_totals(TENANT, f"cmp_{call_id[3:]}")
    assert totals["calls"] == Decimal(1)
    assert CallsTable(table).get_call_item(TENANT, call_id)["totals_rev"] == 1  # type: ignore[index]


class SyncFirstClient:
    """Lets another writer record a disposition on the call and sync its totals between this
    event's read of the call and its transaction, once (the disposition does not move the call's
    ``version``: only ``totals_rev`` tells)."""

    def __init__(self, inner: Any, table: str, call_control_id: str) -> None:
        self.inner, self.table, self.call_control_id = inner, table, call_control_id
        self.raced = False

    def transact_write_items(self, **kwargs: Any) -> Any:
        if not self.raced:
            self.raced = True
            DispositionsTable(self.table, client=self.inner).record_on_call(
                TENANT, self.call_control_id, {"disposition": "interested"}
            )
            assert TotalsTable(self.table, client=self.inner).sync_call(TENANT, self.call_control_id)
        return self.inner.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_an_event_counting_totals_from_a_read_another_sync_overtook_counts_nothing_twice(moto_stack):
    # GIVEN an ended, linked call, counted
    table = moto_stack.table_name
    call_id = "v3:lean-race-1"
    linked_call(table, call_id, "+13125550175")
    calls = CallsTable(table)
    for name in ("call.answered", "call.hangup"):
        doc = with_call(load_fixture(name), call_id)
        parsed = parse_webhook(json.dumps(doc).encode(), "application/json")
        facts = facts_from_event(parsed.event_type, parsed.event_id, parsed.occurred_at, parsed.payload)
        calls.apply_event(EventReceipt(TENANT, parsed.event_id, parsed.event_type, call_id, "", None), facts)
    # WHEN its cost report is applied while a disposition is recorded and synced between the
    # report's read of the call and its transaction
    client = SyncFirstClient(boto3.client("dynamodb", region_name="us-east-1"), table, call_id)
    doc = with_call(load_fixture("call.cost"), call_id)
    parsed = parse_webhook(json.dumps(doc).encode(), "application/json")
    facts = facts_from_event(parsed.event_type, parsed.event_id, parsed.occurred_at, parsed.payload)
    applied = CallsTable(table, client=client).apply_event(
        EventReceipt(TENANT, parsed.event_id, parsed.event_type, call_id, "", None), facts
    )
    # THEN the report's transaction was refused on ``totals_rev``, re-read and re-merged: every
    # counter counts once, and nothing is left to count
    assert client.raced
    assert applied.result == ApplyResult.APPLIED
    totals = TotalsTable(table).campaign_totals(TENANT, f"cmp_{call_id[3:]}")
    assert totals["calls"] == Decimal(1)
    assert totals["disp:interested"] == Decimal(1)
    assert "cost" in totals
    assert TotalsTable(table).sync_call(TENANT, call_id) is None


def test_an_event_that_links_its_call_counts_the_call(moto_stack, counted):
    # GIVEN an attempt Telnyx accepted but the dialer never recorded (it died after its POST)
    from telnyx_client.client_state import encode_client_state

    table = moto_stack.table_name
    call_id = "v3:lean-link-1"
    seed = Seeder(CampaignsTable(table))
    seed.campaign(TENANT, "cmp_lean_link")
    lead = seed.lead(TENANT, "cmp_lean_link", "+13125550176")
    seed.attempt(lead, 1, state="posting", posting_at="2026-11-29T14:59:30.000000Z")
    # WHEN the call's hangup is the first word of it, naming the attempt in its client_state
    doc = with_call(load_fixture("call.hangup"), call_id)
    doc["data"]["payload"]["client_state"] = encode_client_state(
        {"t": TENANT, "c": "cmp_lean_link", "l": lead.lead_id, "n": 1}
    )
    done = processor(table, counted).process(message_for(doc)["Body"])
    # THEN the event links the call to its attempt, and its totals count the call: the copy the
    # commit left was not linked, so the call is read again before the totals
    assert done.lead_effect is not None
    assert "totals" in done.after_call
    totals = TotalsTable(table).campaign_totals(TENANT, "cmp_lean_link")
    assert totals["calls"] == Decimal(1)
