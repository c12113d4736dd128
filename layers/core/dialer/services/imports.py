"""CSV lead imports: a presigned upload, then chunked, checkpointed processing.

1. ``POST /campaigns/{id}/imports`` stores an import record (``pending``) and answers a presigned
   PUT URL for ``imports/{tenant}/{campaign}/{import}.csv`` in the import bucket.
2. The bucket notifies the import queue; the import function (:class:`ImportProcessor`) reads the
   file from the checkpointed byte offset (S3 GetObject with Range), normalises rows in chunks,
   upserts them (:meth:`dialer.services.leads.LeadsService.upsert`: duplicates merge by phone),
   stores rejected rows with their line and reason, and moves the checkpoint (offset, line,
   counters) with a conditional write, so a duplicated message can never count a chunk twice.
3. When the invocation's time runs low it sends itself a continuation message; the next one
   resumes at the checkpoint. Status: pending → processing → completed | failed; the move to
   either end writes its ``import.completed`` event (with the counts) in the same transaction.

Every data row ends up imported, merged or rejected: ``rows = imported + merged + rejected``.
Blank lines are not rows. Lines may end in CRLF, LF or a lone CR. A quoted field may span lines;
error lines are where the row starts (the header is line 1). A quote that never closes properly
(a stray ``"`` at the start of a field) rejects its own line only: the lines after it are read
again as rows of their own. Rows over :data:`MAX_ROW_BYTES` and rows holding a NUL byte are
rejected; a header over :data:`MAX_HEADER_BYTES` or :data:`MAX_COLUMNS` fails the import.

Every import ends ``completed`` or ``failed``: a message the import function cannot process even
after ``maxReceiveCount`` deliveries lands in the import DLQ, whose consumer
(:meth:`ImportProcessor.give_up`) marks its import failed with the line it reached; an import
whose file never comes is failed by the reaper (:class:`ImportExpiry`) once its upload URL has
been expired for :data:`UPLOAD_GRACE`.
"""

from __future__ import annotations

import csv
import json
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from dialer import clock as engine_clock
from dialer import keys
from dialer.adapters.campaigns_table import CampaignsTable, ImportRecord, RowError
from dialer.adapters.dynamo import decode_cursor, encode_cursor
from dialer.adapters.import_files import ImportFiles
from dialer.domain.campaigns import OPEN_STATUSES
from dialer.domain.leads import LeadFields, LeadRejected, RejectReason, normalize_lead, split_tags
from dialer.errors import NotFound
from dialer.observability import get_logger
from dialer.services.campaign_models import (
    ImportCreatedResponse,
    ImportProgress,
    ImportResponse,
    RowErrorResponse,
)
from dialer.services.campaigns import new_id
from dialer.services.leads import IncomingLead, LeadsService

logger = get_logger()

#: CSV header names (lower case, spaces and dashes as underscores) → lead field.
HEADER_ALIASES: dict[str, str] = {
    alias: name
    for name, aliases in {
        "phone": ("phone", "phone_number", "phonenumber", "mobile", "mobile_phone", "cell", "telephone"),
        "first_name": ("first_name", "firstname", "first", "given_name"),
        "last_name": ("last_name", "lastname", "last", "surname", "family_name"),
        "email": ("email", "email_address", "e_mail"),
        "company": ("company", "company_name", "organization", "business"),
        "address": ("address", "address1", "address_1", "street", "street_address", "address_line_1"),
        "city": ("city", "town"),
        "state": ("state", "province", "st"),
        "zip": ("zip", "zip_code", "zipcode", "postal_code", "postcode"),
        "time_zone": ("time_zone", "timezone", "tz"),
        "tags": ("tags", "tag"),
        "consent_type": ("consent_type", "consent"),
        "consent_source": ("consent_source",),
        "consent_granted_at": ("consent_granted_at", "consent_at", "consent_date", "consent_timestamp"),
        "consent_revoked_at": ("consent_revoked_at", "consent_revoked"),
        "dnc_scrubbed_at": ("dnc_scrubbed_at", "dnc_scrub_date", "scrubbed_at", "national_dnc_scrubbed_at"),
    }.items()
    for alias in aliases
}
TERMINAL = frozenset({"completed", "failed"})

#: A header longer than this fails the import: it is stored with the checkpoint (a DynamoDB item
#: holds 400 KB), and no real export has one (the csv module alone stops at 128 KiB per field).
MAX_HEADER_BYTES = 64 * 1024
#: More columns than this fail the import (a lead holds 16 fields and 100 custom fields).
MAX_COLUMNS = 1000
#: A row longer than this is rejected without being read into memory whole; a valid lead is far
#: smaller (each field is at most 500 characters).
MAX_ROW_BYTES = 64 * 1024
#: Physical lines one row may span (quoted newlines); past this its opening quote is a stray one.
MAX_ROW_LINES = 100
#: How long after its upload URL expired a pending import with no file is failed: an upload
#: started just before the URL expired may still be arriving (S3 checks the signature when the
#: PUT starts), and its notification still queued.
UPLOAD_GRACE = timedelta(minutes=15)

#: Reason of the header notice (line 1) for a column that names a field an earlier column took.
DUPLICATE_COLUMN = "duplicate_column"


@dataclass(frozen=True, slots=True)
class ImportRef:
    """Which import a queue message is about."""

    tenant_id: str
    campaign_id: str
    import_id: str


@dataclass(slots=True)  # not frozen: frozen init costs a third of the splitting time
class RawRecord:
    """One CSV record: its bytes, where it starts (line), how many physical lines it spans and
    how many bytes of the file it covers (``size``: the checkpoint moves by it). When the splitter
    already knows the record is unusable, ``error`` says why and ``data`` may hold only its start."""

    data: bytes
    line: int
    lines: int
    size: int
    error: str | None = None


class ImportsService:
    """The API side of imports, for one tenant."""

    def __init__(
        self,
        tenant_id: str,
        table: CampaignsTable,
        leads: LeadsService,
        files: ImportFiles,
        *,
        url_seconds: int,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.table = table
        self.leads = leads
        self.files = files
        self.url_seconds = url_seconds
        self._clock = clock or engine_clock.now

    def create(self, campaign_id: str, filename: str | None) -> ImportCreatedResponse:
        """A pending import and the presigned URL to PUT the CSV to."""
        self.leads.open_campaign(campaign_id)
        import_id = new_id("imp")
        object_key = keys.import_object_key(self.tenant_id, campaign_id, import_id)
        created = self._clock()
        now = created.isoformat(timespec="milliseconds")
        until = created + timedelta(seconds=self.url_seconds)
        record = ImportRecord(
            tenant_id=self.tenant_id,
            campaign_id=campaign_id,
            import_id=import_id,
            status="pending",
            object_key=object_key,
            created_at=now,
            updated_at=now,
            filename=filename,
            upload_until=_instant(until),
        )
        self.table.create_import(record)
        url = self.files.upload_url(object_key, expires_in=self.url_seconds)
        return ImportCreatedResponse(
            import_id=import_id,
            campaign_id=campaign_id,
            status="pending",
            upload_url=url,
            expires_in=self.url_seconds,
        )

    def get(
        self, campaign_id: str, import_id: str, *, errors_limit: int, errors_cursor: str | None
    ) -> ImportResponse:
        """Status, progress and a page of rejected rows."""
        record = self.table.get_import(self.tenant_id, import_id)
        if record is None or record.campaign_id != campaign_id:
            raise NotFound(f"import {import_id} not found")
        errors, after = self.table.row_errors(
            self.tenant_id, import_id, limit=errors_limit, after=decode_cursor(errors_cursor)
        )
        return import_view(record, errors, encode_cursor(after))


class ImportExpiry:
    """Fails imports whose file never came (the reaper runs it per tenant, every 5 minutes)."""

    def __init__(
        self,
        table: CampaignsTable,
        files: ImportFiles,
        *,
        grace: timedelta = UPLOAD_GRACE,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.table = table
        self.files = files
        self.grace = grace
        self._clock = clock or engine_clock.now

    def expire(self, tenant_id: str) -> int:
        """Fail the tenant's pending imports whose upload URL expired more than the grace ago
        and whose file is not in the bucket; returns how many it failed."""
        now = self._clock()
        expired = 0
        for record in self.table.overdue_imports(tenant_id, _instant(now - self.grace)):
            try:
                self.files.size(record.object_key)
                continue  # the file is there: its notification will start it (or the DLQ fail it)
            except NotFound:
                pass
            reason = (
                f"no file was uploaded before the upload URL expired at {record.upload_until}; "
                "create a new import to upload it"
            )
            if self.table.expire_import(
                tenant_id, record.import_id, reason=reason, at=_instant(now), campaign_id=record.campaign_id
            ):
                logger.info("import expired without a file", import_id=record.import_id)
                expired += 1
        return expired


def _instant(at: datetime) -> str:
    """An import's instants as stored: UTC, milliseconds (they sort as text)."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def import_view(record: ImportRecord, errors: list[RowError], next_cursor: str | None) -> ImportResponse:
    """The API's view of an import."""
    return ImportResponse(
        import_id=record.import_id,
        campaign_id=record.campaign_id,
        status=record.status,
        filename=record.filename,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        failure=record.failure,
        progress=ImportProgress(
            bytes_read=record.offset,
            total_bytes=record.object_size,
            rows=record.rows,
            imported=record.imported,
            merged=record.merged,
            rejected=record.rejected,
        ),
        errors=[
            RowErrorResponse(line=e.line, reason=e.reason, field=e.field, message=e.message) for e in errors
        ],
        next_errors_cursor=next_cursor,
    )


# --- messages -----------------------------------------------------------------------------------
def continuation_message(ref: ImportRef) -> str:
    """The body of the message that resumes an import at its checkpoint."""
    return json.dumps(
        {
            "type": "import.continue",
            "tenant_id": ref.tenant_id,
            "campaign_id": ref.campaign_id,
            "import_id": ref.import_id,
        }
    )


def refs_from_message(body: str) -> list[ImportRef]:
    """The imports a queue message is about: S3 ``ObjectCreated`` records for import keys, or a
    continuation. S3's ``s3:TestEvent`` and other keys give nothing. Raises ValueError for a body
    that is not JSON."""
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("message is not a JSON object")
    if doc.get("type") == "import.continue":
        return [ImportRef(str(doc["tenant_id"]), str(doc["campaign_id"]), str(doc["import_id"]))]
    refs = []
    for record in doc.get("Records") or []:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        key = unquote_plus(str(((record.get("s3") or {}).get("object") or {}).get("key", "")))
        parsed = keys.parse_import_object_key(key)
        if parsed is not None:
            refs.append(ImportRef(*parsed))
    return refs


# --- processing ---------------------------------------------------------------------------------
class ImportProcessor:
    """Runs imports in chunks within an invocation's time budget."""

    def __init__(
        self,
        table: CampaignsTable,
        files: ImportFiles,
        leads_for: Callable[[str], LeadsService],
        continue_later: Callable[[ImportRef], None],
        *,
        default_region: str = "US",
        chunk_rows: int = 1000,
        max_bytes: int = 200 * 1024 * 1024,
        reserve_ms: int = 15000,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.table = table
        self.files = files
        self.leads_for = leads_for
        self.continue_later = continue_later
        self.default_region = default_region
        self.chunk_rows = chunk_rows
        self.max_bytes = max_bytes
        self.reserve_ms = reserve_ms
        self._clock = clock or engine_clock.now

    def run(self, ref: ImportRef, remaining_ms: Callable[[], int]) -> str:
        """Advance one import as far as time allows. Returns ``done``, ``continued`` (a
        continuation was sent), ``ignored`` (unknown import) or ``superseded`` (another worker
        moved the checkpoint first)."""
        record = self.table.get_import(ref.tenant_id, ref.import_id)
        expected_key = keys.import_object_key(ref.tenant_id, ref.campaign_id, ref.import_id)
        if record is None or record.campaign_id != ref.campaign_id or record.object_key != expected_key:
            logger.warning("import message for an unknown import ignored", import_id=ref.import_id)
            return "ignored"
        if record.status in TERMINAL:
            return "done"
        if record.status == "pending":
            if not self._start(record):
                return "done"
            record = self.table.get_import(ref.tenant_id, ref.import_id) or record
            if record.status != "processing":
                return "done"
        return self._process(record, remaining_ms)

    def give_up(self, ref: ImportRef) -> bool:
        """Mark an import failed because its message ended in the dead-letter queue (it failed on
        every delivery). True if this changed it; an import that already ended stays as it is."""
        record = self.table.get_import(ref.tenant_id, ref.import_id)
        if record is None or record.campaign_id != ref.campaign_id or record.status in TERMINAL:
            return False
        where = f"after line {record.line}" if record.line else "before its first row"
        self._fail(
            record,
            f"the import stopped {where}: processing failed on every retry (see the lead_import logs);"
            " rows before that point are kept, upload the rest again to finish",
        )
        return True

    def _start(self, record: ImportRecord) -> bool:
        campaign = self.table.get_campaign(record.tenant_id, record.campaign_id)
        try:
            size = self.files.size(record.object_key)
        except NotFound:
            self._fail(record, "the uploaded file is missing")
            return False
        if campaign is None or campaign.status not in OPEN_STATUSES:
            self._fail(record, "the campaign takes no more leads")
            return False
        if size > self.max_bytes:
            self._fail(record, f"file is larger than {self.max_bytes} bytes")
            return False
        self.table.start_import(record.tenant_id, record.import_id, size=size, at=self._now())
        return True

    def _process(self, record: ImportRecord, remaining_ms: Callable[[], int]) -> str:
        ref = ImportRef(record.tenant_id, record.campaign_id, record.import_id)
        leads = self.leads_for(record.tenant_id)
        offset, line, header = record.offset, record.line, list(record.header)
        # The import's counts so far: those stored at this checkpoint plus each chunk's (the
        # checkpoint is conditional on the offset, so no other worker added to them meanwhile).
        totals = _counts(record)
        size = record.object_size or 0
        if offset >= size:
            return self._finish(record, offset, line, header, totals)
        stream = records(
            self.files.read_from(record.object_key, offset),
            first_line=line + 1,
            columns=len(header) or None,
        )
        while True:
            chunk: list[RawRecord] = []
            consumed = 0
            for raw in stream:
                chunk.append(raw)
                consumed += raw.size
                if len(chunk) >= self.chunk_rows:
                    break
            at_end = offset + consumed >= size or len(chunk) < self.chunk_rows
            notices: list[RowError] = []
            if not header and chunk:
                try:
                    header, notices = read_header(chunk.pop(0))
                except BadHeader as exc:
                    self._fail(record, str(exc))
                    return "done"
            counts, errors = self._rows(leads, record, header, chunk)
            errors = notices + errors
            totals = {k: totals[k] + counts.get(k, 0) for k in totals}
            self.table.put_row_errors(record.tenant_id, record.import_id, errors)
            last_line = chunk[-1].line + chunk[-1].lines - 1 if chunk else line
            new_line = max(line, last_line)
            if not self.table.checkpoint_import(
                record.tenant_id,
                record.import_id,
                from_offset=offset,
                to_offset=offset + consumed,
                line=new_line,
                header=header,
                counts=counts,
                at=self._now(),
                finished=at_end,
                campaign_id=record.campaign_id,
                totals=totals,
            ):
                logger.info("import checkpoint moved by another worker", import_id=record.import_id)
                return "superseded"
            offset, line = offset + consumed, new_line
            if at_end:
                logger.info("import completed", import_id=record.import_id, lines=line)
                return "done"
            if remaining_ms() < self.reserve_ms:
                self.continue_later(ref)
                return "continued"

    def _rows(
        self, leads: LeadsService, record: ImportRecord, header: list[str], chunk: list[RawRecord]
    ) -> tuple[dict[str, int], list[RowError]]:
        errors: list[RowError] = []
        incoming: list[IncomingLead] = []
        rows = 0
        for raw in chunk:
            if raw.error:
                rows += 1
                errors.append(RowError(raw.line, RejectReason.MALFORMED_ROW.value, None, raw.error))
                continue
            try:
                text = raw.data.decode("utf-8")
            except UnicodeDecodeError:
                rows += 1
                errors.append(
                    RowError(raw.line, RejectReason.INVALID_ENCODING.value, None, "row is not UTF-8")
                )
                continue
            if not text.strip():
                continue  # a blank line is not a row
            rows += 1
            if "\x00" in text:
                errors.append(
                    RowError(raw.line, RejectReason.INVALID_ENCODING.value, None, "row contains a NUL byte")
                )
                continue
            values = parse_row(text)
            if values is None:
                errors.append(RowError(raw.line, RejectReason.MALFORMED_ROW.value, None, "not a CSV row"))
                continue
            if len(values) != len(header):
                errors.append(
                    RowError(
                        raw.line,
                        RejectReason.MALFORMED_ROW.value,
                        None,
                        f"expected {len(header)} columns, got {len(values)}",
                    )
                )
                continue
            try:
                lead = normalize_lead(row_fields(header, values), default_region=self.default_region)
            except LeadRejected as exc:
                errors.append(RowError(raw.line, exc.reason.value, exc.field, exc.message))
                continue
            incoming.append(IncomingLead(raw.line, lead))
        result = leads.upsert(record.campaign_id, incoming, source=f"import:{record.import_id}")
        counts = {
            "rows": rows,
            "imported": len(result.created),
            "merged": len(result.merged),
            "rejected": len(errors),
        }
        return counts, errors

    def _finish(
        self, record: ImportRecord, offset: int, line: int, header: list[str], totals: dict[str, int]
    ) -> str:
        self.table.checkpoint_import(
            record.tenant_id,
            record.import_id,
            from_offset=offset,
            to_offset=offset,
            line=line,
            header=header,
            counts={},
            at=self._now(),
            finished=True,
            campaign_id=record.campaign_id,
            totals=totals,
        )
        return "done"

    def _fail(self, record: ImportRecord, reason: str) -> None:
        logger.info("import failed", import_id=record.import_id, reason=reason)
        self.table.fail_import(
            record.tenant_id,
            record.import_id,
            reason=reason,
            at=self._now(),
            campaign_id=record.campaign_id,
            counts=_counts(record),
        )

    def _now(self) -> str:
        return self._clock().isoformat(timespec="milliseconds")


def _counts(record: ImportRecord) -> dict[str, int]:
    """The counts an import has stored (what ``import.completed`` reports)."""
    return {
        "rows": record.rows,
        "imported": record.imported,
        "merged": record.merged,
        "rejected": record.rejected,
    }


class BadHeader(ValueError):
    """The header row cannot be used; the message is the import's failure reason."""


def read_header(raw: RawRecord) -> tuple[list[str], list[RowError]]:
    """The lead field of each column, and notices (line 1) about columns that were not mapped as
    named. Raises :class:`BadHeader` for a header that cannot be used."""
    if raw.size > MAX_HEADER_BYTES:
        raise BadHeader(f"the header row is longer than {MAX_HEADER_BYTES} bytes")
    if raw.error:
        raise BadHeader(f"the header row is not a CSV row: {raw.error}")
    try:
        text = raw.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadHeader("the header row is not UTF-8") from exc
    if "\x00" in text:
        raise BadHeader("the header row contains a NUL byte")
    names = parse_row(text.lstrip("\ufeff"))
    if names is None:
        raise BadHeader("the header row is not a CSV row")
    if len(names) > MAX_COLUMNS:
        raise BadHeader(f"the CSV has {len(names)} columns; at most {MAX_COLUMNS} are allowed")
    header, notices = map_columns(names)
    if "phone" not in header:
        raise BadHeader("the CSV has no phone column (phone, phone_number, mobile...)")
    return header, notices


def map_columns(names: list[str]) -> tuple[list[str], list[RowError]]:
    """Column names → lead fields (others: ``custom:<name>``). When two columns name the same
    field (``phone`` and ``mobile``), the first one is the field and the later one is kept as a
    custom field under its own name, with a notice: a number is never dropped silently."""
    out: list[str] = []
    notices: list[RowError] = []
    taken: dict[str, str] = {}
    for name in names:
        plain = name.strip()
        canonical = plain.lower().replace(" ", "_").replace("-", "_")
        field = HEADER_ALIASES.get(canonical)
        if field is not None and field not in taken:
            taken[field] = plain
            out.append(field)
        elif field is not None:
            out.append("custom:" + plain)
            notices.append(
                RowError(
                    1,
                    DUPLICATE_COLUMN,
                    field,
                    f"column {plain!r} names the {field} like column {taken[field]!r}, which is used;"
                    f" its values are kept as the custom field {plain!r}",
                )
            )
        else:
            out.append("custom:" + plain.removeprefix("custom.").removeprefix("custom_"))
    return out, notices


def parse_row(text: str) -> list[str] | None:
    """The fields of one CSV record (its line end stripped); None if it is not valid CSV (strict:
    a closing quote must end its field, and a quoted field must close)."""
    try:
        return next(csv.reader([text.rstrip("\r\n")], strict=True))
    except (csv.Error, StopIteration):
        return None


def row_fields(header: list[str], values: list[str]) -> LeadFields:
    """A CSV row as the normaliser's fields (unknown columns become custom fields)."""
    known: dict[str, Any] = {}
    custom: dict[str, str] = {}
    for name, value in zip(header, values, strict=True):
        if name.startswith("custom:"):
            if value:
                custom[name[7:]] = value
        elif name == "tags":
            known["tags"] = split_tags(value)
        else:
            known[name] = value
    return LeadFields(**known, custom_fields=custom)


_LINE_END = re.compile(rb"\r\n|\r|\n")


def _physical_lines(chunks: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """The stream's lines, each with its ending (CRLF, LF or a lone CR), as ``(bytes, whole)``.
    A line longer than :data:`MAX_ROW_BYTES` comes in pieces; all but its last have ``whole`` false."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        start = 0
        if buffer.count(b"\r") == buffer.count(b"\r\n"):  # no lone CR: find is 3x faster than a regex
            while (newline := buffer.find(b"\n", start)) >= 0:
                yield buffer[start : newline + 1], True
                start = newline + 1
        else:
            while (end := _LINE_END.search(buffer, start)) is not None:
                # A CR at the very end may be the first half of a CRLF split across chunks.
                if end.group() == b"\r" and end.end() == len(buffer):
                    break
                yield buffer[start : end.end()], True
                start = end.end()
        buffer = buffer[start:]
        while len(buffer) > MAX_ROW_BYTES:
            yield buffer[:MAX_ROW_BYTES], False
            buffer = buffer[MAX_ROW_BYTES:]
    if buffer:
        yield buffer, True


def _opens_quote(line: bytes, in_quotes: bool) -> bool:
    """Whether a quoted field is still open after ``line``, by the csv module's rules: a quote
    opens a quoted field only at the start of a field; inside one, ``""`` is a literal quote."""
    i = 0
    while (q := line.find(b'"', i)) >= 0:
        if in_quotes:
            if line[q + 1 : q + 2] == b'"':
                i = q + 2
                continue
            in_quotes = False
        elif q == 0 or line[q - 1 : q] == b",":
            in_quotes = True
        i = q + 1
    return in_quotes


def _fits(lines: list[bytes], columns: int | None) -> bool:
    """Whether lines joined by a quoted newline make one valid record of ``columns`` fields."""
    try:
        values = parse_row(b"".join(lines).decode("utf-8"))
    except UnicodeDecodeError:
        return False
    return values is not None and (columns is None or len(values) == columns)


def records(chunks: Iterator[bytes], *, first_line: int, columns: int | None = None) -> Iterator[RawRecord]:
    """Split a byte stream into CSV records, keeping each record's exact bytes (so offsets stay
    exact; a UTF-8 BOM stays in the header's bytes) and the line it starts on.

    A quoted field may hold line ends. A record spanning lines must parse as valid CSV with the
    header's number of fields (``columns``; learnt from the first record when not given) within
    :data:`MAX_ROW_LINES` lines and :data:`MAX_ROW_BYTES`; otherwise the quote that opened it was
    a stray one: its first line is a rejected record and the lines after it are read again."""
    source = _physical_lines(chunks)
    replay: deque[tuple[bytes, bool]] = deque()
    line = first_line
    pending: list[bytes] = []
    in_quotes = False

    def stray_quote() -> RawRecord:
        """Reject the pending record's first line; the others are read again."""
        nonlocal line, in_quotes
        first, rest = pending[0], pending[1:]
        replay.extendleft((piece, True) for piece in reversed(rest))
        pending.clear()
        in_quotes = False
        record = RawRecord(first, line, 1, len(first), "a quoted field does not close on this row")
        line += 1
        return record

    while True:
        item = replay.popleft() if replay else next(source, None)
        if item is None:
            if len(pending) > 1:
                yield stray_quote()  # the file ended inside a quoted field
                continue
            if pending:
                yield RawRecord(pending[0], line, 1, len(pending[0]))
            return
        piece, whole = item
        if not whole:
            if pending:
                # A quoted field that would run on past MAX_ROW_BYTES: its quote was a stray one.
                replay.appendleft(item)
                yield stray_quote()
                continue
            size = len(piece)
            while not whole and (item := (replay.popleft() if replay else next(source, None))) is not None:
                rest, whole = item
                size += len(rest)
            yield RawRecord(piece, line, 1, size, f"row is longer than {MAX_ROW_BYTES} bytes")
            line += 1
            continue
        if not pending and columns is not None and b'"' not in piece:  # the common case, fast
            yield RawRecord(piece, line, 1, len(piece))
            line += 1
            continue
        pending.append(piece)
        in_quotes = _opens_quote(piece, in_quotes)
        if in_quotes:
            if len(pending) >= MAX_ROW_LINES or sum(map(len, pending)) > MAX_ROW_BYTES:
                yield stray_quote()
            continue
        if len(pending) > 1 and not _fits(pending, columns):
            yield stray_quote()
            continue
        data = b"".join(pending)
        if columns is None:  # the header: every later record must have as many fields
            columns = len(parse_row(data.decode("utf-8", errors="replace").lstrip("\ufeff")) or []) or None
        yield RawRecord(data, line, len(pending), len(data))
        line += len(pending)
        pending.clear()
