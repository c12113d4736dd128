"""The reaper, duty by duty: nothing stays stuck, and it never dials anything itself.

Each test builds the stuck state the way production gets there (a lost dial job, a call whose
webhooks never arrive, a process that died holding a slot), runs the real reaper on moto and the
simulator, and checks the lead is terminal or due again, every slot is back, and the simulator's
ground truth shows no attempt dialled twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.dialing.conftest import Harness

CALL_OVER = timedelta(seconds=120 + 30 + 1)  # the harness's time limit + grace, and a second
RETRY_NOW = {"max_attempts": 3, "outcomes": {"unknown": {"delay_minutes": 0, "max_attempts": 3}}}


def open_attempts(h: Harness, campaign_id: str) -> dict[str, str]:
    """lead id → state of its current attempt, for leads still dialling."""
    out = {}
    for lead in h.leads(campaign_id):
        if lead["status"] == "dialing":
            attempt = h.dialing.get_attempt(h.tenant, lead["lead_id"], int(lead["current_attempt"]))
            assert attempt is not None
            out[lead["lead_id"]] = attempt.state.value
    return out


def test_claims_whose_jobs_were_lost_are_put_back_and_dialled_once(make_harness: Any) -> None:
    # GIVEN leads claimed by the dispatcher whose dial jobs never reached a dialer (lost messages)
    h: Harness = make_harness()
    cid = h.campaign(6)
    h.dispatcher().tick(1)
    h.sqs.purge_queue(QueueUrl=h.dials_url)
    claimed = open_attempts(h, cid)
    assert claimed
    assert set(claimed.values()) == {"claimed"}
    # WHEN the reaper runs, and the dialers then drain the queue
    done = h.reaper().run([h.tenant])
    assert done["claim_requeued"] == len(claimed)
    h.pump_dials([h.dialer()], max_idle_rounds=2)
    h.settle()
    # THEN each claimed lead was dialled exactly once for its attempt, and none is stuck
    placed = h.sim_attempts()
    assert placed == {f"{lead_id}#attempt-1": 1 for lead_id in claimed}
    assert open_attempts(h, cid) == {}
    assert h.dialing.slots_in_use(h.tenant) == 0


def test_calls_whose_webhooks_never_come_are_finalised_after_their_time_limit(make_harness: Any) -> None:
    # GIVEN calls Telnyx placed and played out, but whose webhooks never reached us
    h: Harness = make_harness(webhooks=False)
    cid = h.campaign(4, retry=RETRY_NOW)
    h.dispatcher().tick(1)
    h.pump_dials([h.dialer()], max_idle_rounds=2, webhooks=False)
    h.sim.wait_idle(20)
    assert set(open_attempts(h, cid).values()) == {"accepted"}
    assert h.dialing.slots_in_use(h.tenant) == 4
    reaper = h.reaper()
    # WHEN the reaper runs inside the calls' time limit, it leaves them alone
    assert not reaper.run([h.tenant])
    # AND once the time limit and grace have passed, it asks Telnyx and finalises them
    h.clock.offset += CALL_OVER
    done = reaper.run([h.tenant])
    assert done["call_finalised"] == 4, done
    # THEN the leads are due again for their next attempt (outcome unknown), slots are back, and
    # a second pass changes nothing
    leads = h.leads(cid)
    assert {(lead["status"], lead.get("last_outcome")) for lead in leads} == {("pending", "unknown")}
    assert all(int(lead["attempts"]) == 1 for lead in leads)
    assert h.dialing.slots_in_use(h.tenant) == 0
    assert not reaper.run([h.tenant])
    assert set(h.sim_attempts().values()) == {1}


def test_a_slot_held_by_a_dead_process_is_reclaimed(make_harness: Any) -> None:
    # GIVEN two claimed attempts whose dialers died (lost jobs), one of them past its slot's lease
    # (held on the attempt itself), the other still inside it
    h: Harness = make_harness()
    cid = h.campaign(2)
    h.dispatcher().tick(1)
    while messages := h.sqs.receive_message(QueueUrl=h.dials_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:  # the jobs are lost (a purge allows one a minute per queue)
            h.sqs.delete_message(QueueUrl=h.dials_url, ReceiptHandle=message["ReceiptHandle"])
    assert set(open_attempts(h, cid).values()) == {"claimed"}
    h.clock.offset += timedelta(seconds=400)  # past the claim timeout: the reaper looks at them
    now = h.clock().timestamp()
    gone, live = sorted(holder for holder, _ in h.dialing.held_slots(h.tenant))
    assert h.dialing.acquire_slot(h.tenant, gone, 10, now - 1)  # extends: no new slot taken
    assert h.dialing.acquire_slot(h.tenant, live, 10, now + 600)
    assert h.dialing.slots_in_use(h.tenant) == 2
    # WHEN the reaper runs
    done = h.reaper().run([h.tenant])
    # THEN both claims are put back in the queue, and only the expired lease is given back
    assert done["claim_requeued"] == 2
    assert done["slot_reclaimed"] == 1
    assert [holder for holder, _ in h.dialing.held_slots(h.tenant)] == [live]
    assert h.dialing.slots_in_use(h.tenant) == 1
    # AND a second pass gives nothing back twice
    assert h.reaper().run([h.tenant])["slot_reclaimed"] == 0


def test_a_lease_on_its_own_item_whose_holder_died_is_reclaimed(make_harness: Any) -> None:
    # GIVEN ``SLOT#`` leases (inbound calls' ) whose holder is gone, one expired, one not
    h: Harness = make_harness()
    now = h.clock().timestamp()
    assert h.dialing.acquire_slot(h.tenant, "inbound:gone", None, now - 1)
    assert h.dialing.acquire_slot(h.tenant, "inbound:live", None, now + 600)
    # WHEN the reaper runs
    done = h.reaper().run([h.tenant])
    # THEN only the expired lease is given back
    assert done["slot_reclaimed"] == 1
    assert [holder for holder, _ in h.dialing.held_slots(h.tenant)] == ["inbound:live"]
    assert h.dialing.slots_in_use(h.tenant) == 1


def test_an_attempts_lease_left_on_an_item_of_its_own_is_reclaimed(make_harness: Any) -> None:
    from dialer.adapters.dialing_base import slot_counter_op, to_decimal
    from dialer.keys import dialing_state_key

    # GIVEN attempts' leases on ``SLOT#`` items, as a contended settlement leaves one when it dies
    # before giving it back (or as leases were kept before they moved onto attempts): one expired,
    # one not, each counted
    h: Harness = make_harness()
    now = h.clock().timestamp()
    for holder, until in (("ld_gone#attempt-1", now - 1), ("ld_live#attempt-2", now + 600)):
        item = {
            **dialing_state_key(h.tenant, f"SLOT#{holder}"),
            "attempt_id": holder,
            "lease_until": to_decimal(until),
        }
        assert h.dialing._transact([{"Put": {"Item": item}}, slot_counter_op(h.tenant, +1, None)]) is None
    # WHEN the reaper runs
    done = h.reaper().run([h.tenant])
    # THEN the expired item is given back with the counter, the other kept
    assert done["slot_reclaimed"] == 1
    assert [holder for holder, _ in h.dialing.held_slots(h.tenant)] == ["ld_live#attempt-2"]
    assert h.dialing.slots_in_use(h.tenant) == 1


def test_an_ambiguous_dial_is_never_redialled_by_the_reaper(make_harness: Any) -> None:
    # GIVEN dials whose POST reached Telnyx but whose answer was lost (the call exists, we do not
    # know it) and whose webhooks never come
    h: Harness = make_harness(webhooks=False, error_5xx_rate=1.0, error_5xx_commit_fraction=1.0)
    cid = h.campaign(3, retry=RETRY_NOW)
    h.dispatcher().tick(1)
    h.pump_dials([h.dialer()], max_idle_rounds=2, webhooks=False)
    h.sim.wait_idle(20)
    states = set(open_attempts(h, cid).values())
    assert states <= {"posting", "unconfirmed"}, states
    # WHEN the reaper runs past the de-duplication window and the call's time limit
    reaper = h.reaper()
    h.clock.offset += CALL_OVER
    for _ in range(2):  # posting → unconfirmed, then unconfirmed → settled
        reaper.run([h.tenant])
    # THEN the attempts are settled as unknown (counted: the call may have happened), the
    # leads are due again, and the reaper itself dialled nothing
    leads = h.leads(cid)
    assert {(lead["status"], lead.get("last_outcome")) for lead in leads} == {("pending", "unknown")}
    assert all(int(lead["attempts"]) == 1 for lead in leads)
    assert h.dialing.slots_in_use(h.tenant) == 0
    assert set(h.sim_attempts().values()) == {1}


def test_a_dial_whose_process_died_mid_post_is_settled_unknown_and_never_redialled(make_harness: Any) -> None:
    from tests.integration.dialing.conftest import Crash

    class DiesDuringPost:
        """A Telnyx account whose dialer process dies while its POST is out (no answer, no retry)."""

        def __init__(self, client: Any) -> None:
            self.calls, self.texml = self, client.texml

        def client_for(self, tenant_id: str) -> Any:
            return self

        def dial(self, body: Any, **kwargs: Any) -> Any:
            raise Crash(str(body["command_id"]))

    # GIVEN a claimed lead whose dialer died with its POST in flight: its attempt stays `posting`
    h: Harness = make_harness(webhooks=False)
    cid = h.campaign(1, retry=RETRY_NOW)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    dialer = h.dialer(telnyx=DiesDuringPost(h.telnyx.client))
    assert h.pump_dials([dialer], max_idle_rounds=1, webhooks=False)["crashed"] >= 1
    assert set(open_attempts(h, cid).values()) == {"posting"}
    reaper = h.reaper()
    # WHEN the reaper runs inside the command_id window, THEN it leaves the attempt alone (a
    # redelivered job may still repeat the POST with the same command_id)
    reaper.run([h.tenant])
    assert set(open_attempts(h, cid).values()) == {"posting"}
    # WHEN it runs past the window and then past the call's time limit
    h.clock.offset += CALL_OVER
    for _ in range(2):  # posting → unconfirmed, then unconfirmed → settled
        reaper.run([h.tenant])
    # THEN the attempt is settled as unknown (counted: the POST may have placed a call), the lead
    # is due again, its slot is back, and nobody dialled it
    [lead] = h.leads(cid)
    assert (lead["status"], lead.get("last_outcome"), int(lead["attempts"])) == ("pending", "unknown", 1)
    assert h.dialing.slots_in_use(h.tenant) == 0
    assert h.sim.dials()["count"] == 0


def test_a_call_telnyx_says_is_still_alive_is_left_alone_past_its_time_limit(make_harness: Any) -> None:
    # GIVEN a call Telnyx placed, answered by a person and still playing (a real-time conversation
    # of 20-60 s), whose webhooks never reached us
    h: Harness = make_harness(webhooks=False, time_scale=1.0, scenario_mix={"human": 1.0}, tool_calls=False)
    cid = h.campaign(1, retry=RETRY_NOW)
    h.dispatcher().tick(1)
    h.pump_dials([h.dialer()], max_idle_rounds=1, webhooks=False)
    assert set(open_attempts(h, cid).values()) == {"accepted"}
    # WHEN the reaper runs past the call's time limit and grace (the engine's clock)
    h.clock.offset += CALL_OVER
    done = h.reaper().run([h.tenant])
    # THEN it asked Telnyx, which says the call is alive: nothing is settled, the call keeps its
    # slot (a slot given back would let another dial past the channel limit)
    assert not done, done
    assert set(open_attempts(h, cid).values()) == {"accepted"}
    assert h.dialing.slots_in_use(h.tenant) == 1
    [lead] = h.leads(cid)
    assert (lead["status"], int(lead["attempts"])) == ("dialing", 0)
