"""A settlement's transaction carries what must change with it and no more (issue 21): the circuit
breaker's running total rides on the campaign's ``STATS`` shard update (no ``BRK … TOTAL`` item),
and the caller ID's health count is one item of it (no request of its own), judged afterwards on
the process's view of the counters, confirmed on the stored ones before a rest. Every call still
counts once, whatever the webhooks' duplication, and a campaign counted by the previous release
keeps its baseline."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from dialer import keys
from tests.integration.dialing.conftest import CALLER_IDS, Harness

NY = dict(CALLER_IDS)["cid_ny"]


class Item:
    """One item a request touched: the request's or the transaction item's kind, its key, the
    attribute names its update expression uses and the values the request asked back."""

    def __init__(self, kind: str, body: dict[str, Any]) -> None:
        key = body.get("Key") or body.get("Item") or body
        self.kind = kind
        self.pk, self.sk = str(key["pk"]["S"]), str(key["sk"]["S"])
        self.names = set(body.get("ExpressionAttributeNames", {}).values())
        self.returns = str(body.get("ReturnValues", ""))
        self.expression = str(body.get("UpdateExpression", ""))

    @property
    def shape(self) -> tuple[str, str, str]:
        """``(Update, LEAD, ATTEMPT)`` for an update of ``T#t#LEAD#ld`` / ``ATTEMPT#0001``."""
        return self.kind, self.pk.split("#")[2], self.sk.split("#")[0]


class RequestLog:
    """Every DynamoDB request made through a client, with the items it reads or writes by key."""

    def __init__(self, client: Any) -> None:
        self.requests: list[tuple[str, list[Item]]] = []
        client.meta.events.register("provide-client-params.dynamodb.*", self._seen)

    def _seen(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        items = [
            Item(kind, body) for entry in params.get("TransactItems", []) for kind, body in entry.items()
        ]
        for request in params.get("RequestItems", {}).values():
            items.extend(Item(model.name, key) for key in request.get("Keys", []))
        if "Key" in params:
            items.append(Item(model.name, params))
        self.requests.append((model.name, items))

    def settlements(self) -> list[list[Item]]:
        """The transactions that moved a lead out of ``dialing`` (its attempt, the lead, STATS)."""
        return [
            items
            for op, items in self.requests
            if op == "TransactWriteItems"
            and {("Update", "LEAD", "ATTEMPT"), ("Update", "LEAD", "LEAD"), ("Update", "CAMPAIGN", "STATS")}
            <= {i.shape for i in items}
        ]

    def counters(self, caller_id_id: str) -> list[tuple[str, list[Item]]]:
        """The requests that read or wrote a caller ID's health counters (not the rule's item)."""
        return [(op, i) for op, i in self.requests if any(x.sk == f"N#{caller_id_id}" for x in i)]


def _run(h: Harness, rounds: int = 6) -> None:
    dispatcher = h.dispatcher(tick_seconds=1.0)
    for _ in range(rounds):
        dispatcher.tick()
        h.pump_dials([h.dialer()], max_idle_rounds=1)
        h.settle(10.0)


def _redeliver_every_webhook(h: Harness) -> int:
    """Apply every webhook the receiver ever got once more (SQS redelivering them all)."""
    with h.lock:
        h.processed = 0
    return h.deliver_webhooks()


def test_a_settled_calls_transaction_carries_the_health_count_and_no_breaker_total(
    make_harness: Any,
) -> None:
    # GIVEN a lead whose call plays out busy (a call the breaker and the number's health count)
    h: Harness = make_harness(scenario_mix={"busy": 1.0}, tool_calls=False)
    campaign_id = h.campaign(1, retry={"max_attempts": 1}, caller_ids=["cid_ny"])
    log = RequestLog(h.dialing.client)

    # WHEN it is dialled and its webhooks are applied
    _run(h, rounds=2)

    # THEN one transaction settled it: the attempt, the lead, the STATS shard (with the breaker's
    # running total on it), the two outbox events, the breaker's 10-second bucket, the number's
    # health counter and the slot given back (its lease on the attempt and the SLOTS counter); no breaker TOTAL
    # item
    [settlement] = log.settlements()
    assert Counter(i.shape[:2] for i in settlement) == Counter(
        {
            ("Update", "LEAD"): 2,
            ("Update", "CAMPAIGN"): 1,
            ("Put", "WHEVT"): 2,
            ("Update", "BRK"): 1,
            ("Update", "CIDHEALTH"): 1,
            ("Update", "DIALING"): 1,
        }
    ), [(i.shape, i.sk) for i in settlement]
    [bucket] = [i for i in settlement if "#BRK#" in i.pk]
    assert bucket.sk.startswith("S#"), bucket.sk
    [stats] = [i for i in settlement if i.sk.startswith("STATS#")]
    assert {"brk_dials", "st_dialing"} <= stats.names, stats.names
    # AND no other request touched the number's counters (a busy number with no window yet: the
    # view decides there is nothing to roll or rest)
    health = log.counters("cid_ny")
    assert [op for op, _ in health] == ["TransactWriteItems"], health
    # AND the counts landed where their readers look, once
    from dialer.adapters.breaker_counts import BreakerCounts
    from dialer.adapters.caller_id_health import CallerIdHealthTable
    from dialer.domain.circuit_breaker import DialCounts

    counts = BreakerCounts(h.dialing.ops)
    assert counts.baseline(h.tenant, campaign_id) == DialCounts(1, 0, 0)
    assert counts.window(h.tenant, campaign_id, h.clock() - timedelta(hours=1)) == DialCounts(1, 0, 0)
    assert h.dialing.items.get(keys.breaker_counts_key(h.tenant, campaign_id, "TOTAL")) is None
    assert CallerIdHealthTable(h.dialing.items).windows(h.tenant)["cid_ny"].calls == 1


def test_a_settled_call_counts_once_on_its_number_and_a_rest_is_confirmed_on_the_stored_counters(
    make_harness: Any,
) -> None:
    from dialer.adapters.caller_id_health import CallerIdHealthTable
    from dialer.domain.caller_id_health import CallerIdHealthSettings

    # GIVEN New York one call short of its 50-call window, none of its calls answered, and a pool
    # answering half of its calls; every webhook delivered twice
    h: Harness = make_harness(caller_scenarios={NY: "no_answer"}, tool_calls=False, duplicate_rate=1.0)
    table = CallerIdHealthTable(h.dialing.items)
    table.put_settings(h.tenant, CallerIdHealthSettings(window_calls=50), h.clock())
    seeded = {"cid_ny": (49, 0), "cid_fl": (100, 50), "cid_ca": (100, 50)}
    for caller_id, (calls, answered) in seeded.items():
        table.items.put(
            {
                **keys.caller_id_health_key(h.tenant, caller_id),
                "caller_id_id": caller_id,
                "prev_calls": calls,
                "prev_answered": answered,
            }
        )
    campaign_id = h.campaign(1, retry={"max_attempts": 1}, caller_ids=["cid_ny"])
    [lead] = h.leads(campaign_id)
    log = RequestLog(h.dialing.client)

    # WHEN its one call is dialled from New York and settled
    _run(h, rounds=2)

    # THEN the settlement's count completed the window, which rested the number: the view saw the
    # rest, the counters as stored (one read by key) confirmed it, and the rest transaction wrote it
    ny = h.management.get_caller_id(h.tenant, "cid_ny")
    assert ny is not None
    assert (ny.rested_by, ny.rest_reason) == (
        "health",
        "answer rate 0% over its last 50 calls, below 50% of the pool's 50% (200 calls)",
    )
    health = log.counters("cid_ny")
    assert [op for op, _ in health] == ["TransactWriteItems", "GetItem", "TransactWriteItems"], health
    assert ("Update", "CIDHEALTH") in [i.shape[:2] for i in health[0][1]]  # counted in the settlement
    assert table.windows(h.tenant)["cid_ny"].calls == 0  # the rest started a fresh window

    # WHEN SQS redelivers every webhook of the call once more
    assert _redeliver_every_webhook(h) >= 4

    # AND a second settler that read the attempt before the settlement (a race) settles it again
    from dataclasses import replace

    from dialer.domain.dialing import AttemptState
    from dialer.domain.outcomes import CallOutcome
    from dialer.services.lead_effects import LeadEffects

    _, [attempt] = h.dialing.lead_with_attempts(h.tenant, str(lead["lead_id"]))
    stale = replace(attempt, state=AttemptState.ACCEPTED, counted=False)
    call = h.dialing.items.get(keys.call_key(h.tenant, str(attempt.call_control_id)))
    settled = LeadEffects(h.dialing, h.campaigns, h.clock).call_ended(stale, CallOutcome.NO_ANSWER, call=call)

    # THEN the settled call is not counted again
    assert settled is False
    assert table.windows(h.tenant)["cid_ny"].calls == 0
    # (its transaction carried the count and was refused whole: the one request after the rest)
    assert [op for op, _ in log.counters("cid_ny")][3:] == ["TransactWriteItems"]


def test_a_baseline_counted_by_the_previous_release_is_kept_and_every_call_counts_once(
    make_harness: Any,
) -> None:
    from dialer.adapters.breaker_counts import BreakerCounts
    from dialer.domain.circuit_breaker import DialCounts
    from tests.integration.dialing.test_after_call import sim_calls

    # GIVEN a campaign whose first 40 dials the previous release counted on its TOTAL item
    h: Harness = make_harness(scenario_mix={"human": 0.5, "busy": 0.5}, tool_calls=False, duplicate_rate=0.5)
    campaign_id = h.campaign(8, retry={"max_attempts": 1})
    legacy = {
        **keys.breaker_counts_key(h.tenant, campaign_id, "TOTAL"),
        "dials": 40,
        "failed": 3,
        "answered": 25,
    }
    h.dialing.items.put(legacy)

    # WHEN this release dials its leads, with duplicated webhooks, and SQS redelivers them all
    _run(h, rounds=4)
    _redeliver_every_webhook(h)

    # THEN the baseline is the old total plus each call placed since, once
    leads = h.leads(campaign_id)
    placed = len(sim_calls(h))
    assert placed == len(leads) == 8
    answered = sum(1 for lead in leads if lead["last_outcome"] == "answered_human")
    assert 0 < answered < placed, answered
    baseline = BreakerCounts(h.dialing.ops).baseline(h.tenant, campaign_id)
    assert baseline == DialCounts(40 + placed, 3, 25 + answered), (baseline, answered)
    # AND the old total was left as it was (nothing writes it now)
    assert h.dialing.items.get(keys.breaker_counts_key(h.tenant, campaign_id, "TOTAL")) == legacy


def test_a_count_that_fills_the_current_bucket_rolls_it_on_the_views_word_and_a_stale_view_writes_nothing(
    moto_stack: Any, aws: dict[str, Any]
) -> None:
    from dialer.adapters.caller_id_health import CallerIdHealthTable, NumberCounters
    from dialer.domain.caller_id_health import HealthWindow
    from dialer.services.caller_id_health import CallerIdHealth, forget_pools

    # GIVEN a number judged over 50-call windows (the default rule), its current bucket 2 short
    table = CallerIdHealthTable.named(moto_stack.table_name)
    tenant = f"cid-{uuid.uuid4().hex[:8]}"
    key = keys.caller_id_health_key(tenant, "cid_a")
    table.items.put({**key, "caller_id_id": "cid_a", "cur_calls": 48, "cur_answered": 48})
    health = CallerIdHealth(table, lambda: datetime.now(UTC))
    forget_pools()

    def settle(calls: int = 1) -> None:
        # what a settlement does: its transaction counts the call, then the view judges it
        counts = HealthWindow(calls, calls, 0)
        assert table.ops.transact([table.count_op(tenant, "cid_a", counts)])
        health.counted(tenant, "cid_a", counts)

    def stored() -> tuple[int, int]:
        item = table.items.get(key) or {}
        return int(item.get("prev_calls") or 0), int(item.get("cur_calls") or 0)

    log = RequestLog(table.items.client)

    def requests() -> list[str]:
        """The requests made, but the rule's (its settings item, cached for seconds)."""
        return [op for op, items in log.requests if not any(i.sk == "SETTINGS" for i in items)]

    # WHEN three calls are settled on it
    for _ in range(3):
        settle()
    # THEN the second filled ``cur`` and the view rolled it to ``prev`` (one conditional update),
    # the pool was read once (after the first count: the view does not add that count again),
    # and every call counted once
    assert requests() == [
        "TransactWriteItems",
        "Query",
        "TransactWriteItems",
        "UpdateItem",
        "TransactWriteItems",
    ]
    assert stored() == (50, 1)
    assert table.number(tenant, "cid_a") == NumberCounters(HealthWindow(51, 51, 0), 1)

    # WHEN this process's view reaches 49 and another process counts the 50th call and rolls
    settle(48)
    assert table.ops.transact([table.count_op(tenant, "cid_a", HealthWindow(1, 1, 0))])
    table.roll(tenant, "cid_a", 50)
    log.requests.clear()
    # AND this process settles one more, its view (stale) saying the bucket is full
    settle()
    # THEN the roll it asks for is refused by the stored bucket (one request, nothing moved)
    assert requests() == ["TransactWriteItems", "UpdateItem"]
    assert stored() == (50, 1)
    # AND the view took the counters as stored: the next call asks for no roll
    log.requests.clear()
    settle()
    assert requests() == ["TransactWriteItems"]
