"""A lead's fate is the same for any delivery order (issue 19), through the real event processor
services and the reaper on moto: random call scenarios x random delivery orders with duplicates
and delays inside the settlement grace end every lead, attempt, counter and DNC entry exactly as
in-order delivery does; the grace is bounded; a late fact corrects a lead, or only its attempt
once a retry was dialled; a disposition that ends a lead beats a pending retry."""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dialer import keys
from dialer.adapters.calls_table import CallsTable
from dialer.adapters.campaigns_table import CampaignRecord, CampaignsTable
from dialer.adapters.dialing_table import Claim, DialingTable, TenantLimits
from dialer.adapters.dispositions_table import DispositionsTable
from dialer.adapters.people_table import ContactHistory, DncTable
from dialer.adapters.totals_table import TotalsTable
from dialer.domain.campaigns import CampaignConfig, CampaignStatus, DispositionEffect
from dialer.domain.dialing import AttemptState, utc_iso
from dialer.domain.outcomes import Disposition
from dialer.services.after_call import AfterCall
from dialer.services.lead_effects import SETTLE_GRACE_SECONDS, CallOutcomes
from dialer.services.processing import EventProcessor
from dialer.services.reaper import Reaper, ReaperConfig
from tests.integration.test_event_processor import message_for
from tests.support.seed import NOW, Seeder, client_state
from tests.support.signing import load_fixture

TENANT = "ordering"  # its own tenant: the reaper passes below see only these leads
T0 = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)  # a Wednesday, 15:00 in Chicago
CALLBACK_AT = "2026-12-03T10:00:00-06:00"

# (seconds after the dial, fixture, payload fields) of each scenario's events, in the order and
# at the time Telnyx emits them. ``hangup_in_amd``: the person hung up before the AMD result, so
# no AMD result and no conversation ever come (the grace, then the reaper, settle it).
HANGUP = "call.hangup"
SCENARIOS: dict[str, list[tuple[float, str, dict[str, Any]]]] = {
    "human": [
        (0.0, "call.initiated", {}),
        (8.0, "call.answered", {}),
        (10.0, "call.machine.premium.detection.ended", {"result": "human_residence"}),
        (10.5, "call.conversation.created", {}),
        (60.0, HANGUP, {"hangup_cause": "normal_clearing", "sip_hangup_cause": "200"}),
        (60.1, "call.conversation.ended", {}),
        (65.0, "call.cost", {}),
    ],
    "voicemail": [
        (0.0, "call.initiated", {}),
        (18.0, "call.answered", {}),
        (21.0, "call.machine.premium.detection.ended", {"result": "machine"}),
        (35.0, "call.machine.premium.greeting.ended", {"result": "beep_detected"}),
        (45.0, HANGUP, {"hangup_cause": "normal_clearing", "sip_hangup_cause": "200"}),
        (50.0, "call.cost", {}),
    ],
    "no_answer": [
        (0.0, "call.initiated", {}),
        (30.0, HANGUP, {"hangup_cause": "timeout", "sip_hangup_cause": "487"}),
    ],
    "busy": [
        (0.0, "call.initiated", {}),
        (3.0, HANGUP, {"hangup_cause": "user_busy", "sip_hangup_cause": "486"}),
    ],
    "invalid": [
        (0.0, "call.initiated", {}),
        (1.0, HANGUP, {"hangup_cause": "not_found", "sip_hangup_cause": "404"}),
    ],
    "start_failed": [
        (0.0, "call.initiated", {}),
        (8.0, "call.answered", {}),
        (10.0, "call.machine.premium.detection.ended", {"result": "human_business"}),
        (10.2, "call.conversation.start_failed", {"reason": "service_error"}),
        (15.0, HANGUP, {"hangup_cause": "normal_clearing", "sip_hangup_cause": "200"}),
        (20.0, "call.cost", {}),
    ],
    "hangup_in_amd": [
        (0.0, "call.initiated", {}),
        (8.0, "call.answered", {}),
        (9.0, HANGUP, {"hangup_cause": "normal_clearing", "sip_hangup_cause": "200"}),
        (14.0, "call.cost", {}),
    ],
}
DISPOSITIONS = [None, *Disposition]


class Clock:
    """The services' "now", moved by the test (deliveries happen when the test says)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    """The event processor's services and the reaper, as the functions wire them, on one clock."""

    table: str
    clock: Clock = field(default_factory=Clock)
    counter: Iterator[int] = field(default_factory=itertools.count)
    in_order: dict[tuple[str, Disposition | None], dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        table = self.table
        self.calls = CallsTable(table)
        self.dialing = DialingTable(table)
        self.campaigns = CampaignsTable(table)
        self.dnc = DncTable(table)
        history = ContactHistory(table, keep=timedelta(days=30))
        self.seed = Seeder(self.campaigns)
        self.processor = EventProcessor(
            calls=self.calls,
            payloads=None,  # type: ignore[arg-type]  # every body is inline
            settler=CallOutcomes(self.dialing, self.campaigns, history, self.clock),
            reader=self.calls,
            after_call=AfterCall(
                table_name=table,
                calls=self.calls,
                campaigns=self.campaigns,
                dialing=self.dialing,
                dispositions=DispositionsTable(table),
                dnc=self.dnc,
                history=history,
                totals=TotalsTable(table),
                defaults=TenantLimits(channel_limit=1000, dials_per_second=30, dials_per_5s=150),
                clock=self.clock,
            ),
            clock=self.clock,
        )
        # Only the ended-call branch of the reaper runs here (every call below ends), which
        # needs neither Telnyx nor the dial queue.
        self.reaper = Reaper(
            dialing=self.dialing,
            campaigns=self.campaigns,
            calls=self.calls,
            telnyx=None,  # type: ignore[arg-type]
            jobs=None,  # type: ignore[arg-type]
            config=ReaperConfig(),
            clock=self.clock,
        )

    def dialled_lead(self, label: str, **config: Any) -> tuple[str, str, str]:
        """A fresh campaign with one lead whose first attempt Telnyx accepted, as the dialer
        leaves it: (campaign, lead, call_control_id)."""
        i = next(self.counter)
        self.clock.now = T0  # every call below is dialled then
        campaign_id = f"cmp_{label}_{i}"
        self.campaigns.put_campaign(
            CampaignRecord(
                tenant_id=TENANT,
                campaign_id=campaign_id,
                status=CampaignStatus.ACTIVE,
                config=CampaignConfig(name=campaign_id, assistant_id="asst-a", **config),
                created_at=NOW,
                updated_at=NOW,
            )
        )
        lead = self.seed.lead(TENANT, campaign_id, f"+1312{5550000 + i:07d}"[:12])
        self.dial(lead.lead_id, 1, f"v3:order-{label}-{i}")
        return campaign_id, lead.lead_id, f"v3:order-{label}-{i}"

    def dial(self, lead_id: str, n: int, call_control_id: str) -> None:
        """Claim, POST and accept attempt ``n`` through the engine's own writers (claimed ten
        minutes ago: past the reaper's claim timeout, so its passes below look at the lead)."""
        claimed = utc_iso(self.clock() - timedelta(minutes=10))
        item = self.dialing.items.get(keys.lead_key(TENANT, lead_id))
        assert item is not None
        won = self.dialing.claim(
            TENANT, [Claim(item, n, False)], now=claimed, slot_limit=100000, slot_until=1e12
        )
        assert won, "the claim was lost"
        assert (
            self.dialing.start_posting(
                TENANT, lead_id, n, now=claimed, from_state=AttemptState.CLAIMED, details={}
            )
            == "ok"
        )
        attempt = self.dialing.get_attempt(TENANT, lead_id, n)
        assert attempt is not None
        assert self.dialing.mark_accepted(attempt, call_control_id=call_control_id, now=claimed)

    def deliver(self, doc: dict[str, Any], at: datetime) -> None:
        self.clock.now = at
        self.processor.process(message_for(doc, tenant=TENANT)["Body"])

    def reap(self, at: datetime) -> None:
        self.clock.now = at
        self.reaper.reap_tenant(TENANT)

    def outcome(self, campaign_id: str, lead_id: str, call_control_id: str) -> dict[str, Any]:
        """Everything a lead's fate is: the lead, its attempts, its campaign's counters, DNC."""
        lead, attempts = self.dialing.lead_with_attempts(TENANT, lead_id)
        assert lead is not None
        call = self.calls.get_call_item(TENANT, call_control_id) or {}
        return {
            "status": lead["status"],
            "next_attempt_at": lead.get("next_attempt_at"),
            "attempts": int(lead.get("attempts") or 0),
            "result": lead.get("result"),
            "last_outcome": lead.get("last_outcome"),
            "attempt_outcomes": [(a.n, a.state.value, a.outcome, a.lead_outcome) for a in attempts],
            "call_outcome": call.get("outcome"),
            # a counter moved up and back down again is the same count as one never touched
            "stats": {k: v for k, v in self.dialing.campaign_stats(TENANT, campaign_id).items() if v},
            "dnc": self.dnc.get(TENANT, str(lead["phone"])) is not None,
        }


def events_for(
    scenario: str, disposition: Disposition | None, call_control_id: str, state: str
) -> list[tuple[float, dict[str, Any]]]:
    """The scenario's webhooks for one call, with their emission times (seconds after T0)."""
    timeline = list(SCENARIOS[scenario])
    if disposition is not None and scenario == "human":
        result = {"disposition": disposition.value, "summary": f"said {disposition.value}"}
        if disposition == Disposition.CALLBACK_REQUESTED:
            result["callback_at"] = CALLBACK_AT
        if disposition == Disposition.APPOINTMENT_SET:
            result["appointment_at"] = "2026-12-09T16:00:00-06:00"
        timeline.append(
            (
                75.0,
                "call.conversation_insights.generated",
                {"results": [{"insight_id": "i-1", "result": result}]},
            )
        )
    docs = []
    for k, (second, name, fields) in enumerate(timeline):
        doc = json.loads(json.dumps(load_fixture(name)))
        doc["data"]["id"] = f"{call_control_id}-{k}-{name}"
        doc["data"]["occurred_at"] = (T0 + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        payload = doc["data"]["payload"]
        payload.update(fields, call_control_id=call_control_id, client_state=state)
        docs.append((second, doc))
    return docs


@pytest.fixture(scope="module")
def world(moto_stack) -> World:  # type: ignore[no-untyped-def]
    return World(moto_stack.table_name)


AFTER_GRACE = timedelta(seconds=SETTLE_GRACE_SECONDS + 600)  # past the grace and the claim timeout


#: Every scenario once, and a person's answer with each conclusion an insight can reach (or none).
CASES = [(name, None) for name in sorted(SCENARIOS) if name != "human"] + [
    ("human", disposition) for disposition in DISPOSITIONS
]


@pytest.mark.parametrize(("scenario", "disposition"), CASES)
@settings(
    # Delivery orders per case (the in-order reference is computed once): one keeps CI near
    # 30 s; ``SETTLEMENT_ORDERS=20`` explores more (each costs a few seconds of moto).
    max_examples=int(os.environ.get("SETTLEMENT_ORDERS") or "1"),
    deadline=None,
    derandomize=True,
    # No shrinking: each example is a few dozen moto calls, and the drawn scenario, disposition
    # and delivery order are printed with the failure (shrinking one took minutes).
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_delivery_order_settles_the_lead_as_in_order_delivery_does(
    world: World, scenario: str, disposition: Disposition | None, data: st.DataObject
) -> None:
    # GIVEN a lead whose call plays the scenario with its webhooks once each, in order, as they
    # happen (computed once per scenario: it is the reference every order is held to)
    key = (scenario, disposition)
    if key not in world.in_order:
        campaign_id, lead_id, call_id = world.dialled_lead("inorder")
        state = client_state(TENANT, campaign_id, lead_id, 1)
        for second, doc in events_for(scenario, disposition, call_id, state):
            world.deliver(doc, T0 + timedelta(seconds=second))
        world.reap(T0 + AFTER_GRACE)
        world.in_order[key] = world.outcome(campaign_id, lead_id, call_id)
    expected = world.in_order[key]
    # WHEN another lead dialled alike gets them shuffled, some twice, each a little late
    campaign_id, lead_id, call_id = world.dialled_lead("shuffled")
    timeline = events_for(scenario, disposition, call_id, client_state(TENANT, campaign_id, lead_id, 1))
    # (a seeded shuffle, not st.permutations: Hypothesis starts permutations from the given
    # order, and each example costs a few seconds of moto; every seed here is a real shuffle)
    rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    copies = [event for event in timeline for _ in range(rng.choice((1, 1, 2)))]
    rng.shuffle(copies)
    at = T0
    for second, doc in copies:
        at = max(at, T0 + timedelta(seconds=second)) + timedelta(seconds=rng.uniform(0, 2))
        world.deliver(doc, at)
    # ... and the reaper passes once the grace is over (a lead still waiting is settled)
    world.reap(T0 + AFTER_GRACE)
    # THEN both leads, their attempts, their campaigns' counters and the DNC list agree
    got = world.outcome(campaign_id, lead_id, call_id)
    assert got == expected, (scenario, disposition)
    # ... every attempt's outcome is its call record's, and the lead is settled
    assert expected["attempt_outcomes"][0][2] == expected["call_outcome"]
    assert expected["status"] != "dialing"
    if disposition == Disposition.APPOINTMENT_SET and scenario == "human":
        assert (expected["status"], expected["next_attempt_at"]) == ("reached", None)


def test_a_lead_waits_for_a_due_fact_until_the_grace_is_over(world: World) -> None:
    # GIVEN a call that ended after an answer, with its AMD result still due
    campaign_id, lead_id, call_id = world.dialled_lead("grace")
    state = client_state(TENANT, campaign_id, lead_id, 1)
    docs = dict(
        (doc["data"]["event_type"], doc) for _, doc in events_for("hangup_in_amd", None, call_id, state)
    )
    hangup = T0 + timedelta(seconds=9)
    for name in ("call.initiated", "call.answered", HANGUP):
        world.deliver(docs[name], hangup)
    # WHEN the reaper passes just before the grace is over
    world.reap(hangup + timedelta(seconds=SETTLE_GRACE_SECONDS - 1))
    # THEN the lead still waits (its slot is free: the line is)
    assert world.outcome(campaign_id, lead_id, call_id)["status"] == "dialing"
    assert not [a for a, _ in world.dialing.held_slots(TENANT) if a.startswith(lead_id)]
    # WHEN it passes after the grace
    world.reap(hangup + timedelta(seconds=SETTLE_GRACE_SECONDS + 1))
    # THEN the lead is settled with what the call has (answered, no verdict, 1 s: unknown), and its
    # retry is due the policy's delay after the hangup, not after the reaper's pass
    got = world.outcome(campaign_id, lead_id, call_id)
    assert (got["status"], got["last_outcome"]) == ("pending", "unknown")
    assert got["next_attempt_at"] == utc_iso(hangup + timedelta(minutes=30))


def test_a_late_fact_after_the_retry_was_dialled_is_recorded_on_the_attempt_only(world: World) -> None:
    # GIVEN a person answered, but only the hangup arrived: settled after the grace as no answer,
    # and its retry already dialled
    campaign_id, lead_id, call_id = world.dialled_lead("late")
    state = client_state(TENANT, campaign_id, lead_id, 1)
    docs = dict((doc["data"]["event_type"], doc) for _, doc in events_for("human", None, call_id, state))
    for name in ("call.initiated", HANGUP):
        world.deliver(docs[name], T0 + timedelta(seconds=61))
    world.reap(T0 + AFTER_GRACE)
    assert world.outcome(campaign_id, lead_id, call_id)["status"] == "pending"
    world.clock.now = T0 + timedelta(hours=1)
    world.dial(lead_id, 2, call_id + "-retry")
    # WHEN the answer, the AMD result and the conversation arrive at last
    for name in ("call.answered", "call.machine.premium.detection.ended", "call.conversation.created"):
        world.deliver(docs[name], T0 + timedelta(hours=1, minutes=1))
    # THEN the lead keeps dialling its retry; attempt 1 records both outcomes
    got = world.outcome(campaign_id, lead_id, call_id)
    assert got["status"] == "dialing"
    assert got["attempt_outcomes"][0] == (1, "ended", "answered_human", "no_answer")
    item = world.dialing.items.get(keys.attempt_key(TENANT, lead_id, 1)) or {}
    assert [e["outcome"] for e in item["outcome_history"]] == ["answered_human"]
    assert (got["stats"]["out_answered_human"], got["stats"].get("out_no_answer")) == (1, None)


def test_a_late_fact_before_the_retry_re_settles_the_lead_once(world: World) -> None:
    # GIVEN a person answered, but only the hangup arrived: settled after the grace as no answer,
    # its retry pending
    campaign_id, lead_id, call_id = world.dialled_lead("resettle")
    state = client_state(TENANT, campaign_id, lead_id, 1)
    docs = dict((doc["data"]["event_type"], doc) for _, doc in events_for("human", None, call_id, state))
    for name in ("call.initiated", HANGUP):
        world.deliver(docs[name], T0 + timedelta(seconds=61))
    world.reap(T0 + AFTER_GRACE)
    assert world.outcome(campaign_id, lead_id, call_id)["status"] == "pending"
    # WHEN the answer arrives late, twice
    for _ in range(2):
        world.deliver(docs["call.answered"], T0 + AFTER_GRACE)
    # THEN the retry is dropped and the lead is reached, counted once under its new outcome
    got = world.outcome(campaign_id, lead_id, call_id)
    assert (got["status"], got["next_attempt_at"], got["attempts"]) == ("reached", None, 1)
    assert got["attempt_outcomes"] == [(1, "ended", "answered_human", "answered_human")]
    stats = got["stats"]
    assert (stats["st_reached"], stats.get("st_dialing"), stats["dials"]) == (1, None, 1)
    assert (stats["out_answered_human"], stats.get("out_no_answer")) == (1, None)


def test_a_campaign_overrides_what_a_disposition_does_to_its_lead(world: World) -> None:
    # GIVEN a campaign where "not interested" exhausts a lead (it is not counted as reached)
    campaign_id, lead_id, call_id = world.dialled_lead(
        "override", disposition_effects={Disposition.NOT_INTERESTED: DispositionEffect.EXHAUSTED}
    )
    state = client_state(TENANT, campaign_id, lead_id, 1)
    # WHEN a person answers and the insight concludes not_interested
    for second, doc in events_for("human", Disposition.NOT_INTERESTED, call_id, state):
        world.deliver(doc, T0 + timedelta(seconds=second))
    # THEN the lead ends as the campaign says, though the answer alone would have reached it
    got = world.outcome(campaign_id, lead_id, call_id)
    assert (got["status"], got["result"], got["last_outcome"]) == (
        "exhausted",
        "not_interested",
        "answered_human",
    )
    assert (got["stats"].get("st_reached"), got["stats"]["st_exhausted"]) == (None, 1)


@pytest.mark.parametrize("fixed", [Disposition.DO_NOT_CALL, Disposition.CALLBACK_REQUESTED])
def test_the_person_s_own_requests_cannot_be_overridden(fixed: Disposition) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="cannot be overridden"):
        CampaignConfig(name="x", disposition_effects={fixed: DispositionEffect.RETRY})


def _voicemail_with_message(world: World, label: str) -> tuple[str, str, str, dict[str, dict[str, Any]]]:
    """A machine answer we spoke our message into: its webhooks up to the greeting's end are
    applied; returns (campaign, lead, call, the hangup and speech-end webhooks, not yet applied)."""
    campaign_id, lead_id, call_id = world.dialled_lead(label)
    state = client_state(TENANT, campaign_id, lead_id, 1)
    docs = dict((doc["data"]["event_type"], doc) for _, doc in events_for("voicemail", None, call_id, state))
    for name in ("call.initiated", "call.answered", "call.machine.premium.detection.ended"):
        world.deliver(docs[name], T0 + timedelta(seconds=40))
    world.deliver(docs["call.machine.premium.greeting.ended"], T0 + timedelta(seconds=40))
    spoken = json.loads(json.dumps(docs[HANGUP]))
    spoken["data"].update(id=f"{call_id}-speak-ended", event_type="call.speak.ended")
    spoken["data"]["payload"] = {"call_control_id": call_id, "client_state": state, "status": "completed"}
    return campaign_id, lead_id, call_id, {"hangup": docs[HANGUP], "spoken": spoken}


def _apply_only(world: World, doc: dict[str, Any]) -> dict[str, Any]:
    """Apply one webhook to its call (its effects on the lead not run yet: another consumer's
    turn), as the processor's first step does; returns the call as that delivery sees it."""
    from dialer.adapters.calls_table import EventReceipt
    from dialer.domain.calls import facts_from_event

    data = doc["data"]
    at = datetime.fromisoformat(data["occurred_at"].replace("Z", "+00:00"))
    receipt = EventReceipt(
        TENANT, data["id"], data["event_type"], data["payload"]["call_control_id"], data["occurred_at"], 1
    )
    applied = world.calls.apply_event(
        receipt, facts_from_event(data["event_type"], data["id"], at, data["payload"])
    )
    assert applied.call is not None
    return dict(applied.call)


def test_a_settlement_that_lost_the_race_to_one_on_fewer_facts_re_settles_the_lead(world: World) -> None:
    # GIVEN our message was read into a mailbox, which hung up at its end: two consumers apply the
    # hangup, then the speech's end, each with the attempt as it was before either settled
    campaign_id, lead_id, call_id, docs = _voicemail_with_message(world, "race-fewer")
    effects = world.processor.settler.effects
    before = world.dialing.get_attempt(TENANT, lead_id, 1)
    assert before is not None
    world.clock.now = T0 + timedelta(seconds=50)
    seen_at_hangup = _apply_only(world, docs["hangup"])
    seen_at_speech_end = _apply_only(world, docs["spoken"])
    # WHEN the hangup's consumer settles first (voicemail: a retry a minute later), then the
    # speech end's consumer tries to settle with what it saw (a message left)
    assert effects.settle_call(before, seen_at_hangup) == "settled"
    assert world.outcome(campaign_id, lead_id, call_id)["last_outcome"] == "voicemail"
    assert effects.settle_call(before, seen_at_speech_end) == "resettled"
    # THEN the lead is where a message left puts it (its own retry rule: 2 days), counted once
    got = world.outcome(campaign_id, lead_id, call_id)
    assert (got["status"], got["last_outcome"], got["attempts"]) == ("pending", "voicemail_left", 1)
    assert got["next_attempt_at"] >= utc_iso(T0 + timedelta(days=2) - timedelta(minutes=1))


def test_a_settlement_on_fewer_facts_arriving_last_does_not_undo_the_lead(world: World) -> None:
    # GIVEN the same call, whose speech end's consumer settled it first (a message left)
    campaign_id, lead_id, call_id, docs = _voicemail_with_message(world, "race-last")
    effects = world.processor.settler.effects
    world.clock.now = T0 + timedelta(seconds=50)
    seen_at_hangup = _apply_only(world, docs["hangup"])
    seen_at_speech_end = _apply_only(world, docs["spoken"])
    before = world.dialing.get_attempt(TENANT, lead_id, 1)
    assert before is not None
    assert effects.settle_call(before, seen_at_speech_end) == "settled"
    settled = world.outcome(campaign_id, lead_id, call_id)
    # WHEN the hangup's consumer, slower, reaches the lead with its view (no message yet)
    after = world.dialing.get_attempt(TENANT, lead_id, 1)
    assert after is not None
    assert effects.settle_call(after, seen_at_hangup) is None
    # THEN nothing moves back
    assert world.outcome(campaign_id, lead_id, call_id) == settled
    assert settled["last_outcome"] == "voicemail_left"
