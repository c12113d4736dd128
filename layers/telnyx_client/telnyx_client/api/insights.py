"""``client.insight_templates`` and ``client.insight_groups``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from telnyx_client.api._base import DeadlineArg, SubAPI, as_request, seg
from telnyx_client.models._base import RequestModel
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


class _InsightCollection[Req: RequestModel, Item: BaseModel, Envelope: BaseModel, Page: BaseModel](SubAPI):
    """Create, list and iterate one insight resource; templates and groups differ only in path and models."""

    path: ClassVar[str]
    request_model: type[Req]
    item_model: type[Item]
    envelope_model: type[Envelope]
    page_model: type[Page]

    def create(
        self, request: Req | Mapping[str, Any], *, timeout: float | None = None, deadline: DeadlineArg = None
    ) -> Item:
        """``POST {path}`` (never retried: a create has no idempotency key)."""
        body = as_request(self.request_model, request).to_wire()
        data = self._core.request_json(
            "POST", self.path, retry_safe=False, json_body=body, timeout=timeout, deadline=deadline
        )
        item = getattr(self.envelope_model.model_validate(data or {}), "data", None)
        return item if item is not None else self.item_model()

    def retrieve(self, item_id: str, *, timeout: float | None = None, deadline: DeadlineArg = None) -> Item:
        """``GET {path}/{id}`` (404 → :class:`~telnyx_client.errors.TelnyxNotFound`)."""
        data = self._core.request_json(
            "GET", f"{self.path}/{seg(item_id)}", retry_safe=True, timeout=timeout, deadline=deadline
        )
        item = getattr(self.envelope_model.model_validate(data or {}), "data", None)
        return item if item is not None else self.item_model()

    def list(
        self,
        *,
        page_number: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Page:
        """``GET {path}``: one page."""
        data = self._core.request_json(
            "GET",
            self.path,
            retry_safe=True,
            params=page_params(page_number, page_size),
            timeout=timeout,
            deadline=deadline,
        )
        return self.page_model.model_validate(data)

    def iter_all(
        self,
        *,
        page_size: int = MAX_INSIGHT_PAGE_SIZE,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Iterator[Item]:
        """Every item (lazily)."""
        return iterate_pages(
            lambda n: self.list(page_number=n, page_size=page_size, timeout=timeout, deadline=deadline)  # type: ignore[arg-type, return-value]
        )


class InsightTemplatesAPI(
    _InsightCollection[
        CreateInsightTemplateRequest, InsightTemplate, InsightTemplateEnvelope, InsightTemplatePage
    ]
):
    """Insight templates (what to extract from each conversation): ``/ai/conversations/insights``."""

    path = "/ai/conversations/insights"
    request_model = CreateInsightTemplateRequest
    item_model = InsightTemplate
    envelope_model = InsightTemplateEnvelope
    page_model = InsightTemplatePage


class InsightGroupsAPI(
    _InsightCollection[CreateInsightGroupRequest, InsightGroup, InsightGroupEnvelope, InsightGroupPage]
):
    """Insight groups (what an assistant's ``insight_settings.insight_group_id`` points at):
    ``/ai/conversations/insight-groups``."""

    path = "/ai/conversations/insight-groups"
    request_model = CreateInsightGroupRequest
    item_model = InsightGroup
    envelope_model = InsightGroupEnvelope
    page_model = InsightGroupPage

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
