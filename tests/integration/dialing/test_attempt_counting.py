"""A lead's attempt is counted where the lead is written anyway: at its settlement.

The acceptance (``mark_accepted``) writes no lead item: the lead is ``dialing`` from its claim
to its settlement, and that status (not ``attempts``) is what keeps a claim from taking it again.
The settlement's transaction adds the attempt once, whoever settles (an event, a duplicate, the
reaper); an attempt accepted before the count moved (already counted) is not counted twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.dialing.conftest import Harness

ONE_ATTEMPT = {"retry": {"max_attempts": 1}}


def _lead(h: Harness, campaign_id: str) -> dict[str, Any]:
    [item] = h.leads(campaign_id)
    return item


def _accepted(h: Harness, campaign_id: str) -> tuple[dict[str, Any], Any]:
    """One lead claimed and dialled (Telnyx accepted the call), no webhook applied yet."""
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    claimed = _lead(h, campaign_id)
    assert h.pump_dials([h.dialer()], max_idle_rounds=1, webhooks=False)["dialed"] == 1
    attempt = h.dialing.get_attempt(h.tenant, claimed["lead_id"], int(claimed["current_attempt"]))
    assert attempt is not None
    assert attempt.state.value == "accepted"
    return claimed, attempt


def test_the_acceptance_writes_no_lead_and_the_settlement_counts_the_attempt_once(make_harness: Any) -> None:
    # GIVEN a lead whose call Telnyx accepted
    h: Harness = make_harness(webhooks=True)
    campaign_id = h.campaign(1, **ONE_ATTEMPT)
    claimed, attempt = _accepted(h, campaign_id)
    # THEN the acceptance left the lead item exactly as the claim wrote it (no write: its three
    # index entries are not re-projected), and nothing is counted yet
    live = _lead(h, campaign_id)
    assert live == claimed
    assert (live["status"], int(live.get("attempts", 0)), attempt.counted) == ("dialing", 0, False)
    # WHEN its webhooks arrive, twice each (a redelivery is the normal case)
    h.settle()
    h.processed = 0
    h.deliver_webhooks()
    # THEN the settlement counted the attempt exactly once, on the lead and on the attempt
    done = _lead(h, campaign_id)
    settled = h.dialing.get_attempt(h.tenant, done["lead_id"], attempt.n)
    assert settled is not None
    assert done["status"] not in ("dialing", "pending"), done
    assert int(done["attempts"]) == 1, done
    assert (settled.state.value, settled.counted) == ("ended", True)


def test_a_lead_in_flight_is_never_claimed_again(make_harness: Any) -> None:
    # GIVEN a one-attempt campaign whose lead is on a call not settled yet (its ``attempts``
    # still 0: the budget check alone would let it through)
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(1, **ONE_ATTEMPT)
    claimed, _ = _accepted(h, campaign_id)
    # WHEN dispatchers tick long after (the lead's due time passed ages ago)
    h.clock.offset += timedelta(minutes=10)
    for _ in range(3):
        assert h.dispatcher(tick_seconds=1.0).tick().claimed == 0
    h.pump_dials([h.dialer()], max_idle_rounds=1, webhooks=False)
    # THEN nothing claimed it and Telnyx was asked for one call only
    assert _lead(h, campaign_id)["current_attempt"] == claimed["current_attempt"]
    assert sum(h.sim_attempts().values()) == 1


def test_a_drop_cannot_end_an_accepted_attempt_uncounted(make_harness: Any) -> None:
    from dialer.services.lead_effects import LeadEffects

    # GIVEN a lead whose call Telnyx accepted
    h: Harness = make_harness(webhooks=True)
    campaign_id = h.campaign(1, **ONE_ATTEMPT)
    _, attempt = _accepted(h, campaign_id)
    # WHEN something tries to drop that attempt (nothing counted, lead back to due)
    assert not LeadEffects(h.dialing, h.campaigns, h.clock).drop(attempt, ["lead_changed"])
    # THEN the lead is still on its call, and its settlement counts it
    assert _lead(h, campaign_id)["status"] == "dialing"
    h.settle()
    assert int(_lead(h, campaign_id)["attempts"]) == 1


def test_an_attempt_counted_at_its_acceptance_before_the_change_is_not_counted_again(
    make_harness: Any,
) -> None:
    from dialer import keys

    # GIVEN a call accepted by the previous release, which counted the attempt then (the lead's
    # ``attempts`` and the attempt's ``counted``), still live at the deploy
    h: Harness = make_harness(webhooks=True)
    campaign_id = h.campaign(1, retry={"max_attempts": 3})
    _, attempt = _accepted(h, campaign_id)
    h.dialing.ops.update(keys.attempt_key(h.tenant, attempt.lead_id, attempt.n), set_fields={"counted": True})
    h.dialing.ops.update(keys.lead_key(h.tenant, attempt.lead_id), set_fields={"attempts": 1})
    # WHEN its webhooks settle it
    h.settle()
    # THEN it counts once
    assert int(_lead(h, campaign_id)["attempts"]) == 1


def test_a_call_accepted_again_counts_one_dial_and_never_reopens_its_settled_attempt(
    make_harness: Any,
) -> None:
    from dataclasses import replace

    from dialer.domain.dialing import AttemptState, utc_iso

    # GIVEN a lead whose call Telnyx accepted (the campaign counted one dial)
    h: Harness = make_harness(webhooks=True)
    campaign_id = h.campaign(1, **ONE_ATTEMPT)
    _, attempt = _accepted(h, campaign_id)
    assert h.dialing.campaign_stats(h.tenant, campaign_id)["dials"] == 1
    # WHEN the same call is accepted again, as a racing delivery of its POST read it (posting)
    racer = replace(attempt, state=AttemptState.POSTING)
    again = h.dialing.mark_accepted(
        racer, call_control_id=str(attempt.call_control_id), now=utc_iso(h.clock())
    )
    # THEN that acceptance is refused: still one dial
    assert not again
    assert h.dialing.campaign_stats(h.tenant, campaign_id)["dials"] == 1
    # AND once the call is settled, a late acceptance neither counts it nor reopens the attempt
    h.settle()
    settled = h.dialing.get_attempt(h.tenant, attempt.lead_id, attempt.n)
    assert settled is not None
    assert settled.state == AttemptState.ENDED
    late = h.dialing.mark_accepted(
        racer, call_control_id=str(attempt.call_control_id), now=utc_iso(h.clock())
    )
    assert not late
    assert h.dialing.get_attempt(h.tenant, attempt.lead_id, attempt.n) == settled
    assert h.dialing.campaign_stats(h.tenant, campaign_id)["dials"] == 1
