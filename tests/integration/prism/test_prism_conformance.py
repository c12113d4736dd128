"""Every TelnyxClient method against Prism serving Telnyx's own OpenAPI spec.

Each test drives real client methods; the ``make_client`` fixture then fails the test on any
``sl-violations`` header from Prism and on any outbound key the spec does not define.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from telnyx_client.api.calls import ALREADY_ENDED
from telnyx_client.client import TelnyxClient
from telnyx_client.errors import TelnyxAuthError, TelnyxValidationError
from telnyx_client.models.assistants import CreateAssistantRequest, UpdateAssistantRequest
from telnyx_client.models.calls import DialRequest
from telnyx_client.models.scheduled_events import CreateScheduledEventRequest
from telnyx_client.models.texml import TexmlAICallRequest
from tests.integration.prism.prism_recorder import Recorder

pytestmark = pytest.mark.prism

ASSISTANT_ID = "assistant-00000000-0000-4000-8000-000000000001"
CALL_ID = "v3:TEST-fake-call-control-id-0000000000000000000001"
CONVERSATION_ID = "00000000-0000-4000-8000-0000000000c1"
GROUP_ID = "00000000-0000-4000-8000-0000000019a1"
INSIGHT_ID = "00000000-0000-4000-8000-0000000019b1"

# WIRE §3.5 (accepted by Prism and the strict walk there), extended to all 12 tool types.
ASSISTANT_BODY: dict[str, Any] = {
    "name": "Lead qualifier (test)",
    "instructions": "You are Ava, calling {{first_name}} about their {{product_interest}} request.",
    "model": "moonshotai/Kimi-K2.6",
    "greeting": "Hi {{first_name}}, this is Ava returning your quote request. Is now a good time?",
    "enabled_features": ["telephony"],
    "dynamic_variables": {"first_name": "there", "product_interest": "quote"},
    "dynamic_variables_webhook_url": "https://example.invalid/telnyx/dynamic-variables",
    "dynamic_variables_webhook_timeout_ms": 1000,
    "tools": [
        {"type": "hangup", "hangup": {"description": "Hang up when finished or the lead asks to stop."}},
        {
            "type": "transfer",
            "transfer": {"from": "+15550000100", "targets": [{"name": "Sales desk", "to": "+15550000300"}]},
        },
        {
            "type": "webhook",
            "webhook": {
                "name": "book_callback",
                "description": "Book a callback slot.",
                "url": "https://example.invalid/tools/book_callback",
                "method": "POST",
                "timeout_ms": 3000,
                "headers": [
                    {
                        "name": "Authorization",
                        "value": "Bearer {{#integration_secret}}t{{/integration_secret}}",
                    }
                ],
                "body_parameters": {
                    "type": "object",
                    "properties": {"slot_iso": {"type": "string"}},
                    "required": ["slot_iso"],
                },
                "store_fields_as_variables": [{"name": "booking_id", "value_path": "booking.id"}],
            },
        },
        {
            "type": "client_side_tool",
            "client_side_tool": {
                "name": "show_slot",
                "description": "Show a slot in the widget.",
                "parameters": {"type": "object", "properties": {"slot": {"type": "string"}}},
            },
        },
        {"type": "retrieval", "retrieval": {"bucket_ids": ["kb-test"], "max_num_results": 3}},
        {"type": "handoff", "handoff": {"ai_assistants": [{"id": ASSISTANT_ID, "name": "Scheduler"}]}},
        {"type": "invite", "invite": {"from": "+15550000100", "targets": [{"to": "+15550000301"}]}},
        {"type": "refer", "refer": {"targets": [{"name": "PBX", "sip_address": "sip:desk@example.invalid"}]}},
        {"type": "send_dtmf", "send_dtmf": {}},
        {"type": "send_message", "send_message": {"message_template": "Your callback is booked."}},
        {"type": "skip_turn", "skip_turn": {"description": "Stay silent while the lead thinks."}},
        {"type": "pay", "pay": {"connector_name": "stripe-test", "currency": "USD"}},
    ],
    "voice_settings": {"voice": "Telnyx.NaturalHD.astra", "voice_speed": 1.0},
    "transcription": {"model": "deepgram/flux", "language": "en"},
    "telephony_settings": {
        "time_limit_secs": 600,
        "user_idle_timeout_secs": 30,
        "voicemail_detection": {
            "on_voicemail_detected": {
                "action": "leave_message_and_stop_assistant",
                "voicemail_message": {
                    "type": "message",
                    "message": "Hi, this is Ava returning your request.",
                },
            }
        },
        "recording_settings": {"enabled": True, "channels": "dual", "format": "mp3"},
    },
    "insight_settings": {"insight_group_id": GROUP_ID},
    "privacy_settings": {"data_retention": True},
    "interruption_settings": {"enable": True, "start_speaking_plan": {"wait_seconds": 0.4}},
}


def dial_request(**overrides: Any) -> DialRequest:
    """A rich dial as the dialer sends it."""
    fields: dict[str, Any] = {
        "connection_id": "1000000000000000001",
        "to": "+15550000200",
        "from": "+15550000100",
        "command_id": "attempt-0001",
        "client_state": {"lead_id": "lead_test_0001", "attempt": 1},
        "answering_machine_detection": "premium",
        "answering_machine_detection_config": {
            "total_analysis_time_millis": 5000,
            "greeting_duration_millis": 3500,
        },
        "webhook_url": "https://example.invalid/webhooks/telnyx/default",
        "custom_headers": [{"name": "X-Lead-Id", "value": "lead_test_0001"}],
        "timeout_secs": 30,
        "time_limit_secs": 900,
        "assistant": {
            "id": ASSISTANT_ID,
            "dynamic_variables": {"first_name": "Test", "attempt": 1, "vip": False},
            "tools": [
                {"type": "hangup", "hangup": {}},
                {
                    "type": "transfer",
                    "transfer": {"from": "+15550000100", "targets": [{"to": "+15550000300"}]},
                },
            ],
        },
    }
    fields.update(overrides)
    return DialRequest.model_validate(fields)


# --- assistants -----------------------------------------------------------------------------------
def test_assistant_crud_and_clone(client: TelnyxClient) -> None:
    created = client.assistants.create(CreateAssistantRequest.model_validate(ASSISTANT_BODY))
    assert created.id
    assert client.assistants.list()
    fetched = client.assistants.retrieve(
        ASSISTANT_ID, fetch_dynamic_variables_from_webhook=True, from_="+15550000100", to="+15550000200"
    )
    assert fetched.id
    updated = client.assistants.update(
        ASSISTANT_ID,
        UpdateAssistantRequest(greeting="Hello again", version_name="greeting v2"),
        promote_to_main=False,
    )
    assert updated.id
    assert client.assistants.clone(ASSISTANT_ID).id
    deleted = client.assistants.delete(ASSISTANT_ID)
    assert deleted.deleted is True


def test_assistant_versions(client: TelnyxClient) -> None:
    versions = client.assistants.versions
    assert versions.list(ASSISTANT_ID)
    assert versions.retrieve(ASSISTANT_ID, "v-1", include_mcp_servers=False).id
    assert versions.update(ASSISTANT_ID, "v-1", {"instructions": "Be brief.", "tags": ["test"]}).id
    versions.delete(ASSISTANT_ID, "v-1")
    assert versions.promote(ASSISTANT_ID, "v-1").id


def test_scheduled_events(client: TelnyxClient) -> None:
    events = client.assistants.scheduled_events
    created = events.create(
        ASSISTANT_ID,
        CreateScheduledEventRequest(
            telnyx_conversation_channel="phone_call",
            telnyx_agent_target="+15550000100",
            telnyx_end_user_target="+15550000200",
            scheduled_at_fixed_datetime=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
            dynamic_variables={"first_name": "Test", "lead_id": "lead_test_0001"},
            conversation_metadata={"lead_id": "lead_test_0001", "attempt": 1, "dnc_checked": True},
            max_retries_client_errors=2,
            retry_interval_secs=900,
            call_settings={"sip_region": "US"},
        ),
    )
    assert created.assistant_id
    page = events.list(
        ASSISTANT_ID,
        page_number=1,
        page_size=50,
        from_date=datetime(2026, 12, 1, tzinfo=UTC),
        conversation_channel="phone_call",
    )
    assert page.meta is not None
    assert list(events.iter_all(ASSISTANT_ID, page_size=100))
    assert events.retrieve(ASSISTANT_ID, "evt-1").assistant_id
    events.delete(ASSISTANT_ID, "evt-1")


# --- Call Control ---------------------------------------------------------------------------------
def test_dial_hangup_transfer_start_status(client: TelnyxClient) -> None:
    call = client.calls.dial(dial_request())
    assert call.call_control_id
    assert client.calls.hangup(CALL_ID, command_id="hangup-0001", client_state={"reason": "done"}).result
    result = client.calls.ai_assistant_start(
        CALL_ID,
        {
            "assistant": {"id": ASSISTANT_ID, "dynamic_variables": {"first_name": "Test"}},
            "greeting": "Hi, this is Ava.",
            "client_state": b"attempt-0001",
        },
    )
    assert result.result
    assert client.calls.transfer(
        CALL_ID, {"to": "+15550000300", "from": "+15550000100", "timeout_secs": 20}
    ).result
    assert client.calls.retrieve(CALL_ID).call_control_id


def test_speak_a_voicemail_message(client: TelnyxClient) -> None:
    # The voicemail drop's request, as services/voicemail.py sends it.
    assert client.calls.speak(
        CALL_ID,
        {
            "payload": "Hi, this is Ava from Acme. Please call us back at +1 555 000 0100.",
            "voice": "Telnyx.KokoroTTS.af",
            "payload_type": "text",
            "command_id": "vm-speak-0001",
            "client_state": {"t": "tenant", "vm": "speaking"},
        },
    ).result


def test_texml_ai_call(client: TelnyxClient) -> None:
    result = client.texml.ai_call(
        "1000000000000000002",
        TexmlAICallRequest(
            from_="+15550000100",
            to="+15550000200",
            ai_assistant_id=ASSISTANT_ID,
            ai_assistant_dynamic_variables={"first_name": "Test", "attempt": 1, "vip": True},
            machine_detection="Enable",
            async_amd=True,
            detection_mode="Premium",
            status_callback="https://example.invalid/webhooks/telnyx/default",
            status_callback_event="initiated ringing answered completed",
            conversation_callback="https://example.invalid/webhooks/telnyx/default",
            custom_headers=[{"name": "X-Lead-Id", "value": "lead_test_0001"}],
            timeout=30,
            time_limit=900,
        ),
    )
    assert result.call_sid


# --- conversations and insights ---------------------------------------------------------------
def test_conversations(client: TelnyxClient) -> None:
    conversations = client.conversations.list(call_control_id=CALL_ID, limit=5, order="created_at.desc")
    assert isinstance(conversations, list)
    client.conversations.list(
        assistant_id=ASSISTANT_ID, filters={"metadata->telnyx_end_user_target": "eq.+15550000200"}
    )
    assert client.conversations.retrieve(CONVERSATION_ID).id
    page = client.conversations.messages(CONVERSATION_ID, page_number=1, page_size=20)
    assert page.data
    assert list(client.conversations.iter_messages(CONVERSATION_ID, page_size=100))
    assert client.conversations.insights(CONVERSATION_ID).data


def test_insight_templates_and_groups(client: TelnyxClient) -> None:
    template = client.insight_templates.create(
        {
            "name": "disposition",
            "instructions": "Classify the outcome of the call.",
            "json_schema": {"type": "object", "properties": {"disposition": {"type": "string"}}},
        }
    )
    assert template.id
    assert client.insight_templates.list(page_number=1, page_size=20).data
    assert list(client.insight_templates.iter_all())
    group = client.insight_groups.create({"name": "outbound", "description": "Outbound call insights"})
    assert group.id
    assert client.insight_groups.list(page_size=20).data
    assert list(client.insight_groups.iter_all())
    client.insight_groups.assign(GROUP_ID, INSIGHT_ID)


# --- phone numbers ------------------------------------------------------------------------------
def test_phone_numbers(client: TelnyxClient) -> None:
    page = client.phone_numbers.list(page_number=1, page_size=50, filters={"status": "active"})
    assert page.data
    assert list(client.phone_numbers.iter_all(page_size=250))
    assert client.phone_numbers.update_connection("1293384261075731499", "1000000000000000001").id
    assert client.phone_numbers.update("1293384261075731499", {"tags": ["outbound"]}).id


def test_number_reputation(client: TelnyxClient) -> None:
    # The caller-ID health sweep's read (every page, 250 at a time) and the one-number filter.
    enterprise_id = "4a6192a4-573d-446d-b3ce-aff9117272a6"
    numbers = list(client.reputation.iter_numbers(enterprise_id))
    assert numbers
    assert numbers[0].reputation_data is not None
    assert numbers[0].reputation_data.spam_risk in ("low", "medium", "high", None)
    page = client.reputation.list_numbers(
        enterprise_id, page_number=2, page_size=10, phone_number="+15550000100"
    )
    assert page.meta is not None


# --- error shapes through Prism's Prefer header -------------------------------------------------
def test_hangup_on_ended_call_is_success(make_client: Any) -> None:
    client = make_client(headers={"Prefer": "code=422, example=call_already_ended"})
    assert client.calls.hangup(CALL_ID).result == ALREADY_ENDED


def test_errors_shape_on_call_control(make_client: Any) -> None:
    client = make_client(headers={"Prefer": "code=422, example=invalid_phone_number_format"})
    with pytest.raises(TelnyxValidationError) as info:
        client.calls.dial(dial_request())
    assert info.value.status == 422
    assert info.value.code == "10016"
    assert info.value.errors[0].source.get("pointer") == "/to"


def test_fastapi_detail_shape_on_ai_endpoint(make_client: Any) -> None:
    client = make_client(headers={"Prefer": "code=422"})
    with pytest.raises(TelnyxValidationError) as info:
        client.assistants.create(CreateAssistantRequest(name="x", instructions="y"))
    assert info.value.status == 422
    assert info.value.code is None
    assert info.value.errors
    assert info.value.errors[0].loc


def test_texml_validation_error_shape(make_client: Any) -> None:
    client = make_client(headers={"Prefer": "code=422"})
    with pytest.raises(TelnyxValidationError) as info:
        client.texml.ai_call(
            "1", TexmlAICallRequest(from_="+15550000100", to="+15550000200", ai_assistant_id="a")
        )
    assert info.value.codes


def test_wrong_auth_scheme_is_auth_error(make_client: Any) -> None:
    client = make_client(headers={"Authorization": "Basic eDp4"})
    with pytest.raises(TelnyxAuthError) as info:
        client.assistants.list()
    assert info.value.status == 401


# --- the harness itself ----------------------------------------------------------------------------
def test_harness_sees_prism_violations(prism_url: str, openapi_spec: dict[str, Any]) -> None:
    # GIVEN a recorder like the one every test above is checked with
    recorder = Recorder()
    client = TelnyxClient("KEY_FAKE", prism_url, max_retries=0, event_hooks=recorder.hooks())
    # WHEN a body the spec rejects goes out below the strict models (missing connection_id, bad enum,
    # and a misspelled key Prism itself cannot see)
    with pytest.raises(TelnyxValidationError):
        client._core.request_json(
            "POST",
            "/calls",
            retry_safe=False,
            json_body={
                "to": "+15550000200",
                "from": "+15550000100",
                "answering_machine_detection": "yes",
                "comand_id": "x",
            },
        )
    client.close()
    # THEN both the sl-violations header and the unknown-key walk report it
    problems = recorder.problems(openapi_spec)
    assert any("connection_id" in p for p in problems)
    assert any("answering_machine_detection" in p for p in problems)
    assert any("unknown key $.comand_id" in p for p in problems)


def test_harness_sees_undeclared_and_out_of_bounds_query_parameters(
    prism_url: str, openapi_spec: dict[str, Any]
) -> None:
    # GIVEN the recorder, and a list request Prism answers 200 although its query is wrong
    recorder = Recorder()
    client = TelnyxClient("KEY_FAKE", prism_url, max_retries=0, event_hooks=recorder.hooks())
    client._core.request_json(
        "GET",
        "/enterprises/4a6192a4-573d-446d-b3ce-aff9117272a6/reputation/numbers",
        retry_safe=True,
        params={"page[size]": 251, "filter[phone_number]": "+15550000100", "page[number]": "x"},
    )
    client.close()
    # THEN the query walk reports each (a filter the spec names differently, a size over its
    # maximum, a page number that is not an integer)
    problems = "\n".join(recorder.problems(openapi_spec))
    assert "query filter[phone_number]: not a parameter of this operation" in problems
    assert "query page[size]=251: above the maximum 250" in problems
    assert "query page[number]=x: not an integer" in problems
