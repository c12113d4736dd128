"""Voicemail drop: the campaign's answer to a machine, driven by the call's own events.

Called by event processing (``services/processing.py``) after each event of
:data:`VoicemailDrop.events` is applied, and again on every redelivery of it, so each reaction is
idempotent: every command carries a ``command_id`` derived from the call (Telnyx ignores a repeat),
and the per-lead message cap counts each call once.

* ``call.machine[.premium].detection.ended`` = machine, setting ``hangup`` → hang up.
* ``call.machine.premium.greeting.ended`` (beep or not; ``call.machine.greeting.ended`` is the
  fallback of standard detection), setting ``leave_message`` (acted on by whichever of the
  detection and the greeting is applied second) → the lead's consent must cover the
  message (else no message, the reason on the call, hang up); the per-lead cap must allow one
  (else hang up); then speak the message (identity, body, callback, opt-out).
* ``call.speak.ended`` = completed → hang up, saying in ``client_state`` that the message was left
  (so the outcome is ``voicemail_left`` whichever of the two webhooks comes first).

``retry`` (the default) does nothing here: the call ends as ``voicemail`` and the retry policy
decides, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from dialer.adapters.campaigns_table import CampaignRecord, LeadRecord
from dialer.domain.calls import (
    VOICEMAIL_STATE_KEY,
    VOICEMAIL_STATE_LEFT,
    FactKind,
    facts_of_item,
    summarize,
)
from dialer.domain.outcomes import AmdCategory, CallState
from dialer.domain.variables import LEAD_FIELDS, dynamic_variables
from dialer.domain.voicemail import VoicemailAction, compose_message, consent_reason
from dialer.errors import TemporarilyUnavailable
from dialer.observability import get_logger
from dialer.services.lead_effects import client_state_attempt

if TYPE_CHECKING:
    from telnyx_client.client import TelnyxClient

logger = get_logger()

DETECTION_EVENTS = frozenset({"call.machine.premium.detection.ended", "call.machine.detection.ended"})
GREETING_EVENTS = frozenset({"call.machine.premium.greeting.ended", "call.machine.greeting.ended"})
SPEAK_ENDED = "call.speak.ended"
#: Why a machine answer got no message although the campaign leaves them (beside the consent
#: reason of ``dialer.domain.compliance_reasons``): the lead already had its messages.
MESSAGE_CAP_REACHED = "message_cap_reached"


class CampaignReads(Protocol):
    """The campaign and lead of a call (``CampaignsTable``)."""

    def get_campaign(self, tenant_id: str, campaign_id: str) -> CampaignRecord | None:
        """The campaign, or None."""
        ...

    def get_lead(self, tenant_id: str, lead_id: str) -> LeadRecord | None:
        """The lead, or None."""
        ...


class VoicemailMarks(Protocol):
    """Where the drop records what it did (``VoicemailTable``)."""

    def record_on_call(self, tenant_id: str, call_control_id: str, voicemail: Mapping[str, str]) -> bool:
        """SET the call's ``voicemail`` attribute."""
        ...

    def claim_message(self, tenant_id: str, lead_id: str, call_control_id: str, limit: int) -> bool:
        """Count the call among the lead's messages if under ``limit`` (idempotent per call)."""
        ...

    def unclaim_message(self, tenant_id: str, lead_id: str, call_control_id: str) -> None:
        """Take the call back out (idempotent)."""
        ...


class VoicemailDrop:
    """Reacts to a machine answer as the call's campaign says."""

    events = DETECTION_EVENTS | GREETING_EVENTS | {SPEAK_ENDED}

    def __init__(
        self,
        campaigns: CampaignReads,
        marks: VoicemailMarks,
        client_for: Callable[[str], TelnyxClient],
        clock: Callable[[], datetime],
    ) -> None:
        self.campaigns = campaigns
        self.marks = marks
        self.client_for = client_for
        self.clock = clock

    def after_event(self, tenant_id: str, event_type: str, call: Mapping[str, Any]) -> str | None:
        """React to one applied event of the call; returns what it did (None: nothing)."""
        if event_type not in self.events or call.get("inbound"):
            return None
        facts = facts_of_item(call)
        summary = summarize(facts)
        # A greeting that ended says "machine" as well as the detection does: webhooks overtake
        # each other, so whichever of the two is applied second acts.
        greeted = FactKind.GREETING in facts
        if not (summary.amd is AmdCategory.MACHINE or greeted) or summary.state == CallState.ENDED:
            return None  # a person, or the call is already over: nothing to say to anyone
        claimed = client_state_attempt(call.get("client_state"))
        campaign_id = str(call.get("campaign_id") or (claimed[1] if claimed else ""))
        lead_id = str(call.get("lead_id") or (claimed[2] if claimed else ""))
        if not campaign_id or not lead_id:
            return None  # not one of our dials
        campaign = self.campaigns.get_campaign(tenant_id, campaign_id)
        if campaign is None:
            return None
        setting = campaign.config.voicemail
        call_control_id = str(call["call_control_id"])
        if setting.action == VoicemailAction.HANGUP and event_type != SPEAK_ENDED:
            self._hangup(tenant_id, call, "hangup")
            return "voicemail_hangup"
        if setting.action != VoicemailAction.LEAVE_MESSAGE:
            return None
        if event_type != SPEAK_ENDED:
            done = (call.get("voicemail") or {}).get("status")
            if not greeted or done in ("left", "skipped", "missed") or FactKind.MESSAGE in facts:
                return None  # the greeting still plays, or this call's message is decided
            return self._leave_message(tenant_id, call, campaign, lead_id)
        message = facts.get(FactKind.MESSAGE)
        if event_type == SPEAK_ENDED and message is not None and message.data.get("status") == "completed":
            self._hangup(tenant_id, call, VOICEMAIL_STATE_LEFT)
            self.marks.record_on_call(tenant_id, call_control_id, {"status": "left"})
            return "voicemail_left"
        return None

    def _leave_message(
        self, tenant_id: str, call: Mapping[str, Any], campaign: CampaignRecord, lead_id: str
    ) -> str:
        setting = campaign.config.voicemail
        call_control_id = str(call["call_control_id"])
        lead = self.campaigns.get_lead(tenant_id, lead_id)
        now = self.clock()
        reason: str | None = consent_reason(lead.lead.consent if lead else None, setting.purpose, now)
        if reason is None and not self.marks.claim_message(
            tenant_id, lead_id, call_control_id, setting.max_messages_per_lead
        ):
            reason = MESSAGE_CAP_REACHED
        if reason is not None or lead is None:
            self.marks.record_on_call(
                tenant_id, call_control_id, {"status": "skipped", "reason": str(reason)}
            )
            self._hangup(tenant_id, call, "skipped")
            return f"voicemail_skipped:{reason}"
        data = lead.lead
        config = campaign.config
        variables = dynamic_variables(
            lead_fields={name: getattr(data, name) for name in LEAD_FIELDS},
            custom_fields=data.custom_fields,
            mapping=config.variables,
            zone=data.zone or config.window.fallback_zone,
            now=now,
            # The number this call was dialled as (the dialer's ``attempts + 1``): a lead's
            # attempts count its calls once they are settled, and this one is live.
            attempt_number=lead.attempts + 1,
            lead_id=lead_id,
            campaign_id=campaign.campaign_id,
        )
        text = compose_message(setting, variables)
        self.marks.record_on_call(tenant_id, call_control_id, {"status": "speaking", "message": text})
        spoke = self._command(
            tenant_id,
            call,
            lambda client: client.calls.speak(
                call_control_id,
                {
                    "payload": text,
                    "voice": setting.voice,
                    "payload_type": "text",
                    "command_id": f"vm-speak:{call_control_id}",
                    "client_state": _state(call, "speaking"),
                },
            ),
        )
        if not spoke:
            # Too late (the mailbox hung up) or refused: nothing reached the mailbox, so the lead
            # keeps its message for a later machine answer.
            self.marks.unclaim_message(tenant_id, lead_id, call_control_id)
            self.marks.record_on_call(tenant_id, call_control_id, {"status": "missed", "message": text})
            return "voicemail_missed"
        return "voicemail_speaking"

    def _hangup(self, tenant_id: str, call: Mapping[str, Any], mark: str) -> None:
        call_control_id = str(call["call_control_id"])
        self._command(
            tenant_id,
            call,
            lambda client: client.calls.hangup(
                call_control_id,
                command_id=f"vm-hangup:{call_control_id}",
                client_state=_state(call, mark),
            ),
        )

    def _command(self, tenant_id: str, call: Mapping[str, Any], send: Callable[[TelnyxClient], Any]) -> bool:
        """Send one command; True if Telnyx took it. A call that ended meanwhile or a refusal is
        False; a passing fault is retried (the event comes back from SQS and the same
        ``command_id`` goes out again)."""
        from telnyx_client.errors import (
            CODE_CALL_ALREADY_ENDED,
            TelnyxError,
            TelnyxRateLimited,
            TelnyxServerError,
            TelnyxTransportError,
            TelnyxValidationError,
        )

        try:
            send(self.client_for(tenant_id))
            return True
        except TelnyxValidationError as exc:
            if not exc.has_code(CODE_CALL_ALREADY_ENDED):
                logger.warning(
                    "voicemail command refused", call_control_id=call.get("call_control_id"), error=str(exc)
                )
        except (TelnyxServerError, TelnyxRateLimited, TelnyxTransportError) as exc:
            raise TemporarilyUnavailable(f"voicemail command did not reach Telnyx: {exc}") from exc
        except TelnyxError as exc:
            logger.warning(
                "voicemail command refused", call_control_id=call.get("call_control_id"), error=str(exc)
            )
        return False


def _state(call: Mapping[str, Any], mark: str) -> dict[str, Any]:
    """The dial's ``client_state`` (it still names the attempt) plus the drop's mark."""
    from telnyx_client.client_state import decode_client_state

    raw = call.get("client_state")
    doc = decode_client_state(raw) if isinstance(raw, str) else None
    return {**(doc if isinstance(doc, dict) else {}), VOICEMAIL_STATE_KEY: mark}
