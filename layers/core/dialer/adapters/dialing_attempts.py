"""Attempts: reading a lead with its attempts, and every state change of an attempt (posting,
accepted, unconfirmed, finished) as a write conditional on the state it leaves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dialer import keys
from dialer.adapters.dialing_base import (
    AttemptRecord,
    DialingBase,
    LeadChange,
    attempt_from_item,
    slot_counter_op,
    slot_release_ops,
    stats_op,
    to_decimal,
)
from dialer.domain.dialing import UNSETTLED_ATTEMPT_STATES, AttemptState, LeadStatus, shard_of
from dialer.errors import TemporarilyUnavailable

#: Settlement attempts while the attempt's slot changes under it (a release between the read and
#: the write): each try reads the attempt afresh.
_SETTLE_TRIES = 3


class AttemptsMixin(DialingBase):
    """Attempts and the call records they link."""

    def get_attempt(self, tenant_id: str, lead_id: str, n: int) -> AttemptRecord | None:
        """One attempt, or None."""
        item = self.items.get(keys.attempt_key(tenant_id, lead_id, n))
        return attempt_from_item(item) if item else None

    def dial_state(
        self, tenant_id: str, lead_id: str, n: int, *, also: Sequence[Mapping[str, str]] = ()
    ) -> tuple[dict[str, Any] | None, AttemptRecord | None, dict[tuple[str, str], dict[str, Any]]]:
        """A lead's item, its attempt ``n`` and the items at ``also`` (found ones, by (pk, sk)),
        in one strongly consistent BatchGetItem: the dialer's re-check, and what a settlement
        reads (the attempt, its lead and its campaign), in one round trip."""
        lead_key = keys.lead_key(tenant_id, lead_id)
        attempt_key = keys.attempt_key(tenant_id, lead_id, n)
        found = {(str(i["pk"]), str(i["sk"])): i for i in self.ops.batch_get([lead_key, attempt_key, *also])}
        lead = found.pop((lead_key["pk"], lead_key["sk"]), None)
        attempt = found.pop((attempt_key["pk"], attempt_key["sk"]), None)
        return lead, attempt_from_item(attempt) if attempt else None, found

    def lead_with_attempts(
        self, tenant_id: str, lead_id: str
    ) -> tuple[dict[str, Any] | None, list[AttemptRecord]]:
        """A lead's item and its attempts, oldest first (one Query of the lead's partition)."""
        pk = keys.lead_key(tenant_id, lead_id)["pk"]
        lead: dict[str, Any] | None = None
        attempts: list[AttemptRecord] = []
        after: str | None = None
        while True:
            page, after = self.ops.query("pk", pk, after=after, limit=500)
            for item in page:
                if item["sk"] == "LEAD":
                    lead = item
                elif str(item["sk"]).startswith("ATTEMPT#"):
                    attempts.append(attempt_from_item(item))
            if after is None:
                return lead, attempts

    def start_posting(
        self,
        tenant_id: str,
        lead_id: str,
        n: int,
        *,
        now: str,
        from_state: AttemptState,
        details: Mapping[str, Any],
        take: CallerTake | None = None,
    ) -> str:
        """``from_state → posting`` (claimed, or posting again for a repeated POST) with what is
        being dialled, only while the attempt holds its slot's lease (no dial without a slot) and,
        with ``take``, the caller ID's count for the day taken under its daily cap: all or
        nothing, so a start that fails counts no call on the number. A repeated POST passes no
        ``take`` (its number was counted when it first started).

        Returns ``"ok"``, ``"lost"`` (the attempt is not in ``from_state`` any more),
        ``"no_slot"`` or ``"capped"`` (the number is at its cap: try another), the first of
        these that applies."""
        fields = {"state": AttemptState.POSTING.value, "last_post_at": now, **details}
        if from_state == AttemptState.CLAIMED:
            fields["posting_at"] = fields.get("posting_at") or now
        fields = {k: v for k, v in fields.items() if v is not None}
        names = {f"#f{i}": k for i, k in enumerate(fields)} | {"#state": "state"}
        values = {f":f{i}": v for i, v in enumerate(fields.values())} | {":from": from_state.value, ":one": 1}
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": keys.attempt_key(tenant_id, lead_id, n),
                    "UpdateExpression": "SET "
                    + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
                    + " ADD posts :one",
                    # The slot's lease is on the attempt itself (``slot_lease_key``).
                    "ConditionExpression": "#state = :from AND attribute_exists(slot_until)",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            },
        ]
        if take is not None:
            ops.append(caller_take_op(tenant_id, take))
        # The items in order of precedence (a lost attempt is lost, whatever else failed), so the
        # first failed index is the answer.
        failed = self._transact(ops)
        if failed is None:
            return "ok"
        if failed == -1:
            raise TemporarilyUnavailable("attempt kept conflicting")
        if failed == 0:
            # The attempt's one condition covers its state and its lease: a read (on this rare
            # path only) tells which failed.
            now_seen = self.get_attempt(tenant_id, lead_id, n)
            return "lost" if now_seen is None or now_seen.state != from_state else "no_slot"
        return "capped"

    def back_to_claimed(self, tenant_id: str, lead_id: str, n: int) -> bool:
        """``posting → claimed`` after a definite refusal that nothing counts (429): the job is
        retried later."""
        return bool(
            self.ops.update(
                keys.attempt_key(tenant_id, lead_id, n),
                set_fields={"state": AttemptState.CLAIMED.value},
                condition="#state = :posting",
                names={"#state": "state"},
                values={":posting": AttemptState.POSTING.value},
            )
        )

    def mark_unconfirmed(self, tenant_id: str, lead_id: str, n: int, *, now: str, reason: str) -> bool:
        """``posting → unconfirmed``: the POST was ambiguous; webhooks or the reaper settle it."""
        return bool(
            self.ops.update(
                keys.attempt_key(tenant_id, lead_id, n),
                set_fields={"state": AttemptState.UNCONFIRMED.value, "reason": reason, "unconfirmed_at": now},
                condition="#state = :posting",
                names={"#state": "state"},
                values={":posting": AttemptState.POSTING.value},
            )
        )

    def mark_accepted(
        self,
        attempt: AttemptRecord,
        *,
        call_control_id: str,
        now: str,
        contact: Mapping[str, Any] | None = None,
    ) -> bool:
        """Telnyx accepted the call, in one transaction applied once (conditional on the attempt
        being open): the attempt becomes ``accepted``, the campaign counts the dial, the call
        record is linked to its lead, campaign, attempt and variant, and the person's contact
        history (``contact``: a :meth:`~dialer.adapters.people_table.ContactHistory.item`) records
        the call. False when the attempt was already accepted or settled (by the dialer or a
        webhook).

        The lead is not written: its retry budget (``attempts``) is used when the attempt is
        settled (:meth:`finish`, which writes the lead anyway), and until then the lead is
        ``dialing``, which no claim takes (the claim's condition is ``pending``)."""
        link = {"entity": "call", **call_link(attempt, call_control_id, now)}
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": keys.attempt_key(attempt.tenant_id, attempt.lead_id, attempt.n),
                    "UpdateExpression": "SET #state = :accepted, call_control_id = :cc, accepted_at = :now",
                    "ConditionExpression": "#state IN (:posting, :unconfirmed)",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": {
                        ":accepted": AttemptState.ACCEPTED.value,
                        ":posting": AttemptState.POSTING.value,
                        ":unconfirmed": AttemptState.UNCONFIRMED.value,
                        ":cc": call_control_id,
                        ":now": now,
                    },
                }
            },
            stats_op(
                attempt.tenant_id, attempt.campaign_id, shard_of(attempt.lead_id), Counter({"dials": 1})
            ),
            {
                "Update": {
                    "Key": keys.call_key(attempt.tenant_id, call_control_id),
                    "UpdateExpression": "SET " + ", ".join(f"#l{i} = :l{i}" for i in range(len(link))),
                    "ExpressionAttributeNames": {f"#l{i}": k for i, k in enumerate(link)},
                    "ExpressionAttributeValues": {f":l{i}": v for i, v in enumerate(link.values())},
                }
            },
        ]
        if contact:
            ops.append({"Put": {"Item": dict(contact)}})
        return self._transact(ops) is None

    def finish(
        self,
        attempt: AttemptRecord,
        change: LeadChange,
        *,
        final_state: AttemptState,
        now: str,
        count_attempt: bool,
        events: Sequence[dict[str, Any]] = (),
        counters: Mapping[str, int] | None = None,
    ) -> bool:
        """Apply an attempt's end to its lead, once: the attempt moves from an open state to
        ``final_state``, the lead (still dialing this attempt) to ``change``, and the campaign's
        counters follow (with ``counters`` added to its ``STATS`` shard: the circuit breaker's
        running total); ``events`` (outbox items: :mod:`dialer.adapters.outbox_events`, the
        breaker's bucket) are written in the same transaction. False when it was already applied.

        ``count_attempt``: the lead's retry budget counts this attempt (``attempts``, unless it is
        a callback) and the attempt is marked ``counted``, in this one transaction, so a placed
        call counts exactly once. A drop (nothing counted) cannot finish an attempt Telnyx has
        accepted: that call counts, and its events or the reaper settle it.

        The attempt's slot is given back in the same transaction (its lease, ``slot_until`` on the
        attempt, removed and the ``SLOTS`` counter lowered with it), so no settled attempt ever
        holds a slot and no crash can leave one done without the other. The attempt's condition
        says whether it holds the lease as ``attempt`` was read; a slot given back since (at the
        hangup while the lead awaits facts, a 429, the reaper) fails it, and the attempt is read
        again and the settlement made again as it is now: the counter is lowered only with a
        lease that was removed. When the settlement itself is refused (the lead moved on) while
        the attempt holds its slot, the slot is given back on its own: whoever ends an attempt
        frees its slot. A transaction that kept conflicting (most likely on ``SLOTS``, the
        tenant's busiest item) settles without the counter, moving the lease to a ``SLOT#`` item
        in the same transaction, then gives that back on its own: a crash between the two leaves
        a lease the reaper finds."""
        open_states = sorted(s.value for s in UNSETTLED_ATTEMPT_STATES)
        if final_state == AttemptState.DROPPED:
            open_states.remove(AttemptState.ACCEPTED.value)
        names = {"#state": "state"}
        values: dict[str, Any] = {":final": final_state.value, ":now": now}
        for i, state in enumerate(open_states):
            values[f":o{i}"] = state
        attempt_set = "SET #state = :final, ended_at = :now"
        if change.outcome:
            # ``lead_outcome``: the outcome that moved the lead (a late fact may correct
            # ``outcome`` after the lead has moved on; see :meth:`resettle`).
            attempt_set += ", outcome = :outcome, lead_outcome = :outcome"
            values[":outcome"] = change.outcome
        if change.reasons:
            attempt_set += ", reason = :reason"
            values[":reason"] = ",".join(change.reasons)
        if count_attempt:
            attempt_set += ", counted = :true"
            values[":true"] = True
        is_open = f"#state IN ({', '.join(f':o{i}' for i in range(len(open_states)))})"

        def attempt_op(holds: bool) -> dict[str, Any]:
            return {
                "Update": {
                    "Key": keys.attempt_key(attempt.tenant_id, attempt.lead_id, attempt.n),
                    "UpdateExpression": attempt_set + (" REMOVE slot_until" if holds else ""),
                    "ConditionExpression": is_open
                    + (
                        " AND attribute_exists(slot_until)"
                        if holds
                        else " AND attribute_not_exists(slot_until)"
                    ),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }

        rest: list[dict[str, Any]] = [self._lead_change_op(attempt, change, now, count_attempt=count_attempt)]
        stats: Counter[str] = Counter({"st_dialing": -1})
        if change.status != LeadStatus.PENDING:
            stats[f"st_{change.status.value}"] += 1
        if change.outcome and final_state in (AttemptState.ENDED, AttemptState.FAILED):
            stats[f"out_{change.outcome}"] += 1
        if change.deferred_reason:
            stats[f"def_{change.deferred_reason}"] += 1
        stats.update(counters or {})
        rest.append(stats_op(attempt.tenant_id, attempt.campaign_id, shard_of(attempt.lead_id), stats))
        rest.extend(events)
        holds = attempt.slot_until is not None
        for _ in range(_SETTLE_TRIES):
            counter = [slot_counter_op(attempt.tenant_id, -1, None)] if holds else []
            failed = self._transact_all([attempt_op(holds), *rest, *counter])
            if failed is None:
                return True
            if -1 in failed:
                return self._finish_contended(attempt, attempt_op(holds), rest, holds=holds)
            if 0 not in failed:
                # The attempt is as read, the lead is not (it moved on): refused.
                if holds:
                    self._transact(slot_release_ops(attempt.tenant_id, attempt.attempt_id))
                return False
            fresh = self.get_attempt(attempt.tenant_id, attempt.lead_id, attempt.n)
            if fresh is None or fresh.state.value not in open_states:
                return False  # settled already (its slot went with it), or a drop of an accepted call
            holds = fresh.slot_until is not None
        raise TemporarilyUnavailable("the attempt's slot kept changing while it was being settled")

    def _finish_contended(
        self, attempt: AttemptRecord, attempt_op: dict[str, Any], rest: list[dict[str, Any]], *, holds: bool
    ) -> bool:
        """``finish`` without the ``SLOTS`` counter, which kept conflicting: the attempt's lease
        moves to a ``SLOT#`` item in the settlement's transaction, then that is given back on its
        own (the reaper gives it back if a crash comes between)."""
        lease: list[dict[str, Any]] = []
        if holds:
            lease.append(
                {
                    "Put": {
                        "Item": {
                            **keys.dialing_state_key(attempt.tenant_id, f"SLOT#{attempt.attempt_id}"),
                            "entity": "slot",
                            "attempt_id": attempt.attempt_id,
                            "lease_until": to_decimal(attempt.slot_until or 0.0),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        failed = self._transact_all([attempt_op, *rest, *lease])
        if failed is None:
            if holds:
                self._transact(slot_release_ops(attempt.tenant_id, attempt.attempt_id, lease_item=True))
            return True
        if -1 in failed or 0 in failed:
            raise TemporarilyUnavailable("the settlement kept conflicting")  # the redelivery decides again
        if holds:
            self._transact(slot_release_ops(attempt.tenant_id, attempt.attempt_id))
        return False

    def resettle(
        self,
        attempt: AttemptRecord,
        outcome: str,
        change: LeadChange | None,
        *,
        lead_seen: Mapping[str, Any],
        now: str,
    ) -> bool:
        """A late fact changed an ended attempt's outcome, or its conversation's disposition
        ended the lead: record a changed outcome on the attempt (its history keeps both) and,
        with ``change``, move the lead again - conditional on the attempt still holding the
        outcome it was settled with and the lead being exactly as read (``lead_seen``), so the
        correction is applied once. The campaign's counters follow: the attempt counts under its
        new outcome, the lead under its new state. False when another writer applied it first;
        :class:`TemporarilyUnavailable` when the lead moved meanwhile (the redelivery decides
        again)."""
        old = str(attempt.outcome)
        ops: list[dict[str, Any]] = []
        stats: Counter[str] = Counter()
        if outcome != old:
            attempt_set = (
                "SET outcome = :new, "
                "outcome_history = list_append(if_not_exists(outcome_history, :empty), :entry)"
            )
            if change is not None:
                attempt_set += ", lead_outcome = :new"
            ops.append(
                {
                    "Update": {
                        "Key": keys.attempt_key(attempt.tenant_id, attempt.lead_id, attempt.n),
                        "UpdateExpression": attempt_set,
                        "ConditionExpression": "#state = :ended AND outcome = :old",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": {
                            ":new": outcome,
                            ":old": old,
                            ":ended": AttemptState.ENDED.value,
                            ":entry": [{"outcome": outcome, "at": now, "lead": change is not None}],
                            ":empty": [],
                        },
                    }
                }
            )
            stats.update({f"out_{outcome}": 1, f"out_{old}": -1})
        if change is not None:
            seen_status = str(lead_seen.get("status"))
            condition = "#st = :seen AND current_attempt = :n AND last_outcome = :old"
            extra: dict[str, Any] = {":seen": seen_status, ":old": str(lead_seen.get("last_outcome"))}
            if lead_seen.get("due_sk"):
                condition += " AND due_sk = :seen_due"
                extra[":seen_due"] = lead_seen["due_sk"]
            else:
                condition += " AND attribute_not_exists(due_sk)"
            ops.append(self._lead_op(attempt, change, now, condition=condition, extra=extra))
            if seen_status != LeadStatus.PENDING.value:
                stats[f"st_{seen_status}"] -= 1
            if change.status != LeadStatus.PENDING:
                stats[f"st_{change.status.value}"] += 1
            if lead_seen.get("deferred_reason"):
                stats[f"def_{lead_seen['deferred_reason']}"] -= 1
        if not ops:
            return False
        changed = {k: v for k, v in stats.items() if v}
        if changed:
            ops.append(stats_op(attempt.tenant_id, attempt.campaign_id, shard_of(attempt.lead_id), changed))
        failed = self._transact(ops)
        if failed is None:
            return True
        if failed == 0 and outcome != old:
            return False
        raise TemporarilyUnavailable("the lead moved while a late fact was re-settling it")

    def _lead_change_op(
        self, attempt: AttemptRecord, change: LeadChange, now: str, *, count_attempt: bool
    ) -> dict[str, Any]:
        condition = "#st = :dialing AND current_attempt = :n"
        extra: dict[str, Any] = {":dialing": LeadStatus.DIALING.value}
        if change.checks_callback and change.callback_seen is None:
            condition += " AND attribute_not_exists(callback_at)"
        elif change.checks_callback:
            condition += " AND callback_at = :cb_seen"
            extra[":cb_seen"] = change.callback_seen
        return self._lead_op(
            attempt, change, now, condition=condition, extra=extra, count_attempt=count_attempt
        )

    def _lead_op(
        self,
        attempt: AttemptRecord,
        change: LeadChange,
        now: str,
        *,
        condition: str,
        extra: Mapping[str, Any],
        count_attempt: bool = False,
    ) -> dict[str, Any]:
        """The lead's update for ``change``, conditional on ``condition`` (``:n`` is the attempt)."""
        tenant_id, lead_id = attempt.tenant_id, attempt.lead_id
        values: dict[str, Any] = {":status": change.status.value, ":now": now, ":n": attempt.n, **extra}
        sets = ["#st = :status", "updated_at = :now"]
        removes = ["callback_at", "callback_note"] if attempt.callback else []
        if change.outcome:
            sets.append("last_outcome = :outcome")
            values[":outcome"] = change.outcome
        if change.reasons:
            sets.append("last_reasons = :r")
            values[":r"] = list(change.reasons)
        if change.deferred_reason:
            sets.append("deferred_reason = :d")
            values[":d"] = change.deferred_reason
        if change.status == LeadStatus.PENDING and change.next_at:
            due = keys.due_index(
                tenant_id, attempt.campaign_id, shard_of(lead_id), change.priority, change.next_at, lead_id
            )
            sets += ["due_pk = :dpk", "due_sk = :dsk", "next_attempt_at = :next"]
            values.update({":dpk": due["due_pk"], ":dsk": due["due_sk"], ":next": change.next_at})
            if change.priority == 0:
                removes = [r for r in removes if r not in ("callback_at", "callback_note")]
        else:
            removes += ["due_pk", "due_sk", "next_attempt_at"]
        expression = "SET " + ", ".join(sets)
        if count_attempt and not attempt.callback:
            expression += " ADD attempts :one"
            values[":one"] = 1
        if removes:
            expression += " REMOVE " + ", ".join(dict.fromkeys(removes))
        return {
            "Update": {
                "Key": keys.lead_key(tenant_id, lead_id),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": values,
            }
        }

    def link_inbound(self, tenant_id: str, call_control_id: str, fields: Mapping[str, Any]) -> bool:
        """Mark an inbound call record (and link it to its caller's lead) once; False if an
        earlier event already did. Other writers' attributes are kept."""
        return bool(
            self.ops.update(
                keys.call_key(tenant_id, call_control_id),
                set_fields=fields,
                condition="attribute_exists(pk) AND attribute_not_exists(caller_checked_at)",
            )
        )


@dataclass(frozen=True, slots=True)
class CallerTake:
    """One call counted on a caller ID for a UTC day (``YYYY-MM-DD``), under its daily ``cap``."""

    caller_id_id: str
    day: str
    cap: int
    expires_at: int  # epoch seconds: the day's counter is kept a little past the day


def caller_take_op(tenant_id: str, take: CallerTake) -> dict[str, Any]:
    """The daily cap's one rule: the number's count for the day raised by one only while under
    its cap, as a conditional write, so concurrent dialers never exceed it (the usage the dialer
    reads only orders the pool)."""
    return {
        "Update": {
            "Key": keys.caller_id_usage_key(tenant_id, take.caller_id_id, take.day),
            "UpdateExpression": "SET expires_at = :expires ADD used :one",
            "ConditionExpression": "attribute_not_exists(used) OR used < :cap",
            "ExpressionAttributeValues": {":expires": take.expires_at, ":one": 1, ":cap": take.cap},
        }
    }


def call_link(attempt: AttemptRecord, call_control_id: str, now: str) -> dict[str, Any]:
    """The fields that tie a call record to its lead, campaign, attempt and variant (the ones the
    attempt knows; the others are left to their writers)."""
    fields = {
        "tenant_id": attempt.tenant_id,
        "call_control_id": call_control_id,
        "lead_id": attempt.lead_id,
        "campaign_id": attempt.campaign_id,
        "attempt_n": attempt.n,
        "attempt_id": attempt.attempt_id,
        "assistant_id": attempt.assistant_id,
        "caller_id_id": attempt.caller_id_id,
        "dial_method": attempt.method,
        "linked_at": now,
    }
    return {k: v for k, v in fields.items() if v is not None}
