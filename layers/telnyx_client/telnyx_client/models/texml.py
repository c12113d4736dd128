"""TeXML AI call: ``POST /texml/ai_calls/{connection_id}`` (WIRE §5.1). PascalCase on the wire."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from telnyx_client.models._base import RequestModel, ResponseModel
from telnyx_client.models._coerce import string_variables


class TexmlCustomHeader(RequestModel):
    """A custom SIP header on the TeXML call."""

    name: str
    value: str


class TexmlAICallRequest(RequestModel):
    """Body of a TeXML AI call. Python names are snake_case; the wire names are PascalCase aliases.

    ``ai_assistant_dynamic_variables`` accepts str/int/float/bool values and sends them as strings
    (the API takes strings only); nested or null values are refused. This request has no
    ``command_id``, so the client never retries it.
    """

    from_: str = Field(alias="From")
    to: str = Field(alias="To")
    ai_assistant_id: str = Field(alias="AIAssistantId")
    ai_assistant_version: str | None = Field(default=None, alias="AIAssistantVersion")
    ai_assistant_dynamic_variables: dict[str, str] | None = Field(
        default=None, alias="AIAssistantDynamicVariables"
    )
    machine_detection: Literal["Enable", "Disable", "DetectMessageEnd"] | None = Field(
        default=None, alias="MachineDetection"
    )
    async_amd: bool | None = Field(default=None, alias="AsyncAmd")
    async_amd_status_callback: str | None = Field(default=None, alias="AsyncAmdStatusCallback")
    async_amd_status_callback_method: Literal["GET", "POST"] | None = Field(
        default=None, alias="AsyncAmdStatusCallbackMethod"
    )
    detection_mode: Literal["Premium", "Regular", "PremiumCallScreening"] | None = Field(
        default=None, alias="DetectionMode"
    )
    machine_detection_timeout: Annotated[int, Field(ge=500, le=60000)] | None = Field(
        default=None, alias="MachineDetectionTimeout"
    )
    machine_detection_silence_timeout: int | None = Field(
        default=None, alias="MachineDetectionSilenceTimeout"
    )
    machine_detection_speech_threshold: int | None = Field(
        default=None, alias="MachineDetectionSpeechThreshold"
    )
    machine_detection_speech_end_threshold: int | None = Field(
        default=None, alias="MachineDetectionSpeechEndThreshold"
    )
    machine_detection_prompt_end_timeout: Annotated[int, Field(ge=1000, le=120000)] | None = Field(
        default=None, alias="MachineDetectionPromptEndTimeout"
    )
    status_callback: str | None = Field(default=None, alias="StatusCallback")
    status_callbacks: list[str] | None = Field(default=None, alias="StatusCallbacks")
    status_callback_event: str | None = Field(default=None, alias="StatusCallbackEvent")
    status_callback_method: Literal["GET", "POST"] | None = Field(default=None, alias="StatusCallbackMethod")
    conversation_callback: str | None = Field(default=None, alias="ConversationCallback")
    conversation_callbacks: list[str] | None = Field(default=None, alias="ConversationCallbacks")
    conversation_callback_method: Literal["GET", "POST"] | None = Field(
        default=None, alias="ConversationCallbackMethod"
    )
    caller_id: Annotated[str, Field(max_length=128)] | None = Field(default=None, alias="CallerId")
    custom_headers: list[TexmlCustomHeader] | None = Field(default=None, alias="CustomHeaders")
    timeout: Annotated[int, Field(ge=5, le=120)] | None = Field(default=None, alias="Timeout")
    time_limit: Annotated[int, Field(ge=30, le=14400)] | None = Field(default=None, alias="TimeLimit")
    record: bool | None = Field(default=None, alias="Record")
    recording_channels: Literal["mono", "dual"] | None = Field(default=None, alias="RecordingChannels")
    recording_status_callback: str | None = Field(default=None, alias="RecordingStatusCallback")
    recording_status_callback_event: str | None = Field(default=None, alias="RecordingStatusCallbackEvent")
    recording_status_callback_method: Literal["GET", "POST"] | None = Field(
        default=None, alias="RecordingStatusCallbackMethod"
    )
    recording_timeout: int | None = Field(default=None, alias="RecordingTimeout")
    recording_track: Literal["inbound", "outbound", "both"] | None = Field(
        default=None, alias="RecordingTrack"
    )
    send_recording_url: bool | None = Field(default=None, alias="SendRecordingUrl")
    sip_auth_username: str | None = Field(default=None, alias="SipAuthUsername")
    sip_auth_password: str | None = Field(default=None, alias="SipAuthPassword")
    sip_region: Literal["US", "Europe", "Canada", "Australia", "Middle East"] | None = Field(
        default=None, alias="SipRegion"
    )
    preferred_codecs: str | None = Field(default=None, alias="PreferredCodecs")
    passports: str | None = Field(default=None, alias="Passports")
    trim: Literal["trim-silence", "do-not-trim"] | None = Field(default=None, alias="Trim")

    _coerce_variables = field_validator("ai_assistant_dynamic_variables", mode="before")(string_variables)


class TexmlAICallResult(ResponseModel):
    """The (unwrapped) answer: ``call_sid`` is the call's ``v3:`` call-control id."""

    call_sid: str | None = None
    from_: str | None = Field(default=None, alias="from")
    status: str | None = None
    to: str | None = None
