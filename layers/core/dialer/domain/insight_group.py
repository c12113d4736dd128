"""The default insight group this deployment creates on a tenant's Telnyx account, and the
per-tenant map that turns insight ids (or a user's own insight names) into our fields.

Each default template is structured (a ``json_schema`` object whose one property is the
canonical field it fills), so its result names its field by itself: the conclusion is right
even when the insight-id → name lookup is unavailable (WIRE §12.4: the call event carries no
names). The name map is the belt to those braces, and what makes a user's own group work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dialer.domain.insights import FIELDS, field_of
from dialer.domain.outcomes import Disposition

DEFAULT_GROUP_NAME = "telnyx-ai-dialer default"
DEFAULT_GROUP_DESCRIPTION = "Call disposition, callback time, appointment, summary and sentiment."


@dataclass(frozen=True, slots=True)
class InsightTemplateSpec:
    """One template of the default group: its name is the canonical field it fills."""

    name: str
    instructions: str
    json_schema: dict[str, Any]


def _object(prop: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {prop: schema}, "required": [prop]}


def default_templates() -> tuple[InsightTemplateSpec, ...]:
    """The default group's templates (names are :data:`~dialer.domain.insights.FIELDS`)."""
    dispositions = [d.value for d in Disposition]
    when = {"type": ["string", "null"], "description": "ISO 8601 local date-time, or null"}
    return (
        InsightTemplateSpec(
            "disposition",
            "Classify how the call ended for the caller's purpose. Answer exactly one of: "
            + ", ".join(dispositions)
            + ". Use do_not_call if the person asked not to be called again, voicemail_left if "
            "the assistant spoke to a voicemail, other if none fits.",
            _object("disposition", {"type": "string", "enum": dispositions}),
        ),
        InsightTemplateSpec(
            "callback_at",
            "If the person asked to be called back, when (ISO 8601 date-time in their local time, "
            "no offset); otherwise null.",
            _object("callback_at", when),
        ),
        InsightTemplateSpec(
            "appointment_at",
            "If an appointment was agreed, when (ISO 8601 date-time in the person's local time, "
            "no offset); otherwise null.",
            _object("appointment_at", when),
        ),
        InsightTemplateSpec(
            "summary",
            "Summarise the conversation in at most three sentences, without phone numbers.",
            _object("summary", {"type": "string"}),
        ),
        InsightTemplateSpec(
            "sentiment",
            "The person's overall sentiment towards the call: positive, neutral or negative.",
            _object("sentiment", {"type": "string", "enum": ["positive", "neutral", "negative"]}),
        ),
    )


@dataclass(frozen=True, slots=True)
class InsightMapping:
    """A tenant's insight group and what each of its insights fills.

    ``names`` maps an insight id to its name (ours, or the user's); ``fields`` maps a user's
    insight name to one of our fields when it is not already one of our names or aliases.
    """

    group_id: str
    names: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)
    source: str = "default"  # "default" (ours) or "custom" (the tenant's own group)

    def field_names(self) -> dict[str, str]:
        """insight id → canonical field, for :func:`~dialer.domain.insights.conclusion`."""
        return names_to_fields(self.names, self.fields)


def names_to_fields(names: Mapping[str, str], fields: Mapping[str, str] | None = None) -> dict[str, str]:
    """insight id → canonical field: a user's map first, then our names and their aliases;
    insights that fill none of our fields are left out."""
    out: dict[str, str] = {}
    custom = {str(k).strip().lower(): v for k, v in (fields or {}).items()}
    for insight_id, name in names.items():
        key = str(name).strip().lower()
        target = field_of(custom.get(key, "")) or field_of(key)
        if target:
            out[str(insight_id)] = target
    return out


def invalid_fields(fields: Mapping[str, str]) -> list[str]:
    """The targets of a user's map that are not one of our fields (for a 422)."""
    return sorted({str(v) for v in fields.values() if str(v) not in FIELDS})
