"""Gather a :class:`ReportData` from the API (the only part of the report that does I/O)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from dialer_cli.api import Api
from dialer_cli.report.model import ReportData


def collect(api: Api, campaign_id: str, on_lead: Callable[[int, int], None] | None = None) -> ReportData:
    """The campaign, its progress, every lead with its attempts, the stats if the API has them."""
    campaign = api.get(f"/campaigns/{campaign_id}")
    progress = api.get(f"/campaigns/{campaign_id}/progress")
    ids = [lead["id"] for lead in api.pages(f"/campaigns/{campaign_id}/leads")]
    leads = []
    for start in range(0, len(ids), 64):
        leads += api.get_many([f"/leads/{lead_id}" for lead_id in ids[start : start + 64]])
        if on_lead:
            on_lead(len(leads), len(ids))
    stats = api.get_optional(f"/campaigns/{campaign_id}/stats")
    assistants = {a["id"]: a.get("name") or a["id"] for a in api.pages("/assistants")}
    return ReportData(
        campaign=campaign,
        progress=progress,
        leads=leads,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        stats=stats,
        assistants=assistants,
        api_url=api.config.api_url,
    )
