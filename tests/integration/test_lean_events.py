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

from dialer import clock, keys
from dialer.adapters.calls_table import ApplyResult, CallsTable, EventReceipt
from dialer.adapters.campaigns_table import CampaignsTable
from dialer.adapters.dialing_table import Claim, DialingTable, TenantLimits
from dialer.adapters.dispositions_table import DispositionsTable
from dialer.adapters.people_table import ContactHistory, DncTable
from dialer.adapters.totals_table import TotalsTable
from dialer.domain.calls import facts_from_event
from dialer.domain.dialing import AttemptState, utc_iso
from dialer.errors import TemporarilyUnavailable
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


def processor(table: str, client: Any) -> EventProcessor:
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


def dialled_call(table: str, call_control_id: str, phone: str) -> tuple[str, str]:
    """A campaign and a lead whose first attempt the engine claimed, posted and Telnyx accepted
    (the dialer's own writers): (campaign, lead)."""

    seed = Seeder(CampaignsTable(table))
    campaign_id = f"cmp_{call_control_id[3:]}"
    seed.campaign(TENANT, campaign_id)
    lead = seed.lead(TENANT, campaign_id, phone)
    dialing = DialingTable(table)
    at = utc_iso(clock.now())
    item = dialing.items.get(keys.lead_key(TENANT, lead.lead_id))
    assert item is not None
    assert dialing.claim(TENANT, [Claim(item, 1, False)], now=at, slot_limit=100000, slot_until=1e12)
    posted = dialing.start_posting(
        TENANT, lead.lead_id, 1, now=at, from_state=AttemptState.CLAIMED, details={}
    )
    assert posted == "ok"
    attempt = dialing.get_attempt(TENANT, lead.lead_id, 1)
    assert attempt is not None
    assert dialing.mark_accepted(attempt, call_control_id=call_control_id, now=at)
    return campaign_id, lead.lead_id


#: A person's answered call up to its cost report, in the order Telnyx emits them.
ANSWERED = (
    "call.initiated",
    "call.answered",
    "call.machine.premium.detection.ended",
    "call.conversation.created",
    "call.hangup",
    "call.conversation.ended",
)


def insight(call_control_id: str, disposition: str) -> dict[str, str]:
    doc = with_call(load_fixture("call.conversation_insights.generated"), call_control_id)
    doc["data"]["payload"]["results"] = [
        {"insight_id": "i-1", "result": json.dumps({"disposition": disposition, "summary": "no"})}
    ]
    return message_for(doc)


def test_an_insight_and_a_cost_report_cost_what_their_guarantees_need(moto_stack, counted):
    # GIVEN a person's call the engine dialled, settled by its events (the lead reached)
    table = moto_stack.table_name
    call_id = "v3:lean-insight-1"
    campaign_id, lead_id = dialled_call(table, call_id, "+13125550177")
    events = processor(table, counted)
    for name in ANSWERED:
        events.process(event(name, call_id)["Body"])
    # WHEN its cost report arrives
    counted.operations.clear()
    cost = events.process(event("call.cost", call_id)["Body"])
    # THEN it costs the commit (the call with its receipt, and the counters: no read first) and
    # the settler's one read of the attempt, lead and campaign; the budget check uses that
    # campaign (no GetItem)
    assert "totals" in cost.after_call
    assert counted.operations == ["transact_write_items", "batch_get_item"]
    # WHEN the insights conclude ``wrong_number`` (the campaign's map: the lead is invalid)
    counted.operations.clear()
    done = events.process(insight(call_id, "wrong_number")["Body"])
    # THEN: the call's commit (one update, no read first), the settler's batch (its campaign and
    # ended attempt are handed on: no GetItem of either), the disposition on the call, ONE lead
    # update (last disposition and result), the re-settlement, and the marker with the
    # disposition's counter
    assert "lead_wrong_number" in done.after_call
    assert counted.operations == [
        "update_item",
        "batch_get_item",
        "update_item",
        "update_item",
        "transact_write_items",
        "transact_write_items",
    ]
    lead = DialingTable(table).items.get(keys.lead_key(TENANT, lead_id))
    assert lead is not None
    assert (lead["status"], lead["result"], lead["last_disposition"]) == (
        "invalid",
        "wrong_number",
        "wrong_number",
    )
    call = CallsTable(table).get_call_item(TENANT, call_id)
    assert call is not None
    assert call["insights_applied"]
    assert call["disposition"] == "wrong_number"
    totals = TotalsTable(table).campaign_totals(TENANT, campaign_id)
    assert totals["disp:wrong_number"] == Decimal(1)
    # WHEN the insights are delivered again
    counted.operations.clear()
    again = events.process(insight(call_id, "wrong_number")["Body"])
    # THEN the call's receipts refuse them (the refusal returns the call: no read), the repair
    # path reads, and nothing is written again
    assert again.result == ApplyResult.DUPLICATE
    assert again.after_call == ()
    assert counted.operations == ["update_item", "batch_get_item"]
    assert DialingTable(table).items.get(keys.lead_key(TENANT, lead_id)) == lead
    assert CallsTable(table).get_call_item(TENANT, call_id) == call
    assert TotalsTable(table).campaign_totals(TENANT, campaign_id) == totals


class FailOnce:
    """A DynamoDB client whose ``n``-th transaction fails once as DynamoDB's own fault would."""

    def __init__(self, inner: Any, n: int) -> None:
        self.inner, self.left = inner, n

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.left -= 1
        if self.left == 0:
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "injected"}}, "TransactWriteItems"
            )
        return self.inner.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_an_insight_whose_lead_effect_failed_is_applied_by_its_redelivery(moto_stack):
    # GIVEN a settled call whose insights' re-settlement of the lead fails once (after the
    # disposition is on the call and the lead: the delivery's 1st transaction, its commit on the
    # call being an update)
    table = moto_stack.table_name
    call_id = "v3:lean-insight-2"
    campaign_id, lead_id = dialled_call(table, call_id, "+13125550178")
    events = processor(table, Counting(boto3.client("dynamodb", region_name="us-east-1")))
    for name in ANSWERED:
        events.process(event(name, call_id)["Body"])
    failing = processor(table, FailOnce(boto3.client("dynamodb", region_name="us-east-1"), 1))
    message = insight(call_id, "wrong_number")["Body"]
    with pytest.raises(TemporarilyUnavailable):  # SQS redelivers the message
        failing.process(message)
    lead = DialingTable(table).items.get(keys.lead_key(TENANT, lead_id))
    assert lead is not None
    assert (lead["status"], lead["last_disposition"]) == ("reached", "wrong_number")
    # THEN the marker is not on the call (it goes last), so SQS's redelivery applies the effect
    assert "insights_applied" not in (CallsTable(table).get_call_item(TENANT, call_id) or {})
    again = events.process(message)
    assert again.result == ApplyResult.DUPLICATE
    assert "lead_wrong_number" in again.after_call
    lead = DialingTable(table).items.get(keys.lead_key(TENANT, lead_id))
    assert lead is not None
    assert lead["status"] == "invalid"
    totals = TotalsTable(table).campaign_totals(TENANT, campaign_id)
    assert totals["disp:wrong_number"] == Decimal(1)
    assert (CallsTable(table).get_call_item(TENANT, call_id) or {}).get("insights_applied")


def test_an_insight_whose_own_delivery_settles_the_call_decides_the_lead_again(moto_stack):
    # GIVEN a call whose hangup was committed but whose settlement failed (the hangup's 2nd
    # transaction), so the lead is still dialing when the insights arrive
    table = moto_stack.table_name
    call_id = "v3:lean-insight-3"
    _, lead_id = dialled_call(table, call_id, "+13125550179")
    events = processor(table, boto3.client("dynamodb", region_name="us-east-1"))
    for name in ANSWERED[:4]:
        events.process(event(name, call_id)["Body"])
    failing = processor(table, FailOnce(boto3.client("dynamodb", region_name="us-east-1"), 2))
    with pytest.raises(TemporarilyUnavailable):
        failing.process(event("call.hangup", call_id)["Body"])
    assert (DialingTable(table).items.get(keys.lead_key(TENANT, lead_id)) or {})["status"] == "dialing"
    # WHEN the insights (``wrong_number``) are the next event: their settler settles the call
    done = events.process(insight(call_id, "wrong_number")["Body"])
    # THEN the disposition decides the lead the settlement just moved: the attempt the settler
    # changed is not handed on as it was read (accepted), it is read again (ended) and the lead
    # re-settled as the campaign's map says
    assert done.lead_effect == "settled"
    lead = DialingTable(table).items.get(keys.lead_key(TENANT, lead_id))
    assert lead is not None
    assert (lead["status"], lead["result"]) == ("invalid", "wrong_number")


def test_an_insight_after_the_call_concluded_do_not_call_stores_no_result_on_the_lead(moto_stack):
    # GIVEN a settled call that the in-call tool concluded ``do_not_call`` on (before it knew the
    # call's lead, so only the call holds it)
    from dialer.domain.outcomes import Disposition
    from dialer.services.dispositions import Dispositions

    table = moto_stack.table_name
    call_id = "v3:lean-insight-4"
    _, lead_id = dialled_call(table, call_id, "+13125550180")
    events = processor(table, boto3.client("dynamodb", region_name="us-east-1"))
    for name in ANSWERED:
        events.process(event(name, call_id)["Body"])
    tool = Dispositions(TENANT, DispositionsTable(table), DncTable(table), DialingTable(table))
    tool.record(
        Disposition.DO_NOT_CALL, call_control_id=call_id, lead_id=None, phone=None, note=None, source="tool"
    )
    # WHEN the insights conclude ``wrong_number``
    done = events.process(insight(call_id, "wrong_number")["Body"])
    # THEN the call keeps do_not_call, and the lead gets no result and no effect (the result goes
    # in the disposition's own lead update only when the call took the disposition)
    assert "lead_wrong_number" not in done.after_call
    assert (CallsTable(table).get_call_item(TENANT, call_id) or {})["disposition"] == "do_not_call"
    lead = DialingTable(table).items.get(keys.lead_key(TENANT, lead_id))
    assert lead is not None
    assert lead["status"] == "reached"
    assert "result" not in lead
