"""The default insight group, reading insight results (objects or stringified JSON) and mapping
insight names to our fields: pure, no sockets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from dialer.domain.calls import FactKind, facts_from_event, insight_marker
from dialer.domain.insight_group import (
    InsightMapping,
    default_templates,
    invalid_fields,
    names_to_fields,
)
from dialer.domain.insights import FIELDS, conclusion
from dialer.domain.outcomes import Disposition
from telnyx_client.webhooks import parse_webhook


def test_default_templates_fill_each_field_once_with_a_structured_schema() -> None:
    templates = default_templates()
    assert [t.name for t in templates] == list(FIELDS)
    for template in templates:
        # Each answer is an object keyed by the field it fills: readable without any name lookup.
        assert template.json_schema["type"] == "object"
        assert list(template.json_schema["properties"]) == [template.name]
        assert template.instructions


def test_the_disposition_template_offers_exactly_the_canonical_dispositions() -> None:
    disposition = next(t for t in default_templates() if t.name == "disposition")
    enum = disposition.json_schema["properties"]["disposition"]["enum"]
    assert enum == [d.value for d in Disposition]
    assert set(enum) == {
        "interested",
        "not_interested",
        "callback_requested",
        "appointment_set",
        "do_not_call",
        "wrong_number",
        "voicemail_left",
        "other",
    }


def _default_results(stringified: bool) -> list[dict[str, object]]:
    answers = {
        "disposition": {"disposition": "callback_requested"},
        "callback_at": {"callback_at": "2026-12-08T15:00:00"},
        "appointment_at": {"appointment_at": None},
        "summary": {"summary": "Asked to be called back next week."},
        "sentiment": {"sentiment": "positive"},
    }
    return [
        {"insight_id": f"id-{name}", "result": json.dumps(value) if stringified else value}
        for name, value in answers.items()
    ]


@pytest.mark.parametrize("stringified", [False, True], ids=["object", "stringified"])
@pytest.mark.parametrize("with_names", [False, True], ids=["no-names", "names"])
def test_default_group_results_conclude_the_same_either_way(stringified: bool, with_names: bool) -> None:
    names = {f"id-{f}": f for f in FIELDS} if with_names else None
    assert conclusion(_default_results(stringified), names) == {
        "disposition": "callback_requested",
        "callback_at": "2026-12-08T15:00:00",
        "summary": "Asked to be called back next week.",
        "sentiment": "positive",
    }


def test_a_users_own_group_is_read_through_its_names_and_map() -> None:
    # GIVEN a tenant's group whose insights have their own names, mapped to our fields
    names = {"u-1": "Call Outcome", "u-2": "Recap", "u-3": "Mood of caller"}
    fields = {"Call Outcome": "disposition", "Mood of caller": "sentiment"}
    mapping = InsightMapping("grp-own", names, fields, source="custom")
    results = [
        {"insight_id": "u-1", "result": "Do not call"},
        {"insight_id": "u-2", "result": "They asked us to stop calling."},
        {"insight_id": "u-3", "result": '{"value": "negative"}'},
    ]
    # WHEN the map turns ids into fields ("Recap" is unmapped and not an alias: ignored)
    field_names = mapping.field_names()
    assert field_names == {"u-1": "disposition", "u-3": "sentiment"}
    # THEN free text and stringified objects fill the mapped fields
    found = conclusion(results, field_names)
    assert found["disposition"] == "do_not_call"
    assert json.loads(found["sentiment"]) == {"value": "negative"}
    assert "summary" not in found


def test_names_that_already_are_ours_need_no_map_and_bad_targets_are_named() -> None:
    assert names_to_fields({"a": "Summary", "b": "callback_time", "c": "colour"}) == {
        "a": "summary",
        "b": "callback_at",
    }
    assert invalid_fields({"x": "disposition", "y": "mood"}) == ["mood"]


def _group_webhook(result_first: bool) -> bytes:
    doc = {
        "event_type": "conversation.insights.completed",
        "conversation_id": "conv-1",
        "insight_group_id": "grp-1",
        "insight_group_name": "telnyx-ai-dialer default",
        "insights": [
            {"insight_id": "i-9", "insight_name": "disposition", "result": '{"disposition": "interested"}'}
        ],
    }
    if result_first:
        doc = dict(reversed(list(doc.items())))
    return json.dumps(doc).encode()


def test_the_group_webhook_has_one_id_per_conversation_and_group_whatever_its_bytes() -> None:
    a = parse_webhook(_group_webhook(False), "application/json")
    b = parse_webhook(_group_webhook(True), "application/json")
    assert a.event_id == b.event_id == "insights:conv-1:grp-1"
    assert a.call_control_id is None  # joined through the conversation by the processor


def test_both_channels_give_the_same_insights_fact_and_marker() -> None:
    when = datetime(2026, 11, 30, tzinfo=UTC)
    webhook = parse_webhook(_group_webhook(False), "application/json")
    [by_webhook] = facts_from_event(webhook.event_type, webhook.event_id, None, webhook.payload)
    [by_call_event] = facts_from_event(
        "call.conversation_insights.generated",
        "ev-1",
        when,
        {
            "insight_group_id": "grp-1",
            "results": [{"insight_id": "i-9", "result": {"disposition": "interested"}}],
        },
        names={"i-9": "disposition"},
    )
    assert by_webhook.kind is by_call_event.kind is FactKind.INSIGHTS
    assert by_webhook.data["disposition"] == by_call_event.data["disposition"] == "interested"
    # Applied once per group run, whichever channel's fact the call record keeps.
    assert insight_marker(by_webhook.to_item()) == insight_marker(by_call_event.to_item()) == "group:grp-1"


def test_names_passed_in_read_a_free_text_call_event_result() -> None:
    payload = {"insight_group_id": "g", "results": [{"insight_id": "i-1", "result": "Wrong number"}]}
    [without] = facts_from_event("call.conversation_insights.generated", "e", None, payload)
    [named] = facts_from_event(
        "call.conversation_insights.generated", "e", None, payload, names={"i-1": "disposition"}
    )
    assert "disposition" not in without.data
    assert named.data["disposition"] == "wrong_number"
