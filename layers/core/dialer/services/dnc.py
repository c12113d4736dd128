"""The tenant's internal do-not-call list (47 CFR 64.1200(d)): add, bulk add, remove with a
reason, check and audit. Every change writes an append-only audit item in the same transaction."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from dialer import clock as engine_clock
from dialer.adapters.dynamo import decode_cursor, encode_cursor
from dialer.adapters.people_table import DncAudit, DncEntry, DncTable
from dialer.domain.phones import InvalidPhoneNumber, normalize_phone
from dialer.errors import InvalidInput, NotFound
from dialer.services.campaign_models import (
    DncAuditListResponse,
    DncAuditResponse,
    DncBulkResponse,
    DncCheckResponse,
    DncEntryResponse,
    DncListResponse,
    ItemError,
)


class DncService:
    """DNC operations for one tenant; ``actor`` (the API key or JWT subject) goes into the audit."""

    def __init__(
        self,
        tenant_id: str,
        table: DncTable,
        *,
        actor: str,
        default_region: str = "US",
        clock: Callable[[], datetime] | None = None,
        after_listed: Callable[[list[str]], object] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.table = table
        self.actor = actor
        self.default_region = default_region
        self._clock = clock or engine_clock.now
        # What else a listing stops (the numbers' pending Telnyx scheduled events). Run on every
        # add, "already listed" included: a retry after a failed cancellation finishes it.
        self._after_listed = after_listed

    def add(
        self,
        phone: str,
        *,
        reason: str,
        source: str,
        events: Callable[[str], Sequence[dict[str, Any]]] | None = None,
    ) -> tuple[DncEntryResponse, bool]:
        """Put a number on the list; returns the entry and whether it was added just now.
        ``events``: the outbox events the listing of this (normalised) number reports, written
        with it or not at all (a number already listed writes none)."""
        e164 = self._phone(phone, ["body", "phone"])
        entry, audit = self._change(e164, reason, source)
        added = self.table.add(entry, audit, events(e164) if events else ())
        if self._after_listed is not None:
            self._after_listed([e164])
        if added:
            return _entry(entry), True
        existing = self.table.get(self.tenant_id, e164)
        return _entry(existing or entry), False

    def add_many(self, phones: Sequence[str], *, reason: str, source: str) -> DncBulkResponse:
        """Put up to 1,000 numbers on the list; invalid ones are reported, not fatal."""
        errors: list[ItemError] = []
        wanted: dict[str, int] = {}
        for index, raw in enumerate(phones):
            try:
                wanted.setdefault(normalize_phone(raw, default_region=self.default_region), index)
            except InvalidPhoneNumber as exc:
                errors.append(
                    ItemError(
                        index=index, reason=f"phone_{exc.reason.value}", field="phones", message=str(exc)
                    )
                )
        listed = self.table.listed(self.tenant_id, list(wanted))
        changes = [self._change(e164, reason, source) for e164 in wanted if e164 not in listed]
        added = self.table.add_many(changes)
        if self._after_listed is not None and wanted:
            self._after_listed(list(wanted))
        return DncBulkResponse(
            received=len(phones),
            added=len(added),
            already_listed=len(phones) - len(errors) - len(added),
            rejected=len(errors),
            errors=errors,
        )

    def remove(self, phone: str, *, reason: str) -> None:
        """Take a number off the list (audited with ``reason``); NotFound if it is not on it."""
        e164 = self._phone(phone, ["body", "phone"])
        audit = DncAudit(_audit_id(), e164, "removed", reason, "api", self.actor, self._now())
        if not self.table.remove(self.tenant_id, e164, audit):
            raise NotFound("number is not on the do-not-call list")

    def check(self, phone: str) -> DncCheckResponse:
        """Is this number on the list?"""
        e164 = self._phone(phone, ["query", "phone"])
        entry = self.table.get(self.tenant_id, e164)
        return DncCheckResponse(phone=e164, dnc=entry is not None, entry=_entry(entry) if entry else None)

    def audit(self, phone: str, *, limit: int, cursor: str | None) -> DncAuditListResponse:
        """The changes to a number, newest first."""
        e164 = self._phone(phone, ["query", "phone"])
        items, after = self.table.audit_trail(self.tenant_id, e164, limit=limit, after=decode_cursor(cursor))
        return DncAuditListResponse(
            data=[
                DncAuditResponse(
                    audit_id=a.audit_id,
                    phone=a.phone,
                    action="added" if a.action == "added" else "removed",
                    reason=a.reason,
                    source=a.source,
                    actor=a.actor,
                    at=a.at,
                )
                for a in items
            ],
            next_cursor=encode_cursor(after),
        )

    def entries(self, *, limit: int, cursor: str | None) -> DncListResponse:
        """A page of the list."""
        entries, after = self.table.entries(self.tenant_id, limit=limit, after=decode_cursor(cursor))
        return DncListResponse(data=[_entry(e) for e in entries], next_cursor=encode_cursor(after))

    def _change(self, e164: str, reason: str, source: str) -> tuple[DncEntry, DncAudit]:
        now = self._now()
        entry = DncEntry(self.tenant_id, e164, reason, source, now, self.actor)
        return entry, DncAudit(_audit_id(), e164, "added", reason, source, self.actor, now)

    def _phone(self, raw: str, loc: list[str]) -> str:
        try:
            return normalize_phone(raw, default_region=self.default_region)
        except InvalidPhoneNumber as exc:
            raise InvalidInput(
                str(exc), [{"loc": loc, "msg": str(exc), "type": exc.errors[0]["type"]}]
            ) from None

    def _now(self) -> str:
        return self._clock().isoformat(timespec="microseconds")


def _audit_id() -> str:
    return f"aud_{secrets.token_hex(8)}"


def _entry(entry: DncEntry) -> DncEntryResponse:
    return DncEntryResponse(
        phone=entry.phone,
        reason=entry.reason,
        source=entry.source,
        added_at=entry.added_at,
        added_by=entry.added_by,
    )
