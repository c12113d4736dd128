"""``client.insight_templates`` and ``client.insight_groups``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from telnyx_client.api._base import DeadlineArg, SubAPI, as_request, seg
from telnyx_client.models.insights import (
    CreateInsightGroupRequest,
    CreateInsightTemplateRequest,
    InsightGroup,
    InsightGroupEnvelope,
    InsightGroupPage,
    InsightTemplate,
    InsightTemplateEnvelope,
    InsightTemplatePage,
)
from telnyx_client.pagination import iterate_pages, page_params

# The spec sets ``exclusiveMaximum: 100`` on these page sizes.
MAX_INSIGHT_PAGE_SIZE = 99


class InsightTemplatesAPI(SubAPI):
    """Insight templates (what to extract from each conversation)."""

    def create(
        self,
        request: CreateInsightTemplateRequest | Mapping[str, Any],
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> InsightTemplate:
        """``POST /ai/conversations/insights`` (never retried)."""
        body = as_request(CreateInsightTemplateRequest, request).to_wire()
        data = self._core.request_json(
            "POST",
            "/ai/conversations/insights",
            retry_safe=False,
            json_body=body,
            timeout=timeout,
            deadline=deadline,
        )
        return InsightTemplateEnvelope.model_validate(data or {}).data or InsightTemplate()

    def list(
        self,
        *,
        page_number: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> InsightTemplatePage:
        """``GET /ai/conversations/insights``: one page."""
        data = self._core.request_json(
            "GET",
            "/ai/conversations/insights",
            retry_safe=True,
            params=page_params(page_number, page_size),
            timeout=timeout,
            deadline=deadline,
        )
        return InsightTemplatePage.model_validate(data)

    def iter_all(
        self,
        *,
        page_size: int = MAX_INSIGHT_PAGE_SIZE,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Iterator[InsightTemplate]:
        """Every insight template (lazily)."""
        return iterate_pages(
            lambda n: self.list(page_number=n, page_size=page_size, timeout=timeout, deadline=deadline)
        )


class InsightGroupsAPI(SubAPI):
    """Insight groups (the unit an assistant's ``insight_settings.insight_group_id`` points at)."""

    def create(
        self,
        request: CreateInsightGroupRequest | Mapping[str, Any],
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> InsightGroup:
        """``POST /ai/conversations/insight-groups`` (never retried)."""
        body = as_request(CreateInsightGroupRequest, request).to_wire()
        data = self._core.request_json(
            "POST",
            "/ai/conversations/insight-groups",
            retry_safe=False,
            json_body=body,
            timeout=timeout,
            deadline=deadline,
        )
        return InsightGroupEnvelope.model_validate(data or {}).data or InsightGroup()

    def list(
        self,
        *,
        page_number: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> InsightGroupPage:
        """``GET /ai/conversations/insight-groups``: one page."""
        data = self._core.request_json(
            "GET",
            "/ai/conversations/insight-groups",
            retry_safe=True,
            params=page_params(page_number, page_size),
            timeout=timeout,
            deadline=deadline,
        )
        return InsightGroupPage.model_validate(data)

    def iter_all(
        self,
        *,
        page_size: int = MAX_INSIGHT_PAGE_SIZE,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Iterator[InsightGroup]:
        """Every insight group (lazily)."""
        return iterate_pages(
            lambda n: self.list(page_number=n, page_size=page_size, timeout=timeout, deadline=deadline)
        )

    def assign(
        self, group_id: str, insight_id: str, *, timeout: float | None = None, deadline: DeadlineArg = None
    ) -> None:
        """``POST /ai/conversations/insight-groups/{group_id}/insights/{insight_id}/assign``."""
        self._core.request(
            "POST",
            f"/ai/conversations/insight-groups/{seg(group_id)}/insights/{seg(insight_id)}/assign",
            retry_safe=False,
            timeout=timeout,
            deadline=deadline,
        )
