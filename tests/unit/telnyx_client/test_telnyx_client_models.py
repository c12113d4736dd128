"""Request models are strict; response models are tolerant; helpers behave."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from telnyx_client.client_state import decode_client_state, encode_client_state
from telnyx_client.models.assistant_settings import TelephonySettings, VoiceSettings
from telnyx_client.models.assistants import Assistant, CreateAssistantRequest, UpdateAssistantRequest
from telnyx_client.models.calls import DialRequest
from telnyx_client.models.scheduled_events import CreateScheduledEventRequest, ScheduledEvent
from telnyx_client.models.texml import TexmlAICallRequest
from telnyx_client.retry import Deadline, RetryPolicy, parse_retry_after

BASE = {"name": "n", "instructions": "i"}


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (CreateAssistantRequest, {**BASE, "telephony_settings": {"voicemail_detecton": {}}}),
        (
            CreateAssistantRequest,
            {
                **BASE,
                "tools": [
                    {
                        "type": "webhook",
                        "webhook": {"name": "a", "description": "b", "url": "u", "timout_ms": 1},
                    }
                ],
            },
        ),
        (UpdateAssistantRequest, {"promote_to_mian": True}),
        (DialRequest, {"connection_id": "1", "to": "+1", "from": "+2", "comand_id": "x"}),
        (
            TexmlAICallRequest,
            {"From": "+1", "To": "+2", "AIAssistantId": "a", "AiAssistantDynamicVariables": {}},
        ),
        (
            CreateScheduledEventRequest,
            {
                "telnyx_conversation_channel": "phone_call",
                "telnyx_end_user_target": "+1",
                "telnyx_agent_target": "+2",
                "scheduled_at": "2026-12-01T15:00:00Z",
            },
        ),
    ],
)
def test_strict_request_models_reject_misspellings(model: Any, body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    assert any(e["type"] in ("extra_forbidden", "missing") for e in info.value.errors())


def test_unknown_tool_type_and_sdk_only_enum_are_rejected() -> None:
    with pytest.raises(ValidationError):
        CreateAssistantRequest.model_validate({**BASE, "tools": [{"type": "vision", "vision": {}}]})
    with pytest.raises(ValidationError):
        CreateAssistantRequest.model_validate({**BASE, "transcription": {"model": "soniox/stt-rt-v5"}})


def test_tool_discriminators_are_always_sent() -> None:
    body = CreateAssistantRequest.model_validate(
        {**BASE, "tools": [{"type": "hangup"}, {"type": "skip_turn"}, {"type": "send_dtmf"}]}
    ).to_wire()
    assert body["tools"] == [
        {"type": "hangup", "hangup": {}},
        {"type": "skip_turn", "skip_turn": {}},
        {"type": "send_dtmf", "send_dtmf": {}},
    ]


def test_only_set_fields_are_serialised() -> None:
    update = UpdateAssistantRequest(telephony_settings=TelephonySettings(time_limit_secs=600), greeting=None)
    # an explicit null is a choice the caller made; an untouched default is not sent
    assert update.to_wire() == {"telephony_settings": {"time_limit_secs": 600}, "greeting": None}


def test_settings_models_are_reusable_and_bounded() -> None:
    assert VoiceSettings(voice="Telnyx.NaturalHD.astra").to_wire() == {"voice": "Telnyx.NaturalHD.astra"}
    with pytest.raises(ValidationError):
        TelephonySettings(time_limit_secs=10)


def test_response_models_tolerate_unknown_keys_and_nulls() -> None:
    assistant = Assistant.model_validate(
        {
            "id": "assistant-1",
            "name": None,
            "tools": [{"type": "function", "function": {"name": "x"}, "shared": True}],
            "voice_settings": {"voice": "v", "future_knob": 3},
            "avatar_settings": {"enabled": True},
        }
    )
    assert assistant.id == "assistant-1"
    assert assistant.model_extra == {"avatar_settings": {"enabled": True}}
    event = ScheduledEvent.model_validate({"status": None, "call_attempts": [{"attempt_number": 1, "x": 1}]})
    assert event.call_attempts is not None
    assert event.call_attempts[0].attempt_number == 1


def test_texml_variables_are_coerced_or_rejected() -> None:
    ok = TexmlAICallRequest(
        from_="+1", to="+2", ai_assistant_id="a", ai_assistant_dynamic_variables={"a": 1.5}
    )
    assert ok.to_wire()["AIAssistantDynamicVariables"] == {"a": "1.5"}
    for bad in ({"a": None}, {"a": {"nested": 1}}, {"a": [1]}):
        with pytest.raises(ValidationError):
            TexmlAICallRequest(from_="+1", to="+2", ai_assistant_id="a", ai_assistant_dynamic_variables=bad)


def test_scheduled_time_must_be_timezone_aware() -> None:
    with pytest.raises(ValidationError):
        CreateScheduledEventRequest(
            telnyx_conversation_channel="phone_call",
            telnyx_end_user_target="+1",
            telnyx_agent_target="+2",
            scheduled_at_fixed_datetime=datetime(2026, 12, 1, 15, 0),
        )


def test_client_state_string_must_already_be_base64() -> None:
    assert (
        DialRequest.model_validate(
            {"connection_id": "1", "to": "+1", "from": "+2", "client_state": "eyJhIjoxfQ=="}
        ).client_state
        == "eyJhIjoxfQ=="
    )
    with pytest.raises(ValidationError):
        DialRequest.model_validate(
            {"connection_id": "1", "to": "+1", "from": "+2", "client_state": "not base64!"}
        )


@given(st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8), st.booleans())))
def test_client_state_round_trips(state: dict[str, Any]) -> None:
    encoded = encode_client_state(state)
    assert json.loads(base64.b64decode(encoded)) == state
    assert decode_client_state(encoded) == state


def test_decode_client_state_tolerates_null_and_garbage() -> None:
    assert decode_client_state(None) is None
    assert decode_client_state("%%%") is None
    assert decode_client_state(base64.b64encode(b"\xff\x00").decode()) == b"\xff\x00"


# --- retry policy ------------------------------------------------------------------------------
def test_backoff_is_full_jitter_capped_and_respects_hints() -> None:
    calls: list[tuple[float, float]] = []

    def fake_uniform(low: float, high: float) -> float:
        calls.append((low, high))
        return high / 2

    policy = RetryPolicy(base_delay=0.5, max_delay=2.0, random=fake_uniform)
    assert policy.backoff(1) == 0.25
    assert policy.backoff(4) == 1.0
    assert calls == [(0.0, 0.5), (0.0, 2.0)]
    assert policy.backoff(1, hint=3.0) == 3.0


def test_parse_retry_after_variants() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:05 GMT"}, now_wall=1445412480.0) == 5.0
    assert parse_retry_after({"x-ratelimit-reset": "12"}) == 12.0
    assert parse_retry_after({"x-ratelimit-reset": "1700000010"}, now_wall=1_700_000_000.0) == 10.0
    assert parse_retry_after({"x-ratelimit-reset": "soon"}) is None
    assert parse_retry_after({}) is None


def test_deadline_on_an_injected_clock() -> None:
    now = [10.0]
    deadline = Deadline.after(1.0, clock=lambda: now[0])
    assert deadline.remaining() == 1.0
    now[0] = 11.5
    assert deadline.expired()


def test_echoed_upstream_keys_go_only_into_objects_the_body_sends():
    from telnyx_client.models.assistants import UpdateAssistantRequest

    request = UpdateAssistantRequest.model_validate(
        {"transcription": {"model": "deepgram/flux", "language": "es"}}
    )
    wire = request.echo_upstream(
        {
            "transcription": {"fallback_models": ["deepgram/nova-3"], "language": "en"},
            "voice_settings": {"new_knob": 1},  # not in the body: must not appear as a partial block
        }
    ).to_wire()
    assert wire == {
        "transcription": {"model": "deepgram/flux", "language": "es", "fallback_models": ["deepgram/nova-3"]}
    }
    # strictness is unchanged: the caller still cannot send an unknown key
    with pytest.raises(ValidationError):
        UpdateAssistantRequest.model_validate({"transcription": {"langauge": "es"}})
