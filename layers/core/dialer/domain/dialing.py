"""The dialing engine's vocabulary and its pure decisions (no I/O, unit-tested on their own).

One enum per concept: :class:`LeadStatus` (where a lead is), :class:`AttemptState` (where one
claimed attempt is). Outcomes stay :class:`~dialer.domain.outcomes.CallOutcome`.

The pure parts of the engine live here so the services only sequence reads and writes:

* :func:`split_budget` - a tick's dial budget shared fairly between a tenant's campaigns;
* :func:`choose_variant` - the A/B assistant of a lead, by weight, sticky per lead;
* :func:`choose_caller_id` - rested numbers skipped; local presence (area code, then state), then least used today;
* :func:`~dialer.domain.variables.dynamic_variables` - the flat string variables Telnyx requires
  (re-exported here for the dialer);
* :func:`next_step` - what an outcome does to a lead under the campaign's retry policy;
* :func:`gcra_reserve` - the dial-rate limiter's arithmetic (a generic cell rate algorithm).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from dialer.domain.caller_id_health import rested
from dialer.domain.campaigns import AssistantVariant, CampaignConfig, DispositionEffect
from dialer.domain.compliance_reasons import Reason, ReasonCode
from dialer.domain.outcomes import CallOutcome, Disposition
from dialer.domain.variables import CallbackContext as CallbackContext  # re-exported for the dialer
from dialer.domain.variables import dynamic_variables as dynamic_variables

#: The due index is write-sharded per campaign into this many partitions.
DUE_SHARDS = 4


class LeadStatus(StrEnum):
    """Where a lead is. ``pending`` leads sit in the due index; ``dialing`` ones in the in-flight index."""

    PENDING = "pending"  # waiting for its next attempt (due now or later)
    DIALING = "dialing"  # an attempt is claimed: job queued, POST in progress, or call in flight
    REACHED = "reached"  # a human answered
    EXHAUSTED = "exhausted"  # the retry policy has no attempt left
    INVALID = "invalid"  # the number cannot be called
    BLOCKED = "blocked"  # a compliance reason that time does not lift (DNC, consent revoked ...)
    CANCELED = "canceled"  # the campaign was canceled


TERMINAL_STATUSES = frozenset(
    {LeadStatus.REACHED, LeadStatus.EXHAUSTED, LeadStatus.INVALID, LeadStatus.BLOCKED, LeadStatus.CANCELED}
)


class AttemptState(StrEnum):
    """Where one claimed attempt is: claimed → posting → accepted → ended, or a side exit."""

    CLAIMED = "claimed"  # the dispatcher won the claim and queued (or is queueing) the job
    POSTING = "posting"  # a dialer took the job and is (or was) sending the POST to Telnyx
    ACCEPTED = "accepted"  # Telnyx accepted the call: it counts
    ENDED = "ended"  # the call ended and its outcome was applied to the lead
    FAILED = "failed"  # Telnyx refused the dial for good (e.g. invalid number)
    UNCONFIRMED = "unconfirmed"  # ambiguous POST: reconciled from webhooks or by the reaper
    DROPPED = "dropped"  # refused at dial time (paused campaign, failed re-check): nothing counted


#: Attempt states whose lead effect has not been applied yet (the call may still end).
OPEN_ATTEMPT_STATES = frozenset({AttemptState.POSTING, AttemptState.ACCEPTED, AttemptState.UNCONFIRMED})

#: Attempt states not settled yet: the open ones and a claim not dialled yet. Only these may be
#: settled, and only these may hold a slot (their lead is ``dialing`` them, in the in-flight index).
UNSETTLED_ATTEMPT_STATES = OPEN_ATTEMPT_STATES | {AttemptState.CLAIMED}


def leads_by_state(counters: Mapping[str, int], lead_count: int) -> dict[str, int]:
    """A campaign's leads by state from its sharded ``st_<state>`` counters: pending is whatever
    the other states do not hold (leads are created pending without a counter write)."""
    by_state = {
        s.value: max(0, int(counters.get(f"st_{s.value}", 0))) for s in LeadStatus if s != LeadStatus.PENDING
    }
    by_state[LeadStatus.PENDING.value] = max(0, lead_count - sum(by_state.values()))
    return by_state


def shard_of(lead_id: str) -> int:
    """The due/in-flight shard of a lead (stable: derived from its id)."""
    return int(hashlib.sha256(lead_id.encode()).hexdigest()[:8], 16) % DUE_SHARDS


def attempt_id(lead_id: str, n: int) -> str:
    """The id of a lead's n-th claimed attempt: the Telnyx ``command_id`` and the claim's name."""
    return f"{lead_id}#attempt-{n}"


def parse_attempt_id(value: str) -> tuple[str, int] | None:
    """(lead id, n) from :func:`attempt_id`, else None."""
    lead_id, sep, rest = value.rpartition("#attempt-")
    if not sep or not lead_id or not rest.isdigit():
        return None
    return lead_id, int(rest)


def utc_iso(at: datetime) -> str:
    """Fixed-width UTC text (sorts as time): due keys, attempt and lease timestamps."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(value: str) -> datetime:
    """The inverse of :func:`utc_iso` (also accepts any ISO 8601 with an offset)."""
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- budget ------------------------------------------------------------------------------------


def split_budget(total: int, caps: Mapping[str, int | None], *, start: int = 0) -> dict[str, int]:
    """Share ``total`` dials between campaigns fairly: equal shares, a campaign's own cap (None: no
    cap) limits it, and what a capped campaign cannot use goes to the others. The remainder of an
    uneven split goes round robin from position ``start`` (rotate it per tick so nobody is
    always last)."""
    names = sorted(caps)
    if not names or total <= 0:
        return dict.fromkeys(names, 0)
    if start:
        k = start % len(names)
        names = names[k:] + names[:k]
    out = dict.fromkeys(names, 0)
    left = total
    open_ = [n for n in names if (caps[n] is None or (caps[n] or 0) > 0)]
    while left > 0 and open_:
        share, extra = divmod(left, len(open_))
        given = 0
        still: list[str] = []
        # The extra dials of an uneven split go to whoever has fewest so far (stable: rotation order).
        open_ = sorted(open_, key=lambda n: out[n])
        for i, name in enumerate(open_):
            want = share + (1 if i < extra else 0)
            cap = caps[name]
            room = want if cap is None else min(want, cap - out[name])
            out[name] += room
            given += room
            if cap is None or out[name] < cap:
                still.append(name)
        left -= given
        if given == 0:
            break
        open_ = still
    return out


# --- A/B variants ------------------------------------------------------------------------------


def choose_variant(config: CampaignConfig, lead_id: str) -> str | None:
    """The assistant a lead is dialled with: the single assistant, or a weighted variant that is
    sticky per lead (a hash of the lead id picks the bucket, so every attempt gets the same one)."""
    if config.assistant_variants:
        return pick_weighted(config.assistant_variants, lead_id)
    return config.assistant_id


def pick_weighted(variants: Sequence[AssistantVariant], key: str) -> str:
    """The variant whose cumulative weight range holds ``hash(key) % total``."""
    total = sum(v.weight for v in variants)
    point = int(hashlib.sha256(f"variant|{key}".encode()).hexdigest()[:12], 16) % total
    for variant in variants:
        if point < variant.weight:
            return variant.assistant_id
        point -= variant.weight
    return variants[-1].assistant_id  # unreachable: the weights add up to total


# --- caller ID ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerIdOption:
    """One caller ID of the campaign's pool, with what the choice needs."""

    caller_id_id: str
    phone_number: str
    daily_cap: int
    state: str | None  # the area-code state of the number
    used_today: int = 0
    rested_until: datetime | None = None  # caller-ID health: not dialled from before this


def choose_caller_id(
    pool: Sequence[CallerIdOption],
    lead_phone: str,
    lead_states: Sequence[str | None],
    *,
    now: datetime,
    tie_key: str = "",
) -> list[CallerIdOption]:
    """The pool in order of preference for this lead: numbers under their daily cap and not
    rested at ``now``, same area code first, then same state (address or area-code state of the
    lead), then any; least used today first within each tier. The dialer tries them in this
    order (the cap is enforced by a conditional counter, so a number that filled up meanwhile is
    skipped)."""
    area = _area_code(lead_phone)
    states = {s for s in lead_states if s}

    def tier(option: CallerIdOption) -> int:
        if area and _area_code(option.phone_number) == area:
            return 0
        if option.state and option.state in states:
            return 1
        return 2

    def spread(option: CallerIdOption) -> str:
        # Equal usage: a per-lead hash spreads leads over the numbers instead of piling on the first.
        return hashlib.sha256(f"{tie_key}|{option.caller_id_id}".encode()).hexdigest()

    usable = [o for o in pool if o.used_today < o.daily_cap and not rested(o.rested_until, now)]
    return sorted(usable, key=lambda o: (tier(o), o.used_today, spread(o)))


def rests_end(pool: Sequence[CallerIdOption], now: datetime) -> datetime | None:
    """When the first rested number of the pool is back, if resting is what leaves the lead
    without a caller ID (every number under its cap is rested); else None."""
    open_today = [o for o in pool if o.used_today < o.daily_cap]
    ends = [o.rested_until for o in open_today if o.rested_until is not None and rested(o.rested_until, now)]
    return min(ends) if open_today and len(ends) == len(open_today) else None


def _area_code(e164: str) -> str | None:
    return e164[2:5] if e164.startswith("+1") and len(e164) == 12 else None


# --- dynamic variables -------------------------------------------------------------------------
# The builder lives in dialer.domain.variables (stdlib only): the init webhook shares it without
# importing the campaign model graph.

# --- outcomes → the lead -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NextStep:
    """What an ended attempt does to its lead: end it with ``status``, or retry after ``delay``."""

    status: LeadStatus
    delay: timedelta | None = None  # set when status is PENDING

    @property
    def retry(self) -> bool:
        """True when the lead is dialled again."""
        return self.status == LeadStatus.PENDING


def next_step(config: CampaignConfig, outcome: CallOutcome, attempts_used: int) -> NextStep:
    """The retry policy: a human answer reaches the lead, an invalid number ends it, an outcome the
    policy retries is retried after its delay while both its own and the overall cap allow, and
    anything else exhausts the lead. ``attempts_used`` counts this attempt."""
    if outcome == CallOutcome.ANSWERED_HUMAN:
        return NextStep(LeadStatus.REACHED)
    if outcome == CallOutcome.INVALID_NUMBER:
        return NextStep(LeadStatus.INVALID)
    rule = config.retry.outcomes.get(outcome)
    if rule is None:
        return NextStep(LeadStatus.EXHAUSTED)
    if attempts_used >= min(rule.max_attempts, config.retry.max_attempts):
        return NextStep(LeadStatus.EXHAUSTED)
    return NextStep(LeadStatus.PENDING, timedelta(minutes=rule.delay_minutes))


def disposition_status(config: CampaignConfig, disposition: str | None) -> LeadStatus | None:
    """The status a lead ends in because of its conversation's ``disposition`` in this campaign
    (:meth:`CampaignConfig.disposition_effect`); None: the call outcome's retry policy decides.
    Ending the lead always wins over a retry, whichever was decided first."""
    if not disposition or disposition not in Disposition._value2member_map_:
        return None
    effect = config.disposition_effect(Disposition(disposition))
    return None if effect == DispositionEffect.RETRY else LeadStatus(effect.value)


def terminal_status_for(reasons: Sequence[str]) -> LeadStatus:
    """The end of a lead the compliance engine blocks for good: max attempts exhausts it, an
    invalid number is invalid, anything else (DNC, consent, scrub, unknown zone) blocks it."""
    codes = {Reason.parse(r).code for r in reasons}
    if ReasonCode.INVALID_NUMBER in codes:
        return LeadStatus.INVALID
    if codes == {ReasonCode.MAX_ATTEMPTS}:
        return LeadStatus.EXHAUSTED
    return LeadStatus.BLOCKED


def primary_reason(reasons: Sequence[str]) -> str:
    """The reason a deferral is counted under (the first the engine reports: a stable order)."""
    return Reason.parse(reasons[0]).code.value if reasons else "unknown"


# --- dial-rate limiter (GCRA) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reservation:
    """A dial-rate token: send at ``send_at`` (≥ now); ``new_tat`` is the limiter's next state."""

    send_at: float
    new_tat: float


def dial_interval(dials_per_second: int, dials_per_5s: int, headroom: float) -> float:
    """Seconds between two dials of a tenant: the tighter of its two Telnyx limits, slowed by
    ``headroom`` (e.g. 0.03) so clock jitter between us and Telnyx never makes 31 in a second."""
    rate = min(float(dials_per_second), dials_per_5s / 5.0) * (1.0 - headroom)
    return 1.0 / max(rate, 0.001)


def dial_slack(dials_per_second: int, dials_per_5s: int, interval: float) -> float:
    """How late one dial may leave its instant on a full schedule (``interval`` apart) before it
    crowds a rolling window: N + 1 evenly spaced dials span N intervals, which the headroom makes
    longer than the window by this much (30 a second at 3 % headroom: 1.031 s, so 31 ms). A dial
    later than that arrives within one rolling second of 30 others, and Telnyx answers it 429."""
    return max(0.0, min(dials_per_second * interval - 1.0, dials_per_5s * interval - 5.0))


def gcra_reserve(tat: float | None, now: float, interval: float, max_ahead: float) -> Reservation | None:
    """Generic cell rate algorithm with reservations: each dial is given the next free instant of
    an evenly spaced schedule (``interval`` apart), never earlier than now, never more than
    ``max_ahead`` seconds in the future (None: no token now, try later). Even spacing means no
    window of any length ever holds more than its share, which is what Telnyx's rolling counts
    check."""
    start = now if tat is None or tat < now else tat
    if start - now > max_ahead:
        return None
    return Reservation(send_at=start, new_tat=start + interval)
