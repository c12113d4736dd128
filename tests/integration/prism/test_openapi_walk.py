"""The strict unknown-key walk itself: it must catch what Prism cannot."""

from __future__ import annotations

from typing import Any

from tests.integration.prism.openapi_walk import find_operation, unknown_body_keys


def test_walk_catches_misspelled_keys(openapi_spec: dict[str, Any]) -> None:
    # GIVEN bodies with the misspellings WIRE §10.1 says Prism accepts
    assistant = {
        "name": "x",
        "instructions": "y",
        "telephony_settings": {"voicemail_detecton": {"on_voicemail_detected": {"action": "stop_assistant"}}},
        "tools": [
            {"type": "webhook", "webhook": {"name": "a", "description": "b", "url": "u", "timout_ms": 1}}
        ],
    }
    event = {
        "telnyx_conversation_channel": "phone_call",
        "telnyx_end_user_target": "+15550000200",
        "telnyx_agent_target": "+15550000100",
        "scheduled_at": "2026-12-01T15:00:00Z",
    }
    texml = {"From": "+1", "To": "+2", "AIAssistantId": "a", "AiAssistantDynamicVariables": {"n": "5"}}
    # WHEN walked against the request schemas
    # THEN every misspelling is reported by its JSON path, and nothing else
    assert unknown_body_keys(openapi_spec, "POST", "/ai/assistants", assistant) == [
        "$.telephony_settings.voicemail_detecton",
        "$.tools[0].webhook.timout_ms",
    ]
    assert unknown_body_keys(openapi_spec, "POST", "/ai/assistants/a-1/scheduled_events", event) == [
        "$.scheduled_at"
    ]
    assert unknown_body_keys(openapi_spec, "POST", "/texml/ai_calls/123", texml) == [
        "$.AiAssistantDynamicVariables"
    ]


def test_walk_accepts_a_clean_body_and_free_form_maps(openapi_spec: dict[str, Any]) -> None:
    body = {
        "name": "x",
        "instructions": "y",
        "dynamic_variables": {"anything": "goes", "nested_ok": 1},
        "tools": [{"type": "hangup", "hangup": {}}],
    }
    assert unknown_body_keys(openapi_spec, "POST", "/ai/assistants", body) == []


def test_update_uses_the_allof_promotion_schema(openapi_spec: dict[str, Any]) -> None:
    body = {"greeting": "hi", "promote_to_main": False, "promote_to_mian": True}
    assert unknown_body_keys(openapi_spec, "POST", "/ai/assistants/a-1", body) == ["$.promote_to_mian"]


def test_literal_paths_win_over_templates(openapi_spec: dict[str, Any]) -> None:
    template, _ = find_operation(openapi_spec, "GET", "/ai/assistants/tags")
    assert template == "/ai/assistants/tags"
