"""Number Reputation (``/enterprises/{enterprise_id}/reputation/numbers``): the numbers an
enterprise registered for monitoring, each with its latest reputation snapshot.

Spec facts (Telnyx OpenAPI, ``ReputationPhoneNumber``/``ReputationData``): ``reputation_data`` is
``null`` until Telnyx first collected it; ``spam_risk`` is ``low``, ``medium``, ``high`` or
``null``; the scores are 0-100 or ``null``; "field set may grow over time - read by key". So every
field is optional, unknown keys are kept, and ``spam_risk`` stays a plain string (a value the spec
does not list yet is the caller's to judge, not a parse error).
"""

from __future__ import annotations

from pydantic import Field

from telnyx_client.models._base import ResponseModel
from telnyx_client.models.common import PageMeta


class ReputationData(ResponseModel):
    """A number's reputation snapshot (``ReputationData``)."""

    spam_risk: str | None = None
    spam_category: str | None = None
    connection_score: int | None = None
    engagement_score: int | None = None
    maturity_score: int | None = None
    sentiment_score: int | None = None
    last_refreshed_at: str | None = None


class ReputationNumber(ResponseModel):
    """A number registered for reputation monitoring (``ReputationPhoneNumber``)."""

    id: str | None = None
    enterprise_id: str | None = None
    phone_number: str | None = None
    reputation_data: ReputationData | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ReputationNumberPage(ResponseModel):
    """A page of ``GET /enterprises/{id}/reputation/numbers``."""

    data: list[ReputationNumber] = Field(default_factory=list)
    meta: PageMeta | None = None
