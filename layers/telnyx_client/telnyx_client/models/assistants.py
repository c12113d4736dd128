"""AI assistant requests (create / update) and responses (``inference-embedding_Assistant``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from telnyx_client.models._base import RequestModel, ResponseModel
from telnyx_client.models.assistant_settings import (
    AssistantIntegration,
    AssistantMCPServer,
    ConversationFlow,
    EnabledFeature,
    ExternalLLM,
    FallbackConfig,
    InsightSettings,
    InterruptionSettings,
    MessagingSettings,
    ObservabilitySettings,
    PostConversationSettings,
    PrivacySettings,
    TelephonySettings,
    TranscriptionSettings,
    VoiceSettings,
    WidgetSettings,
)
from telnyx_client.models.tools import AssistantTool


class _AssistantFields(RequestModel):
    """Fields shared by create and update; all optional here."""

    name: str | None = None
    instructions: str | None = None
    model: str | None = None
    description: str | None = None
    greeting: str | None = None
    tools: list[AssistantTool] | None = None
    tool_ids: list[str] | None = None
    voice_settings: VoiceSettings | None = None
    transcription: TranscriptionSettings | None = None
    telephony_settings: TelephonySettings | None = None
    messaging_settings: MessagingSettings | None = None
    enabled_features: list[EnabledFeature] | None = None
    dynamic_variables: dict[str, Any] | None = None
    dynamic_variables_webhook_url: str | None = None
    dynamic_variables_webhook_timeout_ms: Annotated[int, Field(ge=1, le=10000)] | None = None
    insight_settings: InsightSettings | None = None
    privacy_settings: PrivacySettings | None = None
    interruption_settings: InterruptionSettings | None = None
    external_llm: ExternalLLM | None = None
    fallback_config: FallbackConfig | None = None
    llm_api_key_ref: str | None = None
    mcp_servers: list[AssistantMCPServer] | None = None
    integrations: list[AssistantIntegration] | None = None
    observability_settings: ObservabilitySettings | None = None
    post_conversation_settings: PostConversationSettings | None = None
    conversation_flow: ConversationFlow | None = None
    tags: list[str] | None = None
    widget_settings: WidgetSettings | None = None


class CreateAssistantRequest(_AssistantFields):
    """``POST /ai/assistants`` body (``name`` and ``instructions`` required)."""

    name: str
    instructions: str


class UpdateAssistantRequest(_AssistantFields):
    """``POST /ai/assistants/{id}`` (and ``…/versions/{v}``) body: only the fields you set are sent.

    ``promote_to_main`` is not here: it exists only on the main update and is a keyword of
    ``client.assistants.update``.
    """

    version_name: Annotated[str, Field(max_length=50)] | None = None


class Assistant(ResponseModel):
    """An assistant as Telnyx returns it. Settings blocks are kept as plain dicts, tolerant of new keys.

    (The strict settings models forbid unknown keys, which is right for what we send and wrong for
    what a newer API returns; use ``…Settings.model_validate`` on a dict you mean to send back.)
    """

    id: str | None = None
    name: str | None = None
    created_at: str | None = None
    model: str | None = None
    instructions: str | None = None
    description: str | None = None
    greeting: str | None = None
    tools: list[dict[str, Any]] | None = None
    voice_settings: dict[str, Any] | None = None
    transcription: dict[str, Any] | None = None
    telephony_settings: dict[str, Any] | None = None
    messaging_settings: dict[str, Any] | None = None
    enabled_features: list[str] | None = None
    dynamic_variables: dict[str, Any] | None = None
    dynamic_variables_webhook_url: str | None = None
    dynamic_variables_webhook_timeout_ms: int | None = None
    insight_settings: dict[str, Any] | None = None
    privacy_settings: dict[str, Any] | None = None
    interruption_settings: dict[str, Any] | None = None
    tags: list[str] | None = None
    version_id: str | None = None
    version_name: str | None = None
    version_created_at: str | None = None


class AssistantList(ResponseModel):
    """``{"data": [Assistant]}`` (assistant lists are not paged)."""

    data: list[Assistant] = Field(default_factory=list)


class AssistantDeleted(ResponseModel):
    """``DELETE /ai/assistants/{id}`` answer."""

    id: str | None = None
    object: str | None = None
    deleted: bool | None = None
