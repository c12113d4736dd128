"""Telnyx Number Reputation in caller-ID health (issue 23): a number Telnyx rates at a high
enough ``spam_risk`` is rested like one whose calls stopped being answered. Pure: the sweep
(:mod:`dialer.services.number_reputation`) supplies the snapshot and the clock.

``spam_risk`` is the spec's coarse bucket (``low``, ``medium``, ``high``, or null before Telnyx
collected it). A value the spec does not list, or none, is unknown and rests nothing: resting a
number on a guess would take a working number out of the pool.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Telnyx's enterprise ids are lowercase UUIDs (spec: ``EnterpriseId``).
_ENTERPRISE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: A feed's category label is free text; a rest reason keeps this much of it.
_CATEGORY_CHARS = 60


class SpamRisk(StrEnum):
    """``ReputationData.spam_risk``, in rising order."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


_ORDER = {SpamRisk.LOW: 0, SpamRisk.MEDIUM: 1, SpamRisk.HIGH: 2}


class ReputationSettings(BaseModel):
    """The tenant's use of Telnyx Number Reputation (part of ``PUT /tenants/me/caller-id-health``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        default=False,
        description="Rest numbers Telnyx Number Reputation rates at rest_at_spam_risk or above "
        "(needs enterprise_id and reputation enabled on that enterprise at Telnyx).",
    )
    enterprise_id: str | None = Field(
        default=None, description="The Telnyx enterprise (lowercase UUID) whose numbers are monitored."
    )
    rest_at_spam_risk: SpamRisk = Field(
        default=SpamRisk.HIGH, description="Rest a number whose spam_risk is this or higher (medium or high)."
    )
    check_every_minutes: Annotated[
        int,
        Field(
            ge=15,
            le=1440,
            description="Read the reputation list at most this often (a read can be up to this "
            "plus 5 minutes old; Telnyx refreshes its data daily at most).",
        ),
    ] = 60

    @field_validator("enterprise_id")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        if value is not None and not _ENTERPRISE_ID.fullmatch(value):
            raise ValueError("must be a lowercase UUID (the enterprise's id at Telnyx)")
        return value

    @field_validator("rest_at_spam_risk")
    @classmethod
    def _not_low(cls, value: SpamRisk) -> SpamRisk:
        if value == SpamRisk.LOW:
            raise ValueError("must be medium or high (low would rest every monitored number)")
        return value

    @model_validator(mode="after")
    def _enterprise_when_enabled(self) -> Self:
        if self.enabled and self.enterprise_id is None:
            raise ValueError("enterprise_id is required when reputation is enabled")
        return self


def reputation_rest_reason(
    rest_at: SpamRisk, spam_risk: str | None, spam_category: str | None = None
) -> str | None:
    """Why a number with this snapshot should be rested, or None (below the level, or unknown)."""
    try:
        risk = SpamRisk(spam_risk) if spam_risk is not None else None
    except ValueError:
        return None
    if risk is None or _ORDER[risk] < _ORDER[rest_at]:
        return None
    reason = f"Telnyx Number Reputation: spam_risk {risk.value} (rests at {rest_at.value} or above)"
    category = (spam_category or "").strip()
    if category:
        reason += f", category {category[:_CATEGORY_CHARS]}"
    return reason
