"""Limits on the webhook payload fields a call record keeps verbatim (``dialer.domain.calls``
copies them into its facts); the intake refuses a webhook over them. Stdlib only and tiny: the
intake imports it on the route Telnyx waits on (``domain.calls`` would cost it ~12 ms)."""

from __future__ import annotations

#: Payload fields a call record keeps as they came, and the longest value accepted for one. Real
#: values are under 300 characters (our client_state is under 200); a webhook carrying a longer
#: one could outgrow the call record (DynamoDB's 400 KB item) and fail on every delivery, so the
#: intake refuses it (``dialer.services.intake.unapplicable``).
STORED_TEXT_FIELDS = (
    "call_session_id",
    "call_leg_id",
    "connection_id",
    "from",
    "to",
    "direction",
    "client_state",
    "start_time",
    "state",
    "result",
    "hangup_cause",
    "hangup_source",
    "sip_hangup_cause",
    "conversation_id",
    "assistant_id",
    "reason",
    "insight_group_id",
)
MAX_STORED_TEXT = 4096
