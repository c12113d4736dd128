"""The assistant's dynamic variables: one pure builder shared by the dialer (the variables it
sends with the dial) and the init webhook (the variables it answers ``assistant.initialization``
with), so a call sees the same names however its variables arrived.

Standard library only: the init webhook imports this on the path Telnyx waits on, so it must not
pull in the campaign model graph (pydantic) to build a dict of strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from dialer.domain.instants import zone_info

_LEAD_VARIABLES = ("first_name", "last_name", "email", "company", "address", "city", "state", "zip")
#: The lead attributes a dial's (or a scheduled event's) variables are built from.
LEAD_FIELDS = (*_LEAD_VARIABLES, "phone", "time_zone")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]+")


@dataclass(frozen=True, slots=True)
class CallbackContext:
    """Why and when the lead asked to be called back (for the assistant's greeting)."""

    at: datetime
    note: str | None = None


def dynamic_variables(
    *,
    lead_fields: Mapping[str, str | None],
    custom_fields: Mapping[str, str],
    mapping: Mapping[str, str],
    zone: str | None,
    now: datetime,
    attempt_number: int,
    lead_id: str,
    campaign_id: str,
    callback: CallbackContext | None = None,
) -> dict[str, str]:
    """The assistant's dynamic variables: every value a string (Telnyx rejects anything else).

    Lead fields by name, custom fields as ``custom_<name>``, the campaign's mapping (variable →
    lead field or ``custom.<name>``) on top, the lead-local date and time, the attempt number and,
    for a callback, when it was asked for. Empty values are left out (the assistant's defaults
    apply)."""
    out: dict[str, str] = {}
    for name in _LEAD_VARIABLES:
        value = lead_fields.get(name)
        if value:
            out[name] = str(value)
    first, last = lead_fields.get("first_name"), lead_fields.get("last_name")
    full = " ".join(p for p in (first, last) if p)
    if full:
        out["full_name"] = full
    for name, value in custom_fields.items():
        key = "custom_" + _NAME_CHARS.sub("_", name).strip("_").lower()
        if value not in (None, "") and key != "custom_":
            out[key] = str(value)
    for variable, source in mapping.items():
        if source.startswith("custom."):
            value = custom_fields.get(source.removeprefix("custom."))
        else:
            value = lead_fields.get(source)
        if value not in (None, ""):
            out[variable] = str(value)
    tz = (zone_info(zone) if zone else None) or UTC
    local = now.astimezone(tz)
    out["local_date"] = local.strftime("%Y-%m-%d")
    out["local_time"] = local.strftime("%H:%M")
    out["local_weekday"] = local.strftime("%A")
    if zone:
        out["time_zone"] = zone
    out["attempt_number"] = str(attempt_number)
    out["lead_id"] = lead_id
    out["campaign_id"] = campaign_id
    out["is_callback"] = "true" if callback else "false"
    if callback:
        out["callback_at"] = callback.at.astimezone(tz).isoformat(timespec="minutes")
        if callback.note:
            out["callback_note"] = callback.note
    return out
