"""The payloads of the events the product reports to webhook endpoints (issue 24), each as the
outbox ``Put`` that the state change's own write carries: one place for every event's shape.

Payloads (``data``) name ids, states and figures, never a phone number: a receiver looks the lead
up by id with the API key it already has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dialer.adapters.webhooks_table import outbox_put
from dialer.domain.dialing import parse_utc
from dialer.domain.event_webhooks import EventType


def campaign_status_changed(
    tenant_id: str, campaign_id: str, *, before: str, after: str, at: str, reason: str | None = None
) -> dict[str, Any]:
    """``campaign.status_changed`` (``reason``: why the system paused it, e.g. ``budget_reached``
    or ``circuit_breaker: …``; None for an operator's move)."""
    data = {"campaign_id": campaign_id, "previous_status": before, "status": after, "paused_reason": reason}
    return outbox_put(tenant_id, EventType.CAMPAIGN_STATUS_CHANGED, data, at=parse_utc(at))


def call_completed(
    tenant_id: str,
    *,
    lead_id: str,
    campaign_id: str,
    attempt: int,
    outcome: str,
    disposition: str | None,
    call: Mapping[str, Any],
    at: str,
) -> dict[str, Any]:
    """``call.completed``: an attempt's call settled with its outcome (disposition, duration and
    cost as far as known then; the transcript's API path, relative to the API's base URL)."""
    call_id = call.get("call_control_id")
    data = {
        "lead_id": lead_id,
        "campaign_id": campaign_id,
        "attempt": attempt,
        "call_id": call_id,
        "outcome": outcome,
        "disposition": disposition,
        "duration_seconds": _number(call.get("duration_s")),
        "cost": _number(call.get("cost")),
        "currency": call.get("cost_currency"),
        "transcript_path": f"/calls/{call_id}/transcript" if call_id else None,
    }
    return outbox_put(tenant_id, EventType.CALL_COMPLETED, data, at=parse_utc(at), lead_id=lead_id)


def lead_status_changed(
    tenant_id: str,
    *,
    lead_id: str,
    campaign_id: str,
    before: str,
    after: str,
    at: str,
    outcome: str | None = None,
    next_attempt_at: str | None = None,
) -> dict[str, Any]:
    """``lead.status_changed`` (``next_attempt_at``: when a lead back to ``pending`` is due)."""
    data = {
        "lead_id": lead_id,
        "campaign_id": campaign_id,
        "previous_status": before,
        "status": after,
        "last_outcome": outcome,
        "next_attempt_at": next_attempt_at,
    }
    return outbox_put(tenant_id, EventType.LEAD_STATUS_CHANGED, data, at=parse_utc(at), lead_id=lead_id)


def lead_opted_out(
    tenant_id: str,
    *,
    lead_id: str,
    campaign_id: str,
    source: str,
    call_id: str | None,
    at: str,
) -> dict[str, Any]:
    """``lead.opted_out``: the person asked not to be called again (``source``: ``call`` for the
    in-call tool, ``tool`` or ``insight`` for a ``do_not_call`` disposition; ``call_id``: the call
    they said it on, when known). One per lead of the number, written with its DNC entry."""
    data = {"lead_id": lead_id, "campaign_id": campaign_id, "source": source, "call_id": call_id}
    return outbox_put(tenant_id, EventType.LEAD_OPTED_OUT, data, at=parse_utc(at), lead_id=lead_id)


def lead_callback_scheduled(
    tenant_id: str,
    *,
    lead_id: str,
    campaign_id: str,
    callback_at: str,
    requested_at: str,
    applies: str,
    at: str,
) -> dict[str, Any]:
    """``lead.callback_scheduled``: a callback was booked for ``callback_at`` (UTC; moved to the
    next legal instant when ``requested_at`` was not one); ``applies``: ``now`` (the lead is due
    then) or ``after_call`` (the call in progress ends first). The note is not sent: it is free
    text that may hold what the person said about themselves."""
    data = {
        "lead_id": lead_id,
        "campaign_id": campaign_id,
        "callback_at": callback_at,
        "requested_at": requested_at,
        "adjusted": callback_at != requested_at,
        "applies": applies,
    }
    return outbox_put(tenant_id, EventType.LEAD_CALLBACK_SCHEDULED, data, at=parse_utc(at), lead_id=lead_id)


def import_completed(
    tenant_id: str,
    *,
    campaign_id: str,
    import_id: str,
    status: str,
    counts: Mapping[str, int],
    failure: str | None,
    at: str,
) -> dict[str, Any]:
    """``import.completed``: an import ended, ``completed`` (every row imported, merged or
    rejected) or ``failed`` (``failure`` says why; the counts are the rows done before it)."""
    data = {
        "campaign_id": campaign_id,
        "import_id": import_id,
        "status": status,
        "rows": int(counts.get("rows", 0)),
        "imported": int(counts.get("imported", 0)),
        "merged": int(counts.get("merged", 0)),
        "rejected": int(counts.get("rejected", 0)),
        "failure": failure,
    }
    return outbox_put(tenant_id, EventType.IMPORT_COMPLETED, data, at=parse_utc(at))


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def settlement_events(
    attempt: Any, lead: Any, change: Any, *, call: Mapping[str, Any] | None, at: str
) -> list[dict[str, Any]]:
    """What an attempt's settlement reports: ``call.completed`` for a call that took place
    (``call`` None: Telnyx refused the dial, no call) and ``lead.status_changed`` for the lead's
    move out of ``dialing`` (back to ``pending`` with its next attempt, or to where it ends)."""
    events = []
    if call is not None:
        events.append(
            call_completed(
                attempt.tenant_id,
                lead_id=attempt.lead_id,
                campaign_id=attempt.campaign_id,
                attempt=attempt.n,
                outcome=change.outcome or str(call.get("outcome") or "unknown"),
                disposition=lead.result,
                call=call,
                at=at,
            )
        )
    events.append(
        lead_status_changed(
            attempt.tenant_id,
            lead_id=attempt.lead_id,
            campaign_id=attempt.campaign_id,
            before=lead.status,
            after=change.status.value,
            at=at,
            outcome=change.outcome,
            next_attempt_at=change.next_at,
        )
    )
    return events
