"""The dynamic-variables (``assistant.initialization``) webhook: who is on this call, in time.

Telnyx waits for this answer for at most its timeout and then starts the call without the lead's
data, so the answer must be fast and must always come. Order:

1. The signature (the tenant's Ed25519 key, the same check as the intake): a bad one, or an
   unknown tenant, is a 401 and nothing is read.
2. The lead: the call's own attempt (the call record the dialer links to its lead), else the
   attempt ``client_state`` names when our attempt record confirms it, else the tenant's lead for
   the end-user number (most recent active campaign), else an unknown caller.
3. The answer: flat string ``dynamic_variables``, ``memory.conversation_query`` scoped to this
   person, and ``conversation.metadata`` naming tenant, campaign, lead, attempt and variant.

Steps 1-2 run under an internal deadline well inside Telnyx's budget: if the key store or the
table is slow or failing, the answer is 200 with safe defaults (nothing about any lead), never a
5xx and never late.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from dialer import clock as engine_clock
from dialer.adapters.init_context import CampaignView, LeadPartition, LeadView
from dialer.domain.callers import preferred_lead
from dialer.domain.variables import CallbackContext, dynamic_variables
from dialer.errors import BadRequest, DialerError, Unauthorized
from dialer.request_body import read_json
from dialer.services.intake import TenantKeys, verify_tenant_signature

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_INIT_BODY = 64 * 1024  # an init event is a few hundred bytes


class InitBranch(StrEnum):
    """How the caller was identified (logged and counted, never sent to Telnyx)."""

    ATTEMPT = "attempt"  # the call record's link to our attempt
    CLIENT_STATE = "client_state"  # client_state, confirmed by our attempt record
    NUMBER = "number"  # the tenant's lead for the end-user number
    UNKNOWN = "unknown"  # nobody we know
    FALLBACK = "fallback"  # the deadline passed or a dependency failed: safe defaults


class InitContext(Protocol):
    """The reads the init webhook needs (:class:`~dialer.adapters.init_context.InitContextTable`)."""

    def call_link(self, tenant_id: str, call_control_id: str) -> Mapping[str, Any] | None:
        """The call record, or None."""
        ...

    def lead_partition(self, tenant_id: str, lead_id: str) -> LeadPartition | None:
        """A lead and its attempts, or None."""
        ...

    def leads_by_phone(self, tenant_id: str, e164: str) -> list[LeadView]:
        """A number's leads across the tenant's campaigns."""
        ...

    def campaigns(self, tenant_id: str, campaign_ids: list[str]) -> dict[str, CampaignView]:
        """The existing campaigns among the ids."""
        ...


@dataclass(frozen=True, slots=True)
class InitRequest:
    """The fields of an init event we use; anything missing or malformed is None."""

    call_control_id: str | None = None
    end_user: str | None = None
    agent: str | None = None
    assistant_id: str | None = None
    channel: str | None = None
    client_state: str | None = None


@dataclass(frozen=True, slots=True)
class InitAnswer:
    """The 200 body for Telnyx and how it was found."""

    body: dict[str, Any]
    branch: InitBranch


def parse_init_request(raw: bytes) -> InitRequest:
    """Read an init event leniently: both documented variants (``assistant.initialization`` /
    ``dynamic_variables`` event types, with or without the ``data`` envelope); never raises."""
    try:
        doc = read_json(raw)
    except BadRequest:  # not JSON, too deep, a number out of range, not UTF-8: no fields to use
        return InitRequest()
    if not isinstance(doc, dict):
        return InitRequest()
    data: dict[str, Any] = doc["data"] if isinstance(doc.get("data"), dict) else doc
    payload: dict[str, Any] = data["payload"] if isinstance(data.get("payload"), dict) else data

    def text(name: str, limit: int = 256) -> str | None:
        value = payload.get(name)
        return value if isinstance(value, str) and 0 < len(value) <= limit else None

    return InitRequest(
        call_control_id=text("call_control_id"),
        end_user=text("telnyx_end_user_target"),
        agent=text("telnyx_agent_target"),
        assistant_id=text("assistant_id"),
        channel=text("telnyx_conversation_channel", 32),
        client_state=text("client_state", 4096),
    )


def decode_client_state(value: str | None) -> dict[str, Any] | None:
    """The dialer's client_state (base64 JSON ``{"t","c","l","n"}``), or None if it is not one."""
    if not value:
        return None
    try:
        doc = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("l"), str) or not isinstance(doc.get("n"), int):
        return None
    return doc


class InitWebhook:
    """Answers ``assistant.initialization`` for any tenant of this deployment."""

    def __init__(
        self,
        *,
        tenant_keys: TenantKeys,
        context: InitContext,
        deadline_seconds: float,
        clock: Callable[[], datetime] | None = None,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self.tenant_keys = tenant_keys
        self.context = context
        self.deadline_seconds = deadline_seconds
        self._clock = clock or engine_clock.now
        # A few workers: a lookup that overran its deadline keeps its thread until the SDK's own
        # timeout ends it, and the next calls must not queue behind it.
        self._executor = executor or ThreadPoolExecutor(max_workers=4, thread_name_prefix="init")

    def answer(self, tenant_id: str, raw_body: bytes, headers: Mapping[str, str]) -> InitAnswer:
        """The answer for one init request. Raises :class:`Unauthorized` (a 401) for a bad
        signature or unknown tenant; anything else is a 200, within the deadline."""
        if len(raw_body) > MAX_INIT_BODY:
            raise Unauthorized("signature could not be verified", reason="body_too_large")
        future: Future[InitAnswer] = self._executor.submit(self._resolve, tenant_id, raw_body, headers)
        try:
            return future.result(timeout=self.deadline_seconds)
        except Unauthorized:
            raise
        except (FutureTimeout, DialerError):
            # Slow or failing key store / table: Telnyx still gets an answer in time. Nothing
            # here is derived from the (possibly unverified) body beyond the route's tenant.
            return InitAnswer(fallback_body(), InitBranch.FALLBACK)

    def _resolve(self, tenant_id: str, raw_body: bytes, headers: Mapping[str, str]) -> InitAnswer:
        verify_tenant_signature(self.tenant_keys, tenant_id, raw_body, headers)
        request = parse_init_request(raw_body)
        found = self._find(tenant_id, request)
        if found is None:
            return InitAnswer(self._unknown_body(tenant_id, request), InitBranch.UNKNOWN)
        branch, partition, attempt_n, link = found
        campaign = self.context.campaigns(tenant_id, [partition.lead.campaign_id]).get(
            partition.lead.campaign_id
        )
        body = self._lead_body(tenant_id, request, partition, campaign, attempt_n, link)
        return InitAnswer(body, branch)

    # --- who is this -----------------------------------------------------------------------------
    def _find(
        self, tenant_id: str, request: InitRequest
    ) -> tuple[InitBranch, LeadPartition, int | None, Mapping[str, Any]] | None:
        if request.call_control_id:
            link = self.context.call_link(tenant_id, request.call_control_id) or {}
            lead_id, n = link.get("lead_id"), link.get("attempt_n")
            if isinstance(lead_id, str):
                partition = self.context.lead_partition(tenant_id, lead_id)
                if partition is not None:
                    return InitBranch.ATTEMPT, partition, int(n) if n is not None else None, link
        state = decode_client_state(request.client_state)
        if state is not None and state.get("t") == tenant_id:
            partition = self.context.lead_partition(tenant_id, state["l"])
            attempt = partition.attempts.get(state["n"]) if partition else None
            # Never trusted alone: our attempt must exist, and be this call if it knows its call.
            if (
                partition is not None
                and attempt is not None
                and attempt.get("call_control_id") in (None, request.call_control_id)
            ):
                return InitBranch.CLIENT_STATE, partition, state["n"], attempt
        if request.end_user and _E164.match(request.end_user):
            lead = self._lead_for_number(tenant_id, request.end_user)
            if lead is not None:
                # The index holds the whole lead item; no attempt of this call to read.
                return InitBranch.NUMBER, LeadPartition(lead, {}), None, {}
        return None

    def _lead_for_number(self, tenant_id: str, e164: str) -> LeadView | None:
        """The number's lead by the one rule for callers (:func:`~dialer.domain.callers.preferred_lead`)."""
        leads = self.context.leads_by_phone(tenant_id, e164)
        if not leads:
            return None
        campaigns = self.context.campaigns(tenant_id, [lead.campaign_id for lead in leads])
        return preferred_lead(
            leads,
            lambda lead: lead.campaign_id,
            lambda campaign_id: c.status if (c := campaigns.get(campaign_id)) else None,
        )

    # --- the answers -----------------------------------------------------------------------------
    def _lead_body(
        self,
        tenant_id: str,
        request: InitRequest,
        partition: LeadPartition,
        campaign: CampaignView | None,
        attempt_n: int | None,
        link: Mapping[str, Any],
    ) -> dict[str, Any]:
        lead = partition.lead
        attempt = partition.attempts.get(attempt_n) if attempt_n is not None else None
        callback = _callback_context(lead, attempt)
        variables = dynamic_variables(
            lead_fields=lead.fields,
            custom_fields=lead.custom_fields,
            mapping=campaign.variables if campaign else {},
            zone=lead.zone or (campaign.fallback_zone if campaign else None),
            now=self._clock(),
            attempt_number=attempt_n if attempt_n is not None else lead.attempts,
            lead_id=lead.lead_id,
            campaign_id=lead.campaign_id,
            callback=callback,
        )
        variables["caller_known"] = "true"
        for name, value in (
            ("last_disposition", lead.last_disposition),
            ("last_disposition_note", lead.last_disposition_note),
            ("last_summary", lead.last_summary),
        ):
            if value:
                variables[name] = str(value)
        variant = (attempt or {}).get("assistant_id") or link.get("assistant_id") or request.assistant_id
        metadata = {"tenant_id": tenant_id, "campaign_id": lead.campaign_id, "lead_id": lead.lead_id}
        if attempt_n is not None:
            metadata["attempt"] = str(attempt_n)
        if variant:
            metadata["variant"] = str(variant)
        return {
            "dynamic_variables": variables,
            "memory": {"conversation_query": _memory_query(lead.phone)},
            "conversation": {"metadata": metadata},
        }

    def _unknown_body(self, tenant_id: str, request: InitRequest) -> dict[str, Any]:
        body = fallback_body()
        body["conversation"]["metadata"]["tenant_id"] = tenant_id
        if request.end_user and _E164.match(request.end_user):
            body["memory"] = {"conversation_query": _memory_query(request.end_user)}
        return body


def fallback_body() -> dict[str, Any]:
    """The answer that names nobody: the assistant's defaults apply to everything else."""
    return {
        "dynamic_variables": {"caller_known": "false", "is_callback": "false"},
        "conversation": {"metadata": {"caller_known": "false"}},
    }


def _memory_query(e164: str) -> str:
    # Scoped to this person's number: earlier conversations with them, newest first (WIRE §7.3).
    return f"metadata->telnyx_end_user_target=eq.{e164}&limit=5&order=last_message_at.desc"


def _callback_context(lead: LeadView, attempt: Mapping[str, Any] | None) -> CallbackContext | None:
    if not attempt or not attempt.get("callback"):
        return None
    at = attempt.get("callback_at") or lead.callback_at or attempt.get("claimed_at")
    try:
        when = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    note = attempt.get("callback_note")
    return CallbackContext(at=when, note=str(note) if note else None)
