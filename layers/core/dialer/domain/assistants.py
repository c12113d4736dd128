"""Pure rules for assistants managed through this deployment: defaults, merges, diffs.

Works on the wire dicts Telnyx sends and receives, so it needs no client and no AWS.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from dialer.domain.outcomes import Disposition

#: The most an assistant may weigh as JSON (UTF-8), checked before Telnyx is called. Its mirror is
#: one DynamoDB item (400 KB at most) holding what Telnyx returns: what we sent plus Telnyx's own
#: additions (a few KB), so this leaves ample room. Over it, Telnyx would accept the assistant and
#: the mirror write would fail, leaving an assistant the API never lists.
MAX_ASSISTANT_BYTES = 256 * 1024

# Tools this deployment serves at POST /tools/{tenant_id}/{tool} (functions/assistant_tools). The
# parameter schemas are what the model fills in; identity travels in PRESET_BODY_FIELDS, which
# Telnyx renders from dynamic variables and the model can neither see nor set (WIRE §12.1).
DEPLOYMENT_TOOLS: dict[str, dict[str, Any]] = {
    "opt_out": {
        "description": "Call this as soon as the person asks not to be called again (or to be removed "
        "from the list). Their number is put on the do-not-call list at once; then confirm politely "
        "and end the call.",
        "body_parameters": {"type": "object", "properties": {}, "required": []},
    },
    "schedule_callback": {
        "description": "Call this when the person asks to be called back at a particular time. Convert "
        "what they said into an ISO 8601 date-time (for example 2026-12-01T15:00) in their local time, "
        "or add time_zone if they named another zone. Read back the confirmed time from the answer.",
        "body_parameters": {
            "type": "object",
            "properties": {
                "when": {
                    "type": "string",
                    "description": "ISO 8601 date-time of the callback, the person's local time unless "
                    "it has an offset or time_zone is given.",
                },
                "time_zone": {
                    "type": "string",
                    "description": "IANA time zone the person named (e.g. America/Chicago); omit for theirs.",
                },
                "note": {"type": "string", "description": "Why they want the callback, in a few words."},
            },
            "required": ["when"],
        },
    },
    "set_disposition": {
        "description": "Call this once the outcome of the conversation is clear.",
        "body_parameters": {
            "type": "object",
            "properties": {
                "disposition": {"type": "string", "enum": [d.value for d in Disposition]},
                "note": {"type": "string", "description": "One sentence on why."},
            },
            "required": ["disposition"],
        },
    },
}
# Call identity in every tool request: rendered by Telnyx from system and dynamic variables.
PRESET_BODY_FIELDS: dict[str, str] = {
    "call_control_id": "{{call_control_id}}",
    "lead_id": "{{lead_id}}",
    "end_user": "{{telnyx_end_user_target}}",
}
# Telnyx applies a tool's timeout at tool level (a sibling of "type"); a value nested in "webhook"
# is stored but not applied (WIRE §12.1), so both are sent.
TOOL_TIMEOUT_MS = 5000
TOOL_SECRET_HEADER = "X-Tool-Secret"  # noqa: S105 - a header name
# Top-level fields whose value is an object: a PATCH merges into them instead of replacing them.
MERGED_BLOCKS = (
    "voice_settings",
    "transcription",
    "telephony_settings",
    "messaging_settings",
    "insight_settings",
    "privacy_settings",
    "interruption_settings",
    "external_llm",
    "fallback_config",
    "observability_settings",
    "post_conversation_settings",
    "widget_settings",
    "dynamic_variables",
)


@dataclass(frozen=True, slots=True)
class DeploymentDefaults:
    """What makes an assistant work with this deployment, for one tenant."""

    base_url: str
    tenant_id: str
    dynamic_variables_timeout_ms: int
    tool_secret: str | None
    # The tenant's insight group (issue 10): new assistants report their insights to it.
    insight_group_id: str | None = None

    @property
    def dynamic_variables_url(self) -> str:
        """The tenant's ``assistant.initialization`` webhook."""
        return f"{self.base_url.rstrip('/')}/webhooks/telnyx/{self.tenant_id}/init"

    def tool_url(self, tool: str) -> str:
        """The URL of one of this deployment's tools for the tenant."""
        return f"{self.base_url.rstrip('/')}/tools/{self.tenant_id}/{tool}"


def apply_create_defaults(
    body: dict[str, Any], defaults: DeploymentDefaults, *, deployment_tools: bool
) -> dict[str, Any]:
    """A create body with this deployment's defaults filled in where the caller left them out."""
    out = copy.deepcopy(body)
    out.setdefault("dynamic_variables_webhook_url", defaults.dynamic_variables_url)
    out.setdefault("dynamic_variables_webhook_timeout_ms", defaults.dynamic_variables_timeout_ms)
    out.setdefault("enabled_features", ["telephony"])
    privacy = dict(out.get("privacy_settings") or {})
    privacy.setdefault("data_retention", True)  # insights need retained conversations
    out["privacy_settings"] = privacy
    if defaults.insight_group_id:
        insight = dict(out.get("insight_settings") or {})
        insight.setdefault("insight_group_id", defaults.insight_group_id)
        out["insight_settings"] = insight
    if deployment_tools:
        tools = list(out.get("tools") or [])
        present = {(t.get("webhook") or {}).get("name") for t in tools if t.get("type") == "webhook"}
        tools.extend(deployment_tool(name, defaults) for name in DEPLOYMENT_TOOLS if name not in present)
        out["tools"] = tools
    return out


def deployment_tool(name: str, defaults: DeploymentDefaults) -> dict[str, Any]:
    """The webhook tool definition of one of this deployment's tools."""
    spec = DEPLOYMENT_TOOLS[name]
    webhook: dict[str, Any] = {
        "name": name,
        "description": spec["description"],
        "url": defaults.tool_url(name),
        "method": "POST",
        "timeout_ms": TOOL_TIMEOUT_MS,
        "body_parameters": spec["body_parameters"],
        "preset_body_fields": dict(PRESET_BODY_FIELDS),
    }
    if defaults.tool_secret:
        webhook["headers"] = [{"name": TOOL_SECRET_HEADER, "value": defaults.tool_secret}]
    return {"type": "webhook", "timeout_ms": TOOL_TIMEOUT_MS, "webhook": webhook}


#: The most of an assistant's settings one mirror item holds (DynamoDB items are at most 400 KB).
MAX_MIRRORED_BYTES = 350 * 1024
OMITTED_KEY = "omitted_from_mirror"


def mirrorable(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` itself if its mirror item fits, else a copy without its largest top-level
    fields, named under :data:`OMITTED_KEY`. Only an assistant made elsewhere (the Telnyx portal)
    can be that large; it must still be mirrored, or sync fails and the assistant is never listed."""
    if settings_size(settings) <= MAX_MIRRORED_BYTES:
        return settings
    kept = dict(settings)
    omitted: list[str] = []
    for key in sorted(kept, key=lambda k: settings_size({k: kept[k]}), reverse=True):
        if key == "id":
            continue
        omitted.append(key)
        del kept[key]
        if settings_size({**kept, OMITTED_KEY: omitted}) <= MAX_MIRRORED_BYTES:
            break
    return {**kept, OMITTED_KEY: sorted(omitted)}


def settings_json(settings: dict[str, Any]) -> str:
    """An assistant's settings as the mirror stores them (compact, UTF-8 text as DynamoDB counts it)."""
    return json.dumps(settings, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def settings_size(settings: dict[str, Any]) -> int:
    """Bytes of :func:`settings_json`: what :data:`MAX_ASSISTANT_BYTES` bounds."""
    return len(settings_json(settings).encode())


def deep_merge(base: Any, patch: Any) -> Any:
    """``patch`` merged into ``base``: objects merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = deep_merge(base.get(key), value)
        return merged
    return copy.deepcopy(patch)


def merged_changes(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The top-level fields a PATCH changes, each with its full new value.

    Settings objects are merged into what Telnyx has now, so keys the caller did not send keep
    their values even if Telnyx replaces the whole object on update. Fields whose new value equals
    the current one are left out: Telnyx is sent only what changes.
    """
    changes: dict[str, Any] = {}
    for key, value in patch.items():
        new = (
            deep_merge(current.get(key), value) if key in MERGED_BLOCKS and isinstance(value, dict) else value
        )
        if new != current.get(key):
            changes[key] = new
    return changes


def texml_app_id_of(assistant: dict[str, Any]) -> str | None:
    """The assistant's auto-created TeXML application id, if Telnyx reported one."""
    telephony = assistant.get("telephony_settings") or {}
    value = telephony.get("default_texml_app_id") if isinstance(telephony, dict) else None
    return str(value) if value else None
