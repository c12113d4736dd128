"""Results exports too big for one API answer: an asynchronous job on the import queue.

``GET /campaigns/{id}/results`` answers a campaign of more than :data:`INLINE_MAX_LEADS` leads
with ``202`` and an export id instead of reading every lead inside API Gateway's 29 seconds
(a 20,006-lead campaign took longer than that). The job goes to the import queue, whose function
already reads leads and writes the import bucket; it stores the CSV under ``exports/`` (expired
by the bucket's lifecycle after a day) and marks the export ``completed``. ``GET
/campaigns/{id}/results/exports/{export_id}`` answers ``202`` while it runs, ``303`` to a fresh
presigned link when done, and the reason when it failed (a job that failed on every delivery
reaches the import dead-letter queue, whose consumer marks it ``failed``). Asks for the same
campaign while a job runs share it.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from dialer import clock as engine_clock
from dialer.adapters.campaigns_table import CampaignsTable
from dialer.adapters.exports_table import ExportRecord, ResultsExports
from dialer.errors import NotFound
from dialer.observability import get_logger
from dialer.services.analytics import LINK_SECONDS, results_csv

logger = get_logger()

#: Above this many leads the results are an asynchronous export. Reading leads costs about a
#: millisecond each on DynamoDB (pages of 500 from the campaign's lead index), so 5,000 answer
#: in a few seconds, far inside API Gateway's 29; the CSV of 5,000 leads is well under the
#: inline answer's 4 MB.
INLINE_MAX_LEADS = 5_000
#: An export record (and its CSV: the bucket's ``exports/`` lifecycle) lives a day.
EXPORT_LIFETIME = timedelta(days=1)
#: A pending export older than this is not shared with a new ask (its job is presumed lost; the
#: dead-letter queue's consumer fails it when it is).
SHARE_PENDING_FOR = timedelta(minutes=15)
_MESSAGE_TYPE = "results.export"  # beside the import's own "import.continue"


class ExportFiles(Protocol):
    """Where exports go (the import bucket's ``exports/`` prefix)."""

    def put(self, key: str, body: bytes, *, content_type: str) -> None: ...

    def download_url(self, key: str, *, expires_in: int) -> str: ...


class Queue(Protocol):
    """The import queue."""

    def send(self, body: str) -> object: ...


@dataclass(frozen=True, slots=True)
class ExportRef:
    """Which export a queue message is about."""

    tenant_id: str
    campaign_id: str
    export_id: str

    def to_json(self) -> str:
        """The queue message."""
        return json.dumps(
            {
                "type": _MESSAGE_TYPE,
                "tenant_id": self.tenant_id,
                "campaign_id": self.campaign_id,
                "export_id": self.export_id,
            }
        )


def export_ref(body: str) -> ExportRef | None:
    """The export a queue message is about, or None when it is not an export job."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("type") != _MESSAGE_TYPE:
        return None
    ids = [doc.get(k) for k in ("tenant_id", "campaign_id", "export_id")]
    if not all(isinstance(i, str) and i for i in ids):
        return None
    return ExportRef(*(str(i) for i in ids))


@dataclass(frozen=True, slots=True)
class ExportView:
    """What the API answers about an export: its record, and a link once it is done."""

    record: ExportRecord
    url: str | None = None
    link_expires_at: str | None = None


class ExportJobs:
    """The API side, for one tenant: start (or share) an export, and look one up."""

    def __init__(
        self,
        tenant_id: str,
        *,
        exports: ResultsExports,
        queue: Queue,
        files: ExportFiles,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.exports = exports
        self.queue = queue
        self.files = files
        self._clock = clock or engine_clock.now

    def start(self, campaign_id: str) -> ExportRecord:
        """The campaign's running export, or a new one queued."""
        now = self._clock()
        latest = self.exports.latest(self.tenant_id, campaign_id)
        if (
            latest is not None
            and latest.status == "pending"
            and now - datetime.fromisoformat(latest.created_at) < SHARE_PENDING_FOR
        ):
            return latest
        record = ExportRecord(
            tenant_id=self.tenant_id,
            campaign_id=campaign_id,
            export_id=f"exp_{uuid.uuid4().hex}",
            status="pending",
            created_at=_instant(now),
            expires_at=int((now + EXPORT_LIFETIME).timestamp()),
        )
        self.exports.create(record)
        self.queue.send(ExportRef(self.tenant_id, campaign_id, record.export_id).to_json())
        return record

    def view(self, campaign_id: str, export_id: str) -> ExportView:
        """An export of this tenant's campaign; NotFound for any other."""
        record = self.exports.get(self.tenant_id, export_id)
        if record is None or record.campaign_id != campaign_id:
            raise NotFound(f"export {export_id} not found")
        if record.status != "completed" or not record.object_key:
            return ExportView(record)
        expires = self._clock() + timedelta(seconds=LINK_SECONDS)
        return ExportView(
            record,
            url=self.files.download_url(record.object_key, expires_in=LINK_SECONDS),
            link_expires_at=expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )


class ResultsExporter:
    """The worker side (the import function): builds and stores one export's CSV."""

    def __init__(
        self,
        *,
        campaigns: CampaignsTable,
        exports: ResultsExports,
        files: ExportFiles,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.campaigns = campaigns
        self.exports = exports
        self.files = files
        self._clock = clock or engine_clock.now

    def run(self, ref: ExportRef) -> str:
        """``done`` (stored now), ``ignored`` (unknown, or already ended: a duplicate job) or
        ``failed`` (the campaign is gone)."""
        record = self.exports.get(ref.tenant_id, ref.export_id)
        if record is None or record.campaign_id != ref.campaign_id or record.status != "pending":
            return "ignored"
        try:
            text = "".join(results_csv(self.campaigns, ref.tenant_id, ref.campaign_id))
        except NotFound:
            self.exports.fail(
                ref.tenant_id, ref.export_id, reason="the campaign no longer exists", at=self._now()
            )
            return "failed"
        rows = max(0, sum(1 for _ in csv.reader(io.StringIO(text))) - 1)  # a summary may hold newlines
        key = f"exports/{ref.tenant_id}/{ref.campaign_id}/{ref.export_id}.csv"
        self.files.put(key, text.encode("utf-8"), content_type="text/csv; charset=utf-8")
        self.exports.complete(ref.tenant_id, ref.export_id, object_key=key, rows=rows, at=self._now())
        logger.info("results export stored", export_id=ref.export_id, rows=rows)
        return "done"

    def give_up(self, ref: ExportRef) -> bool:
        """Mark an export failed: its job failed on every delivery (the dead-letter queue)."""
        return self.exports.fail(
            ref.tenant_id,
            ref.export_id,
            reason="the export failed on every retry (see the lead_import logs); ask for the results again",
            at=self._now(),
        )

    def _now(self) -> str:
        return _instant(self._clock())


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")
