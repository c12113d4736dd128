"""Gather a :class:`ReportData` from the API (the only part of the report that does I/O)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dialer_cli.api import Api
from dialer_cli.report.model import ReportData


def collect(api: Api, campaign_id: str, on_lead: Callable[[int, int], None] | None = None) -> ReportData:
    """The campaign, its progress, every lead with its attempts, the stats if the API has them.

    Attempts and block reasons are only in a lead's detail (``GET /leads/{id}``): it is read for
    leads that were dialled or blocked; the listing's item stands for the others (no history).
    """
    campaign = api.get(f"/campaigns/{campaign_id}")
    progress = api.get(f"/campaigns/{campaign_id}/progress")
    listed = list(api.pages(f"/campaigns/{campaign_id}/leads"))
    wanted = [lead["id"] for lead in listed if lead.get("attempts") or lead.get("status") == "blocked"]
    details: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), 64):
        batch = wanted[start : start + 64]
        details.update(zip(batch, api.get_many([f"/leads/{lead_id}" for lead_id in batch]), strict=True))
        if on_lead:
            on_lead(len(details), len(wanted))
    leads = [details.get(lead["id"]) or {**lead, "history": [], "last_reasons": []} for lead in listed]
    stats = api.get_optional(f"/campaigns/{campaign_id}/stats")
    assistants = {a["id"]: a.get("name") or a["id"] for a in api.pages("/assistants")}
    pool = set(campaign.get("caller_ids") or [])
    caller_ids = [c for c in api.pages("/caller-ids") if c["id"] in pool]
    return ReportData(
        campaign=campaign,
        progress=progress,
        leads=leads,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        stats=stats,
        assistants=assistants,
        api_url=api.config.api_url,
        caller_ids=caller_ids,
    )
