"""The call state machine: Telnyx events in, one monotonic call summary out.

Telnyx delivers webhooks at least once and in no guaranteed order. Instead of a transition
table that depends on arrival order, a call keeps the *facts* it has learnt (initiated,
answered, AMD result, hangup, TeXML progress …), one slot per kind, and each slot keeps the
winning fact by a total order (progress rank, then ``occurred_at``, then event id). Merging a
fact is therefore commutative, associative and idempotent: any permutation or duplication of a
call's events yields the same facts, and the summary (state, outcome, duration) is a pure
function of the facts. State only moves forward because "ended" dominates: a late
``call.answered`` adds a fact but never reopens a hung-up call.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from dialer.domain.insights import conclusion
from dialer.domain.outcomes import AmdCategory, CallOutcome, CallState, amd_category


class FactKind(StrEnum):
    """One slot per kind of thing we can learn about a call."""

    INITIATED = "initiated"
    ANSWERED = "answered"
    AMD = "amd"
    GREETING = "greeting"
    HANGUP = "hangup"
    TEXML_PROGRESS = "texml_progress"
    TEXML_FINAL = "texml_final"
    CONVERSATION_CREATED = "conversation_created"
    CONVERSATION_ENDED = "conversation_ended"
    CONVERSATION_FAILED = "conversation_failed"
    INSIGHTS = "insights"
    COST = "cost"
    MESSAGE = "message"  # our voicemail message was read out (``call.speak.ended``)


# Answered calls shorter than this with no human AMD verdict are not counted as a conversation:
# nobody heard the assistant, so a retry policy should treat the attempt as inconclusive.
MIN_HUMAN_SECONDS = 3

# TeXML CallStatus values. Progress statuses rank so that the furthest one wins.
TEXML_PROGRESS_RANK = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3, "answered": 3}
TEXML_FINAL_STATUSES = frozenset({"completed", "no-answer", "busy", "canceled", "failed"})

_SIP_BUSY = frozenset({"486", "600"})
_SIP_INVALID = frozenset({"404", "410", "484", "604"})
_SIP_NO_ANSWER = frozenset({"408", "480", "487"})


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing learnt from one event. ``data`` keeps only the fields the summary needs."""

    kind: FactKind
    event_id: str
    occurred_at: str  # ISO-8601 UTC with microseconds ("…Z"), sortable as text; "" if unknown
    data: Mapping[str, str] = field(default_factory=dict)
    rank: int = 0

    def order_key(self) -> tuple[int, str, str]:
        """Total order inside a slot: furthest progress, then latest, then event id."""
        return (self.rank, self.occurred_at, self.event_id)

    def to_item(self) -> dict[str, Any]:
        """Plain-dict form for storage (strings and ints only)."""
        return {
            "event_id": self.event_id,
            "occurred_at": self.occurred_at,
            "rank": self.rank,
            "data": dict(self.data),
        }

    @classmethod
    def from_item(cls, kind: str, item: Mapping[str, Any]) -> Fact:
        """Rebuild a fact from :meth:`to_item` output (numbers may come back as Decimal)."""
        return cls(
            kind=FactKind(kind),
            event_id=str(item["event_id"]),
            occurred_at=str(item.get("occurred_at") or ""),
            data={str(k): str(v) for k, v in (item.get("data") or {}).items()},
            rank=int(item.get("rank") or 0),
        )


CallFacts = Mapping[FactKind, Fact]


def merge_facts(facts: CallFacts, new: Iterable[Fact]) -> dict[FactKind, Fact]:
    """Return ``facts`` with each new fact merged into its slot (the greater order key wins)."""
    merged = dict(facts)
    for fact in new:
        current = merged.get(fact.kind)
        if current is None or fact.order_key() > current.order_key():
            merged[fact.kind] = fact
    return merged


@dataclass(frozen=True, slots=True)
class CallSummary:
    """What the facts add up to; stored beside them so queries need no recomputation."""

    state: CallState
    outcome: CallOutcome | None
    answered_at: str | None
    ended_at: str | None
    duration_s: int | None
    amd: AmdCategory | None
    hangup_cause: str | None
    conversation: dict[str, str] = field(default_factory=dict)
    insights: dict[str, str] = field(default_factory=dict)
    cost: Decimal | None = None
    cost_currency: str | None = None
    billed_s: int | None = None


def summarize(facts: CallFacts) -> CallSummary:
    """Derive state and outcome from the facts alone (order of arrival plays no part)."""
    hangup = facts.get(FactKind.HANGUP)
    final = facts.get(FactKind.TEXML_FINAL)
    progress = facts.get(FactKind.TEXML_PROGRESS)
    answered_fact = facts.get(FactKind.ANSWERED)
    amd_fact = facts.get(FactKind.AMD)
    amd = amd_category(amd_fact.data.get("result")) if amd_fact else None

    texml_status = final.data.get("status") if final else None
    texml_duration = _int_or_none(final.data.get("duration")) if final else None
    texml_answered = texml_status == "completed" and (
        (texml_duration or 0) > 0 or bool(final and final.data.get("answered_time"))
    )
    answered = _answered(facts) or texml_answered
    end_fact = hangup or final

    if end_fact is not None:
        state = CallState.ENDED
    elif answered:
        state = CallState.ANSWERED
    elif progress is not None and progress.rank >= TEXML_PROGRESS_RANK["ringing"]:
        state = CallState.RINGING
    else:
        state = CallState.INITIATED

    duration: int | None = texml_duration
    if duration is None and answered_fact is not None and hangup is not None:
        duration = _seconds_between(answered_fact.occurred_at, hangup.occurred_at)

    hangup_cause = hangup.data.get("hangup_cause") if hangup else None
    outcome = None
    if end_fact is not None:
        outcome = classify_outcome(
            answered=answered,
            amd=amd,
            duration_s=duration,
            hangup_cause=hangup_cause,
            sip_cause=end_fact.data.get("sip_hangup_cause") or end_fact.data.get("sip_code"),
            texml_status=texml_status,
        )
        if answered and outcome != CallOutcome.FAILED and message_left(facts):
            outcome = CallOutcome.VOICEMAIL_LEFT
        started = FactKind.CONVERSATION_CREATED in facts or FactKind.CONVERSATION_ENDED in facts
        if (
            FactKind.CONVERSATION_FAILED in facts
            and not started
            and outcome in (CallOutcome.ANSWERED_HUMAN, CallOutcome.UNKNOWN)
        ):
            # Telnyx answered but the assistant never spoke: nobody had a conversation.
            outcome = CallOutcome.ASSISTANT_FAILED
    cost_fact = facts.get(FactKind.COST)
    insights_fact = facts.get(FactKind.INSIGHTS)
    return CallSummary(
        state=state,
        outcome=outcome,
        answered_at=(answered_fact.occurred_at or None) if answered_fact else None,
        ended_at=(end_fact.occurred_at or None) if end_fact else None,
        duration_s=duration,
        amd=amd,
        hangup_cause=hangup_cause,
        conversation=_conversation(facts),
        insights=dict(insights_fact.data) if insights_fact else {},
        cost=_decimal(cost_fact.data.get("total_cost")) if cost_fact else None,
        cost_currency=cost_fact.data.get("currency") if cost_fact else None,
        billed_s=_int_or_none(cost_fact.data.get("billed_duration_secs")) if cost_fact else None,
    )


#: ``client_state`` key our voicemail drop's commands add (``services/voicemail.py``); ``left`` on
#: the hangup it sends once the message has been read out to the end.
VOICEMAIL_STATE_KEY = "vm"
VOICEMAIL_STATE_LEFT = "left"


def message_left(facts: CallFacts) -> bool:
    """Whether a message was left on the call: the one rule behind ``voicemail_left``.

    Ours: ``call.speak.ended`` said ``completed``, or our own hangup after it says so in its
    ``client_state`` (whichever of the two webhooks comes first). The assistant's: its
    conversation concluded ``voicemail_left``. So the outcome and the disposition cannot disagree.
    """
    message = facts.get(FactKind.MESSAGE)
    if message is not None and message.data.get("status") == "completed":
        return True
    hangup = facts.get(FactKind.HANGUP)
    if hangup is not None and _state_of(hangup.data.get("client_state")).get(VOICEMAIL_STATE_KEY) == (
        VOICEMAIL_STATE_LEFT
    ):
        return True
    insights = facts.get(FactKind.INSIGHTS)
    return insights is not None and insights.data.get("disposition") == "voicemail_left"


def _state_of(value: str | None) -> dict[str, Any]:
    """A ``client_state`` as the JSON object our commands put in it ({} for anything else)."""
    if not value:
        return {}
    try:
        doc = json.loads(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error):
        return {}
    return doc if isinstance(doc, dict) else {}


# Hangup causes that end answered calls as well as unanswered ones: with no answer known yet,
# ``call.answered`` may still be on its way (a reordered webhook), so the outcome is not final.
_ANSWER_AMBIGUOUS_CAUSES = frozenset({"normal_clearing", "time_limit"})


class AwaitedFact(StrEnum):
    """A fact an ended call may still be waiting for: one that can change its outcome's class."""

    ANSWER = "answer"  # a hangup that answered calls end with too, and no answer yet
    AMD = "amd"  # answered, and the AMD result our dial asked for has not come
    ASSISTANT = "assistant"  # a person answered: the conversation or its start_failed is due


def awaited_facts(facts: CallFacts) -> tuple[AwaitedFact, ...]:
    """What an ended call still waits for before its outcome can no longer change class.

    Our dials always ask for premium AMD and start the assistant once a person answers (both
    dial methods, ``services/dialer.py``), so an answered call is final when its AMD result is
    in and, unless a machine or fax answered, when the conversation (or ``start_failed``) is.
    A TeXML final status carries its own answer facts, so it is never waiting for the answer.
    Empty for a call that has not ended.
    """
    summary = summarize(facts)
    if summary.state != CallState.ENDED:
        return ()
    if FactKind.TEXML_FINAL in facts:
        answered = summary.outcome in (
            CallOutcome.ANSWERED_HUMAN,
            CallOutcome.UNKNOWN,
            CallOutcome.VOICEMAIL,
            CallOutcome.VOICEMAIL_LEFT,
            CallOutcome.ASSISTANT_FAILED,
        )
    else:
        answered = _answered(facts)
    if not answered:
        ambiguous = FactKind.TEXML_FINAL not in facts and summary.hangup_cause in _ANSWER_AMBIGUOUS_CAUSES
        return (AwaitedFact.ANSWER,) if ambiguous else ()
    if summary.amd is None:
        return (AwaitedFact.AMD,)
    if summary.amd in (AmdCategory.MACHINE, AmdCategory.FAX):
        return ()
    assistant_facts = (
        FactKind.CONVERSATION_CREATED,
        FactKind.CONVERSATION_ENDED,
        FactKind.CONVERSATION_FAILED,
    )
    if not any(kind in facts for kind in assistant_facts):
        return (AwaitedFact.ASSISTANT,)
    return ()


def facts_of_item(item: Mapping[str, Any]) -> dict[FactKind, Fact]:
    """The facts of a stored call item (``facts``: kind → :meth:`Fact.to_item`)."""
    return {FactKind(k): Fact.from_item(k, v) for k, v in (item.get("facts") or {}).items()}


def _answered(facts: CallFacts) -> bool:
    """Whether any fact says the call was answered. An AMD result or a conversation only exist on
    an answered call, so they say so too when ``call.answered`` is late (a reordered webhook)."""
    progress = facts.get(FactKind.TEXML_PROGRESS)
    return any(kind in facts for kind in _ANSWER_IMPLIED_BY) or (
        progress is not None and progress.rank >= TEXML_PROGRESS_RANK["in-progress"]
    )


_ANSWER_IMPLIED_BY = (
    FactKind.ANSWERED,
    FactKind.AMD,
    FactKind.CONVERSATION_CREATED,
    FactKind.CONVERSATION_ENDED,
    FactKind.CONVERSATION_FAILED,
)


def _conversation(facts: CallFacts) -> dict[str, str]:
    """What the AI conversation facts say (ended wins over created for shared keys)."""
    merged: dict[str, str] = {}
    for kind in (FactKind.CONVERSATION_FAILED, FactKind.CONVERSATION_CREATED, FactKind.CONVERSATION_ENDED):
        fact = facts.get(kind)
        if fact is not None:
            merged.update({k: v for k, v in fact.data.items() if k in _CONVERSATION_FIELDS})
    if FactKind.CONVERSATION_FAILED in facts:
        merged["start_failed"] = facts[FactKind.CONVERSATION_FAILED].data.get("reason") or "unspecified"
        merged.pop("reason", None)
    return merged


def classify_outcome(
    *,
    answered: bool,
    amd: AmdCategory | None,
    duration_s: int | None,
    hangup_cause: str | None,
    sip_cause: str | None,
    texml_status: str | None,
) -> CallOutcome:
    """Map the Telnyx facts of an ended call onto one :class:`CallOutcome`.

    Answered calls are classified by AMD first (machine → voicemail, fax → failed), then by
    duration; unanswered calls by TeXML status, hangup cause and SIP cause, in that order.
    """
    if answered:
        if amd is AmdCategory.MACHINE:
            return CallOutcome.VOICEMAIL
        if amd is AmdCategory.FAX:
            return CallOutcome.FAILED
        if amd is AmdCategory.HUMAN:
            return CallOutcome.ANSWERED_HUMAN
        if duration_s is None or duration_s >= MIN_HUMAN_SECONDS:
            return CallOutcome.ANSWERED_HUMAN
        return CallOutcome.UNKNOWN

    sip = (sip_cause or "").strip()
    if texml_status is not None:
        by_status = {
            "no-answer": CallOutcome.NO_ANSWER,
            "busy": CallOutcome.BUSY,
            "canceled": CallOutcome.CANCELED,
        }
        if texml_status in by_status:
            return by_status[texml_status]
        if texml_status == "failed":
            return CallOutcome.INVALID_NUMBER if sip in _SIP_INVALID else CallOutcome.FAILED
        # "completed" without an answer: Telnyx gave up ringing.
        return CallOutcome.NO_ANSWER

    match hangup_cause:
        case "user_busy":
            return CallOutcome.BUSY
        case "not_found":
            return CallOutcome.INVALID_NUMBER
        case "no_answer" | "timeout":
            return CallOutcome.NO_ANSWER
        case "originator_cancel":
            return CallOutcome.CANCELED
    if sip in _SIP_BUSY:
        return CallOutcome.BUSY
    if sip in _SIP_INVALID:
        return CallOutcome.INVALID_NUMBER
    if sip in _SIP_NO_ANSWER:
        return CallOutcome.NO_ANSWER
    if hangup_cause in ("normal_clearing", "time_limit"):
        # Ended cleanly without ever being answered: the far end let it ring out or declined.
        return CallOutcome.NO_ANSWER
    if hangup_cause in ("call_rejected", "unspecified"):
        return CallOutcome.FAILED
    return CallOutcome.UNKNOWN


# --- events → facts ------------------------------------------------------------------------

_IDENTITY_FIELDS = ("call_session_id", "call_leg_id", "connection_id", "from", "to", "direction")


def facts_from_event(
    event_type: str,
    event_id: str,
    occurred_at: datetime | None,
    payload: Mapping[str, Any],
    *,
    names: Mapping[str, str] | None = None,
) -> list[Fact]:
    """The facts one webhook teaches us about its call (none for events this slice ignores).

    ``names`` (insight id → name or field) helps read an insight event's results; the caller
    looks them up (a tenant's map, Telnyx) so this stays a pure function of its arguments.
    """
    when = format_instant(occurred_at)

    def fact(kind: FactKind, keys: Iterable[str], rank: int = 0, **extra: str) -> Fact:
        data = {k: str(payload[k]) for k in keys if payload.get(k) not in (None, "")}
        data.update({k: v for k, v in extra.items() if v})
        return Fact(kind=kind, event_id=event_id, occurred_at=when, data=data, rank=rank)

    match event_type:
        case "call.initiated":
            return [fact(FactKind.INITIATED, (*_IDENTITY_FIELDS, "client_state", "start_time", "state"))]
        case "call.answered":
            return [fact(FactKind.ANSWERED, ("start_time", *_IDENTITY_FIELDS))]
        case "call.machine.detection.ended" | "call.machine.premium.detection.ended":
            # A call normally uses one AMD mode; if both report, premium (the more accurate
            # detector) wins regardless of arrival order.
            premium = ".premium." in event_type
            return [
                fact(
                    FactKind.AMD,
                    ("result",),
                    rank=1 if premium else 0,
                    detection="premium" if premium else "standard",
                )
            ]
        case "call.machine.greeting.ended" | "call.machine.premium.greeting.ended":
            return [fact(FactKind.GREETING, ("result",))]
        case "call.hangup":
            return [
                fact(
                    FactKind.HANGUP,
                    (
                        "hangup_cause",
                        "hangup_source",
                        "sip_hangup_cause",
                        "start_time",
                        "client_state",  # correlates the call when the hangup is the first event
                        *_IDENTITY_FIELDS,
                    ),
                )
            ]
        case "texml.status" | "texml.amd":
            return _texml_facts(event_id, when, payload)
        case "call.conversation.created":
            return [
                fact(FactKind.CONVERSATION_CREATED, ("conversation_id", "client_state", *_IDENTITY_FIELDS))
            ]
        case "call.conversation.ended":
            return [
                fact(FactKind.CONVERSATION_ENDED, ("client_state", *_IDENTITY_FIELDS, *_CONVERSATION_FIELDS))
            ]
        case "call.conversation.start_failed":
            return [
                fact(
                    FactKind.CONVERSATION_FAILED,
                    ("client_state", *_IDENTITY_FIELDS, "assistant_id", "reason"),
                )
            ]
        case "call.conversation_insights.generated":
            results = payload.get("results")
            found = conclusion(results if isinstance(results, list) else [], names)
            insight = fact(FactKind.INSIGHTS, ("insight_group_id",))
            return [replace(insight, data={**insight.data, **found})]
        case "conversation.insights.completed":
            insights = payload.get("insights")
            items = [i for i in insights if isinstance(i, Mapping)] if isinstance(insights, list) else []
            # This channel names its insights itself; a tenant's map still wins for its own ids.
            named = {
                str(i.get("insight_id")): str(i.get("insight_name")) for i in items if i.get("insight_name")
            }
            found = conclusion(items, {**named, **(names or {})})
            insight = fact(FactKind.INSIGHTS, ("insight_group_id", "conversation_id"))
            return [replace(insight, data={**insight.data, **found})]
        case "call.cost":
            return [_cost_fact(event_id, when, payload)]
        case "call.speak.ended":
            return [fact(FactKind.MESSAGE, ("status",))]
    return []


# Conversation fields kept on the call (``assistant_id`` is the one that spoke; the dialer's link
# names the one it dialled with).
_CONVERSATION_FIELDS = (
    "conversation_id",
    "assistant_id",
    "duration_sec",
    "llm_model",
    "stt_model",
    "tts_provider",
    "tts_model_id",
    "tts_voice_id",
    "reason",
)


def _cost_fact(event_id: str, when: str, payload: Mapping[str, Any]) -> Fact:
    """``call.cost``: money values are decimal strings; the total is theirs, or the parts' sum."""
    parts = []
    for part in payload.get("cost_parts") or []:
        if not isinstance(part, Mapping):
            continue
        parts.append(
            {
                "call_part": str(part.get("call_part") or ""),
                "cost": str(_decimal(part.get("cost")) or Decimal(0)),
                "rate": str(part.get("rate") or ""),
                "currency": str(part.get("currency") or ""),
                "billed_duration_secs": str(part.get("billed_duration_secs") or ""),
            }
        )
    total = _decimal(payload.get("total_cost"))
    if total is None:
        total = sum((Decimal(p["cost"]) for p in parts), Decimal(0))
    currencies = {p["currency"] for p in parts if p["currency"]}
    data = {
        "total_cost": str(total),
        "currency": currencies.pop() if len(currencies) == 1 else ("USD" if not currencies else "mixed"),
        "status": str(payload.get("status") or ""),
        "parts": json.dumps(parts, sort_keys=True),
    }
    if payload.get("billed_duration_secs") not in (None, ""):
        data["billed_duration_secs"] = str(payload["billed_duration_secs"])
    # A later cost report of the same call (a correction) wins by its timestamp (then event id).
    return Fact(FactKind.COST, event_id, when, data)


def _decimal(value: Any) -> Decimal | None:
    """A money amount from Telnyx's decimal string (never through float)."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _texml_facts(event_id: str, when: str, form: Mapping[str, Any]) -> list[Fact]:
    facts: list[Fact] = []
    status = str(form.get("CallStatus") or "").strip().lower()
    identity = {
        "from": str(form.get("From") or ""),
        "to": str(form.get("To") or ""),
        "connection_id": str(form.get("ConnectionId") or ""),
    }
    identity = {k: v for k, v in identity.items() if v}
    if status in TEXML_FINAL_STATUSES:
        data = {"status": status, **identity}
        for source, key in (
            ("CallDuration", "duration"),
            ("AnsweredTime", "answered_time"),
            ("ErrorCode", "error_code"),
            ("HangupCause", "hangup_cause"),
            ("SipResponseCode", "sip_code"),
        ):
            if form.get(source) not in (None, ""):
                data[key] = str(form[source])
        facts.append(Fact(FactKind.TEXML_FINAL, event_id, when, data))
    elif status in TEXML_PROGRESS_RANK:
        facts.append(
            Fact(
                FactKind.TEXML_PROGRESS,
                event_id,
                when,
                {"status": status, **identity},
                rank=TEXML_PROGRESS_RANK[status],
            )
        )
    answered_by = str(form.get("AnsweredBy") or "").strip()
    if answered_by:
        facts.append(Fact(FactKind.AMD, event_id, when, {"result": answered_by, "detection": "texml"}))
    return facts


def insight_marker(insights_fact: Mapping[str, Any]) -> str:
    """What an insight conclusion is applied once per: its insight group's run on the call.

    The same group's results reach us twice (the call event and the group webhook, different
    event ids), so the group, not the event, is what the after-call effects stamp; an event
    without a group falls back to its own id.
    """
    group = str((insights_fact.get("data") or {}).get("insight_group_id") or "")
    return f"group:{group}" if group else str(insights_fact.get("event_id") or "")


def identity_of(facts: CallFacts) -> dict[str, str]:
    """Call identity fields (numbers, session ids) as reported by the facts, first kind wins."""
    identity: dict[str, str] = {}
    for kind in FactKind:
        fact = facts.get(kind)
        if fact is None:
            continue
        for key in (*_IDENTITY_FIELDS, "client_state"):
            if key not in identity and fact.data.get(key):
                identity[key] = fact.data[key]
    return identity


def format_instant(value: datetime | None) -> str:
    """UTC ISO-8601 with microseconds and ``Z``: fixed width, so text order is time order."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seconds_between(start: str, end: str) -> int | None:
    if not start or not end:
        return None
    a = datetime.strptime(start, "%Y-%m-%dT%H:%M:%S.%fZ")
    b = datetime.strptime(end, "%Y-%m-%dT%H:%M:%S.%fZ")
    return max(0, round((b - a).total_seconds()))


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None
