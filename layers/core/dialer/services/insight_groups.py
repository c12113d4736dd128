"""A tenant's insight group on Telnyx: create ours (idempotently) or plug in the tenant's own, and
look insight names and conversations up at processing time.

* :class:`InsightGroups` (bootstrap and ``POST /tenants/me/insight-group``): finds the default
  group by name before creating it, creates only missing templates (reusing one a crashed run
  left unassigned), assigns them, stores the group id and insight id → name map on the tenant,
  and points the tenant's assistants at it. A tenant that plugged in its own group keeps it.
* :class:`InsightLookups` (event processor): insight names for a group (the stored map, else one
  ``GET insight-groups/{id}`` per group per process) and the call a conversation belongs to.
  A name lookup never blocks exactly-once: if it fails, the conclusion reads the results' own
  keys, as the default templates are built to allow.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from dialer import clock as engine_clock
from dialer.adapters.insights_table import InsightsTable
from dialer.domain.insight_group import (
    DEFAULT_GROUP_DESCRIPTION,
    DEFAULT_GROUP_NAME,
    InsightMapping,
    default_templates,
    invalid_fields,
    names_to_fields,
)
from dialer.errors import DialerError, InvalidInput, TemporarilyUnavailable
from dialer.observability import get_logger
from dialer.services.telnyx_accounts import telnyx_errors
from telnyx_client.errors import TelnyxError, TelnyxNotFound

if TYPE_CHECKING:
    from telnyx_client.client import TelnyxClient
    from telnyx_client.models.insights import InsightGroup, InsightTemplate

logger = get_logger()


class TokenStore(Protocol):
    """Where the tenant's insight-webhook token lives (SSM SecureString)."""

    def insights_token(self, tenant_id: str) -> str | None:
        """The token, or None."""
        ...

    def put(self, tenant_id: str, name: str, value: str) -> str:
        """Store one tenant secret; returns its parameter name."""
        ...


class AssistantAttacher(Protocol):
    """Points a tenant's assistants at an insight group."""

    def attach_insight_group(self, group_id: str) -> list[str]:
        """The assistant ids changed."""
        ...


def insights_webhook_url(base_url: str, tenant_id: str, token: str) -> str:
    """The group webhook URL: the token authenticates deliveries Telnyx may not sign."""
    return f"{base_url.rstrip('/')}/webhooks/telnyx/{tenant_id}/insights?token={token}"


class InsightGroups:
    """One tenant's insight group."""

    def __init__(
        self,
        tenant_id: str,
        telnyx: Callable[[], TelnyxClient],
        table: InsightsTable,
        tokens: TokenStore,
        *,
        base_url: str | None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self._telnyx = telnyx
        self.table = table
        self.tokens = tokens
        self.base_url = base_url
        self._clock = clock or engine_clock.now

    def webhook_url(self) -> str | None:
        """The tenant's group webhook URL (its token generated once), or None without a base URL."""
        if not self.base_url:
            return None
        from dialer.adapters.secrets import INSIGHTS_TOKEN

        token = self.tokens.insights_token(self.tenant_id)
        if not token:
            token = secrets.token_urlsafe(32)
            self.tokens.put(self.tenant_id, INSIGHTS_TOKEN, token)
        return insights_webhook_url(self.base_url, self.tenant_id, token)

    def current(self) -> InsightMapping | None:
        """The stored mapping, or None."""
        return self.table.get_mapping(self.tenant_id)

    def ensure(self, assistants: AssistantAttacher | None = None) -> tuple[InsightMapping, list[str]]:
        """The tenant's group, created on Telnyx if missing (idempotent); returns it and the
        assistants newly pointed at it."""
        stored = self.current()
        if stored is not None and stored.source == "custom":
            return stored, self._attach(stored, assistants)
        client = self._telnyx()
        with telnyx_errors("insight group"):
            group = self._find_group(client, stored)
            if group is None:
                group = client.insight_groups.create(
                    {
                        "name": DEFAULT_GROUP_NAME,
                        "description": DEFAULT_GROUP_DESCRIPTION,
                        "webhook": self.webhook_url(),
                    }
                )
                logger.info("insight group created", group_id=group.id)
            if not group.id:
                raise TemporarilyUnavailable("Telnyx returned an insight group without an id")
            present = {t.name: t for t in group.insights or [] if t.id and t.name}
            missing = [spec for spec in default_templates() if spec.name not in present]
            if missing:
                reusable = _reusable_templates(client)
                for spec in missing:
                    template = reusable.get(spec.name) or client.insight_templates.create(
                        {
                            "name": spec.name,
                            "instructions": spec.instructions,
                            "json_schema": spec.json_schema,
                        }
                    )
                    if not template.id:
                        raise TemporarilyUnavailable("Telnyx returned an insight template without an id")
                    client.insight_groups.assign(group.id, template.id)
                    present[spec.name] = template
        names = {str(t.id): name for name, t in present.items() if t.id}
        mapping = InsightMapping(group_id=group.id, names=names, source="default")
        if mapping != stored:
            self.table.put_mapping(self.tenant_id, mapping, now=self._now())
        return mapping, self._attach(mapping, assistants)

    def use_own(
        self, group_id: str, fields: Mapping[str, str], assistants: AssistantAttacher | None = None
    ) -> tuple[InsightMapping, list[str]]:
        """Plug in the tenant's own group: ``fields`` maps its insight names to our fields."""
        wrong = invalid_fields(fields)
        if wrong:
            raise InvalidInput(
                "unknown field in the insight map",
                errors=[
                    {
                        "loc": ["body", "fields"],
                        "msg": f"not one of our fields: {wrong}",
                        "type": "value_error",
                    }
                ],
            )
        with telnyx_errors("insight group"):
            group = self._telnyx().insight_groups.retrieve(group_id)
        names = {str(t.id): str(t.name) for t in group.insights or [] if t.id and t.name}
        mapping = InsightMapping(group_id=group_id, names=names, fields=dict(fields), source="custom")
        self.table.put_mapping(self.tenant_id, mapping, now=self._now())
        return mapping, self._attach(mapping, assistants)

    def _find_group(self, client: TelnyxClient, stored: InsightMapping | None) -> InsightGroup | None:
        if stored is not None:
            try:
                return client.insight_groups.retrieve(stored.group_id)
            except TelnyxNotFound:
                pass  # deleted on Telnyx: find it by name or create it again
        for group in client.insight_groups.iter_all():
            if group.name == DEFAULT_GROUP_NAME and group.id:
                # The list may abbreviate a group: read it whole for its templates.
                return client.insight_groups.retrieve(group.id)
        return None

    def _attach(self, mapping: InsightMapping, assistants: AssistantAttacher | None) -> list[str]:
        return assistants.attach_insight_group(mapping.group_id) if assistants is not None else []

    def _now(self) -> str:
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _reusable_templates(client: TelnyxClient) -> dict[str, InsightTemplate]:
    """Our templates a crashed run created but never assigned (same name and instructions): reused
    rather than duplicated. A user's own template that merely shares a name is not ours."""
    ours = {spec.name: spec.instructions for spec in default_templates()}
    found: dict[str, InsightTemplate] = {}
    for template in client.insight_templates.iter_all():
        if template.id and template.name in ours and template.instructions == ours[template.name]:
            found.setdefault(template.name, template)
    return found


class InsightLookups:
    """Names and conversation links for the event processor, cached in memory per process."""

    def __init__(
        self,
        table: InsightsTable,
        telnyx_for: Callable[[str], TelnyxClient] | None = None,
        *,
        max_age: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self.telnyx_for = telnyx_for
        self.max_age = max_age
        self._clock = clock
        self._names: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}

    def names_for(self, tenant_id: str, group_id: str | None) -> dict[str, str]:
        """insight id → field for the tenant's group ``group_id`` ({} if it cannot be known now)."""
        if not group_id:
            return {}
        key = (tenant_id, group_id)
        cached = self._names.get(key)
        if cached is not None and self._clock() - cached[0] < self.max_age:
            return cached[1]
        try:
            names = self._lookup(tenant_id, group_id)
        except (DialerError, TelnyxError) as exc:
            # Not cached: the next event of this group tries again.
            logger.warning("insight names unavailable", group_id=group_id, reason=type(exc).__name__)
            return {}
        self._names[key] = (self._clock(), names)
        return names

    def _lookup(self, tenant_id: str, group_id: str) -> dict[str, str]:
        mapping = self.table.get_mapping(tenant_id)
        if mapping is not None and mapping.group_id == group_id:
            return mapping.field_names()
        if self.telnyx_for is None:
            return {}
        group = self.telnyx_for(tenant_id).insight_groups.retrieve(group_id, timeout=3.0)
        fields = mapping.fields if mapping is not None else {}
        return names_to_fields(
            {str(t.id): str(t.name) for t in group.insights or [] if t.id and t.name}, fields
        )

    def link(self, tenant_id: str, conversation_id: str, call_control_id: str) -> None:
        """Remember the call of a conversation (from ``call.conversation.*``)."""
        self.table.link_conversation(tenant_id, conversation_id, call_control_id)

    def call_of(self, tenant_id: str, conversation_id: str) -> str | None:
        """The call of a conversation: our link, else Telnyx's conversation metadata; None if
        neither knows it yet. Raises TemporarilyUnavailable if Telnyx cannot be asked."""
        linked = self.table.call_of_conversation(tenant_id, conversation_id)
        if linked or self.telnyx_for is None:
            return linked
        try:
            client = self.telnyx_for(tenant_id)
        except DialerError:
            return None  # no Telnyx key for the tenant: only a call event can link it
        try:
            conversation = client.conversations.retrieve(conversation_id, timeout=3.0)
        except TelnyxNotFound:
            return None
        except TelnyxError as exc:
            raise TemporarilyUnavailable("could not look the conversation up") from exc
        metadata: Mapping[str, Any] = conversation.metadata or {}
        call_control_id = str(metadata.get("call_control_id") or "")
        if not call_control_id:
            return None
        self.table.link_conversation(tenant_id, conversation_id, call_control_id)
        return call_control_id
