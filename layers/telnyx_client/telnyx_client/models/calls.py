"""Call Control: dial, actions on a live call, and call status (WIRE §5.2, §5.3)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from telnyx_client.client_state import encode_client_state
from telnyx_client.models._base import RequestModel, ResponseModel, TaggedRequestModel
from telnyx_client.models.common import CustomSipHeader, SipHeader
from telnyx_client.models.tools import HangupTool, TransferTarget

AnsweringMachineDetection = Literal[
    "premium", "detect", "detect_beep", "detect_words", "greeting_end", "disabled"
]
SipRegion = Literal["US", "Europe", "Canada", "Australia", "Middle East"]


def _encode_state(value: Any) -> Any:
    return None if value is None else encode_client_state(value)


class AnsweringMachineDetectionConfig(RequestModel):
    """AMD timings (only the first two apply to ``premium``)."""

    total_analysis_time_millis: int | None = None
    greeting_duration_millis: int | None = None
    after_greeting_silence_millis: int | None = None
    between_words_silence_millis: int | None = None
    greeting_silence_duration_millis: int | None = None
    greeting_total_analysis_time_millis: int | None = None
    initial_silence_millis: int | None = None
    maximum_number_of_words: int | None = None
    maximum_word_length_millis: int | None = None
    silence_threshold: int | None = None


# --- the Call Control tool union (different from the assistant's, WIRE §5.3) --------------------
class CallControlJsonSchema(RequestModel):
    """A JSON Schema object for tool parameters."""

    type: Literal["object"] | None = None
    properties: dict[str, Any] | None = None
    required: list[str] | None = None


class CallControlToolHeader(RequestModel):
    """A header on a tool request."""

    name: str | None = None
    value: str | None = None


class CallControlWebhookToolParams(RequestModel):
    """A webhook tool for an assistant started by Call Control (no async/timeout fields here)."""

    name: str
    description: str
    url: str
    method: Literal["GET", "POST", "PUT", "DELETE", "PATCH"] | None = None
    headers: list[CallControlToolHeader] | None = None
    body_parameters: CallControlJsonSchema | None = None
    path_parameters: CallControlJsonSchema | None = None
    query_parameters: CallControlJsonSchema | None = None


class CallControlWebhookTool(TaggedRequestModel):
    """``type: webhook`` for dial / ai_assistant_start."""

    type: Literal["webhook"] = "webhook"
    webhook: CallControlWebhookToolParams


class CallControlTransferToolParams(RequestModel):
    """Transfer targets for dial / ai_assistant_start."""

    from_: str = Field(alias="from")
    targets: list[TransferTarget] | str


class CallControlTransferTool(TaggedRequestModel):
    """``type: transfer`` for dial / ai_assistant_start."""

    type: Literal["transfer"] = "transfer"
    transfer: CallControlTransferToolParams


class CallControlRetrievalToolParams(RequestModel):
    """Retrieval buckets for dial / ai_assistant_start."""

    bucket_ids: list[str]
    max_num_results: int | None = None


class CallControlRetrievalTool(TaggedRequestModel):
    """``type: retrieval`` for dial / ai_assistant_start."""

    type: Literal["retrieval"] = "retrieval"
    retrieval: CallControlRetrievalToolParams


CallControlTool = Annotated[
    CallControlWebhookTool | HangupTool | CallControlTransferTool | CallControlRetrievalTool,
    Field(discriminator="type"),
]


class CallAssistant(RequestModel):
    """``assistant`` of a dial / ai_assistant_start: the stored assistant plus per-call overrides.

    ``dynamic_variables`` are merged over the assistant's (request values win); strings, numbers
    and booleans are accepted here (unlike TeXML, which takes strings only).
    """

    id: str
    name: str | None = None
    instructions: str | None = None
    greeting: Annotated[str, Field(max_length=3000)] | None = None
    model: str | None = None
    llm_api_key_ref: str | None = None
    dynamic_variables: dict[str, str | int | float | bool] | None = None
    tools: list[CallControlTool] | None = None


class DialRequest(RequestModel):
    """``POST /calls`` body. ``client_state`` takes a dict or bytes and is base64-encoded for you.

    Set ``command_id`` (e.g. the attempt id): Telnyx ignores a repeated dial with the same id, which
    is what makes retrying this POST safe.
    """

    connection_id: str
    to: str | list[str]
    from_: str = Field(alias="from")
    from_display_name: str | None = None
    command_id: str | None = None
    client_state: str | None = None
    assistant: CallAssistant | None = None
    answering_machine_detection: AnsweringMachineDetection | None = None
    answering_machine_detection_config: AnsweringMachineDetectionConfig | None = None
    webhook_url: str | None = None
    webhook_url_method: Literal["POST", "GET"] | None = None
    webhook_urls: dict[str, str] | None = None
    webhook_urls_method: Literal["POST", "GET"] | None = None
    custom_headers: list[CustomSipHeader] | None = None
    sip_headers: list[SipHeader] | None = None
    timeout_secs: int | None = None
    time_limit_secs: Annotated[int, Field(ge=30, le=14400)] | None = None
    record: Literal["record-from-answer"] | None = None
    record_channels: Literal["single", "dual"] | None = None
    record_format: Literal["wav", "mp3"] | None = None
    sip_region: SipRegion | None = None
    billing_group_id: str | None = None
    link_to: str | None = None
    bridge_intent: bool | None = None
    bridge_on_answer: bool | None = None
    preferred_codecs: str | None = None
    retry_on_timeout: bool | None = None
    send_silence_when_idle: bool | None = None
    media_encryption: Literal["disabled", "SRTP", "DTLS"] | None = None
    privacy: Literal["id", "none"] | None = None

    _encode_client_state = field_validator("client_state", mode="before")(_encode_state)


class AIAssistantStartRequest(RequestModel):
    """``POST /calls/{id}/actions/ai_assistant_start`` body.

    ``voice_settings``, ``transcription``, ``interruption_settings``, ``message_history`` and
    ``participants`` are passed through as given (not modelled field by field).
    """

    assistant: CallAssistant | None = None
    client_state: str | None = None
    command_id: str | None = None
    greeting: str | None = None
    voice: str | None = None
    voice_settings: dict[str, Any] | None = None
    transcription: dict[str, Any] | None = None
    interruption_settings: dict[str, Any] | None = None
    message_history: list[dict[str, Any]] | None = None
    participants: list[dict[str, Any]] | None = None
    send_message_history_updates: bool | None = None

    _encode_client_state = field_validator("client_state", mode="before")(_encode_state)


class HangupRequest(RequestModel):
    """``POST /calls/{id}/actions/hangup`` body."""

    client_state: str | None = None
    command_id: str | None = None
    custom_headers: list[CustomSipHeader] | None = None

    _encode_client_state = field_validator("client_state", mode="before")(_encode_state)


class SpeakRequest(RequestModel):
    """``POST /calls/{id}/actions/speak`` body: text (or SSML) read out on the call; Telnyx sends
    ``call.speak.started`` and ``call.speak.ended`` (its ``status`` says whether it finished)."""

    payload: Annotated[str, Field(min_length=1, max_length=3000)]
    voice: str
    payload_type: Literal["text", "ssml"] | None = None
    service_level: Literal["basic", "premium"] | None = None
    language: str | None = None
    stop: str | None = None
    target_legs: Literal["self", "opposite", "both"] | None = None
    client_state: str | None = None
    command_id: str | None = None

    _encode_client_state = field_validator("client_state", mode="before")(_encode_state)


class TransferRequest(RequestModel):
    """``POST /calls/{id}/actions/transfer`` body."""

    to: str
    from_: str | None = Field(default=None, alias="from")
    from_display_name: str | None = None
    command_id: str | None = None
    client_state: str | None = None
    target_leg_client_state: str | None = None
    timeout_secs: int | None = None
    time_limit_secs: Annotated[int, Field(ge=30, le=14400)] | None = None
    answering_machine_detection: AnsweringMachineDetection | None = None
    answering_machine_detection_config: AnsweringMachineDetectionConfig | None = None
    custom_headers: list[CustomSipHeader] | None = None
    sip_headers: list[SipHeader] | None = None
    webhook_url: str | None = None
    webhook_url_method: Literal["POST", "GET"] | None = None
    audio_url: str | None = None
    media_name: str | None = None
    early_media: bool | None = None
    mute_dtmf: Literal["none", "both", "self", "opposite"] | None = None
    park_after_unbridge: str | None = None
    sip_region: SipRegion | None = None

    _encode_client_state = field_validator("client_state", "target_leg_client_state", mode="before")(
        _encode_state
    )


class Call(ResponseModel):
    """A call as returned by dial (``is_alive`` is always false there) or the status lookup."""

    call_control_id: str | None = None
    call_leg_id: str | None = None
    call_session_id: str | None = None
    is_alive: bool | None = None
    record_type: str | None = None
    client_state: str | None = None
    call_duration: int | None = None
    start_time: str | None = None
    end_time: str | None = None
    recording_id: str | None = None
