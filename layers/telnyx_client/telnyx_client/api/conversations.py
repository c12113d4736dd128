"""``client.conversations``: AI conversations, messages and insight results."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping

from telnyx_client.api._base import DeadlineArg, SubAPI, seg
from telnyx_client.models.conversations import (
    Conversation,
    ConversationEnvelope,
    ConversationInsightPage,
    ConversationList,
    ConversationMessage,
    ConversationMessagePage,
)
from telnyx_client.pagination import iterate_pages, page_params


class ConversationsAPI(SubAPI):
    """Read conversations (all reads, all retried)."""

    def list(
        self,
        *,
        call_control_id: str | None = None,
        assistant_id: str | None = None,
        filters: Mapping[str, str] | None = None,
        limit: int | None = None,
        order: str | None = None,
        or_: str | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> builtins.list[Conversation]:
        """``GET /ai/conversations`` with PostgREST filters.

        ``call_control_id``/``assistant_id`` are shorthands for ``metadata->…=eq.<value>``.
        ``filters`` passes raw PostgREST pairs, e.g. ``{"metadata->telnyx_end_user_target": "eq.+1555…"}``.
        """
        params: dict[str, str | int | None] = dict(filters or {})
        if call_control_id is not None:
            params["metadata->call_control_id"] = f"eq.{call_control_id}"
        if assistant_id is not None:
            params["metadata->assistant_id"] = f"eq.{assistant_id}"
        params.update({"limit": limit, "order": order, "or": or_})
        data = self._core.request_json(
            "GET", "/ai/conversations", retry_safe=True, params=params, timeout=timeout, deadline=deadline
        )
        return ConversationList.model_validate(data).data

    def retrieve(
        self, conversation_id: str, *, timeout: float | None = None, deadline: DeadlineArg = None
    ) -> Conversation:
        """``GET /ai/conversations/{id}`` (404 → :class:`~telnyx_client.errors.TelnyxNotFound`)."""
        data = self._core.request_json(
            "GET",
            f"/ai/conversations/{seg(conversation_id)}",
            retry_safe=True,
            timeout=timeout,
            deadline=deadline,
        )
        envelope = ConversationEnvelope.model_validate(data or {})
        return envelope.data or Conversation()

    def messages(
        self,
        conversation_id: str,
        *,
        page_number: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> ConversationMessagePage:
        """``GET /ai/conversations/{id}/messages``: one page (``page_size`` ≤ 100)."""
        data = self._core.request_json(
            "GET",
            f"/ai/conversations/{seg(conversation_id)}/messages",
            retry_safe=True,
            params=page_params(page_number, page_size),
            timeout=timeout,
            deadline=deadline,
        )
        return ConversationMessagePage.model_validate(data)

    def iter_messages(
        self,
        conversation_id: str,
        *,
        page_size: int = 100,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Iterator[ConversationMessage]:
        """Every message of a conversation, page by page (lazily)."""
        return iterate_pages(
            lambda n: self.messages(
                conversation_id, page_number=n, page_size=page_size, timeout=timeout, deadline=deadline
            )
        )

    def insights(
        self, conversation_id: str, *, timeout: float | None = None, deadline: DeadlineArg = None
    ) -> ConversationInsightPage:
        """``GET /ai/conversations/{id}/conversations-insights``."""
        data = self._core.request_json(
            "GET",
            f"/ai/conversations/{seg(conversation_id)}/conversations-insights",
            retry_safe=True,
            timeout=timeout,
            deadline=deadline,
        )
        return ConversationInsightPage.model_validate(data)
