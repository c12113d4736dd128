"""Leads: normalising what a client sends (JSON or a CSV row) into a lead we can dial, or a reason.

One path for both sources: :class:`LeadFields` (plain strings, as a CSV row has them) goes through
:func:`normalize_lead`, which returns a :class:`NormalizedLead` or raises :class:`LeadRejected`
with a stable reason code (stored on the import's error items and shown to the operator).

Fields are the ones a dial-smart-system lead has: first/last name, email, company, address, city,
state, ZIP, time zone, tags, custom fields, consent, plus the national-DNC scrub date. Location:
an explicit IANA zone alone, else the candidate zones of the address state and of the number (ZIP
is kept but not used: see :mod:`dialer.domain.location`); the area-code state is kept beside the
address state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from dialer import clock as engine_clock
from dialer.domain.location import LocationIssue, ZoneCandidate, resolve_location
from dialer.domain.phones import InvalidPhoneNumber, PhoneRejection, normalize_phone
from dialer.policies.compliance import ConsentRecord, ConsentType

MAX_FIELD = 500
MAX_TAGS = 50
MAX_CUSTOM_FIELDS = 100
#: How far in the future a consent timestamp may be. Consent is something that already happened,
#: so a later one is a mistake (year 9999 would count as consent given); one day of slack covers
#: naive local times read as UTC east of Greenwich.
CONSENT_CLOCK_SLACK = timedelta(days=1)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_SPLIT = re.compile(r"[;|]")


class RejectReason(StrEnum):
    """Why a lead (an import row, a batch item) was refused. Stable: stored and shown to operators."""

    PHONE_MISSING = "phone_missing"
    PHONE_UNPARSEABLE = "phone_unparseable"
    PHONE_NOT_POSSIBLE = "phone_not_possible"
    PHONE_INVALID = "phone_invalid"
    INVALID_TIME_ZONE = "invalid_time_zone"
    INVALID_STATE = "invalid_state"
    INVALID_EMAIL = "invalid_email"
    INVALID_CONSENT_TYPE = "invalid_consent_type"
    INVALID_CONSENT_TIMESTAMP = "invalid_consent_timestamp"
    CONSENT_INCOMPLETE = "consent_incomplete"
    INVALID_SCRUB_DATE = "invalid_scrub_date"
    FIELD_TOO_LONG = "field_too_long"
    TOO_MANY_TAGS = "too_many_tags"
    TOO_MANY_CUSTOM_FIELDS = "too_many_custom_fields"
    MALFORMED_ROW = "malformed_row"
    INVALID_ENCODING = "invalid_encoding"


_PHONE_REASONS = {
    PhoneRejection.EMPTY: RejectReason.PHONE_MISSING,
    PhoneRejection.UNPARSEABLE: RejectReason.PHONE_UNPARSEABLE,
    PhoneRejection.NOT_POSSIBLE: RejectReason.PHONE_NOT_POSSIBLE,
    PhoneRejection.INVALID: RejectReason.PHONE_INVALID,
}


class LeadRejected(ValueError):
    """A lead that cannot be stored: ``reason`` (a :class:`RejectReason`), the ``field`` at fault."""

    def __init__(self, reason: RejectReason, field_name: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class LeadFields:
    """A lead as a client sends it: text fields (empty = not given), tags, custom fields, consent."""

    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    company: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    time_zone: str = ""
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    consent_type: str = ""
    consent_source: str = ""
    consent_granted_at: str | datetime = ""
    consent_revoked_at: str | datetime = ""
    dnc_scrubbed_at: str | datetime | date = ""


@dataclass(frozen=True, slots=True)
class NormalizedLead:
    """A valid lead: E.164 phone, resolved location, parsed consent; text fields trimmed."""

    phone: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None  # USPS code of the address state
    zip: str | None = None
    time_zone: str | None = None  # the explicit zone, as given
    zone: str | None = None  # the primary ("lead-local") zone: the address's, or the single candidate
    zone_source: str = "none"
    area_code_state: str | None = None
    location_issues: tuple[str, ...] = ()
    # Every zone the person may be in, with its evidence (primary first); windows must hold in all.
    zones: tuple[ZoneCandidate, ...] = ()
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    consent: ConsentRecord | None = None
    dnc_scrubbed_at: datetime | None = None


def normalize_lead(
    fields: LeadFields, *, default_region: str = "US", now: datetime | None = None
) -> NormalizedLead:
    """Validate and normalise one lead; raises :class:`LeadRejected` with the first problem found.
    ``now`` (default: the wall clock) bounds consent timestamps."""
    try:
        e164 = normalize_phone(fields.phone, default_region=default_region)
    except InvalidPhoneNumber as exc:
        raise LeadRejected(_PHONE_REASONS[exc.reason], "phone", str(exc)) from None

    text = {
        name: _text(getattr(fields, name), name)
        for name in ("first_name", "last_name", "email", "company", "address", "city", "zip")
    }
    if text["email"] is not None and not _EMAIL.match(text["email"]):
        raise LeadRejected(RejectReason.INVALID_EMAIL, "email", "not an email address")

    explicit_zone = _text(fields.time_zone, "time_zone")
    raw_state = _text(fields.state, "state")
    location = resolve_location(e164, explicit_zone=explicit_zone, address_state=raw_state)
    if LocationIssue.INVALID_ZONE in location.issues:
        raise LeadRejected(RejectReason.INVALID_TIME_ZONE, "time_zone", "not an IANA time zone")
    if LocationIssue.UNKNOWN_STATE in location.issues:
        raise LeadRejected(RejectReason.INVALID_STATE, "state", "not a US state or territory")

    tags = tuple(dict.fromkeys(t.strip() for t in fields.tags if t and t.strip()))
    if len(tags) > MAX_TAGS:
        raise LeadRejected(RejectReason.TOO_MANY_TAGS, "tags", f"at most {MAX_TAGS} tags")
    for tag in tags:
        _text(tag, "tags")
    custom = {
        k.strip(): v.strip() for k, v in fields.custom_fields.items() if k and k.strip() and v and v.strip()
    }
    if len(custom) > MAX_CUSTOM_FIELDS:
        raise LeadRejected(
            RejectReason.TOO_MANY_CUSTOM_FIELDS, "custom_fields", f"at most {MAX_CUSTOM_FIELDS} custom fields"
        )
    for key, value in custom.items():
        _text(key, "custom_fields")
        _text(value, f"custom_fields.{key}")

    return NormalizedLead(
        phone=e164,
        **text,
        state=location.address_state,
        time_zone=explicit_zone,
        zone=location.zone,
        zone_source=location.source.value,
        area_code_state=location.area_code_state,
        location_issues=tuple(i.value for i in location.issues),
        zones=location.candidates,
        tags=tags,
        custom_fields=custom,
        consent=_consent(fields, now),
        dnc_scrubbed_at=_scrub_date(fields.dnc_scrubbed_at),
    )


def merge_leads(old: NormalizedLead, new: NormalizedLead) -> NormalizedLead:
    """Two records of one person in one campaign: ``new`` wins where it says something.

    Tags are united and custom fields merged; a consent record or scrub date in ``new`` replaces
    the old one, and a location given in ``new`` replaces the whole location (it was resolved
    from the facts ``new`` brings).
    """
    changes: dict[str, object] = {}
    for name in ("first_name", "last_name", "email", "company", "address", "city", "zip"):
        value = getattr(new, name)
        if value is not None:
            changes[name] = value
    if new.state is not None or new.time_zone is not None:
        changes.update(
            state=new.state,
            time_zone=new.time_zone,
            zone=new.zone,
            zone_source=new.zone_source,
            location_issues=new.location_issues,
            zones=new.zones,
        )
    changes["tags"] = tuple(dict.fromkeys((*old.tags, *new.tags)))
    changes["custom_fields"] = {**old.custom_fields, **new.custom_fields}
    if new.consent is not None:
        changes["consent"] = new.consent
    if new.dnc_scrubbed_at is not None:
        changes["dnc_scrubbed_at"] = new.dnc_scrubbed_at
    return replace(old, **changes)  # type: ignore[arg-type]


def split_tags(value: str) -> tuple[str, ...]:
    """Tags from one CSV cell (``a;b`` or ``a|b``)."""
    return tuple(t.strip() for t in _TAG_SPLIT.split(value) if t.strip())


def parse_instant(value: str | datetime | date) -> datetime:
    """An aware datetime from ISO 8601 text (a date is its UTC midnight; naive times are UTC)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        text = value.strip()
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _text(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if len(text) > MAX_FIELD:
        raise LeadRejected(RejectReason.FIELD_TOO_LONG, name, f"longer than {MAX_FIELD} characters")
    return text or None


def _blank(value: str | datetime | date) -> bool:
    return isinstance(value, str) and not value.strip()


def _consent(fields: LeadFields, now: datetime | None) -> ConsentRecord | None:
    return consent_record(
        fields.consent_type,
        fields.consent_source,
        fields.consent_granted_at,
        fields.consent_revoked_at,
        now=now,
    )


def consent_record(
    kind_text: str,
    source_text: str,
    granted_at: str | datetime,
    revoked_at: str | datetime | None,
    *,
    now: datetime | None = None,
) -> ConsentRecord | None:
    """A consent record from its parts (None when no type and no timestamps are given).

    Raises :class:`LeadRejected` for an unknown type, a missing or unparseable timestamp, a
    timestamp more than :data:`CONSENT_CLOCK_SLACK` after ``now`` (default: the wall clock), or a
    revocation before the grant.
    """
    revoked_at = "" if revoked_at is None else revoked_at
    if not kind_text.strip():
        if not (_blank(granted_at) and _blank(revoked_at)):
            raise LeadRejected(
                RejectReason.CONSENT_INCOMPLETE, "consent_type", "a consent timestamp without a consent type"
            )
        return None
    try:
        kind = ConsentType(kind_text.strip().lower())
    except ValueError:
        allowed = ", ".join(t.value for t in ConsentType)
        raise LeadRejected(
            RejectReason.INVALID_CONSENT_TYPE, "consent_type", f"consent type must be one of {allowed}"
        ) from None
    if _blank(granted_at):
        raise LeadRejected(RejectReason.CONSENT_INCOMPLETE, "consent_granted_at", "consent needs granted_at")
    granted = _instant(granted_at, "consent_granted_at", RejectReason.INVALID_CONSENT_TIMESTAMP)
    revoked = (
        None
        if _blank(revoked_at)
        else _instant(revoked_at, "consent_revoked_at", RejectReason.INVALID_CONSENT_TIMESTAMP)
    )
    latest = (now or engine_clock.now()) + CONSENT_CLOCK_SLACK
    for name, instant in (("consent_granted_at", granted), ("consent_revoked_at", revoked)):
        if instant is not None and instant > latest:
            raise LeadRejected(RejectReason.INVALID_CONSENT_TIMESTAMP, name, "in the future")
    if revoked is not None and revoked < granted:
        raise LeadRejected(
            RejectReason.INVALID_CONSENT_TIMESTAMP, "consent_revoked_at", "revoked before it was granted"
        )
    source = _text(source_text, "consent_source") or "unspecified"
    return ConsentRecord(type=kind, source=source, granted_at=granted, revoked_at=revoked)


def _scrub_date(value: str | datetime | date) -> datetime | None:
    if _blank(value):
        return None
    return _instant(value, "dnc_scrubbed_at", RejectReason.INVALID_SCRUB_DATE)


def _instant(value: str | datetime | date, name: str, reason: RejectReason) -> datetime:
    try:
        return parse_instant(value)
    except ValueError:
        raise LeadRejected(reason, name, "not an ISO 8601 date or timestamp") from None
