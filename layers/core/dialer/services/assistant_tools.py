"""In-call tools (``POST /tools/{tenant_id}/{tool}``): what the assistant calls mid-conversation.

Authentication: the Ed25519 signature whenever its headers are present (Telnyx adds them to tool
calls; a bad one is a 401), and the tenant's tool secret header whenever the tenant has one
(constant-time compare). A request that proves neither is a 401; an unknown tenant looks exactly
like a bad secret.

Identity comes from the preset body fields the assistant defaults send (``call_control_id``,
``lead_id``, ``end_user``), which Telnyx renders and the model cannot set; a value that still
contains ``{{`` was not rendered and is ignored. The ``x-telnyx-call-control-id`` header wins
when present. The call record's link (written by the dialer) names the lead when it exists; a
``lead_id`` that is not this tenant's lead identifies nobody.

Answers are small JSON objects the assistant can speak from. Every tool is idempotent: Telnyx may
retry a tool call, and a repeat writes the same values.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from dialer.adapters.tenant_config import is_valid_tenant_id
from dialer.domain.assistants import TOOL_SECRET_HEADER
from dialer.domain.instants import localize, parse_datetime, zone_info, zone_named
from dialer.domain.outcomes import Disposition
from dialer.errors import BadRequest, InvalidInput, NotFound, Unauthorized
from dialer.request_body import read_json
from dialer.services.intake import TenantKeys, verify_tenant_signature
from telnyx_client.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER

if TYPE_CHECKING:  # the adapters and the effects are imported when the function is wired
    from dialer.adapters.campaigns_table import LeadRecord
    from dialer.adapters.dispositions_table import DispositionsTable
    from dialer.services.dialing_api import DialingApi
    from dialer.services.dispositions import Dispositions

CALL_CONTROL_HEADER = "x-telnyx-call-control-id"
MAX_CALLBACK_AHEAD = timedelta(days=90)
MAX_TOOL_BODY = 16 * 1024
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class Tool(StrEnum):
    """The tools this deployment serves (their definitions: ``domain.assistants.DEPLOYMENT_TOOLS``)."""

    OPT_OUT = "opt_out"
    SCHEDULE_CALLBACK = "schedule_callback"
    SET_DISPOSITION = "set_disposition"


class ToolSecrets(Protocol):
    """Where a tenant's tool secret comes from (:class:`~dialer.adapters.secrets.TenantSecrets`)."""

    def tool_secret(self, tenant_id: str) -> str | None:
        """The secret, or None if the tenant has none (or is unknown)."""
        ...


@dataclass(frozen=True, slots=True)
class ToolRequest:
    """A tool call as the route received it."""

    tenant_id: str
    tool: str
    raw_body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who the tool call is about, as far as we can tell."""

    call_control_id: str | None
    lead: LeadRecord | None
    phone: str | None
    #: This tenant has a record of the call (ours to annotate even without a lead).
    known_call: bool = False


class AssistantTools:
    """Serves the deployment's tools for any tenant."""

    def __init__(
        self,
        *,
        tenant_keys: TenantKeys,
        secrets: ToolSecrets,
        table: DispositionsTable,
        dispositions: Callable[[str], Dispositions],
        callbacks: Callable[[str], DialingApi],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_keys = tenant_keys
        self.secrets = secrets
        self.table = table
        self.dispositions = dispositions
        self.callbacks = callbacks
        if clock is None:
            from dialer import clock as engine_clock

            clock = engine_clock.now  # the engine's "now" (shifted only on the local stack)
        self.clock = clock

    def call(self, request: ToolRequest) -> dict[str, Any]:
        """Authenticate, identify the caller and run the tool; the answer for the assistant.

        Raises Unauthorized (401), NotFound (404: no such tool, or a disposition for a call the
        tenant has no record or lead of) or BadRequest (400: the body is not a JSON object); everything the model got wrong is a 200 answer it can act on."""
        self._authenticate(request)
        try:
            tool = Tool(request.tool)
        except ValueError:
            raise NotFound(f"no tool named {request.tool!r}") from None
        body = _json_object(request.raw_body)
        caller = self._caller(request.tenant_id, body, request.headers)
        if tool == Tool.OPT_OUT:
            return self._opt_out(request.tenant_id, caller)
        if tool == Tool.SCHEDULE_CALLBACK:
            return self._schedule_callback(request.tenant_id, caller, body)
        return self._set_disposition(request.tenant_id, caller, body)

    # --- authentication and identity -------------------------------------------------------------
    def _authenticate(self, request: ToolRequest) -> None:
        if len(request.raw_body) > MAX_TOOL_BODY:
            raise Unauthorized("tool call could not be authenticated", reason="body_too_large")
        headers = {k.lower(): v for k, v in request.headers.items()}
        signed = SIGNATURE_HEADER in headers or TIMESTAMP_HEADER in headers
        if signed:
            verify_tenant_signature(self.tenant_keys, request.tenant_id, request.raw_body, request.headers)
        secret = (
            self.secrets.tool_secret(request.tenant_id) if is_valid_tenant_id(request.tenant_id) else None
        )
        given = headers.get(TOOL_SECRET_HEADER.lower(), "")
        if secret is not None:
            if not hmac.compare_digest(given.encode(), secret.encode()):
                raise Unauthorized("tool call could not be authenticated", reason="bad_tool_secret")
        elif not signed:
            raise Unauthorized("tool call could not be authenticated", reason="unauthenticated")

    def _caller(self, tenant_id: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> Caller:
        lowered = {k.lower(): v for k, v in headers.items()}
        call_control_id = _rendered(lowered.get(CALL_CONTROL_HEADER)) or _rendered(
            body.get("call_control_id")
        )
        lead_id = _rendered(body.get("lead_id"))
        link: dict[str, Any] = {}
        if call_control_id:
            link = self.table.call_item(tenant_id, call_control_id) or {}
            # Our own link beats what the request names.
            if isinstance(link.get("lead_id"), str):
                lead_id = link["lead_id"]
        lead = self.table.get_lead(tenant_id, lead_id) if lead_id else None
        end_user = _rendered(body.get("end_user"))
        number = end_user if end_user and _E164.match(end_user) else None
        if lead is None and number is not None:
            # A call we did not dial (an inbound caller, a Telnyx scheduled event): the number's
            # lead, by the same rule the init webhook greeted them with.
            lead = self.table.caller_lead(tenant_id, number)
        phone = lead.lead.phone if lead else number
        return Caller(call_control_id, lead, phone, known_call=bool(link))

    # --- the tools -------------------------------------------------------------------------------
    def _opt_out(self, tenant_id: str, caller: Caller) -> dict[str, Any]:
        if caller.phone is None:
            return {
                "ok": False,
                "result": "caller_unknown",
                "message": "The number could not be identified, so it was not added to the do-not-call "
                "list. Apologise, say the request has been noted for a person to handle, and end the "
                "call politely.",
            }
        result = self.dispositions(tenant_id).opt_out(
            caller.phone, call_control_id=caller.call_control_id, source="call"
        )
        return {
            "ok": True,
            "result": "opted_out",
            "message": "Done: this number is on the do-not-call list and will not be called again. "
            "Confirm that to the person politely, thank them, and end the call.",
            "already_listed": not result.newly_listed,
        }

    def _schedule_callback(self, tenant_id: str, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
        """Through the same service as ``POST /leads/{id}/callback``: lead-local unless the time
        has an offset or ``time_zone`` names a zone; moved to the next legal instant if needed."""
        from dialer.errors import Conflict
        from dialer.services.dialing_models import CallbackRequest

        if caller.lead is None:
            return {
                "ok": False,
                "result": "caller_unknown",
                "message": "The callback could not be scheduled because the caller is not a known lead. "
                "Say a colleague will call back and carry on.",
            }
        when = _parse_when(body.get("when"), body.get("time_zone"))
        if when is None:
            return {
                "ok": False,
                "error": "unparseable_time",
                "message": "Ask for a day and time, then call schedule_callback again with an ISO 8601 "
                "date-time such as 2026-12-01T15:00.",
            }
        now = self.clock()
        probe = when if when.tzinfo is not None else when.replace(tzinfo=_zone_or_utc(caller.lead.lead.zone))
        if probe - now > MAX_CALLBACK_AHEAD:
            return {
                "ok": False,
                "error": "too_far_ahead",
                "message": f"That is more than {MAX_CALLBACK_AHEAD.days} days away. Ask for a time sooner.",
            }
        note = body.get("note") if isinstance(body.get("note"), str) else None
        try:
            scheduled = self.callbacks(tenant_id).callback(
                # A note always: it greets the callback ("callback_note"), and the engine's
                # callback write currently fails on a missing one (reported on issue 9).
                caller.lead.lead_id,
                CallbackRequest(
                    at=when, note=(note or "").strip()[:500] or "asked for this callback on a call"
                ),
            )
        except InvalidInput as exc:
            return {"ok": False, "error": "invalid_time", "message": f"{exc} Ask for another time."}
        except Conflict as exc:
            return {
                "ok": False,
                "error": "cannot_call_back",
                "message": f"No callback can be scheduled ({exc}). Tell the person politely.",
            }
        zone = scheduled.zone or "UTC"
        spoken = spoken_time(scheduled.scheduled_at, zone)
        message = f"Callback scheduled for {spoken}. Read that time back to the person."
        if scheduled.adjusted:
            message = (
                f"The requested time is not a time we may call, so the callback is scheduled for the next "
                f"allowed time: {spoken}. Tell the person and read that time back."
            )
        return {
            "ok": True,
            "result": "scheduled",
            "callback_at": scheduled.scheduled_at.isoformat(),
            "callback_at_local": spoken,
            "adjusted": scheduled.adjusted,
            "message": message,
        }

    def _set_disposition(self, tenant_id: str, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
        raw = body.get("disposition")
        try:
            disposition = Disposition(str(raw).strip().lower()) if isinstance(raw, str) else None
        except ValueError:
            disposition = None
        if disposition is None:
            return {
                "ok": False,
                "error": "invalid_disposition",
                "message": "Call set_disposition again with one of the allowed values.",
                "allowed": [d.value for d in Disposition],
            }
        if caller.call_control_id is None and caller.lead is None:
            return {
                "ok": False,
                "result": "caller_unknown",
                "message": "The call could not be identified; carry on with the conversation.",
            }
        if caller.lead is None and not caller.known_call:
            # A call id this tenant has no record of and no lead for: another tenant's call (or
            # a made-up one). Recording would create a call record in this tenant's data that
            # belongs to nobody; refuse, as for any id that is not the tenant's.
            raise NotFound("no such call for this tenant")
        note = body.get("note") if isinstance(body.get("note"), str) else None
        result = self.dispositions(tenant_id).record(
            disposition,
            call_control_id=caller.call_control_id,
            lead_id=caller.lead.lead_id if caller.lead else None,
            phone=caller.phone,
            note=note,
            source="tool",
        )
        answer: dict[str, Any] = {"ok": True, "result": "recorded", "disposition": disposition.value}
        if result.opt_out is not None:
            answer["message"] = (
                "Recorded, and the number is on the do-not-call list now. Confirm that politely."
            )
        return answer


def _parse_when(value: Any, zone: Any) -> datetime | None:
    """An ISO 8601 date-time; naive stays naive (lead-local) unless ``zone`` names a real zone.
    None when either is not what it should be (the assistant asks again)."""
    try:
        parsed = parse_datetime(value, ["when"])
        if parsed.tzinfo is None and isinstance(zone, str) and zone.strip():
            parsed = localize(parsed, zone_named(zone, ["time_zone"]), ["when"])
    except InvalidInput:
        return None
    return parsed


def _zone_or_utc(zone: str | None) -> tzinfo:
    return (zone_info(zone) if zone else None) or UTC


def spoken_time(at: datetime, zone: str) -> str:
    """How the assistant reads a time back: ``Tuesday, December 1 at 3:00 PM (America/New_York)``."""
    tz = zone_info(zone)
    local, zone = (at.astimezone(tz), zone) if tz else (at.astimezone(UTC), "UTC")
    hour = local.strftime("%I").lstrip("0") or "12"
    return f"{local:%A}, {local:%B} {local.day} at {hour}:{local:%M} {local:%p} ({zone})"


def _rendered(value: Any) -> str | None:
    """A preset value Telnyx actually rendered (a string without template braces), else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or "{{" in value or "}}" in value or len(value) > 256:
        return None
    return value


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    doc = read_json(raw)  # UnreadableBody (a BadRequest) names what is wrong
    if not isinstance(doc, dict):
        raise BadRequest("the tool body is not a JSON object")
    return doc
