"""Insight templates and insight groups (WIRE §6, §12.4)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from telnyx_client.models._base import RequestModel, ResponseModel
from telnyx_client.models.common import PageMeta


class CreateInsightTemplateRequest(RequestModel):
    """``POST /ai/conversations/insights`` body; ``json_schema`` makes the result structured."""

    name: str
    instructions: str
    json_schema: str | dict[str, Any] | None = None
    webhook: str | None = None


class InsightTemplate(ResponseModel):
    """An insight template."""

    id: str | None = None
    name: str | None = None
    instructions: str | None = None
    json_schema: str | dict[str, Any] | None = None
    insight_type: str | None = None
    webhook: str | None = None
    created_at: str | None = None


class InsightTemplateEnvelope(ResponseModel):
    """``{"data": InsightTemplate}``."""

    data: InsightTemplate | None = None


class InsightTemplatePage(ResponseModel):
    """A page of insight templates."""

    data: list[InsightTemplate] = Field(default_factory=list)
    meta: PageMeta | None = None


class CreateInsightGroupRequest(RequestModel):
    """``POST /ai/conversations/insight-groups`` body."""

    name: str
    description: str | None = None
    webhook: str | None = None


class InsightGroup(ResponseModel):
    """An insight group with its templates."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    webhook: str | None = None
    created_at: str | None = None
    insights: list[InsightTemplate] | None = None


class InsightGroupEnvelope(ResponseModel):
    """``{"data": InsightGroup}``."""

    data: InsightGroup | None = None


class InsightGroupPage(ResponseModel):
    """A page of insight groups."""

    data: list[InsightGroup] = Field(default_factory=list)
    meta: PageMeta | None = None
