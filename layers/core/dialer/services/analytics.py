"""Campaign analytics for one tenant: stats with A/B variants, call details, a lead's calls and
the per-lead results export. Stats read counters only (the campaign's state shards and its call
totals shards: a dozen items whatever the campaign's size), never the calls."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from dialer.adapters.calls_table import CallsTable
from dialer.adapters.campaigns_table import CampaignsTable
from dialer.adapters.dialing_table import DialingTable
from dialer.adapters.totals_table import TotalsTable
from dialer.domain.analytics import COST, Figures, figures, timeline, two_proportion_test
from dialer.domain.dialing import LeadStatus, leads_by_state
from dialer.errors import NotFound
from dialer.services.analytics_models import (
    CallDetailResponse,
    CallFigures,
    CallListResponse,
    CampaignStatsResponse,
    TimelineHour,
    TranscriptResponse,
    VariantStats,
)
from dialer.services.transcripts import TranscriptDocuments, Transcripts

if TYPE_CHECKING:
    from dialer.adapters.exports_table import ExportRecord
    from dialer.services.results_export import ExportJobs

#: Columns of the results export, one row per lead.
RESULT_COLUMNS = (
    "lead_id",
    "phone",
    "first_name",
    "last_name",
    "status",
    "outcome",
    "disposition",
    "result",
    "attempts",
    "cost",
    "callback_at",
    "appointment_at",
    "summary",
)

_PAGE = 500

#: Above this, the results export is stored in S3 and answered with a presigned link: a Lambda's
#: synchronous answer is at most 6 MB, and the CSV is JSON-escaped inside it.
INLINE_MAX_BYTES = 4 * 1024 * 1024
#: How long a results link works.
LINK_SECONDS = 15 * 60


class ExportStore(Protocol):
    """Where big exports go (the import bucket's ``exports/`` prefix, expired after a day)."""

    def put(self, key: str, body: bytes, *, content_type: str) -> None: ...

    def download_url(self, key: str, *, expires_in: int) -> str: ...


@dataclass(frozen=True, slots=True)
class ResultsExport:
    """The results export: the CSV itself, a link to it when it is too big to answer inline, or
    the asynchronous export that will build it (a campaign too big to read inside one answer)."""

    rows: int
    csv: str | None = None
    url: str | None = None
    expires_at: str | None = None
    job: ExportRecord | None = None


class AnalyticsService:
    """Read-only analytics of one tenant."""

    def __init__(
        self,
        tenant_id: str,
        *,
        campaigns: CampaignsTable,
        dialing: DialingTable,
        calls: CallsTable,
        totals: TotalsTable,
        transcripts: TranscriptDocuments | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.campaigns = campaigns
        self.dialing = dialing
        self.calls = calls
        self.totals = totals
        self.transcripts = transcripts

    # --- stats ------------------------------------------------------------------------------------
    def stats(self, campaign_id: str) -> CampaignStatsResponse:
        """Leads by state, call figures, cost, budget and per-variant comparison."""
        campaign = self.campaigns.get_campaign(self.tenant_id, campaign_id)
        if campaign is None:
            raise NotFound(f"campaign {campaign_id} not found")
        states = self.dialing.campaign_stats(self.tenant_id, campaign_id)
        by_state = leads_by_state(states, campaign.lead_count)
        totals = self.totals.campaign_totals(self.tenant_id, campaign_id)
        overall = figures(totals)
        reached = by_state[LeadStatus.REACHED.value]
        cost = Decimal(totals.get(COST, 0))
        budget = Decimal(str(campaign.config.budget.max_cost)) if campaign.config.budget else None
        variant_ids = [v.assistant_id for v in campaign.config.assistant_variants or []]
        variants: list[VariantStats] = []
        if len(variant_ids) > 1:
            base = figures(totals, f"v:{variant_ids[0]}:")
            for i, assistant_id in enumerate(variant_ids):
                own = figures(totals, f"v:{assistant_id}:")
                test = two_proportion_test(base.converted, base.calls, own.converted, own.calls)
                variants.append(
                    VariantStats(
                        assistant_id=assistant_id,
                        figures=_view(own),
                        baseline=i == 0,
                        conversion_difference=None if i == 0 else test.difference,
                        z=None if i == 0 else test.z,
                        p_value=None if i == 0 else test.p_value,
                        significant=False if i == 0 else test.significant,
                        sample_too_small=test.sample_too_small,
                    )
                )
        return CampaignStatsResponse(
            campaign_id=campaign_id,
            status=campaign.status.value,
            paused_reason=campaign.paused_reason,
            lead_count=campaign.lead_count,
            leads_by_state=by_state,
            calls=_view(overall),
            cost_per_reached_lead=_money(cost / reached) if reached else None,
            budget=_money(budget) if budget is not None else None,
            budget_left=_money(max(Decimal(0), budget - cost)) if budget is not None else None,
            variants=variants,
            timeline=[
                TimelineHour(
                    hour=h.hour,
                    calls=h.calls,
                    connected=h.connected,
                    answered_human=h.answered_human,
                    converted=h.converted,
                    cost=_money(h.cost),
                )
                for h in timeline(totals)
            ],
        )

    # --- calls ------------------------------------------------------------------------------------
    def call(self, call_control_id: str) -> CallDetailResponse:
        """One call of this tenant."""
        item = self.calls.get_call_item(self.tenant_id, call_control_id)
        if item is None:
            raise NotFound(f"call {call_control_id} not found")
        return call_view(item)

    def transcript(self, call_control_id: str) -> TranscriptResponse:
        """The call's transcript (oldest first); NotFound naming what is missing (call or transcript)."""
        if self.transcripts is None:
            raise NotFound(
                f"call {call_control_id} has no transcript (transcripts are off in this deployment)"
            )
        document = Transcripts(self.tenant_id, calls=self.calls, store=self.transcripts).of_call(
            call_control_id
        )
        return TranscriptResponse.model_validate(document)

    def lead_calls(self, lead_id: str) -> CallListResponse:
        """A lead's calls, newest first (one Query for the attempts, one read per call)."""
        lead, attempts = self.dialing.lead_with_attempts(self.tenant_id, lead_id)
        if lead is None:
            raise NotFound(f"lead {lead_id} not found")
        out = []
        for attempt in sorted(attempts, key=lambda a: a.n, reverse=True):
            if not attempt.call_control_id:
                continue
            item = self.calls.get_call_item(self.tenant_id, attempt.call_control_id)
            if item is not None:
                out.append(call_view(item))
        return CallListResponse(data=out)

    # --- results export ---------------------------------------------------------------------------
    def export_results(
        self,
        campaign_id: str,
        *,
        store: ExportStore | None,
        link: bool = False,
        inline_max: int = INLINE_MAX_BYTES,
        jobs: ExportJobs | None = None,
    ) -> ResultsExport:
        """The results CSV inline, or (``link``, or bigger than ``inline_max``) stored under
        ``exports/<tenant>/<campaign>/`` and answered with a presigned URL; a campaign of more
        than :data:`~dialer.services.results_export.INLINE_MAX_LEADS` leads (with ``jobs``) is
        an asynchronous export instead."""
        from dialer.services.results_export import INLINE_MAX_LEADS

        campaign = self.campaigns.get_campaign(self.tenant_id, campaign_id)
        if campaign is None:
            raise NotFound(f"campaign {campaign_id} not found")
        if jobs is not None and campaign.lead_count > INLINE_MAX_LEADS:
            return ResultsExport(rows=campaign.lead_count, job=jobs.start(campaign_id))
        text = "".join(results_csv(self.campaigns, self.tenant_id, campaign_id))
        rows = max(0, sum(1 for _ in csv.reader(io.StringIO(text))) - 1)  # a summary may hold newlines
        body = text.encode("utf-8")
        if store is None or not (link or len(body) > inline_max):
            return ResultsExport(rows=rows, csv=text)
        key = f"exports/{self.tenant_id}/{campaign_id}/{uuid.uuid4().hex}.csv"
        store.put(key, body, content_type="text/csv; charset=utf-8")
        expires = datetime.now(UTC) + timedelta(seconds=LINK_SECONDS)
        return ResultsExport(
            rows=rows,
            url=store.download_url(key, expires_in=LINK_SECONDS),
            expires_at=expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    def results_csv(self, campaign_id: str) -> Iterator[str]:
        """The campaign's results as CSV (see :func:`results_csv`)."""
        return results_csv(self.campaigns, self.tenant_id, campaign_id)


def results_csv(campaigns: CampaignsTable, tenant_id: str, campaign_id: str) -> Iterator[str]:
    """The campaign's results as CSV, one row per lead, in pages of the campaign's lead index
    (no call reads: a lead carries its last outcome, disposition, result and spend)."""
    from dialer import keys

    if campaigns.get_campaign(tenant_id, campaign_id) is None:
        raise NotFound(f"campaign {campaign_id} not found")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(RESULT_COLUMNS)
    yield _drain(buffer)
    after: str | None = None
    index = keys.campaign_leads_index(tenant_id, campaign_id)
    while True:
        items, after = campaigns.ops.query(
            "gsi2pk", index["gsi2pk"], index="gsi2", sk_name="gsi2sk", after=after, limit=_PAGE
        )
        for item in items:
            writer.writerow(_result_row(item))
        yield _drain(buffer)
        if after is None:
            return


def _result_row(item: Mapping[str, Any]) -> list[str]:
    data = json.loads(item.get("data") or "{}")
    return [
        str(item.get("lead_id") or ""),
        str(item.get("phone") or ""),
        _cell(data.get("first_name")),
        _cell(data.get("last_name")),
        str(item.get("status") or ""),
        str(item.get("last_outcome") or ""),
        str(item.get("last_disposition") or ""),
        str(item.get("result") or ""),
        str(item.get("attempts") or 0),
        str(item.get("cost") or "0"),
        str(item.get("callback_at") or ""),
        str(item.get("appointment_at") or ""),
        _cell(item.get("last_disposition_note")),
    ]


def _cell(value: Any) -> str:
    """A text cell that a spreadsheet will not run as a formula (CSV injection)."""
    text = str(value or "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.000001")).normalize()) if value else "0"


def _view(f: Figures) -> CallFigures:
    return CallFigures(
        calls=f.calls,
        connected=f.connected,
        answered_human=f.answered_human,
        voicemail=f.voicemail,
        connect_rate=f.connect_rate,
        human_rate=f.human_rate,
        voicemail_rate=f.voicemail_rate,
        average_talk_s=f.average_talk_s,
        cost_total=_money(f.cost_total),
        cost_per_call=_money(f.cost_per_call) if f.cost_per_call is not None else None,
        cost_per_connected_minute=_money(f.cost_per_connected_minute)
        if f.cost_per_connected_minute is not None
        else None,
        converted=f.converted,
        conversion_rate=f.conversion_rate,
        by_outcome=f.by_outcome,
        by_disposition=f.by_disposition,
        cost_by_outcome={k: _money(v) for k, v in f.cost_by_outcome.items()},
    )


def call_view(item: Mapping[str, Any]) -> CallDetailResponse:
    """The API view of a stored call record."""
    cost_fact = ((item.get("facts") or {}).get("cost") or {}).get("data") or {}
    try:
        parts = json.loads(cost_fact.get("parts") or "[]")
    except ValueError:
        parts = []
    return CallDetailResponse(
        call_control_id=str(item["call_control_id"]),
        lead_id=item.get("lead_id"),
        campaign_id=item.get("campaign_id"),
        attempt_n=int(item["attempt_n"]) if item.get("attempt_n") is not None else None,
        assistant_id=item.get("assistant_id"),
        state=item.get("state"),
        outcome=item.get("outcome"),
        amd=item.get("amd"),
        answered_at=item.get("answered_at"),
        ended_at=item.get("ended_at"),
        duration_s=int(item["duration_s"]) if item.get("duration_s") is not None else None,
        conversation={str(k): str(v) for k, v in (item.get("conversation") or {}).items()},
        insights={str(k): str(v) for k, v in (item.get("insights") or {}).items()},
        disposition=item.get("disposition"),
        disposition_source=item.get("disposition_source"),
        cost=str(item["cost"]) if item.get("cost") is not None else None,
        cost_currency=item.get("cost_currency"),
        billed_s=int(item["billed_s"]) if item.get("billed_s") is not None else None,
        cost_parts=parts if isinstance(parts, list) else [],
        created_at=item.get("created_at"),
        transcript_status=item.get("transcript_status"),
        transcript_messages=int(item["transcript_messages"])
        if item.get("transcript_messages") is not None
        else None,
        voicemail={str(k): str(v) for k, v in item["voicemail"].items()} if item.get("voicemail") else None,
    )
