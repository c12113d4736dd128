"""Campaign CRUD and lifecycle for one tenant.

A campaign is created as a draft. Moves follow :data:`dialer.domain.campaigns.TRANSITIONS`; an
illegal one is a 409 naming the allowed moves. Activating (and resuming) checks that every
assistant the campaign dials with is in the tenant's mirror (and not deleted on Telnyx), and that
the caller-ID pool names existing, enabled caller IDs. Every write is conditional on the
``updated_at`` that was read, so two concurrent moves cannot both win.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from dialer import clock as engine_clock
from dialer.adapters.campaigns_table import CampaignRecord, CampaignsTable
from dialer.adapters.dynamo import decode_cursor, encode_cursor
from dialer.adapters.management_table import ManagementTable
from dialer.adapters.outbox_events import campaign_status_changed
from dialer.domain.campaigns import CampaignConfig, CampaignStatus, check_transition
from dialer.errors import Conflict, InvalidInput, NotFound
from dialer.services.campaign_models import (
    CampaignCreateRequest,
    CampaignListResponse,
    CampaignPatchRequest,
    CampaignResponse,
)


def new_id(prefix: str) -> str:
    """A time-ordered id (milliseconds, then randomness): lists come out oldest first."""
    return f"{prefix}_{int(time.time() * 1000):012x}{secrets.token_hex(5)}"


class CampaignsService:
    """Campaign operations for one tenant."""

    def __init__(
        self,
        tenant_id: str,
        table: CampaignsTable,
        management: ManagementTable,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.table = table
        self.management = management
        self._clock = clock or engine_clock.now

    def create(self, request: CampaignCreateRequest) -> CampaignResponse:
        """A new draft campaign."""
        now = self._now()
        record = CampaignRecord(
            tenant_id=self.tenant_id,
            campaign_id=new_id("cmp"),
            status=CampaignStatus.DRAFT,
            config=CampaignConfig.model_validate(request.model_dump()),
            created_at=now,
            updated_at=now,
            status_changed_at=now,
        )
        if not self.table.put_campaign(record):
            raise Conflict("campaign id collision; try again")
        return campaign_view(record)

    def get(self, campaign_id: str) -> CampaignResponse:
        """One campaign."""
        return campaign_view(self.record(campaign_id))

    def list(self, *, limit: int, cursor: str | None) -> CampaignListResponse:
        """A page of the tenant's campaigns."""
        records, after = self.table.list_campaigns(self.tenant_id, limit=limit, after=decode_cursor(cursor))
        return CampaignListResponse(
            data=[campaign_view(r) for r in records], next_cursor=encode_cursor(after)
        )

    def update(self, campaign_id: str, patch: CampaignPatchRequest) -> CampaignResponse:
        """Change the given fields (null clears); 409 once the campaign is completed or canceled."""
        record = self.record(campaign_id)
        if record.status in (CampaignStatus.COMPLETED, CampaignStatus.CANCELED):
            raise Conflict(f"a {record.status.value} campaign cannot be changed")
        changes = {name: getattr(patch, name) for name in patch.model_fields_set}
        merged: dict[str, Any] = {**record.config.model_dump(), **_dumped(changes)}
        try:
            config = CampaignConfig.model_validate(merged)
        except ValidationError as exc:
            raise InvalidInput("campaign is not valid after the change", _errors(exc)) from None
        if record.status == CampaignStatus.ACTIVE:
            self._check_dialable(config)  # an active campaign must stay dialable
        updated = _replace(record, config=config, updated_at=self._now())
        if not self.table.put_campaign(updated, expect_updated_at=record.updated_at):
            raise Conflict("the campaign changed meanwhile; read it again")
        return campaign_view(updated)

    def delete(self, campaign_id: str) -> None:
        """Delete a draft without leads (others are canceled, which keeps their history)."""
        record = self.record(campaign_id)
        if record.status != CampaignStatus.DRAFT or record.lead_count:
            raise Conflict("only a draft campaign without leads can be deleted; cancel it instead")
        if not self.table.delete_campaign(self.tenant_id, campaign_id, expect_updated_at=record.updated_at):
            raise Conflict("the campaign changed meanwhile (leads were added?); read it again")

    def transition(self, campaign_id: str, target: CampaignStatus) -> CampaignResponse:
        """Move the campaign to ``target`` (409 for an illegal move or an undialable campaign)."""
        record = self.record(campaign_id)
        check_transition(record.status, target)
        if target == CampaignStatus.ACTIVE:
            self._check_dialable(record.config)
        now = self._now()
        # A user's move clears the reason the system paused it for (budget_reached).
        moved = _replace(record, status=target, updated_at=now, status_changed_at=now, paused_reason=None)
        event = campaign_status_changed(
            self.tenant_id, campaign_id, before=record.status.value, after=target.value, at=now
        )
        if not self.table.put_campaign(moved, expect_updated_at=record.updated_at, event=event):
            raise Conflict("the campaign changed meanwhile; read it again")
        return campaign_view(moved)

    def record(self, campaign_id: str) -> CampaignRecord:
        """The stored campaign, or NotFound."""
        record = self.table.get_campaign(self.tenant_id, campaign_id)
        if record is None:
            raise NotFound(f"campaign {campaign_id} not found")
        return record

    def _check_dialable(self, config: CampaignConfig) -> None:
        assistants = config.assistant_ids()
        if not assistants:
            raise Conflict(
                "the campaign needs an assistant (assistant_id or assistant_variants) to be active"
            )
        for assistant_id in assistants:
            mirror = self.management.get_mirror(self.tenant_id, assistant_id)
            if mirror is None or mirror.deleted_upstream:
                raise Conflict(
                    f"assistant {assistant_id} does not exist for this tenant "
                    "(create it, or run POST /assistants/sync)"
                )
        if not config.caller_ids:
            raise Conflict(
                "the campaign needs at least one caller ID (caller_ids, from /caller-ids) to be active"
            )
        for caller_id_id in config.caller_ids:
            caller_id = self.management.get_caller_id(self.tenant_id, caller_id_id)
            if caller_id is None or not caller_id.enabled:
                raise Conflict(f"caller ID {caller_id_id} does not exist or is disabled")

    def _now(self) -> str:
        return self._clock().isoformat(timespec="milliseconds")


def campaign_view(record: CampaignRecord) -> CampaignResponse:
    """The API's view of a campaign."""
    return CampaignResponse(
        **record.config.model_dump(),
        id=record.campaign_id,
        status=record.status,
        lead_count=record.lead_count,
        created_at=record.created_at,
        updated_at=record.updated_at,
        status_changed_at=record.status_changed_at,
        paused_reason=record.paused_reason,
    )


def _dumped(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: v.model_dump() if hasattr(v, "model_dump") else _plain(v) for k, v in changes.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [v.model_dump() if hasattr(v, "model_dump") else v for v in value]
    return value


def _errors(exc: ValidationError) -> list[dict[str, object]]:
    return [
        {"loc": ["body", *map(str, e["loc"])], "msg": str(e.get("msg", "")), "type": e["type"]}
        for e in exc.errors()
    ]


def _replace(record: CampaignRecord, **changes: Any) -> CampaignRecord:
    from dataclasses import replace

    return replace(record, **changes)
