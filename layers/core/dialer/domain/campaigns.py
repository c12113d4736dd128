"""Campaigns: their configuration, their lifecycle, and how they map onto the compliance engine.

The configuration is one pydantic model (:class:`CampaignConfig`) that the API accepts, the table
stores (as JSON) and the dialer reads, so there is one definition of what a campaign is. The
lifecycle is a plain transition table (:data:`TRANSITIONS`), checked by :func:`check_transition`.
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dialer.domain.circuit_breaker import CircuitBreaker
from dialer.domain.outcomes import CallOutcome, Disposition
from dialer.domain.voicemail import VoicemailSetting
from dialer.errors import IllegalTransition
from dialer.policies.compliance import ALL_DAYS, CampaignPolicy, ConsentType, zone_info

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")
#: Lead fields a custom-variable mapping may name (``custom.<name>`` names a custom field).
LEAD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "company",
    "address",
    "city",
    "state",
    "zip",
    "phone",
    "time_zone",
)
VARIABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


class CampaignStatus(StrEnum):
    """Where a campaign is in its life."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELED = "canceled"


#: Allowed moves: draft → active ⇄ paused → completed | canceled (a draft may be canceled too).
TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.ACTIVE, CampaignStatus.CANCELED}),
    CampaignStatus.ACTIVE: frozenset(
        {CampaignStatus.PAUSED, CampaignStatus.COMPLETED, CampaignStatus.CANCELED}
    ),
    CampaignStatus.PAUSED: frozenset(
        {CampaignStatus.ACTIVE, CampaignStatus.COMPLETED, CampaignStatus.CANCELED}
    ),
    CampaignStatus.COMPLETED: frozenset(),
    CampaignStatus.CANCELED: frozenset(),
}
#: Statuses in which leads may be added and the configuration changed.
OPEN_STATUSES = frozenset({CampaignStatus.DRAFT, CampaignStatus.ACTIVE, CampaignStatus.PAUSED})


def check_transition(current: CampaignStatus, target: CampaignStatus) -> None:
    """Raise :class:`IllegalTransition` (409) unless ``current → target`` is an allowed move."""
    if target == current:
        raise IllegalTransition(f"campaign is already {current.value}")
    if target not in TRANSITIONS[current]:
        allowed = sorted(s.value for s in TRANSITIONS[current])
        hint = f"allowed from {current.value}: {', '.join(allowed)}" if allowed else "it is final"
        raise IllegalTransition(f"cannot move a campaign from {current.value} to {target.value} ({hint})")


class DialMethod(StrEnum):
    """How calls are placed on Telnyx (DESIGN.md "Dialing")."""

    CALL_CONTROL = "call_control"
    TEXML_AI = "texml_ai"


class Weekday(StrEnum):
    """Days of the week, as the API spells them."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


_WEEKDAY_INDEX = {day: i for i, day in enumerate(Weekday)}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssistantVariant(_Model):
    """One assistant of an A/B split, dialled for ``weight`` parts of the leads."""

    assistant_id: Annotated[
        str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    ]
    weight: Annotated[int, Field(ge=1, le=1000)] = 1


class CallingWindow(_Model):
    """The campaign's own window, lead-local; it is intersected with the legal windows."""

    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)] = Field(
        default_factory=lambda: list(Weekday)
    )
    start: Annotated[str, Field(description="HH:MM, lead-local.")] = "09:00"
    end: Annotated[str, Field(description="HH:MM, lead-local (exclusive).")] = "20:00"
    fallback_zone: str | None = Field(
        default=None,
        description="IANA zone for leads whose zone cannot be resolved; null: such leads are not called.",
    )

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("must be HH:MM (00:00-24:00)")
        return value

    @field_validator("fallback_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and zone_info(value) is None:
            raise ValueError("not an IANA time zone")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> CallingWindow:
        if _minutes(self.start) >= _minutes(self.end):
            raise ValueError("start must be before end (overnight windows are not legal)")
        if len(set(self.days)) != len(self.days):
            raise ValueError("days must not repeat")
        return self


class Pacing(_Model):
    """Optional caps on how fast the campaign dials. By default (null) a campaign dials as fast as
    the tenant's Telnyx limits allow (30 dials/s, its channel limit), shared with its other
    active campaigns."""

    max_dials_per_minute: Annotated[int, Field(ge=1, le=9000)] | None = Field(
        default=None, description="Claims per minute; null: as fast as the account allows."
    )
    max_concurrent: Annotated[int, Field(ge=1, le=10000)] | None = Field(
        default=None, description="Calls in flight at once; null: up to the tenant's channel limit."
    )


class RetryRule(_Model):
    """What to do after a call with one outcome: wait ``delay_minutes``, up to ``max_attempts``."""

    delay_minutes: Annotated[int, Field(ge=0, le=60 * 24 * 30)] = 30
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 3


def _default_retry_rules() -> dict[CallOutcome, RetryRule]:
    # DESIGN.md: no_answer/busy/voicemail/failed/unknown retry after 30 min, up to 3 attempts.
    retried = (
        CallOutcome.NO_ANSWER,
        CallOutcome.BUSY,
        CallOutcome.VOICEMAIL,
        CallOutcome.FAILED,
        CallOutcome.ASSISTANT_FAILED,
        CallOutcome.UNKNOWN,
    )
    # A message was left: give the lead time to call back before dialling again.
    return {outcome: RetryRule() for outcome in retried} | {
        CallOutcome.VOICEMAIL_LEFT: RetryRule(delay_minutes=2 * 24 * 60)
    }


class RetryPolicy(_Model):
    """Retries per outcome (outcomes not listed are not retried) and a cap over all of them."""

    max_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    outcomes: dict[CallOutcome, RetryRule] = Field(default_factory=_default_retry_rules)


class ConsentRequirement(_Model):
    """What the campaign requires before a lead may be called."""

    required: bool = True
    accepted_types: Annotated[list[ConsentType], Field(min_length=1)] = Field(
        default_factory=lambda: [ConsentType.EXPRESS_WRITTEN]
    )
    require_national_dnc_scrub: bool = Field(
        default=True, description="Leads need a national-DNC scrub no older than 31 days."
    )
    daily_cap: Annotated[int, Field(ge=1, le=50)] | None = Field(
        default=None, description="Calls per person per lead-local day, across campaigns."
    )


class Budget(_Model):
    """An optional spending cap; the dialer stops dialling the campaign when costs reach it."""

    max_cost: Annotated[float, Field(gt=0, le=10_000_000)]
    currency: Literal["USD"] = "USD"


class DispositionEffect(StrEnum):
    """What a conversation's disposition does to its lead: end it in one of these lead statuses,
    or ``retry`` (leave it to the call outcome's retry policy)."""

    REACHED = "reached"
    EXHAUSTED = "exhausted"
    INVALID = "invalid"
    RETRY = "retry"


#: The default effect of every disposition a campaign may override. ``do_not_call`` (the number
#: is listed, every pending lead of it blocked) and ``callback_requested`` (a callback at the time
#: the person gave) are the person's own requests and have fixed effects of their own.
DEFAULT_DISPOSITION_EFFECTS: dict[Disposition, DispositionEffect] = {
    Disposition.INTERESTED: DispositionEffect.REACHED,
    Disposition.NOT_INTERESTED: DispositionEffect.REACHED,
    Disposition.APPOINTMENT_SET: DispositionEffect.REACHED,
    Disposition.WRONG_NUMBER: DispositionEffect.INVALID,
    Disposition.VOICEMAIL_LEFT: DispositionEffect.RETRY,
    Disposition.OTHER: DispositionEffect.RETRY,
}
FIXED_DISPOSITIONS = frozenset({Disposition.DO_NOT_CALL, Disposition.CALLBACK_REQUESTED})


class CampaignConfig(_Model):
    """Everything a campaign is, apart from its id, status and counters."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    assistant_id: (
        Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")] | None
    ) = Field(default=None, description="The assistant to dial with; or give assistant_variants for A/B.")
    assistant_variants: Annotated[list[AssistantVariant], Field(max_length=10)] | None = None
    dial_method: DialMethod = DialMethod.CALL_CONTROL
    caller_ids: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]], Field(max_length=500)
    ] = Field(default_factory=list, description="Caller-ID pool: ids from /caller-ids.")
    window: CallingWindow = Field(default_factory=CallingWindow)
    pacing: Pacing = Field(default_factory=Pacing)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    consent: ConsentRequirement = Field(default_factory=ConsentRequirement)
    budget: Budget | None = None
    voicemail: VoicemailSetting = Field(
        default_factory=VoicemailSetting,
        description="When a machine answers: retry (default), hangup, or leave_message (hangup and "
        "leave_message: Call Control dialling only).",
    )
    circuit_breaker: CircuitBreaker = Field(
        default_factory=CircuitBreaker,
        description="Pause the campaign when its dials start failing (on by default; issue 24).",
    )
    variables: dict[Annotated[str, Field(pattern=VARIABLE_NAME)], str] = Field(
        default_factory=dict,
        description="Assistant dynamic variable → lead field (first_name, ..., or custom.<name>).",
    )
    disposition_effects: dict[Disposition, DispositionEffect] = Field(
        default_factory=dict,
        description="Disposition → what it does to the lead (reached, exhausted, invalid: the lead "
        "ends so; retry: the call outcome's retry policy decides), over the defaults: interested, "
        "not_interested and appointment_set → reached, wrong_number → invalid, voicemail_left and "
        "other → retry. do_not_call and callback_requested have fixed effects.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> CampaignConfig:
        if self.assistant_id is not None and self.assistant_variants:
            raise ValueError("give assistant_id or assistant_variants, not both")
        if self.assistant_variants:
            ids = [v.assistant_id for v in self.assistant_variants]
            if len(set(ids)) != len(ids):
                raise ValueError("assistant_variants must name each assistant once")
        if len(set(self.caller_ids)) != len(self.caller_ids):
            raise ValueError("caller_ids must not repeat")
        if self.voicemail.action != "retry" and self.dial_method != DialMethod.CALL_CONTROL:
            raise ValueError(
                f"voicemail.action {self.voicemail.action} needs dial_method call_control (a TeXML AI "
                "call's machine answers are its assistant's own telephony settings)"
            )
        fixed = sorted(d.value for d in self.disposition_effects if d in FIXED_DISPOSITIONS)
        if fixed:
            raise ValueError(
                f"disposition_effects: {', '.join(fixed)} cannot be overridden (the person's own "
                "request: do_not_call lists the number, callback_requested schedules the callback)"
            )
        for name, source in self.variables.items():
            if not _valid_source(source):
                raise ValueError(
                    f"variables.{name}: {source!r} is not a lead field ({', '.join(LEAD_FIELDS)}) "
                    "or custom.<name>"
                )
        return self

    def disposition_effect(self, disposition: Disposition) -> DispositionEffect:
        """What ``disposition`` does to the lead in this campaign (``retry`` for the fixed ones:
        their own effects apply elsewhere)."""
        if disposition in FIXED_DISPOSITIONS:
            return DispositionEffect.RETRY
        return self.disposition_effects.get(disposition) or DEFAULT_DISPOSITION_EFFECTS[disposition]

    def assistant_ids(self) -> list[str]:
        """Every assistant the campaign dials with."""
        if self.assistant_variants:
            return [v.assistant_id for v in self.assistant_variants]
        return [self.assistant_id] if self.assistant_id else []


def _valid_source(source: str) -> bool:
    if source in LEAD_FIELDS:
        return True
    prefix, _, name = source.partition(".")
    return prefix == "custom" and re.fullmatch(r"[A-Za-z0-9_ -]{1,64}", name) is not None


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _time(hhmm: str) -> time:
    minutes = _minutes(hhmm)
    return time.max if minutes == 24 * 60 else time(minutes // 60, minutes % 60)


def compliance_policy(config: CampaignConfig) -> CampaignPolicy:
    """The compliance engine's view of a campaign (the one mapping; the dialer reuses it)."""
    window = config.window
    days = frozenset(_WEEKDAY_INDEX[d] for d in window.days) or ALL_DAYS
    return CampaignPolicy(
        window_days=days,
        window_start=_time(window.start),
        window_end=_time(window.end),
        fallback_zone=window.fallback_zone,
        requires_consent=config.consent.required,
        accepted_consent=frozenset(config.consent.accepted_types),
        requires_scrub=config.consent.require_national_dnc_scrub,
        daily_cap=config.consent.daily_cap,
        max_attempts=config.retry.max_attempts,
    )
