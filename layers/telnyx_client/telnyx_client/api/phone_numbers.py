"""``client.phone_numbers``: list numbers and point one at a connection."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from telnyx_client.api._base import DeadlineArg, SubAPI, as_request, seg
from telnyx_client.models.phone_numbers import (
    PhoneNumber,
    PhoneNumberEnvelope,
    PhoneNumberPage,
    UpdatePhoneNumberRequest,
)
from telnyx_client.pagination import iterate_pages, page_params


class PhoneNumbersAPI(SubAPI):
    """Phone numbers (``/phone_numbers``)."""

    def list(
        self,
        *,
        page_number: int | None = None,
        page_size: int | None = None,
        filters: Mapping[str, str] | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> PhoneNumberPage:
        """``GET /phone_numbers``: one page (``page_size`` ≤ 250).

        ``filters`` become ``filter[<name>]`` (e.g. ``{"connection_id": "123", "status": "active"}``).
        """
        params: dict[str, Any] = page_params(page_number, page_size)
        for name, value in (filters or {}).items():
            params[f"filter[{name}]"] = value
        data = self._core.request_json(
            "GET", "/phone_numbers", retry_safe=True, params=params, timeout=timeout, deadline=deadline
        )
        return PhoneNumberPage.model_validate(data)

    def iter_all(
        self,
        *,
        page_size: int = 250,
        filters: Mapping[str, str] | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Iterator[PhoneNumber]:
        """Every phone number matching ``filters`` (lazily)."""
        return iterate_pages(
            lambda n: self.list(
                page_number=n, page_size=page_size, filters=filters, timeout=timeout, deadline=deadline
            )
        )

    def update(
        self,
        phone_number_id: str,
        request: UpdatePhoneNumberRequest | Mapping[str, Any],
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> PhoneNumber:
        """``PATCH /phone_numbers/{id}``: only the fields set are sent (idempotent, so retried)."""
        body = as_request(UpdatePhoneNumberRequest, request).to_wire()
        data = self._core.request_json(
            "PATCH",
            f"/phone_numbers/{seg(phone_number_id)}",
            retry_safe=True,
            json_body=body,
            timeout=timeout,
            deadline=deadline,
        )
        return PhoneNumberEnvelope.model_validate(data or {}).data or PhoneNumber()

    def update_connection(
        self,
        phone_number_id: str,
        connection_id: str,
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> PhoneNumber:
        """Route a number to a connection (Call Control app or TeXML app) by id."""
        return self.update(
            phone_number_id,
            UpdatePhoneNumberRequest(connection_id=connection_id),
            timeout=timeout,
            deadline=deadline,
        )
