"""Callbacks, campaign progress and a lead's attempts (the services behind the routes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.dialing.conftest import Harness


def api(h: Harness) -> Any:
    from dialer.services.dialing_api import DialingApi

    return DialingApi(
        h.tenant,
        campaigns=h.campaigns,
        dialing=h.dialing,
        calls=h.calls,
        dnc=h.dnc,
        history=h.history,
        defaults=h.defaults,
        clock=h.clock,
    )


def test_progress_lead_history_and_a_callback_that_goes_first(make_harness: Any) -> None:
    from dialer.errors import InvalidInput
    from dialer.services.dialing_models import CallbackRequest

    h: Harness = make_harness(scenario_mix={"no_answer": 1.0})
    campaign_id = h.campaign(4, retry={"max_attempts": 3})
    dispatcher = h.dispatcher(tick_seconds=1.0)
    dispatcher.tick()
    h.pump_dials([h.dialer()], max_idle_rounds=1)
    h.settle(10.0)
    service = api(h)

    # progress: every lead dialled once, back to pending (no answer, retried in 30 min)
    progress = service.progress(campaign_id)
    assert progress.lead_count == 4
    assert progress.leads_by_state["pending"] == 4
    assert progress.dials_total == 4
    assert progress.outcomes == {"no_answer": 4}
    assert progress.in_flight == 0
    assert progress.slots_in_use == 0
    assert progress.due_now == 0
    assert progress.dials_last_minute == 4

    # the lead's history shows the attempt, its call and outcome
    lead_id = h.leads(campaign_id)[0]["lead_id"]
    detail = service.lead_detail(lead_id)
    assert detail.attempts == 1
    assert [(a.n, a.state, a.outcome, a.call_state) for a in detail.history] == [
        (1, "ended", "no_answer", "ended")
    ]

    # a callback at a lead-local time an hour from now is due then, with priority
    local = (h.clock() + timedelta(hours=1)).astimezone(__import__("zoneinfo").ZoneInfo(detail.zone))
    answer = service.callback(lead_id, CallbackRequest(at=local.replace(tzinfo=None), note="after lunch"))
    assert answer.adjusted is False
    assert answer.applies == "now"
    assert abs((answer.scheduled_at - (h.clock() + timedelta(hours=1))).total_seconds()) < 2
    item = next(i for i in h.leads(campaign_id) if i["lead_id"] == lead_id)
    assert item["due_sk"].startswith("0#")
    assert item["callback_note"] == "after lunch"

    # a callback asked for in the middle of the night moves to the next legal instant
    night = local.replace(hour=2, minute=0) + timedelta(days=1)
    moved = service.callback(lead_id, CallbackRequest(at=night))
    assert moved.adjusted is True
    assert moved.scheduled_at > night.astimezone(UTC)
    assert any(r.startswith("outside_window") for r in moved.reasons)

    # and one in the past is refused
    with pytest.raises(InvalidInput):
        service.callback(lead_id, CallbackRequest(at=datetime(2020, 1, 1, tzinfo=UTC)))


def test_a_callback_is_dialled_before_fresh_leads_and_does_not_use_the_budget(make_harness: Any) -> None:
    from dialer.services.dialing_models import CallbackRequest

    h: Harness = make_harness(scenario_mix={"no_answer": 1.0})
    campaign_id = h.campaign(3, retry={"max_attempts": 1})
    dispatcher = h.dispatcher(tick_seconds=1.0)
    dispatcher.tick()
    h.pump_dials([h.dialer()], max_idle_rounds=1)
    h.settle(10.0)
    leads = h.leads(campaign_id)
    assert {i["status"] for i in leads} == {"exhausted"}
    # an exhausted lead asks to be called back now: it is dialled although its attempts are used
    lead_id = leads[0]["lead_id"]
    api(h).callback(lead_id, CallbackRequest(at=h.clock()))
    # (booked without a kick: the dispatcher, which found its callbacks' partitions empty at the
    # first tick, reads them again once its due staleness has passed on the engine's clock)
    h.clock.offset += timedelta(seconds=dispatcher.config.due_staleness_seconds)
    assert dispatcher.tick().claimed == 1
    h.pump_dials([h.dialer()], max_idle_rounds=1)
    h.settle(10.0)
    detail = api(h).lead_detail(lead_id)
    assert [a.callback for a in detail.history] == [False, True]
    assert detail.attempts == 1  # the callback did not use the retry budget
    assert detail.status == "exhausted"


def test_a_callback_asked_for_as_its_call_settles_is_booked_on_the_lead_the_settlement_left(
    make_harness: Any,
) -> None:
    # The in-call tool's request can land as the call ends: the callback service reads the lead
    # dialing, the call settles, and the booking for a dialing lead is refused.
    from dialer.services.dialing_models import CallbackRequest

    h: Harness = make_harness(scenario_mix={"busy": 1.0})
    campaign_id = h.campaign(1, retry={"max_attempts": 1})
    h.dispatcher(tick_seconds=1.0).tick()
    lead_id = h.leads(campaign_id)[0]["lead_id"]
    service = api(h)
    reads = service.campaigns.get_lead

    def read_then_settle(tenant_id: str, lead: str) -> Any:
        seen = reads(tenant_id, lead)
        if seen is not None and seen.status == "dialing":  # the call ends and settles right now
            h.pump_dials([h.dialer()], max_idle_rounds=1)
            h.settle(10.0)
        return seen

    service.campaigns.get_lead = read_then_settle  # type: ignore[method-assign]
    at = h.clock() + timedelta(hours=1)
    # WHEN the callback is asked for while the lead reads dialing
    answer = service.callback(lead_id, CallbackRequest(at=at, note="asked on the call"))
    # THEN it is decided again on the lead the settlement left (exhausted: reopened now), not lost
    assert answer.applies == "now"
    item = next(i for i in h.leads(campaign_id) if i["lead_id"] == lead_id)
    assert (item["status"], item["callback_note"]) == ("pending", "asked on the call")
    assert item["due_sk"].startswith("0#")
    assert abs((answer.scheduled_at - at).total_seconds()) < 2


def test_a_callback_booked_between_the_settlements_read_and_its_write_is_not_lost(make_harness: Any) -> None:
    # The in-call tool's request can land just as the call settles the other way round: the
    # settlement reads the lead without a callback, the callback is booked on the lead still
    # dialing ("after the call"), then the settlement writes its decision.
    from dialer.services.dialing_models import CallbackRequest

    h: Harness = make_harness(scenario_mix={"busy": 1.0})
    campaign_id = h.campaign(1, retry={"max_attempts": 1})
    h.dispatcher(tick_seconds=1.0).tick()
    lead_id = h.leads(campaign_id)[0]["lead_id"]
    at = h.clock() + timedelta(hours=1)
    answers: list[Any] = []

    def book_before_the_settlement_writes(params: dict[str, Any], **_: Any) -> None:
        for item in params.get("TransactItems", []):
            update = item.get("Update", {})
            settles = "current_attempt = :n" in update.get("ConditionExpression", "")
            if settles and update["ExpressionAttributeValues"][":status"] != {"S": "dialing"} and not answers:
                answers.append(None)  # the booking's own transaction passes through here too
                answers[0] = api(h).callback(lead_id, CallbackRequest(at=at, note="asked on the call"))

    h.dialing.client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", book_before_the_settlement_writes
    )
    # WHEN the call ends (busy, the last attempt allowed) and settles
    h.pump_dials([h.dialer()], max_idle_rounds=1)
    h.settle(10.0)
    # THEN the booking was taken for after the call, and the settlement, refused on the lead that
    # changed under its decision, decided again with the callback: pending at its time, not
    # exhausted with a callback nobody will dial
    assert answers[0].applies == "after_call"
    item = next(i for i in h.leads(campaign_id) if i["lead_id"] == lead_id)
    assert (item["status"], item["callback_note"]) == ("pending", "asked on the call")
    assert item["due_sk"].startswith("0#")


@pytest.mark.parametrize("page", [2, 100])
def test_progress_counts_the_due_leads_and_finds_the_next_due_time_in_one_read_a_partition(
    make_harness: Any, page: int
) -> None:
    """``due_now`` and ``next_due_at`` against the lead items' own due keys, with callbacks
    (priority 0) and leads due later in the mix: one Query a partition and priority while its due
    leads fit in a page; past a page (``page=2``) the rest is counted and the head read apart."""
    from dialer.domain.dialing import utc_iso

    h: Harness = make_harness()
    campaign_id = h.campaign(40)
    now = h.clock()
    for i, lead in enumerate(h.leads(campaign_id)):
        if i % 3 == 0:  # a third wait: callbacks in i + 1 hours, others in i minutes
            priority, at = (
                (0, now + timedelta(hours=i + 1)) if i % 2 == 0 else (1, now + timedelta(minutes=i))
            )
            key = {"pk": lead["pk"], "sk": lead["sk"]}
            due_sk = f"{priority}#{utc_iso(at)}#{lead['lead_id']}"
            assert h.campaigns.ops.update(key, set_fields={"due_sk": due_sk})
    entries = [str(lead["due_sk"]).split("#") for lead in h.leads(campaign_id)]
    times = [at for _, at, _ in entries]
    expected = (sum(at <= utc_iso(now) for at in times), min(at for at in times if at > utc_iso(now)))
    assert expected[0] == 26

    queries: list[dict[str, Any]] = []
    client = h.dialing.client
    client.meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: queries.append(params)
    )
    assert h.dialing.due_summary(h.tenant, campaign_id, utc_iso(now), page=page) == expected
    if page == 100:
        assert len(queries) == 8  # 4 shards × 2 priorities, no second read of any

    # the whole progress answer: the campaign, one batch of counters, one read a due partition
    sent: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: sent.append(model.name))
    progress = api(h).progress(campaign_id)
    assert (progress.due_now, progress.next_due_at) == expected
    assert sorted(sent) == ["BatchGetItem", "GetItem", *["Query"] * 8]
