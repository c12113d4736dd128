"""The ``tools[]`` union of an AI assistant (``AssistantTools``, 12 types, WIRE §3.3), strict.

Each tool is ``{"type": "<t>", "<t>": {...params}}``; the union is discriminated by ``type``. The
SDK-only types (``function``, ``vision``, ``update_dynamic_variables``) are left out on purpose:
the July spec, and so Prism, rejects them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from telnyx_client.models._base import RequestModel, TaggedRequestModel

HttpMethod = Literal["GET", "POST", "PUT", "DELETE", "PATCH"]


class ToolHeader(RequestModel):
    """A header on a tool request; ``value`` may use mustache (``{{#integration_secret}}…``)."""

    name: str | None = None
    value: str | None = None


class JsonSchemaObject(RequestModel):
    """A JSON Schema of ``type: object`` describing tool parameters."""

    type: Literal["object"] | None = None
    properties: dict[str, Any] | None = None
    required: list[str] | None = None


class StoreFieldAsVariable(RequestModel):
    """Copy a dot-path of the webhook's JSON response into a dynamic variable."""

    name: Annotated[str, Field(min_length=1)]
    value_path: Annotated[str, Field(min_length=1)]


class WebhookToolParams(RequestModel):
    """An HTTP tool the assistant calls mid-conversation."""

    name: str
    description: str
    url: str
    method: HttpMethod | None = None
    headers: list[ToolHeader] | None = None
    body_parameters: JsonSchemaObject | None = None
    path_parameters: JsonSchemaObject | None = None
    query_parameters: JsonSchemaObject | None = None
    async_: bool | None = Field(default=None, alias="async")
    async_timeout_ms: Annotated[int, Field(ge=1, le=15000)] | None = None
    timeout_ms: Annotated[int, Field(ge=500, le=10000)] | None = None
    store_fields_as_variables: list[StoreFieldAsVariable] | None = None
    # Not in the July spec, documented since (WIRE §12.1): body fields / query params Telnyx adds
    # to every request of the tool, mustache-rendered, never shown to (or settable by) the model.
    preset_body_fields: dict[str, str] | None = None
    preset_query_params: dict[str, str] | None = None


class WebhookTool(TaggedRequestModel):
    """``type: webhook``."""

    type: Literal["webhook"] = "webhook"
    # Where Telnyx applies a tool's timeout (a sibling of ``type``; WIRE §12.1, sdk489): a value
    # nested in ``webhook`` is stored but not applied.
    timeout_ms: Annotated[int, Field(ge=500, le=10000)] | None = None
    webhook: WebhookToolParams


class ClientSideToolParams(RequestModel):
    """A tool executed by the client (web widget / SDK), not by Telnyx."""

    name: str
    description: str
    parameters: JsonSchemaObject


class ClientSideTool(TaggedRequestModel):
    """``type: client_side_tool``."""

    type: Literal["client_side_tool"] = "client_side_tool"
    client_side_tool: ClientSideToolParams


class RetrievalToolParams(RequestModel):
    """Knowledge-base retrieval over storage buckets."""

    bucket_ids: list[str]
    max_num_results: int | None = None


class RetrievalTool(TaggedRequestModel):
    """``type: retrieval``."""

    type: Literal["retrieval"] = "retrieval"
    retrieval: RetrievalToolParams


class HandoffAssistant(RequestModel):
    """An assistant the conversation can be handed to."""

    id: str
    name: str


class HandoffToolParams(RequestModel):
    """Hand the conversation to another assistant."""

    ai_assistants: list[HandoffAssistant]
    voice_mode: Literal["unified", "distinct"] | None = None


class HandoffTool(TaggedRequestModel):
    """``type: handoff``."""

    type: Literal["handoff"] = "handoff"
    handoff: HandoffToolParams


class HangupToolParams(RequestModel):
    """End the call."""

    description: str | None = None


class HangupTool(TaggedRequestModel):
    """``type: hangup``."""

    type: Literal["hangup"] = "hangup"
    hangup: HangupToolParams = Field(default_factory=HangupToolParams)

    def model_post_init(self, context: Any, /) -> None:
        """Always send the (possibly empty) params object: the spec requires it."""
        super().model_post_init(context)
        self.model_fields_set.add("hangup")


class TransferTarget(RequestModel):
    """A number the call can be transferred to."""

    to: str
    name: str | None = None


class TransferVoicemailDetectionConfig(RequestModel):
    """AMD timings for the transfer leg (milliseconds)."""

    after_greeting_silence_millis: Annotated[int, Field(ge=100, le=5000)] | None = None
    between_words_silence_millis: Annotated[int, Field(ge=10, le=5000)] | None = None
    greeting_duration_millis: Annotated[int, Field(ge=100, le=10000)] | None = None
    greeting_silence_duration_millis: Annotated[int, Field(ge=500, le=50000)] | None = None
    greeting_total_analysis_time_millis: Annotated[int, Field(ge=500, le=300000)] | None = None
    initial_silence_millis: Annotated[int, Field(ge=100, le=500000)] | None = None
    maximum_number_of_words: Annotated[int, Field(ge=1, le=50)] | None = None
    maximum_word_length_millis: Annotated[int, Field(ge=50, le=5000)] | None = None
    min_word_length_millis: Annotated[int, Field(ge=1, le=1000)] | None = None
    silence_threshold: Annotated[int, Field(ge=1, le=1000)] | None = None
    total_analysis_time_millis: Annotated[int, Field(ge=500, le=60000)] | None = None


class TransferVoicemailMessage(RequestModel):
    """The message to leave when the transfer target is a voicemail."""

    type: Literal["message", "warm_transfer_instructions"] | None = None
    message: str | None = None


class TransferOnVoicemailDetected(RequestModel):
    """What to do when the transfer target is a voicemail."""

    action: Literal["stop_transfer", "leave_message_and_stop_transfer"] | None = None
    voicemail_message: TransferVoicemailMessage | None = None


class TransferVoicemailDetection(RequestModel):
    """Voicemail detection on the transfer leg."""

    detection_mode: Literal["disabled", "premium"] | None = None
    detection_config: TransferVoicemailDetectionConfig | None = None
    on_voicemail_detected: TransferOnVoicemailDetected | None = None


class TransferToolParams(RequestModel):
    """Transfer the call to a human or another number."""

    from_: str = Field(alias="from")
    targets: list[TransferTarget] | str
    custom_headers: list[ToolHeader] | None = None
    description: str | None = None
    warm_transfer_instructions: str | None = None
    warm_message_delay_ms: int | None = None
    voicemail_detection: TransferVoicemailDetection | None = None


class TransferTool(TaggedRequestModel):
    """``type: transfer``."""

    type: Literal["transfer"] = "transfer"
    transfer: TransferToolParams


class InviteVoicemailAction(RequestModel):
    """What to do when the invited party is a voicemail."""

    action: Literal["stop_invite"] | None = None


class InviteVoicemailDetection(RequestModel):
    """Voicemail detection on the invited leg."""

    detection_mode: Literal["disabled", "premium"] | None = None
    on_voicemail_detected: InviteVoicemailAction | None = None


class InviteToolParams(RequestModel):
    """Invite another party into the conversation."""

    from_: str = Field(alias="from")
    targets: list[TransferTarget] | str | None = None
    custom_headers: list[ToolHeader] | None = None
    voicemail_detection: InviteVoicemailDetection | None = None


class InviteTool(TaggedRequestModel):
    """``type: invite``."""

    type: Literal["invite"] = "invite"
    invite: InviteToolParams


class ReferTarget(RequestModel):
    """A SIP address the call can be referred to."""

    name: str
    sip_address: str
    sip_auth_username: str | None = None
    sip_auth_password: str | None = None


class ReferSipHeader(RequestModel):
    """A standard SIP header on the REFER."""

    name: Literal["User-to-User", "Diversion"] | None = None
    value: str | None = None


class ReferToolParams(RequestModel):
    """SIP REFER the call elsewhere."""

    targets: list[ReferTarget]
    custom_headers: list[ToolHeader] | None = None
    sip_headers: list[ReferSipHeader] | None = None


class ReferTool(TaggedRequestModel):
    """``type: refer``."""

    type: Literal["refer"] = "refer"
    refer: ReferToolParams


class SendDtmfTool(TaggedRequestModel):
    """``type: send_dtmf`` (the params object is free-form and usually empty)."""

    type: Literal["send_dtmf"] = "send_dtmf"
    send_dtmf: dict[str, Any] = Field(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        """Always send the (possibly empty) params object: the spec requires it."""
        super().model_post_init(context)
        self.model_fields_set.add("send_dtmf")


class SendMessageToolParams(RequestModel):
    """Send an SMS during the conversation."""

    message_template: str | None = None


class SendMessageTool(TaggedRequestModel):
    """``type: send_message``."""

    type: Literal["send_message"] = "send_message"
    send_message: SendMessageToolParams = Field(default_factory=SendMessageToolParams)

    def model_post_init(self, context: Any, /) -> None:
        """Always send the (possibly empty) params object: the spec requires it."""
        super().model_post_init(context)
        self.model_fields_set.add("send_message")


class SkipTurnToolParams(RequestModel):
    """Let the assistant stay silent for a turn."""

    description: str | None = None


class SkipTurnTool(TaggedRequestModel):
    """``type: skip_turn``."""

    type: Literal["skip_turn"] = "skip_turn"
    skip_turn: SkipTurnToolParams = Field(default_factory=SkipTurnToolParams)

    def model_post_init(self, context: Any, /) -> None:
        """Always send the (possibly empty) params object: the spec requires it."""
        super().model_post_init(context)
        self.model_fields_set.add("skip_turn")


class PayToolParams(RequestModel):
    """Collect a payment through a payment connector."""

    connector_name: str
    currency: str | None = None
    payment_method: str | None = None
    description: str | None = None


class PayTool(TaggedRequestModel):
    """``type: pay``."""

    type: Literal["pay"] = "pay"
    pay: PayToolParams


AssistantTool = Annotated[
    WebhookTool
    | ClientSideTool
    | RetrievalTool
    | HandoffTool
    | HangupTool
    | TransferTool
    | InviteTool
    | ReferTool
    | SendDtmfTool
    | SendMessageTool
    | SkipTurnTool
    | PayTool,
    Field(discriminator="type"),
]
