"""The canonical vocabulary of calls: one enum per concept, used everywhere.

Every Telnyx fact (hangup causes, AMD results, TeXML statuses) is mapped onto these in
:mod:`dialer.domain.calls`; nothing else in the code base invents its own outcome strings.
"""

from __future__ import annotations

from enum import StrEnum


class CallState(StrEnum):
    """Where a call is in its life. Only ever moves forward (see ``STATE_RANK``)."""

    INITIATED = "initiated"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


STATE_RANK: dict[CallState, int] = {
    CallState.INITIATED: 0,
    CallState.RINGING: 1,
    CallState.ANSWERED: 2,
    CallState.ENDED: 3,
}


class CallOutcome(StrEnum):
    """What happened on an ended call, in terms a retry policy and a report can use."""

    ANSWERED_HUMAN = "answered_human"
    VOICEMAIL = "voicemail"
    # A machine answered and a message was left on it: ours (the campaign's voicemail drop) or
    # the assistant's own (its disposition ``voicemail_left``). The one place "a message was
    # left" is decided (``dialer.domain.calls.summarize``); same text as the disposition.
    VOICEMAIL_LEFT = "voicemail_left"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    INVALID_NUMBER = "invalid_number"
    CANCELED = "canceled"
    # Answered, but the AI assistant never started (``call.conversation.start_failed``): the
    # callee heard nothing, so a retry policy treats it apart from a conversation.
    ASSISTANT_FAILED = "assistant_failed"
    UNKNOWN = "unknown"


class AmdCategory(StrEnum):
    """Answering-machine detection, folded over standard, premium and TeXML result sets."""

    HUMAN = "human"
    MACHINE = "machine"
    FAX = "fax"
    UNDECIDED = "undecided"


# Standard (`human|machine|not_sure`), premium (`human_residence|human_business|machine|silence|
# fax_detected|not_sure`) and TeXML `AnsweredBy` (`human|machine_start|machine_end_beep|
# machine_end_silence|machine_end_other|fax|unknown`, plus the short set `machine`).
AMD_RESULTS: dict[str, AmdCategory] = {
    "human": AmdCategory.HUMAN,
    "human_residence": AmdCategory.HUMAN,
    "human_business": AmdCategory.HUMAN,
    "machine": AmdCategory.MACHINE,
    "machine_start": AmdCategory.MACHINE,
    "machine_end_beep": AmdCategory.MACHINE,
    "machine_end_silence": AmdCategory.MACHINE,
    "machine_end_other": AmdCategory.MACHINE,
    "fax_detected": AmdCategory.FAX,
    "fax": AmdCategory.FAX,
    "silence": AmdCategory.UNDECIDED,
    "not_sure": AmdCategory.UNDECIDED,
    "unknown": AmdCategory.UNDECIDED,
}


def amd_category(result: str | None) -> AmdCategory | None:
    """Fold any Telnyx AMD result string into :class:`AmdCategory` (unknown strings: undecided)."""
    if not result:
        return None
    return AMD_RESULTS.get(result.strip().lower(), AmdCategory.UNDECIDED)


class Disposition(StrEnum):
    """What the conversation concluded, in the assistant's (or an insight's) words: one canonical
    set for the ``set_disposition`` tool, insights and reports. An outcome says how the call went
    on the wire; a disposition says what the person wanted."""

    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    CALLBACK_REQUESTED = "callback_requested"
    APPOINTMENT_SET = "appointment_set"
    DO_NOT_CALL = "do_not_call"
    WRONG_NUMBER = "wrong_number"
    VOICEMAIL_LEFT = "voicemail_left"
    OTHER = "other"
