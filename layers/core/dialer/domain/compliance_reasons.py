"""The one vocabulary of reasons why a lead may not be dialled now (or ever).

Every block or deferral the compliance engine reports is a :class:`Reason`: a plain string that is
either a bare code (``dnc``) or a code scoped to the rule that fired (``outside_window:FL``). The
strings are stable: they are stored on lead and call records, shown to operators and counted in
metrics, so a code is never renamed, only added.

Codes (``scope`` in angle brackets):

=============================  =================================================================
``invalid_number``             the phone is not an E.164 number (validated with ``phonenumbers``
                               at intake; the engine re-checks the shape).
``unknown_timezone``           the lead's zone could not be resolved and the campaign names no
                               fallback zone, so no window can be evaluated (compliance.md).
``dnc``                        the number is on the tenant's internal do-not-call list
                               (47 CFR 64.1200(d)).
``no_consent``                 the campaign requires consent and there is none in force yet
                               (FCC 24-17: an AI voice is an artificial voice).
``consent_revoked``            consent was revoked (FCC 24-18); blocks even campaigns that do not
                               require consent, because a revocation is an opt-out.
``consent_insufficient``       consent exists but of a type the campaign does not accept (e.g.
                               ``express`` where telemarketing needs ``express_written``).
``no_voicemail_consent``       a machine answered, the campaign leaves messages, and the lead's
                               consent does not cover a prerecorded or artificial-voice message
                               for the campaign's purpose (FCC 24-17; 64.1200(a)(2)-(3)): no
                               message is left. Recorded on the call, not a dialling block.
``scrub_missing``              the campaign requires a national-DNC scrub and the lead has none.
``scrub_stale``                the last national-DNC scrub is older than 31 days (safe harbour,
                               64.1200(c)(2)).
``max_attempts``               the lead has used the campaign's attempts.
``emergency:<ST>``             the state is under a declared emergency and forbids solicitation
                               during one (compliance.md: LA).
``holiday:<ST>``               the lead-local date is a holiday on which the state forbids calls.
``sunday:<ST>``                the lead-local date is a Sunday on which the state forbids calls.
``outside_window:federal``     lead-local time outside 08:00-21:00 (47 CFR 64.1200(c)(1)).
``outside_window:<ST>``        outside the state's window for that day of the week.
``outside_window:campaign``    outside the campaign's own days and hours.
``cap_24h:<ST>``               the person already had the state's cap of calls in the last 24 h
                               (FL, OK, MD: 3), counted across campaigns.
``cap_daily``                  the person reached the campaign's daily cap (lead-local day),
                               counted across campaigns.
=============================  =================================================================

Reasons in :data:`DEFERRABLE_CODES` lift with time (the engine's ``next_legal_time`` finds when);
the others need a fact to change first.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache


class ReasonCode(StrEnum):
    """The kind of a reason; the part of a :class:`Reason` before the colon."""

    INVALID_NUMBER = "invalid_number"
    UNKNOWN_TIMEZONE = "unknown_timezone"
    DNC = "dnc"
    NO_CONSENT = "no_consent"
    CONSENT_REVOKED = "consent_revoked"
    CONSENT_INSUFFICIENT = "consent_insufficient"
    NO_VOICEMAIL_CONSENT = "no_voicemail_consent"
    SCRUB_MISSING = "scrub_missing"
    SCRUB_STALE = "scrub_stale"
    MAX_ATTEMPTS = "max_attempts"
    EMERGENCY = "emergency"
    HOLIDAY = "holiday"
    SUNDAY = "sunday"
    OUTSIDE_WINDOW = "outside_window"
    CAP_24H = "cap_24h"
    CAP_DAILY = "cap_daily"


#: Scope of the federal calling-hours rule, ``outside_window:federal``.
FEDERAL = "federal"
#: Scope of the campaign's own window, ``outside_window:campaign``.
CAMPAIGN = "campaign"

#: Codes that always carry a scope (a state, ``federal`` or ``campaign``).
SCOPED_CODES: frozenset[ReasonCode] = frozenset(
    {
        ReasonCode.EMERGENCY,
        ReasonCode.HOLIDAY,
        ReasonCode.SUNDAY,
        ReasonCode.OUTSIDE_WINDOW,
        ReasonCode.CAP_24H,
    }
)

#: Codes that time alone lifts: the lead is deferred, not blocked.
DEFERRABLE_CODES: frozenset[ReasonCode] = frozenset(
    {
        ReasonCode.HOLIDAY,
        ReasonCode.SUNDAY,
        ReasonCode.OUTSIDE_WINDOW,
        ReasonCode.CAP_24H,
        ReasonCode.CAP_DAILY,
    }
)


class Reason(str):
    """A stable reason string, ``code`` or ``code:scope``; compares equal to its text.

    Build one with :meth:`of` (or :meth:`parse` for stored text) so the code is checked; the
    string value is what gets stored and shown.
    """

    __slots__ = ()

    @classmethod
    def of(cls, code: ReasonCode, scope: str | None = None) -> Reason:
        """Return the (cached) reason for ``code`` with ``scope``; scoped codes need a scope."""
        return _make(ReasonCode(code), scope)

    @classmethod
    def parse(cls, text: str) -> Reason:
        """Parse stored text back into a reason; raises ``ValueError`` for an unknown code."""
        code, sep, scope = text.partition(":")
        return _make(ReasonCode(code), scope if sep else None)

    @property
    def code(self) -> ReasonCode:
        """The kind of reason."""
        return ReasonCode(self.partition(":")[0])

    @property
    def scope(self) -> str | None:
        """The state code, ``federal`` or ``campaign`` for scoped reasons, else ``None``."""
        _, sep, scope = self.partition(":")
        return scope if sep else None

    @property
    def deferrable(self) -> bool:
        """True when time alone lifts this reason (a window, day, holiday or cap)."""
        return self.code in DEFERRABLE_CODES


@cache
def _make(code: ReasonCode, scope: str | None) -> Reason:
    if (code in SCOPED_CODES) != (scope is not None):
        raise ValueError(f"reason {code.value!r} {'needs' if code in SCOPED_CODES else 'takes no'} scope")
    if scope is not None and not scope:
        raise ValueError("empty reason scope")
    return Reason(code.value if scope is None else f"{code.value}:{scope}")


# The unscoped reasons, built once (the engine appends these on its hot path).
INVALID_NUMBER = Reason.of(ReasonCode.INVALID_NUMBER)
UNKNOWN_TIMEZONE = Reason.of(ReasonCode.UNKNOWN_TIMEZONE)
DNC = Reason.of(ReasonCode.DNC)
NO_CONSENT = Reason.of(ReasonCode.NO_CONSENT)
CONSENT_REVOKED = Reason.of(ReasonCode.CONSENT_REVOKED)
CONSENT_INSUFFICIENT = Reason.of(ReasonCode.CONSENT_INSUFFICIENT)
NO_VOICEMAIL_CONSENT = Reason.of(ReasonCode.NO_VOICEMAIL_CONSENT)
SCRUB_MISSING = Reason.of(ReasonCode.SCRUB_MISSING)
SCRUB_STALE = Reason.of(ReasonCode.SCRUB_STALE)
MAX_ATTEMPTS = Reason.of(ReasonCode.MAX_ATTEMPTS)
CAP_DAILY = Reason.of(ReasonCode.CAP_DAILY)
OUTSIDE_WINDOW_FEDERAL = Reason.of(ReasonCode.OUTSIDE_WINDOW, FEDERAL)
OUTSIDE_WINDOW_CAMPAIGN = Reason.of(ReasonCode.OUTSIDE_WINDOW, CAMPAIGN)
