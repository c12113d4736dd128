"""An attempt's slot is given back by its settlement's own transaction (issue 21): one request
settles the lead and frees the slot (the lease on the attempt removed, the counter lowered),
atomically. A slot given back earlier (at the hangup while the lead awaits facts, a 429, the
reaper) is never given back twice: the settlement is made again without it, so the ``SLOTS``
counter always equals the slot leases that exist. A duplicate settlement changes nothing, and a
settled attempt never holds a slot.

Each test dials real calls on moto and the simulator with no webhooks (so the attempts stay
``accepted``, each holding its slot) and settles them through :class:`LeadEffects`, counting the
DynamoDB requests on the table's own client.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from dialer.adapters.dialing_table import AttemptRecord
from dialer.domain.outcomes import CallOutcome
from dialer.services.lead_effects import LeadEffects
from tests.integration.dialing.conftest import Harness
from tests.integration.dialing.test_lean_settlement import Item, RequestLog


def _held(make_harness: Any) -> tuple[Harness, AttemptRecord, AttemptRecord]:
    """Two accepted calls whose webhooks never come: two slots held, one lease each."""
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(2, retry={"max_attempts": 1})
    h.dispatcher().tick(1)
    h.pump_dials([h.dialer()], max_idle_rounds=2, webhooks=False)
    attempts = []
    for lead in h.leads(campaign_id):
        _, [attempt] = h.dialing.lead_with_attempts(h.tenant, str(lead["lead_id"]))
        attempts.append(attempt)
    a, b = attempts
    assert (a.state.value, b.state.value) == ("accepted", "accepted")
    assert _slots(h) == (2, sorted([a.attempt_id, b.attempt_id]))
    return h, a, b


def _slots(h: Harness) -> tuple[int, list[str]]:
    """The ``SLOTS`` counter and the attempts holding a lease: they must always agree."""
    return h.dialing.slots_in_use(h.tenant), sorted(attempt for attempt, _ in h.dialing.held_slots(h.tenant))


def _writes(log: RequestLog) -> list[list[Item]]:
    return [items for op, items in log.requests if op == "TransactWriteItems"]


def _lead(h: Harness, attempt: AttemptRecord) -> dict[str, Any]:
    lead, _ = h.dialing.lead_with_attempts(h.tenant, attempt.lead_id)
    assert lead is not None
    return lead


def test_a_held_slot_is_given_back_by_the_settlements_own_transaction(make_harness: Any) -> None:
    # GIVEN two accepted calls, each holding its slot
    h, a, b = _held(make_harness)
    log = RequestLog(h.dialing.client)

    # WHEN the first one's call ends and is settled
    assert LeadEffects(h.dialing, h.campaigns, h.clock).call_ended(a, CallOutcome.BUSY) is True

    # THEN one transaction wrote it all: the attempt (its lease removed with its state), the lead
    # and the counter, and no other request touched a slot
    [settlement] = _writes(log)
    keys = {(i.kind, i.sk) for i in settlement}
    assert {("Update", f"ATTEMPT#{a.n:04d}"), ("Update", "LEAD"), ("Update", "SLOTS")} <= keys, keys
    [attempt] = [i for i in settlement if i.sk.startswith("ATTEMPT#")]
    assert "REMOVE slot_until" in attempt.expression
    touched = [op for op, items in log.requests if any(i.sk.startswith("SLOT") for i in items)]
    assert touched == ["TransactWriteItems"], touched
    # AND the lead is settled, and only the other call's slot is still held
    assert _lead(h, a)["status"] != "dialing"
    assert _slots(h) == (1, [b.attempt_id])


def test_a_slot_given_back_earlier_is_not_given_back_twice(make_harness: Any) -> None:
    # GIVEN two accepted calls, the first one's slot already given back (as the hangup does while
    # its lead awaits a fact)
    h, a, b = _held(make_harness)
    assert h.dialing.release_slot(h.tenant, a.attempt_id)
    assert _slots(h) == (1, [b.attempt_id])
    log = RequestLog(h.dialing.client)

    # WHEN the first one is settled
    assert LeadEffects(h.dialing, h.campaigns, h.clock).call_ended(a, CallOutcome.BUSY) is True

    # THEN its lead is settled, by a second transaction without the counter (the first one, with
    # it, was cancelled by the missing lease alone, and the attempt read again)
    first, second = _writes(log)
    assert ("Update", "SLOTS") in {(i.kind, i.sk) for i in first}
    assert not [i for i in second if i.pk.endswith("#DIALING")], [(i.kind, i.sk) for i in second]
    [attempt] = [i for i in second if i.sk.startswith("ATTEMPT#")]
    assert "slot_until" not in attempt.expression
    assert _lead(h, a)["status"] != "dialing"
    # AND the counter was not lowered again: it still counts the other call's slot, which is held
    assert _slots(h) == (1, [b.attempt_id])


def test_a_duplicate_settlement_changes_nothing_and_whoever_ends_an_attempt_frees_its_slot(
    make_harness: Any,
) -> None:
    # GIVEN a call settled once (its slot given back with it), and another one still up
    h, a, b = _held(make_harness)
    effects = LeadEffects(h.dialing, h.campaigns, h.clock)
    assert effects.call_ended(a, CallOutcome.BUSY) is True
    lead = _lead(h, a)
    assert _slots(h) == (1, [b.attempt_id])
    log = RequestLog(h.dialing.client)

    # WHEN the settlement is applied again (a redelivery, or a second settler that read the
    # attempt while it was open), and the dialer's drop of the same attempt too
    assert effects.call_ended(a, CallOutcome.NO_ANSWER) is False
    assert effects.drop(a, ["lead_changed"]) is False

    # THEN nothing changed (the lead, the counter, the leases), one cancelled transaction each
    assert _lead(h, a) == lead
    assert _slots(h) == (1, [b.attempt_id])
    assert len(_writes(log)) == 2, [[(i.kind, i.sk) for i in w] for w in _writes(log)]

    # AND a settled attempt cannot take a slot again (it is out of the in-flight index, where the
    # reaper looks for leases whose holder died)
    assert not h.dialing.acquire_slot(h.tenant, a.attempt_id, 10, h.clock().timestamp() + 600)
    assert _slots(h) == (1, [b.attempt_id])


class _ContendedSlots:
    """DynamoDB answering every settlement that carries a slot with a transaction conflict, as a
    busy ``SLOTS`` counter does under load (moto serialises requests, so it never conflicts):
    injected on the table's own client, before the request is sent."""

    event = "before-call.dynamodb.TransactWriteItems"

    def __init__(self, client: Any) -> None:
        self.client = client
        self.refused = 0
        client.meta.events.register(self.event, self._answer)

    def close(self) -> None:
        self.client.meta.events.unregister(self.event, self._answer)

    def _answer(self, params: dict[str, Any], **_: Any) -> Any:
        items = json.loads(params["body"])["TransactItems"]
        counters = [op["Update"]["Key"]["sk"]["S"] for op in items if "Update" in op]
        if len(items) <= 2 or "SLOTS" not in counters:
            return None  # not a settlement carrying a slot: sent as it is
        self.refused += 1
        reasons = [{"Code": "TransactionConflict"} for _ in items]
        return SimpleNamespace(status_code=400, headers={}), {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": reasons,
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }


def test_a_settlement_that_keeps_conflicting_on_the_slot_settles_the_lead_all_the_same(
    make_harness: Any,
) -> None:
    # GIVEN two accepted calls, and every settlement carrying a slot refused as conflicting
    h, a, b = _held(make_harness)
    contended = _ContendedSlots(h.dialing.client)
    try:
        log = RequestLog(h.dialing.client)
        # WHEN the first one is settled
        settled = LeadEffects(h.dialing, h.campaigns, h.clock).call_ended(a, CallOutcome.BUSY)
    finally:
        contended.close()

    # THEN after its conflict retries, it settled without the counter, moving the lease to an item
    # of its own (which the reaper finds should a crash come next), and gave that back on its
    # own: the lead is not held up by the counter, and the counter still matches the leases
    assert settled is True
    assert contended.refused >= 2
    *tried, settlement, release = _writes(log)
    assert len(tried) == contended.refused
    assert [(i.kind, i.sk) for i in settlement if i.pk.endswith("#DIALING")] == [
        ("Put", f"SLOT#{a.attempt_id}")
    ]
    assert {(i.kind, i.sk) for i in release} == {("Delete", f"SLOT#{a.attempt_id}"), ("Update", "SLOTS")}
    assert _lead(h, a)["status"] != "dialing"
    assert _slots(h) == (1, [b.attempt_id])
