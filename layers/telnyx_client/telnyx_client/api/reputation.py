"""``client.reputation``: read Telnyx Number Reputation (``/enterprises/{id}/reputation/numbers``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from telnyx_client.api._base import DeadlineArg, SubAPI, seg
from telnyx_client.models.reputation import ReputationNumber, ReputationNumberPage
from telnyx_client.pagination import iterate_pages, page_params

#: The spec's largest page (larger sizes are clamped to it).
MAX_PAGE_SIZE = 250


class ReputationAPI(SubAPI):
    """Number Reputation of an enterprise (read only)."""

    def list_numbers(
        self,
        enterprise_id: str,
        *,
        page_number: int | None = None,
        page_size: int | None = None,
        phone_number: str | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> ReputationNumberPage:
        """``GET /enterprises/{enterprise_id}/reputation/numbers``: one page (``page_size`` ≤ 250),
        optionally only ``phone_number`` (``filter[phone_number][eq]``, E.164). 404 when the
        enterprise does not exist or has no reputation enabled."""
        params: dict[str, Any] = page_params(page_number, page_size)
        if phone_number is not None:
            params["filter[phone_number][eq]"] = phone_number
        data = self._core.request_json(
            "GET",
            f"/enterprises/{seg(enterprise_id)}/reputation/numbers",
            retry_safe=True,
            params=params,
            timeout=timeout,
            deadline=deadline,
        )
        return ReputationNumberPage.model_validate(data)

    def iter_numbers(
        self,
        enterprise_id: str,
        *,
        page_size: int = MAX_PAGE_SIZE,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Iterator[ReputationNumber]:
        """Every monitored number of the enterprise with its snapshot (lazily, page by page)."""
        return iterate_pages(
            lambda n: self.list_numbers(
                enterprise_id, page_number=n, page_size=page_size, timeout=timeout, deadline=deadline
            )
        )
