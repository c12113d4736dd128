"""A caller ID's daily cap, taken in the dial's start transaction (the real dialer on moto, the
simulator as Telnyx): the number's count for the day moves only with a start that wins (the
attempt ``claimed → posting`` while it holds its slot), so a duplicate delivery that loses, or a
job without a slot, counts nothing; a number that filled up since the dialer read the pool is
skipped for the next one in the same job; and dialers racing on threads never exceed a cap."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import boto3

from dialer import keys
from tests.integration.dialing.conftest import CALLER_IDS, Harness
from tests.integration.dialing.test_after_call import sim_calls

NUMBERS = dict(CALLER_IDS)
POOL = [c for c, _ in CALLER_IDS]


def _usage(h: Harness) -> dict[str, int]:
    """Today's count per caller ID (UTC day of the engine's clock), as stored."""
    _, usage = h.dialing.caller_pool(h.tenant, POOL, h.clock().strftime("%Y-%m-%d"))
    return usage


def _cap_pool(h: Harness, cap: int) -> None:
    for caller_id in POOL:
        record = h.management.get_caller_id(h.tenant, caller_id)
        assert record is not None
        assert h.management.put_caller_id(replace(record, daily_cap=cap), new=False)


def _one_job(h: Harness) -> Any:
    """The dial job the dispatcher queued (claimed: it holds its slot)."""
    from dialer.services.dialer import DialJob

    assert h.dispatcher(tick_seconds=1.0).tick().claimed >= 1
    [message] = h.sqs.receive_message(QueueUrl=h.dials_url, MaxNumberOfMessages=1).get("Messages", [])
    h.sqs.delete_message(QueueUrl=h.dials_url, ReceiptHandle=message["ReceiptHandle"])
    return DialJob.from_json(message["Body"])


def _usage_takes(params: dict[str, Any]) -> list[str]:
    """The caller IDs whose daily count a TransactWriteItems request takes."""
    taken = []
    for item in params.get("TransactItems", []):
        key = item.get("Update", {}).get("Key", {})
        if str(key.get("sk", {}).get("S", "")).startswith("USAGE#"):
            taken.append(str(key["pk"]["S"]).rsplit("#", 1)[-1])
    return taken


def _is_start(params: dict[str, Any]) -> bool:
    """Whether a TransactWriteItems request is an attempt's start (the attempt counts a POST)."""
    return any(
        str(item["Update"]["Key"]["sk"]["S"]).startswith("ATTEMPT#")
        and "ADD posts" in item["Update"]["UpdateExpression"]
        for item in params.get("TransactItems", [])
        if "Update" in item
    )


def test_a_delivery_that_loses_the_start_to_a_duplicate_counts_no_call_on_the_number(
    make_harness: Any,
) -> None:
    # GIVEN one claimed lead whose job is delivered twice: the second delivery starts (and dials)
    # just as the first one's start transaction is about to go
    h: Harness = make_harness()
    h.campaign(1)
    job = _one_job(h)
    first, duplicate = h.dialer(), h.dialer()
    outcomes: list[str] = []

    def duplicate_goes_first(params: dict[str, Any], **_: Any) -> None:
        if _is_start(params) and not outcomes:
            outcomes.append("racing")  # the duplicate's own start passes through here too
            outcomes[0] = duplicate.handle(job).value

    h.dialing.client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", duplicate_goes_first
    )

    # WHEN the first delivery handles it
    result = first.handle(job)

    # THEN the duplicate dialled, the first lost its start and skipped: one call placed
    assert (outcomes, result.value) == (["dialed"], "skipped")
    [call] = sim_calls(h)
    # AND the number it was placed from counts exactly that one call; no other number counts any
    assert _usage(h) == {dict(map(reversed, CALLER_IDS))[call.from_]: 1}


def test_a_number_that_filled_up_since_the_pool_was_read_is_skipped_for_the_next_in_the_same_job(
    make_harness: Any,
) -> None:
    # GIVEN two claimed leads, a pool capped at 5 calls a day each, and a dialer that read the pool
    # (everything free) just before other dialers filled New York and Florida
    h: Harness = make_harness()
    _cap_pool(h, 5)
    h.campaign(2)  # area codes 212 (New York's) and 305 (Florida's): each ranks its own first
    filled: list[bool] = []
    other = boto3.client("dynamodb")

    def others_fill_two_numbers(http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        found = parsed.get("Responses", {}).values()
        if not filled and any("#CALLERID#" in str(i["pk"]["S"]) for items in found for i in items):
            filled.append(True)
            for caller_id in ("cid_ny", "cid_fl"):
                key = keys.caller_id_usage_key(h.tenant, caller_id, h.clock().strftime("%Y-%m-%d"))
                other.put_item(
                    TableName=h.table_name,
                    Item={"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}, "used": {"N": "5"}},
                )

    starts: list[list[str]] = []
    pool_reads: list[str] = []

    def seen(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems" and _usage_takes(params):
            starts.append(_usage_takes(params))
        if model.name == "BatchGetItem" and "#CALLERID#" in str(params):
            pool_reads.append("pool")

    h.dialing.client.meta.events.register("after-call.dynamodb.BatchGetItem", others_fill_two_numbers)
    h.dialing.client.meta.events.register("provide-client-params.dynamodb.*", seen)
    dialer = h.dialer()

    # WHEN the dialer handles both jobs, one after the other
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 2
    results = h.pump_dials([dialer], workers=1, max_idle_rounds=1, webhooks=False)
    dialer_pool_reads = len(pool_reads)

    # THEN both leads were dialled, from California: the full numbers were skipped, not exceeded
    assert results == Counter({"dialed": 2}), results
    assert sorted(c.from_ for c in sim_calls(h)) == [NUMBERS["cid_ca"]] * 2
    assert _usage(h) == {"cid_ny": 5, "cid_fl": 5, "cid_ca": 2}
    # AND the first job tried its lead's own area code's number first, found it full, and took
    # California in the same job (at most the other full number between them)
    assert starts[0] in (["cid_ny"], ["cid_fl"]), starts
    assert len(starts) in (3, 4), starts
    # AND the failure made the dialer read the pool afresh: the second job tried California only
    assert starts[-2:] == [["cid_ca"], ["cid_ca"]], starts
    assert dialer_pool_reads == 2


def test_racing_dialers_never_exceed_a_numbers_daily_cap(make_harness: Any) -> None:
    # GIVEN 15 claimed leads and a pool of three numbers capped at 3 calls a day each
    h: Harness = make_harness(channel_limit=30, limits={"channel_limit": 30})
    _cap_pool(h, 3)
    campaign_id = h.campaign(15)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 15

    # WHEN three dialers (each with its own cached view of the pool) handle the jobs on six threads
    results = h.pump_dials([h.dialer() for _ in range(3)], workers=6, max_idle_rounds=1, webhooks=False)

    # THEN each number placed exactly its cap, and counts exactly the calls it placed
    placed = Counter(c.from_ for c in sim_calls(h))
    assert placed == Counter({number: 3 for number in NUMBERS.values()}), placed
    assert _usage(h) == dict.fromkeys(POOL, 3)
    # AND the other leads wait for a number, nothing counted, none dialled twice
    assert results == Counter({"dialed": 9, "dropped": 6}), results
    waiting = [i for i in h.leads(campaign_id) if i["status"] == "pending"]
    assert [i["deferred_reason"] for i in waiting] == ["no_caller_id"] * 6
    assert max(h.sim_attempts().values()) == 1


def test_a_job_without_a_slot_counts_no_call_on_the_number(make_harness: Any) -> None:
    from dialer.domain.dialing import attempt_id

    # GIVEN a claimed lead whose slot was given back (as after a 429), every channel now taken
    h: Harness = make_harness()
    h.campaign(1)
    job = _one_job(h)
    assert h.dialing.release_slot(h.tenant, attempt_id(job.lead_id, job.n))
    until = h.clock().timestamp() + 600
    for i in range(10):  # the tenant's 10 channels
        assert h.dialing.acquire_slot(h.tenant, f"other-{i}", 10, until)

    # WHEN the dialer handles its job
    result = h.dialer().handle(job)

    # THEN it comes back later, nothing dialled, and no number counts a call
    assert result.value == "requeued"
    assert not sim_calls(h)
    assert _usage(h) == {}
    attempt = h.dialing.get_attempt(h.tenant, job.lead_id, job.n)
    assert attempt is not None
    assert attempt.state == "claimed"
