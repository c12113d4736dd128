"""Inbound calls in-process: a person calls one of the tenant's numbers (the simulator places the
call, its signed ``call.*`` webhooks say ``direction: incoming``); the event processor records it
like any call and links it to the caller's lead, without touching the outbound engine."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.integration.dialing.conftest import ASSISTANT, Harness, phone

OUR_NUMBER = "+15550000100"  # a number of the simulator account (assigned to the assistant below)


def _assign_number(h: Harness) -> None:
    """The tenant's number points at the assistant's TeXML app on Telnyx (what
    ``PUT /numbers/{id}/assistant`` does), so the assistant answers calls to it."""
    account = h.sim.account()
    with account.lock:
        account.assistants[ASSISTANT] = {
            "id": ASSISTANT,
            "name": "Ava",
            "telephony_settings": {"default_texml_app_id": "texml-1"},
            "tools": [],
        }
        for number in account.phone_numbers.values():
            if number["phone_number"] == OUR_NUMBER:
                number["connection_id"] = "texml-1"


def _call_in(h: Harness, caller: str, **extra: Any) -> str:
    call = h.sim.place_inbound_call(
        h.sim.account(),
        from_=caller,
        to=OUR_NUMBER,
        webhook_url=f"{h.receiver.url}/webhooks/telnyx/{h.tenant}",
        **extra,
    )
    h.settle(20.0)
    return call.call_control_id


def _lead(h: Harness, campaign_id: str, number: str) -> dict[str, Any]:
    return next(i for i in h.leads(campaign_id) if i["phone"] == number)


def test_an_inbound_call_is_recorded_and_linked_to_the_callers_lead_without_using_its_budget(
    make_harness: Any,
) -> None:
    h = make_harness(duplicate_rate=0.3, reorder_rate=0.3)
    _assign_number(h)
    older = h.campaign(3, retry={"max_attempts": 2})
    newer_finished = h.campaign(3, status="completed")  # the same people, a finished campaign
    caller = phone(1)
    before = _lead(h, older, caller)
    stats_before = h.dialing.campaign_stats(h.tenant, older)
    # WHEN the person calls the tenant's number (webhooks duplicated and reordered)
    call_control_id = _call_in(h, caller)
    # THEN the call is recorded like an outbound one: state and outcome from its events
    call = h.calls.get_call_item(h.tenant, call_control_id)
    assert call is not None
    assert call["direction"] == "incoming"
    assert call["state"] == "ended"
    assert call["answered_at"]
    # (a sped-up call lasts milliseconds of wall time, so without AMD it classifies as unknown)
    assert call["outcome"] in ("answered_human", "unknown")
    # AND linked to the caller's lead in the most recent ACTIVE campaign (not the newer finished one)
    assert call["inbound"] is True
    assert call["lead_id"] == before["lead_id"]
    assert call["campaign_id"] == older != newer_finished
    assert "attempt_n" not in call
    # AND it is not an outbound attempt: the lead, its budget and the campaign's counters are as before
    after = _lead(h, older, caller)
    for name in ("status", "attempts", "dials", "next_attempt_at", "due_sk"):
        assert after.get(name) == before.get(name), name
    assert h.dialing.campaign_stats(h.tenant, older) == stats_before
    assert h.sim.stats()["inbound_calls"] == {caller: 1}
    assert h.sim.dials()["count"] == 0  # an inbound call is not a dial


def test_a_dnc_caller_is_answered_and_recorded_but_never_dialled(make_harness: Any) -> None:
    from dialer.services.dnc import DncService

    h = make_harness()
    _assign_number(h)
    campaign_id = h.campaign(2)
    caller = phone(0)
    DncService(h.tenant, h.dnc, actor="test").add(caller, reason="asked", source="api")
    # WHEN the listed person calls in, and the engine runs afterwards
    call_control_id = _call_in(h, caller)
    dispatcher = h.dispatcher()
    dispatcher.tick()
    h.pump_dials([h.dialer()], max_idle_rounds=2)
    h.settle(10.0)
    # THEN their call was answered and recorded, linked to their lead
    call = h.calls.get_call_item(h.tenant, call_control_id)
    assert call is not None
    assert call["state"] == "ended"
    assert call["answered_at"]
    assert call["lead_id"] == _lead(h, campaign_id, caller)["lead_id"]
    # AND no outbound call ever went to them (the other lead was dialled)
    account = h.sim.account()
    with account.lock:
        dialled = Counter(d.to for d in account.dials)
    assert caller not in dialled
    assert dialled[phone(1)] >= 1


def test_an_unknown_caller_is_recorded_without_a_lead(make_harness: Any) -> None:
    h = make_harness()
    _assign_number(h)
    call_control_id = _call_in(h, "+13125559876")
    call = h.calls.get_call_item(h.tenant, call_control_id)
    assert call is not None
    assert call["inbound"] is True
    assert call["state"] == "ended"
    assert "lead_id" not in call
