"""AI conversations, their messages and insight results (WIRE §6)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from telnyx_client.models._base import ResponseModel
from telnyx_client.models.common import PageMeta


class Conversation(ResponseModel):
    """A conversation; ``metadata`` carries ``call_control_id``, ``assistant_id`` and our own keys."""

    id: str | None = None
    name: str | None = None
    created_at: str | None = None
    last_message_at: str | None = None
    metadata: dict[str, Any] | None = None


class ConversationList(ResponseModel):
    """``GET /ai/conversations`` answer (PostgREST filtered, not paged)."""

    data: list[Conversation] = Field(default_factory=list)


class ConversationEnvelope(ResponseModel):
    """``{"data": Conversation}``."""

    data: Conversation | None = None


class ToolCallFunction(ResponseModel):
    """The function a tool call invoked."""

    name: str | None = None
    arguments: str | None = None


class ToolCall(ResponseModel):
    """A tool call made by the assistant."""

    id: str | None = None
    type: str | None = None
    function: ToolCallFunction | None = None


class ConversationMessage(ResponseModel):
    """One message of a conversation."""

    role: str | None = None
    text: str | None = None
    created_at: str | None = None
    sent_at: str | None = None
    tool_calls: list[ToolCall] | None = None


class ConversationMessagePage(ResponseModel):
    """A page of messages."""

    data: list[ConversationMessage] = Field(default_factory=list)
    meta: PageMeta | None = None


class InsightResult(ResponseModel):
    """One insight's result; a json_schema insight's ``result`` is stringified JSON (or an object)."""

    insight_id: str | None = None
    result: Any = None


class ConversationInsight(ResponseModel):
    """An insight run over a conversation."""

    id: str | None = None
    created_at: str | None = None
    status: str | None = None
    conversation_insights: list[InsightResult] | None = None


class ConversationInsightPage(ResponseModel):
    """``GET /ai/conversations/{id}/conversations-insights`` answer."""

    data: list[ConversationInsight] = Field(default_factory=list)
    meta: PageMeta | None = None
