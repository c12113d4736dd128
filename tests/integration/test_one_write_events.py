"""One write per webhook event (issue 21), against moto: the event's receipt lives on its call, the
write is conditional on the call as this process last knew it (no read first), and a refusal hands
back the stored item. Each test pins a condition that now carries what the removed read did."""

from __future__ import annotations

import json
from decimal import Decimal

import boto3
import pytest

from dialer import keys
from dialer.adapters.calls_table import ApplyResult, CallsTable, EventReceipt, KnownCalls, receipt_tag
from dialer.adapters.campaigns_table import CampaignsTable
from dialer.adapters.dispositions_table import DispositionsTable
from dialer.adapters.dynamo import DynamoItems
from dialer.adapters.totals_table import TotalsTable
from dialer.domain.calls import Fact, facts_from_event
from local.moto_dynamo import serialised_dynamodb
from telnyx_client.webhooks import parse_webhook
from tests.integration.conftest import TENANT
from tests.integration.test_event_processor import with_call
from tests.integration.test_lean_events import Counting, event, linked_call, processor
from tests.support.seed import Seeder
from tests.support.signing import load_fixture


@pytest.fixture
def counted(moto_stack) -> Counting:  # type: ignore[no-untyped-def]
    return Counting(boto3.client("dynamodb", region_name="us-east-1"))


def parsed_event(name: str, call_id: str) -> tuple[EventReceipt, list[Fact]]:
    doc = with_call(load_fixture(name), call_id)
    parsed = parse_webhook(json.dumps(doc).encode(), "application/json")
    facts = facts_from_event(parsed.event_type, parsed.event_id, parsed.occurred_at, parsed.payload)
    return EventReceipt(TENANT, parsed.event_id, parsed.event_type, call_id, "", None), facts


def campaign_calls(table: str, call_id: str) -> Decimal:
    return TotalsTable(table).campaign_totals(TENANT, f"cmp_{call_id[3:]}").get("calls", Decimal(0))


def test_a_process_that_knows_no_version_of_the_call_writes_twice_and_never_reads(moto_stack, counted):
    # GIVEN a linked call whose first event another process (its own cache) applied
    table = moto_stack.table_name
    call_id = "v3:one-write-fresh-1"
    linked_call(table, call_id, "+13125550181")
    processor(table, Counting(boto3.client("dynamodb", region_name="us-east-1"))).process(
        event("call.initiated", call_id)["Body"]
    )
    # WHEN this process applies the next one, guessing "no version yet"
    done = processor(table, counted).process(event("call.answered", call_id)["Body"])
    # THEN its guess is refused, the refusal returns the call, and the merge onto it commits:
    # two writes, no read
    assert done.result == ApplyResult.APPLIED
    assert counted.operations == ["update_item", "update_item"]
    item = CallsTable(table).get_call_item(TENANT, call_id)
    assert item is not None
    assert set(item["facts"]) == {"initiated", "answered"}
    assert item["version"] == 2
    assert len(item["receipts"]) == 2


def test_a_duplicate_in_a_process_that_knows_no_version_is_answered_by_the_refusal(moto_stack, counted):
    # GIVEN an event another process applied
    table = moto_stack.table_name
    call_id = "v3:one-write-dup-1"
    linked_call(table, call_id, "+13125550182")
    message = event("call.answered", call_id)["Body"]
    processor(table, Counting(boto3.client("dynamodb", region_name="us-east-1"))).process(message)
    # WHEN this process gets the redelivery
    again = processor(table, counted).process(message)
    # THEN the refused write's item shows the event in its receipts: a duplicate, one request
    assert again.result == ApplyResult.DUPLICATE
    assert counted.operations == ["update_item"]
    assert CallsTable(table).get_call_item(TENANT, call_id)["version"] == 1  # type: ignore[index]


def test_a_stale_guess_in_a_counting_transaction_is_refused_merged_again_and_counted_once(
    moto_stack, counted
):
    # GIVEN this process applied a linked call's first event, and another process the next one
    table = moto_stack.table_name
    call_id = "v3:one-write-stale-1"
    linked_call(table, call_id, "+13125550183")
    events = processor(table, counted)
    events.process(event("call.initiated", call_id)["Body"])
    processor(table, Counting(boto3.client("dynamodb", region_name="us-east-1"))).process(
        event("call.answered", call_id)["Body"]
    )
    # WHEN this process applies the hangup (its counters join the call's update in a transaction)
    # against its stale guess, and the hangup is then delivered again
    counted.operations.clear()
    first = events.process(event("call.hangup", call_id)["Body"])
    operations = list(counted.operations)
    again = events.process(event("call.hangup", call_id)["Body"])
    # THEN the transaction is refused, its cancellation reason carries the call, and the second
    # one (merged onto it) commits: both events applied, the call counted once, as answered
    assert first.result == ApplyResult.APPLIED
    assert operations[:2] == ["transact_write_items", "transact_write_items"]
    assert "get_item" not in operations
    assert again.result == ApplyResult.DUPLICATE
    item = CallsTable(table).get_call_item(TENANT, call_id)
    assert item is not None
    assert set(item["facts"]) >= {"initiated", "answered", "hangup"}
    assert item["version"] == 3
    totals = TotalsTable(table).campaign_totals(TENANT, f"cmp_{call_id[3:]}")
    assert totals["calls"] == Decimal(1)
    assert totals.get("connected") == Decimal(1)
    assert TotalsTable(table).sync_call(TENANT, call_id) is None


def test_a_guess_without_the_link_never_leaves_a_linked_calls_totals_to_chance(moto_stack):
    # GIVEN a call whose first event this process applied before the dialer linked it
    table = moto_stack.table_name
    call_id = "v3:one-write-link-1"
    seed = Seeder(CampaignsTable(table))
    seed.campaign(TENANT, f"cmp_{call_id[3:]}")
    lead = seed.lead(TENANT, f"cmp_{call_id[3:]}", "+13125550184")
    calls = CallsTable(table)
    assert calls.apply_event(*parsed_event("call.initiated", call_id)).result == ApplyResult.APPLIED
    assert "campaign_id" not in (calls.known.get(TENANT, call_id) or {})
    DynamoItems(table).update(  # the dialer's link: SETs its attributes, no version
        keys.call_key(TENANT, call_id),
        {"lead_id": lead.lead_id, "campaign_id": lead.campaign_id, "attempt_n": 1, "assistant_id": "asst-a"},
    )
    # WHEN the hangup is applied against the guess without the link, and delivered again
    applied = calls.apply_event(*parsed_event("call.hangup", call_id))
    again = calls.apply_event(*parsed_event("call.hangup", call_id))
    # THEN the link's condition refused the guess, and the commit on the linked call counted it in
    # its own transaction, once
    assert applied.result == ApplyResult.APPLIED
    assert applied.counted is not None
    assert applied.counted["calls"] == Decimal(1)
    assert again.result == ApplyResult.DUPLICATE
    assert campaign_calls(table, call_id) == Decimal(1)
    assert TotalsTable(table).sync_call(TENANT, call_id) is None


def test_a_counting_transaction_hands_on_the_insight_marker_as_stored(moto_stack):
    # GIVEN an ended, linked call this process knows, whose insight effects another writer has
    # since marked applied (no version, no totals moved)
    table = moto_stack.table_name
    call_id = "v3:one-write-marker-1"
    linked_call(table, call_id, "+13125550185")
    calls = CallsTable(table)
    calls.apply_event(*parsed_event("call.hangup", call_id))
    DispositionsTable(table).record_on_call(TENANT, call_id, {"insights_applied": "group:g-1"})
    # WHEN its cost report (which moves the totals: a transaction, which returns no item) is applied
    applied = calls.apply_event(*parsed_event("call.cost", call_id))
    # THEN the call it hands to the after-call effects carries the marker: they do not act again
    assert applied.result == ApplyResult.APPLIED
    assert applied.counted is not None
    assert "cost" in applied.counted
    assert applied.call is not None
    assert applied.call["insights_applied"] == "group:g-1"


def test_an_event_applied_by_the_previous_release_stays_a_duplicate(moto_stack):
    # GIVEN a call the previous release wrote: a version, no receipts on it, a receipt item for
    # its event
    table = moto_stack.table_name
    call_id = "v3:one-write-legacy-1"
    linked_call(table, call_id, "+13125550186")
    receipt, facts = parsed_event("call.answered", call_id)
    calls = CallsTable(table)
    calls.apply_event(receipt, facts)
    items = DynamoItems(table)
    stored = items.get(keys.call_key(TENANT, call_id))
    assert stored is not None
    stored.pop("receipts")
    items.put(stored)
    items.put(calls._receipt_item(receipt))
    # WHEN the event is delivered again after the upgrade (to a process of the new release: it
    # knows no version of the call), twice, and then a new event of the call arrives
    upgraded = CallsTable(table)
    first = upgraded.apply_event(receipt, facts)
    second = upgraded.apply_event(receipt, facts)
    later = upgraded.apply_event(*parsed_event("call.hangup", call_id))
    # THEN the redelivery is a duplicate (its receipt item tells), and the new event is applied and
    # recorded on the call
    assert (first.result, second.result) == (ApplyResult.DUPLICATE, ApplyResult.DUPLICATE)
    assert later.result == ApplyResult.APPLIED
    item = calls.get_call_item(TENANT, call_id)
    assert item is not None
    assert item["version"] == 2
    assert item["receipts"] == {receipt_tag(parsed_event("call.hangup", call_id)[0].event_id)}


def test_the_receipts_stay_small_and_the_cache_bounded() -> None:
    # a Telnyx event id (36 characters) is kept as 12, the same for the same id
    tag = receipt_tag("0ccc7b54-4df3-4bca-a65a-3da1ecc777f0")
    assert len(tag) == 12
    assert tag == receipt_tag("0ccc7b54-4df3-4bca-a65a-3da1ecc777f0")
    assert len({receipt_tag(f"evt-{i}") for i in range(10_000)}) == 10_000
    # a process remembers its most recently written calls, up to its size
    known = KnownCalls(size=2)
    for call in ("a", "b", "c"):
        known.put(TENANT, call, {"call_control_id": call})
    assert known.get(TENANT, "a") is None
    assert known.get(TENANT, "c") == {"call_control_id": "c"}


def test_as_many_concurrent_writers_of_one_call_as_it_has_events_all_apply(moto_stack):
    # GIVEN a linked call and a dozen distinct events of it, each delivered to a process of its own
    # (its own cache of known calls: every first guess is "no version yet"), all at once
    import threading
    import time

    from dialer.adapters.totals_table import CALL_WRITE_ATTEMPTS

    table = moto_stack.table_name
    call_id = "v3:one-write-crowd-1"
    linked_call(table, call_id, "+13125550189")
    receipt, _ = parsed_event("call.answered", call_id)
    doc = with_call(load_fixture("call.answered"), call_id)
    parsed = parse_webhook(json.dumps(doc).encode(), "application/json")
    start = threading.Barrier(CALL_WRITE_ATTEMPTS)
    results: list[object] = []
    refused: list[int] = []
    # DynamoDB's round trip (a few ms, here moto's is ~1 ms and the GIL lets a thread finish its
    # retry before the others move): writers interleave as Lambda environments do
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.meta.events.register("before-send.dynamodb.UpdateItem", lambda **_: time.sleep(0.02))

    def count_refusals(http_response, **_):  # type: ignore[no-untyped-def]
        if http_response.status_code == 400:
            refused.append(1)

    client.meta.events.register("after-call.dynamodb.UpdateItem", count_refusals)

    def deliver(n: int) -> None:
        event_id = f"evt-crowd-{n}"
        facts = facts_from_event(parsed.event_type, event_id, parsed.occurred_at, parsed.payload)
        calls = CallsTable(table, client=client, known=KnownCalls())
        mine = EventReceipt(TENANT, event_id, receipt.event_type, call_id, "", None)
        start.wait()
        try:
            results.append(calls.apply_event(mine, facts).result)
        except Exception as exc:  # the assertion below names it
            results.append(exc)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(CALL_WRITE_ATTEMPTS)]
    # moto itself is not thread-safe (CI once saw "dictionary changed size during iteration" from
    # a request crossing another): one request at a time, as DynamoDB serialises an item's
    # writes; the writers still cross between their requests
    with serialised_dynamodb():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    # WHEN each refused write retries from the call its refusal returned (many were: the writes
    # crossed)
    assert len(refused) > CALL_WRITE_ATTEMPTS
    # THEN every one applies (none is left for SQS's redelivery, 3 minutes later), once each
    assert results == [ApplyResult.APPLIED] * CALL_WRITE_ATTEMPTS, results
    item = CallsTable(table).get_call_item(TENANT, call_id)
    assert item is not None
    assert item["receipts"] == {receipt_tag(f"evt-crowd-{n}") for n in range(CALL_WRITE_ATTEMPTS)}
