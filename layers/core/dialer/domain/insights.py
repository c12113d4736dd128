"""AI insight results → what the conversation concluded (a canonical disposition and its details).

Telnyx delivers an insight group's results as ``[{insight_id, result}]`` where ``result`` is free
text, an object, or an object serialised as a string (structured templates with a
``json_schema``, WIRE.md §6/§12.4). The call event carries no insight *names*, so a result is
understood in one of two ways:

* it is (or parses to) an object with known keys: the default group's structured template
  answers ``{"disposition", "callback_at", "appointment_at", "summary", "sentiment"}`` in one
  object, so it needs no name lookup at all;
* its ``insight_id`` is named in ``names`` (a tenant's own group: insight id → one of the
  :data:`FIELDS` below), and the result (text or object) fills that field.

Anything else is ignored. The fold is a pure function of the results (order of the list plays no
part), so a redelivered insight event yields the same conclusion.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from dialer.domain.outcomes import Disposition

#: The fields an insight can fill, by canonical name.
FIELDS = ("disposition", "callback_at", "appointment_at", "summary", "sentiment")

# Names a structured result (or a tenant's insight names) may use for each field.
_ALIASES = {
    "disposition": "disposition",
    "call_disposition": "disposition",
    "outcome": "disposition",
    "callback_at": "callback_at",
    "callback_time": "callback_at",
    "callback": "callback_at",
    "appointment_at": "appointment_at",
    "appointment": "appointment_at",
    "appointment_time": "appointment_at",
    "summary": "summary",
    "call_summary": "summary",
    "sentiment": "sentiment",
}

MAX_TEXT = 1000


def field_of(name: str | None) -> str | None:
    """The canonical field an insight name (or a structured result's key) stands for, or None."""
    return _ALIASES.get(str(name or "").strip().lower())


def parse_result(value: Any) -> dict[str, Any] | str | None:
    """An insight result as an object, or as text (stringified JSON objects are parsed)."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        if isinstance(parsed, dict):
            return parsed
    return text


def normalize_disposition(value: Any) -> Disposition | None:
    """A disposition as an insight might spell it ("Callback requested", "DNC" …), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    key = {"dnc": "do_not_call", "callback": "callback_requested", "appointment": "appointment_set"}.get(
        key, key
    )
    try:
        return Disposition(key)
    except ValueError:
        return Disposition.OTHER


def conclusion(
    results: Iterable[Mapping[str, Any]], names: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Fold one insight event's results into ``{field: text}`` (only :data:`FIELDS`)."""
    found: dict[str, str] = {}
    # Deterministic whatever the list order: by insight id, then by the result's own text.
    ordered = sorted(results, key=lambda r: (str(r.get("insight_id") or ""), json.dumps(r, default=str)))
    for item in ordered:
        parsed = parse_result(item.get("result"))
        if parsed is None:
            continue
        named = field_of((names or {}).get(str(item.get("insight_id") or "")))
        if isinstance(parsed, dict):
            if named and named in parsed:
                _put(found, named, parsed[named])
            elif named:
                _put(found, named, parsed)
            for key, value in parsed.items():
                field = field_of(str(key))
                if field:
                    _put(found, field, value)
        elif named:
            _put(found, named, parsed)
    if "disposition" in found:
        found["disposition"] = (normalize_disposition(found["disposition"]) or Disposition.OTHER).value
    return found


def _put(found: dict[str, str], field: str, value: Any) -> None:
    if field in found or value in (None, "", [], {}):
        return
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    found[field] = text.strip()[:MAX_TEXT]
