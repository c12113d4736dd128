"""Voicemail drop, in-process on moto and the simulator: the engine dials, the event processor
reacts to the machine's greeting, and the simulator's mailboxes are the ground truth of what was
said. Consented leads get the message (identity first, callback number, opt-out) and the outcome
``voicemail_left`` with its own retry; a lead whose consent does not cover a message gets none and
the reason on its call; ``hangup`` ends machine answers before the greeting is over. One run of
two campaigns (the calls take a few real seconds at this time scale)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from tests.integration.dialing.conftest import Harness

MESSAGE = "Hi {{first_name}}, we have the quote you asked for (call {{attempt_number}})."
VOICEMAIL = {
    "action": "leave_message",
    "message": MESSAGE,
    "caller_name": "Ava from Acme Insurance",
    "callback_number": "+15550000199",
}
# Mailboxes that wait 25-30 simulated seconds (2.5-3 s here) for speech after their greeting:
# room for the processor on a loaded moto; the e2e test runs at the platform's real pace.
TIME_SCALE = 0.1
SLOW_MAILBOXES = {"time_scale": TIME_SCALE, "mailbox_silence_secs": (25.0, 30.0)}


def with_reactions(h: Harness) -> None:
    """The harness's processor with the voicemail drop wired in, as the event processor does."""
    from dialer.adapters.voicemail_table import VoicemailTable
    from dialer.services.processing import EventProcessor
    from dialer.services.voicemail import VoicemailDrop

    h.processor = EventProcessor(
        calls=h.calls,
        payloads=h.processor.payloads,
        settler=h.processor.settler,
        reader=h.calls,
        reactions=VoicemailDrop(h.campaigns, VoicemailTable(h.table_name), h.telnyx.client_for, h.clock),
    )


def run_live(h: Harness, calls: int) -> None:
    """Dial ``calls`` leads once, delivering webhooks while the calls are live (as SQS would), then settle."""
    done = threading.Event()

    def pump() -> None:
        while not done.is_set():
            h.deliver_webhooks()
            done.wait(0.01)

    # Three consumers, like concurrent Lambdas on the queue (events of a call may overtake).
    pumpers = [threading.Thread(target=pump, daemon=True) for _ in range(3)]
    for pumper in pumpers:
        pumper.start()
    try:
        dispatcher, dialer = h.dispatcher(), h.dialer()
        for _ in range(10):  # a tick shares its claims between the campaigns
            dispatcher.tick()
            h.pump_dials([dialer], max_idle_rounds=1, webhooks=False)
            if len(h.sim.account().dials) >= calls:
                break
        assert h.sim.wait_idle(60)
    finally:
        done.set()
        for pumper in pumpers:
            pumper.join()
    h.settle(10.0)


def add_lead(h: Harness, campaign_id: str, phone: str, consent_type: str) -> None:
    from dialer.services.campaign_models import LeadInput
    from dialer.services.campaigns import CampaignsService
    from dialer.services.leads import LeadsService

    now = h.clock()
    service = CampaignsService(h.tenant, h.campaigns, h.management, clock=h.clock)
    lead = LeadInput.model_validate(
        {
            "phone": phone,
            "first_name": "Nora",
            "consent": {
                "type": consent_type,
                "source": "web",
                "granted_at": (now - timedelta(days=3)).isoformat(),
            },
            "dnc_scrubbed_at": (now - timedelta(days=1)).isoformat(),
        }
    )
    assert (
        LeadsService(h.tenant, h.campaigns, service, clock=h.clock).add_batch(campaign_id, [lead]).rejected
        == 0
    )


def mailboxes(h: Harness) -> dict[str, dict[str, Any]]:
    return {m["to"]: m for m in h.sim.mailboxes(h.sim.api_key)["mailboxes"]}


def test_machine_answers_get_what_their_campaign_says(
    make_harness: Any,
) -> None:
    from dialer.domain.campaigns import CampaignStatus

    # GIVEN machine answers only; three leads with written consent and one with plain express
    # consent (the campaign dials it, but a telemarketing message needs written consent)
    h = make_harness(scenario_mix={"voicemail": 1.0}, **SLOW_MAILBOXES)
    with_reactions(h)
    campaign_id = h.campaign(
        3,
        status="draft",
        voicemail=VOICEMAIL,
        consent={"accepted_types": ["express_written", "express"]},
    )
    unconsented = "+12125550199"
    add_lead(h, campaign_id, unconsented, "express")
    h.move(campaign_id, CampaignStatus.ACTIVE)
    # ... and, dialling at the same time, a campaign that hangs up on machines
    hangup_id = h.campaign(2, start=10, voicemail={"action": "hangup"})
    # WHEN the campaigns dial them all once
    run_live(h, 6)

    boxes = mailboxes(h)
    leads = {i["phone"]: i for i in h.leads(campaign_id)}
    assert len(boxes) == 6, boxes
    for lead in h.leads(hangup_id):
        # THEN the hangup campaign hung up on the detection (before any but the shortest greeting
        # ended: the race is real) and said nothing
        box = boxes[lead["phone"]]
        sim_call = h.sim.account().calls[box["call_control_id"]]
        assert f"hangup:vm-hangup:{box['call_control_id']}" in sim_call.command_ids
        if box["greeting_seconds"] > 10:
            assert not box["greeting_ended"], sim_call.events
        assert box["heard"] == []
        record = h.calls.get_call_item(h.tenant, box["call_control_id"])
        assert record is not None
        assert record["outcome"] == "voicemail"
    for phone, lead in leads.items():
        box = boxes[phone]
        call_id = box["call_control_id"]
        call = h.calls.get_call_item(h.tenant, call_id)
        assert call is not None
        if phone == unconsented:
            # THEN the unconsented lead's mailbox heard nothing, and its call says why
            assert box["heard"] == [], box
            assert call["voicemail"] == {"status": "skipped", "reason": "no_voicemail_consent"}
            assert call["outcome"] == "voicemail"
            continue
        # THEN each consented mailbox heard the whole message: identity first, the lead's name,
        # the callback number, the opt-out
        assert box["complete"], (box, call.get("voicemail"))
        (heard,) = box["heard"]
        assert heard.startswith("Hello, this is Ava from Acme Insurance."), heard
        record = h.campaigns.get_lead(h.tenant, lead["lead_id"])
        assert record is not None
        # (the call's own number: its attempt is live, so not yet in the lead's ``attempts``)
        assert f"Hi {record.lead.first_name}, we have the quote you asked for (call 1)." in heard
        assert heard.count("555 000 0199") == 2, heard  # call back, and opt out
        assert "do-not-call" in heard
        # ... the call ends as voicemail_left, and the lead waits two days before another try
        assert call["outcome"] == "voicemail_left", call
        # ... and we hung up once it was read out (not the mailbox, after its silence)
        assert f"hangup:vm-hangup:{call_id}" in h.sim.account().calls[call_id].command_ids
        assert call["voicemail"]["status"] == "left"
        assert lead["last_outcome"] == "voicemail_left"
        assert lead["next_attempt_at"] >= (h.clock() + timedelta(days=2) - timedelta(minutes=5)).isoformat()


def test_the_per_lead_cap_counts_each_call_once(make_harness: Any) -> None:
    from dialer.adapters.voicemail_table import VoicemailTable

    h = make_harness()
    marks = VoicemailTable(h.table_name)
    assert marks.claim_message(h.tenant, "lead-1", "call-a", 1)
    assert marks.claim_message(h.tenant, "lead-1", "call-a", 1)  # the same greeting, redelivered
    assert not marks.claim_message(h.tenant, "lead-1", "call-b", 1)  # a second message: refused
    assert marks.claim_message(h.tenant, "lead-2", "call-b", 1)  # another lead has its own
    assert marks.claim_message(h.tenant, "lead-1", "call-b", 2)  # the operator allows two
    # A message that never reached the mailbox gives its place back.
    marks.unclaim_message(h.tenant, "lead-1", "call-b")
    marks.unclaim_message(h.tenant, "lead-1", "call-b")
    assert marks.claim_message(h.tenant, "lead-1", "call-c", 2)
    assert not marks.claim_message(h.tenant, "lead-1", "call-d", 2)


def test_a_greeting_that_overtakes_its_detection_still_gets_the_message_once(make_harness: Any) -> None:
    """Concurrent consumers apply a call's webhooks in any order: the greeting's end, applied
    before the AMD result, is enough to leave the message; the detection applied after it (and a
    redelivered greeting) speaks nothing twice."""
    from dialer import keys
    from dialer.adapters.voicemail_table import VoicemailTable
    from dialer.domain.calls import facts_from_event
    from dialer.services.voicemail import VoicemailDrop
    from local.simulator.testing import events_for

    h = make_harness(scenario_mix={"voicemail": 1.0}, **SLOW_MAILBOXES)
    campaign_id = h.campaign(1, voicemail=VOICEMAIL)
    (lead,) = h.leads(campaign_id)
    drop = VoicemailDrop(h.campaigns, VoicemailTable(h.table_name), h.telnyx.client_for, h.clock)
    call = h.telnyx.client.calls.dial(
        {
            "connection_id": "conn-1",
            "to": lead["phone"],
            "from": "+12125550100",
            "answering_machine_detection": "premium",
            "client_state": {"t": h.tenant, "c": campaign_id, "l": lead["lead_id"], "n": 1},
        }
    )
    ccid = str(call.call_control_id)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kinds = {e["data"]["event_type"]: e for e in events_for(h.receiver, ccid)}
        if "call.machine.premium.greeting.ended" in kinds:
            break
        time.sleep(0.01)
    first = kinds["call.initiated"]["data"]["payload"]

    def item(*event_types: str) -> dict[str, Any]:
        facts = [
            f for t in event_types for f in facts_from_event(t, t, h.clock(), kinds[t]["data"]["payload"])
        ]
        stored = h.calls.get_call_item(h.tenant, ccid) or {}
        return {
            "call_control_id": ccid,
            "client_state": first["client_state"],
            "facts": {f.kind.value: f.to_item() for f in facts},
            **({"voicemail": stored["voicemail"]} if "voicemail" in stored else {}),
        }

    greeting = "call.machine.premium.greeting.ended"
    # The call item does not exist in this test's table: the drop's marks need one to land on.
    h.calls.items.put({**keys.call_key(h.tenant, ccid), "call_control_id": ccid})
    assert drop.after_event(h.tenant, greeting, item("call.answered", greeting)) == "voicemail_speaking"
    detection = "call.machine.premium.detection.ended"
    assert (
        drop.after_event(h.tenant, detection, item("call.answered", detection, greeting))
        == "voicemail_speaking"
    )
    assert h.sim.wait_idle(30)
    box = h.sim.mailboxes(h.sim.api_key)["mailboxes"][0]
    assert len(box["heard"]) == 1, box  # the repeated speak carried the same command_id
    assert box["heard"][0].startswith("Hello, this is Ava from Acme Insurance."), box
