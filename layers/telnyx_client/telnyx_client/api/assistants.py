"""``client.assistants``: AI assistants, their versions and scheduled events."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from telnyx_client._http import HttpCore
from telnyx_client.api._base import DeadlineArg, SubAPI, as_request, seg
from telnyx_client.models.assistants import (
    Assistant,
    AssistantDeleted,
    AssistantList,
    CreateAssistantRequest,
    UpdateAssistantRequest,
)
from telnyx_client.models.scheduled_events import (
    ConversationChannel,
    CreateScheduledEventRequest,
    ScheduledEvent,
    ScheduledEventPage,
)
from telnyx_client.pagination import iterate_pages, page_params


class AssistantsAPI(SubAPI):
    """Create, read, update (POST, not PATCH), delete and clone assistants.

    Creates, updates and clones are never retried (no idempotency key in the spec): a timeout
    there is ambiguous and the caller must look before trying again. Reads and deletes are retried.
    """

    def __init__(self, core: HttpCore) -> None:
        super().__init__(core)
        self.versions = AssistantVersionsAPI(core)
        self.scheduled_events = ScheduledEventsAPI(core)

    def create(
        self,
        request: CreateAssistantRequest | Mapping[str, Any],
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Assistant:
        """``POST /ai/assistants``."""
        body = as_request(CreateAssistantRequest, request).to_wire()
        data = self._core.request_json(
            "POST", "/ai/assistants", retry_safe=False, json_body=body, timeout=timeout, deadline=deadline
        )
        return Assistant.model_validate(data)

    def list(self, *, timeout: float | None = None, deadline: DeadlineArg = None) -> builtins.list[Assistant]:
        """``GET /ai/assistants`` (all assistants; the endpoint does not page)."""
        data = self._core.request_json(
            "GET", "/ai/assistants", retry_safe=True, timeout=timeout, deadline=deadline
        )
        return AssistantList.model_validate(data).data

    def retrieve(
        self,
        assistant_id: str,
        *,
        fetch_dynamic_variables_from_webhook: bool | None = None,
        from_: str | None = None,
        to: str | None = None,
        call_control_id: str | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Assistant:
        """``GET /ai/assistants/{id}``."""
        params = {
            "fetch_dynamic_variables_from_webhook": fetch_dynamic_variables_from_webhook,
            "from": from_,
            "to": to,
            "call_control_id": call_control_id,
        }
        data = self._core.request_json(
            "GET",
            f"/ai/assistants/{seg(assistant_id)}",
            retry_safe=True,
            params=params,
            timeout=timeout,
            deadline=deadline,
        )
        return Assistant.model_validate(data)

    def update(
        self,
        assistant_id: str,
        request: UpdateAssistantRequest | Mapping[str, Any],
        *,
        promote_to_main: bool | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Assistant:
        """``POST /ai/assistants/{id}``: sends only the fields set on ``request`` (WIRE §0.1).

        ``promote_to_main`` defaults to ``true`` server-side; pass ``False`` to stage a version.
        """
        body = as_request(UpdateAssistantRequest, request).to_wire()
        if promote_to_main is not None:
            body["promote_to_main"] = promote_to_main
        data = self._core.request_json(
            "POST",
            f"/ai/assistants/{seg(assistant_id)}",
            retry_safe=False,
            json_body=body,
            timeout=timeout,
            deadline=deadline,
        )
        return Assistant.model_validate(data)

    def delete(
        self, assistant_id: str, *, timeout: float | None = None, deadline: DeadlineArg = None
    ) -> AssistantDeleted:
        """``DELETE /ai/assistants/{id}``."""
        data = self._core.request_json(
            "DELETE",
            f"/ai/assistants/{seg(assistant_id)}",
            retry_safe=True,
            timeout=timeout,
            deadline=deadline,
        )
        return AssistantDeleted.model_validate(data or {})

    def clone(
        self, assistant_id: str, *, timeout: float | None = None, deadline: DeadlineArg = None
    ) -> Assistant:
        """``POST /ai/assistants/{id}/clone`` (telephony and messaging settings are not copied)."""
        data = self._core.request_json(
            "POST",
            f"/ai/assistants/{seg(assistant_id)}/clone",
            retry_safe=False,
            timeout=timeout,
            deadline=deadline,
        )
        return Assistant.model_validate(data)


class AssistantVersionsAPI(SubAPI):
    """``client.assistants.versions``: list, read, update, delete and promote versions."""

    def list(
        self, assistant_id: str, *, timeout: float | None = None, deadline: DeadlineArg = None
    ) -> builtins.list[Assistant]:
        """``GET /ai/assistants/{id}/versions``."""
        data = self._core.request_json(
            "GET",
            f"/ai/assistants/{seg(assistant_id)}/versions",
            retry_safe=True,
            timeout=timeout,
            deadline=deadline,
        )
        return AssistantList.model_validate(data).data

    def retrieve(
        self,
        assistant_id: str,
        version_id: str,
        *,
        include_mcp_servers: bool | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Assistant:
        """``GET /ai/assistants/{id}/versions/{version_id}``."""
        data = self._core.request_json(
            "GET",
            f"/ai/assistants/{seg(assistant_id)}/versions/{seg(version_id)}",
            retry_safe=True,
            params={"include_mcp_servers": include_mcp_servers},
            timeout=timeout,
            deadline=deadline,
        )
        return Assistant.model_validate(data)

    def update(
        self,
        assistant_id: str,
        version_id: str,
        request: UpdateAssistantRequest | Mapping[str, Any],
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Assistant:
        """``POST /ai/assistants/{id}/versions/{version_id}``: only the fields set are sent."""
        body = as_request(UpdateAssistantRequest, request).to_wire()
        data = self._core.request_json(
            "POST",
            f"/ai/assistants/{seg(assistant_id)}/versions/{seg(version_id)}",
            retry_safe=False,
            json_body=body,
            timeout=timeout,
            deadline=deadline,
        )
        return Assistant.model_validate(data)

    def delete(
        self,
        assistant_id: str,
        version_id: str,
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> None:
        """``DELETE /ai/assistants/{id}/versions/{version_id}`` (204)."""
        self._core.request(
            "DELETE",
            f"/ai/assistants/{seg(assistant_id)}/versions/{seg(version_id)}",
            retry_safe=True,
            timeout=timeout,
            deadline=deadline,
        )

    def promote(
        self,
        assistant_id: str,
        version_id: str,
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Assistant:
        """``POST /ai/assistants/{id}/versions/{version_id}/promote``: make this version the main one."""
        data = self._core.request_json(
            "POST",
            f"/ai/assistants/{seg(assistant_id)}/versions/{seg(version_id)}/promote",
            retry_safe=False,
            timeout=timeout,
            deadline=deadline,
        )
        return Assistant.model_validate(data)


class ScheduledEventsAPI(SubAPI):
    """``client.assistants.scheduled_events``: Telnyx-side scheduled calls and texts."""

    def create(
        self,
        assistant_id: str,
        request: CreateScheduledEventRequest | Mapping[str, Any],
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> ScheduledEvent:
        """``POST /ai/assistants/{id}/scheduled_events`` (201). Never retried: it would schedule twice."""
        body = as_request(CreateScheduledEventRequest, request).to_wire()
        data = self._core.request_json(
            "POST",
            f"/ai/assistants/{seg(assistant_id)}/scheduled_events",
            retry_safe=False,
            json_body=body,
            timeout=timeout,
            deadline=deadline,
        )
        return ScheduledEvent.model_validate(data)

    def list(
        self,
        assistant_id: str,
        *,
        page_number: int | None = None,
        page_size: int | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        conversation_channel: ConversationChannel | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> ScheduledEventPage:
        """``GET /ai/assistants/{id}/scheduled_events``: one page (``page_size`` ≤ 100)."""
        params: dict[str, Any] = {
            **page_params(page_number, page_size),
            "from_date": from_date.isoformat() if from_date else None,
            "to_date": to_date.isoformat() if to_date else None,
            "conversation_channel": conversation_channel,
        }
        data = self._core.request_json(
            "GET",
            f"/ai/assistants/{seg(assistant_id)}/scheduled_events",
            retry_safe=True,
            params=params,
            timeout=timeout,
            deadline=deadline,
        )
        return ScheduledEventPage.model_validate(data)

    def iter_all(
        self,
        assistant_id: str,
        *,
        page_size: int = 100,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        conversation_channel: ConversationChannel | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Iterator[ScheduledEvent]:
        """Every scheduled event, page by page (lazily)."""
        return iterate_pages(
            lambda n: self.list(
                assistant_id,
                page_number=n,
                page_size=page_size,
                from_date=from_date,
                to_date=to_date,
                conversation_channel=conversation_channel,
                timeout=timeout,
                deadline=deadline,
            )
        )

    def retrieve(
        self, assistant_id: str, event_id: str, *, timeout: float | None = None, deadline: DeadlineArg = None
    ) -> ScheduledEvent:
        """``GET /ai/assistants/{id}/scheduled_events/{event_id}``."""
        data = self._core.request_json(
            "GET",
            f"/ai/assistants/{seg(assistant_id)}/scheduled_events/{seg(event_id)}",
            retry_safe=True,
            timeout=timeout,
            deadline=deadline,
        )
        return ScheduledEvent.model_validate(data)

    def delete(
        self, assistant_id: str, event_id: str, *, timeout: float | None = None, deadline: DeadlineArg = None
    ) -> None:
        """``DELETE /ai/assistants/{id}/scheduled_events/{event_id}``."""
        self._core.request(
            "DELETE",
            f"/ai/assistants/{seg(assistant_id)}/scheduled_events/{seg(event_id)}",
            retry_safe=True,
            timeout=timeout,
            deadline=deadline,
        )
