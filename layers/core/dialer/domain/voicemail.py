"""Voicemail drop: what a campaign does when a machine answers, and the message it leaves.

Pure: the campaign's setting (:class:`VoicemailSetting`), whether a lead's consent covers a
prerecorded or artificial-voice message (:func:`consent_reason`), and the message itself
(:func:`compose_message`). The service that acts on the call events is
``dialer.services.voicemail``.

The law, as the product applies it (FCC 24-17: an AI voice is an artificial voice; 47 CFR
64.1200(a)(2)-(3), (b)):

* the message needs the consent the campaign's purpose requires: prior express written consent
  for telemarketing, prior express (or written) consent for an informational message;
* it states the caller's identity at its start and gives a number to call back;
* a telemarketing message offers a way to opt out.

The operator's template holds the body only; the product adds the rest from the campaign's
``caller_name`` and ``callback_number``, so no template can leave the legal parts out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dialer.domain.compliance_reasons import NO_VOICEMAIL_CONSENT, Reason
from dialer.domain.phones import E164_SHAPE
from dialer.policies.compliance import ConsentRecord, ConsentType

#: Telnyx's speak payload limit (``SpeakRequest.payload``: 3,000 characters).
MAX_MESSAGE_CHARS = 3000
#: Room the template leaves for the parts the product adds (identity, callback, opt-out).
MAX_BODY_CHARS = 1500
DEFAULT_VOICE = "Telnyx.KokoroTTS.af"
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class VoicemailAction(StrEnum):
    """What a campaign does when a machine answers."""

    RETRY = "retry"  # hang up on the greeting's end (Telnyx or the mailbox does); the retry policy decides
    HANGUP = "hangup"  # hang up as soon as the machine is detected (no wasted seconds)
    LEAVE_MESSAGE = "leave_message"  # read the message out after the greeting, then hang up


class MessagePurpose(StrEnum):
    """Why the message is left: decides the consent it needs and whether an opt-out is read."""

    TELEMARKETING = "telemarketing"
    INFORMATIONAL = "informational"


#: The consent each purpose needs (FCC 24-17; 64.1200(a)(2) for telemarketing).
CONSENT_FOR_PURPOSE: dict[MessagePurpose, frozenset[ConsentType]] = {
    MessagePurpose.TELEMARKETING: frozenset({ConsentType.EXPRESS_WRITTEN}),
    MessagePurpose.INFORMATIONAL: frozenset({ConsentType.EXPRESS_WRITTEN, ConsentType.EXPRESS}),
}


class VoicemailSetting(BaseModel):
    """A campaign's ``voicemail`` setting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: VoicemailAction = VoicemailAction.RETRY
    message: Annotated[str, Field(min_length=1, max_length=MAX_BODY_CHARS)] | None = Field(
        default=None,
        description="The message body, with {{variable}} placeholders (the assistant's dynamic "
        "variables of the lead). The product adds the caller's identity before it and the callback "
        "number (and, for telemarketing, the opt-out) after it.",
    )
    caller_name: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None,
        description="Who is calling, read at the message's start (e.g. 'Ava from Acme Insurance').",
    )
    callback_number: str | None = Field(default=None, description="E.164 number read out to call back.")
    purpose: MessagePurpose = MessagePurpose.TELEMARKETING
    voice: Annotated[str, Field(min_length=1, max_length=200)] = DEFAULT_VOICE
    max_messages_per_lead: Annotated[int, Field(ge=1, le=10)] = Field(
        default=1, description="Messages one lead of the campaign may get; later machine answers are retried."
    )

    @model_validator(mode="after")
    def _complete(self) -> VoicemailSetting:
        if self.callback_number is not None and not E164_SHAPE.fullmatch(self.callback_number):
            raise ValueError("callback_number must be an E.164 number (+15551234567)")
        if self.action == VoicemailAction.LEAVE_MESSAGE:
            missing = [
                name for name in ("message", "caller_name", "callback_number") if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"leave_message needs {', '.join(missing)} (the law's parts come from them)")
        return self


def consent_reason(consent: ConsentRecord | None, purpose: MessagePurpose, now: datetime) -> Reason | None:
    """None when ``consent`` covers a message of ``purpose`` now; else why not (per lead)."""
    if consent is None or consent.granted_at > now:
        return NO_VOICEMAIL_CONSENT
    if consent.revoked_at is not None and consent.revoked_at <= now:
        return NO_VOICEMAIL_CONSENT
    if consent.type not in CONSENT_FOR_PURPOSE[purpose]:
        return NO_VOICEMAIL_CONSENT
    return None


def compose_message(setting: VoicemailSetting, variables: Mapping[str, str]) -> str:
    """The words read into the mailbox: identity, the rendered body, callback, opt-out.

    A variable the lead has no value for renders as nothing (like the assistant's); the caller's
    identity and number are never taken from the lead's data.
    """
    if setting.message is None or setting.caller_name is None or setting.callback_number is None:
        raise ValueError("a leave_message setting without message, caller_name or callback_number")
    body = " ".join(_VARIABLE.sub(lambda m: variables.get(m.group(1), ""), setting.message).split())
    number = spoken_number(setting.callback_number)
    parts = [f"Hello, this is {setting.caller_name}.", body, f"Please call us back at {number}."]
    if setting.purpose == MessagePurpose.TELEMARKETING:
        parts.append(f"To stop these calls, call {number} and ask to be put on our do-not-call list.")
    return " ".join(p for p in parts if p)[:MAX_MESSAGE_CHARS]


def spoken_number(e164: str) -> str:
    """A NANP number the way a person reads it (``+15550100`` → ``555 010 0100``); others as given."""
    if e164.startswith("+1") and len(e164) == 12:
        digits = e164[2:]
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    return e164
