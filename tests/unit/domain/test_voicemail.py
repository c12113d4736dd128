"""Voicemail drop, the pure parts: the setting, the consent rule, the message with the legal parts,
and "a message was left" as one rule whatever order the call's webhooks come in."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from dialer.domain.calls import facts_from_event, merge_facts, summarize
from dialer.domain.campaigns import CampaignConfig
from dialer.domain.dialing import next_step
from dialer.domain.outcomes import CallOutcome
from dialer.domain.voicemail import (
    MessagePurpose,
    VoicemailSetting,
    compose_message,
    consent_reason,
)
from dialer.policies.compliance import ConsentRecord, ConsentType

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
LEAVE = {
    "action": "leave_message",
    "message": "Hi {{first_name}}, your quote for {{ product }} is ready.",
    "caller_name": "Ava from Acme Insurance",
    "callback_number": "+15550000199",
}


def consent(kind: ConsentType, *, revoked: bool = False) -> ConsentRecord:
    return ConsentRecord(
        kind, "web", NOW - timedelta(days=3), revoked_at=NOW - timedelta(hours=1) if revoked else None
    )


def test_the_message_starts_with_who_calls_and_ends_with_callback_and_opt_out() -> None:
    text = compose_message(VoicemailSetting.model_validate(LEAVE), {"first_name": "Nora", "product": "home"})
    assert text == (
        "Hello, this is Ava from Acme Insurance. Hi Nora, your quote for home is ready. "
        "Please call us back at 555 000 0199. "
        "To stop these calls, call 555 000 0199 and ask to be put on our do-not-call list."
    )
    informational = VoicemailSetting.model_validate({**LEAVE, "purpose": "informational"})
    assert "do-not-call" not in compose_message(informational, {"first_name": "Nora"})
    # A variable the lead has no value for renders as nothing, never as the placeholder.
    assert "{{" not in compose_message(informational, {})


@pytest.mark.parametrize("missing", ["message", "caller_name", "callback_number"])
def test_leave_message_needs_every_part_the_law_asks_for(missing: str) -> None:
    with pytest.raises(ValidationError, match=missing):
        VoicemailSetting.model_validate({k: v for k, v in LEAVE.items() if k != missing})


def test_a_callback_number_must_be_e164_and_texml_campaigns_cannot_leave_messages() -> None:
    with pytest.raises(ValidationError, match=r"E\.164"):
        VoicemailSetting.model_validate({**LEAVE, "callback_number": "555-0199"})
    for setting in (LEAVE, {"action": "hangup"}):
        with pytest.raises(ValidationError, match="call_control"):
            CampaignConfig.model_validate({"name": "c", "dial_method": "texml_ai", "voicemail": setting})
    assert CampaignConfig.model_validate({"name": "c"}).voicemail.action == "retry"


@pytest.mark.parametrize(
    ("record", "purpose", "covered"),
    [
        (consent(ConsentType.EXPRESS_WRITTEN), MessagePurpose.TELEMARKETING, True),
        (consent(ConsentType.EXPRESS), MessagePurpose.TELEMARKETING, False),
        (consent(ConsentType.EXPRESS), MessagePurpose.INFORMATIONAL, True),
        (consent(ConsentType.EXPRESS_WRITTEN, revoked=True), MessagePurpose.INFORMATIONAL, False),
        (None, MessagePurpose.INFORMATIONAL, False),
    ],
)
def test_consent_must_cover_the_message(
    record: ConsentRecord | None, purpose: MessagePurpose, covered: bool
) -> None:
    reason = consent_reason(record, purpose, NOW)
    assert (reason is None) == covered
    if not covered:
        assert reason == "no_voicemail_consent"


def _state(doc: dict[str, object]) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def _events(hangup_state: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("call.answered", {}),
        ("call.machine.premium.detection.ended", {"result": "machine"}),
        ("call.machine.premium.greeting.ended", {"result": "beep_detected"}),
        ("call.speak.ended", {"status": "completed"}),
        ("call.hangup", {"hangup_cause": "normal_clearing", "client_state": hangup_state}),
    ]


@pytest.mark.parametrize("order", list(itertools.permutations(range(5)))[::7])
def test_a_left_message_is_voicemail_left_in_any_order(order: tuple[int, ...]) -> None:
    events = _events(_state({"t": "t", "vm": "left"}))
    facts: dict = {}
    for i in order:
        kind, payload = events[i]
        facts = merge_facts(facts, facts_from_event(kind, f"e{i}", NOW + timedelta(seconds=i), payload))
    assert summarize(facts).outcome == CallOutcome.VOICEMAIL_LEFT
    # Either webhook alone says so: the hangup we sent after the message, or speak.ended.
    without_speak = {k: v for k, v in facts.items() if k.value != "message"}
    assert summarize(without_speak).outcome == CallOutcome.VOICEMAIL_LEFT


def test_a_cut_off_message_or_a_plain_machine_is_voicemail() -> None:
    facts: dict = {}
    for i, (kind, payload) in enumerate(_events(_state({"t": "t", "vm": "speaking"}))):
        if kind == "call.speak.ended":
            payload = {"status": "call_hangup"}
        facts = merge_facts(facts, facts_from_event(kind, f"e{i}", NOW + timedelta(seconds=i), payload))
    assert summarize(facts).outcome == CallOutcome.VOICEMAIL


def test_the_assistants_voicemail_left_disposition_is_the_same_outcome() -> None:
    facts: dict = {}
    for i, (kind, payload) in enumerate(
        [
            ("call.answered", {}),
            ("call.machine.premium.detection.ended", {"result": "machine"}),
            ("call.hangup", {"hangup_cause": "normal_clearing"}),
        ]
    ):
        facts = merge_facts(facts, facts_from_event(kind, f"e{i}", NOW + timedelta(seconds=i), payload))
    assert summarize(facts).outcome == CallOutcome.VOICEMAIL
    insight = facts_from_event(
        "call.conversation_insights.generated",
        "e9",
        NOW,
        {"results": [{"insight_id": "i", "result": json.dumps({"disposition": "voicemail_left"})}]},
    )
    assert summarize(merge_facts(facts, insight)).outcome == CallOutcome.VOICEMAIL_LEFT


def test_a_left_message_waits_two_days_by_default() -> None:
    config = CampaignConfig.model_validate({"name": "c"})
    step = next_step(config, CallOutcome.VOICEMAIL_LEFT, 1)
    assert step.retry
    assert step.delay == timedelta(days=2)


def test_the_stats_count_machine_answers_with_and_without_a_message() -> None:
    from decimal import Decimal

    from dialer.domain.analytics import CALLS, figures

    counters = {CALLS: Decimal(10), "out:voicemail": Decimal(2), "out:voicemail_left": Decimal(3)}
    found = figures(counters)
    assert found.voicemail == 5
    assert found.by_outcome == {"voicemail": 2, "voicemail_left": 3}
