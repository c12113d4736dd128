"""The dispatcher's due-index reads cost what they find: a due partition (a campaign's shard of
callbacks or of other leads) found with nothing due is not read again before its next lead falls
due or the due staleness passes; a kick reads the campaign afresh; callbacks still go first; and
the tenant's dispatch lease is renewed only once half its term is gone.

Reads are counted on the real (moto) client with botocore's own event hook, as bench/dynamo_meter
does."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from tests.integration.dialing.conftest import Harness


class DueReads:
    """Queries of the due index made through ``client``: the dispatcher's reads of a partition's
    head (a range of one priority) and the completion check's presence probes (no range)."""

    def __init__(self, client: Any) -> None:
        self.heads: list[tuple[str, str]] = []  # (partition, lower bound)
        self.probes = 0
        client.meta.events.register("provide-client-params.dynamodb.Query", self._seen)

    def _seen(self, params: dict[str, Any], **_: Any) -> None:
        if (
            params.get("IndexName") != "due"
            or "#INFLIGHT#" in params["ExpressionAttributeValues"][":pk"]["S"]
        ):
            return
        if "BETWEEN" in params["KeyConditionExpression"]:
            values = params["ExpressionAttributeValues"]
            self.heads.append((values[":pk"]["S"], values[":lo"]["S"]))
        else:
            self.probes += 1

    def take(self) -> list[tuple[str, str]]:
        taken, self.heads = self.heads, []
        return taken


def _waiting_campaign(h: Harness, count: int, *, later: timedelta = timedelta(days=1)) -> str:
    """An active campaign whose ``count`` leads all fall due ``later`` (imported on a clock moved
    that far ahead)."""
    h.clock.offset += later
    try:
        return h.campaign(count)
    finally:
        h.clock.offset -= later


def _book_callback_now(h: Harness, lead_id: str) -> None:
    """A call back asked for now, through the API's own service (which sends no kick)."""
    from dialer.services.dialing_models import CallbackRequest
    from tests.integration.dialing.test_controls_api import api

    assert api(h).callback(lead_id, CallbackRequest(at=h.clock())).applies == "now"


def test_an_idle_campaign_is_not_read_again_within_the_due_staleness(make_harness: Any) -> None:
    from dialer.domain.dialing import DUE_SHARDS

    # GIVEN an active campaign whose 8 leads all fall due tomorrow
    h: Harness = make_harness()
    _waiting_campaign(h, 8)
    dispatcher = h.dispatcher(tick_seconds=1.0)
    reads = DueReads(h.dialing.client)

    # WHEN the dispatcher ticks
    first = dispatcher.tick()

    # THEN it read each shard's callbacks and other leads once, and found nothing due
    assert (first.claimed, first.due) == (0, 0)
    assert len(set(reads.take())) == DUE_SHARDS * 2
    # AND the ticks within the staleness bound read no due partition at all
    for _ in range(3):
        assert dispatcher.tick().claimed == 0
    assert reads.take() == []
    # AND once the bound has passed (here on the engine's clock) each is read again, once
    h.clock.offset += timedelta(seconds=dispatcher.config.due_staleness_seconds)
    dispatcher.tick()
    assert len(reads.take()) == DUE_SHARDS * 2


def test_a_campaign_with_every_lead_in_flight_costs_no_due_query_a_tick(make_harness: Any) -> None:
    # GIVEN a campaign whose 4 leads the dispatcher just claimed (their calls in flight)
    h: Harness = make_harness()
    h.campaign(4)
    dispatcher = h.dispatcher(tick_seconds=1.0)
    assert dispatcher.tick().claimed == 4
    reads = DueReads(h.dialing.client)

    # WHEN it ticks again, nothing being due
    again = dispatcher.tick()

    # THEN it neither read a due partition (found empty at the claim) nor probed the index for
    # pending leads (the completion check stops at the calls in flight, one read)
    assert (again.claimed, again.due) == (0, 0)
    assert reads.take() == []
    assert reads.probes == 0


def test_a_kick_reads_its_campaign_afresh(make_harness: Any) -> None:
    from dialer.services.dispatcher import kick_message

    # GIVEN an idle campaign the dispatcher has just read (nothing due)
    h: Harness = make_harness()
    campaign_id = _waiting_campaign(h, 4)
    dispatcher = h.dispatcher(tick_seconds=1.0)
    assert dispatcher.tick().claimed == 0
    # AND one of its leads booked for a call back now, a write that sends no kick: not read yet
    lead_id = str(h.leads(campaign_id)[0]["lead_id"])
    _book_callback_now(h, lead_id)
    assert dispatcher.tick().claimed == 0

    # WHEN the campaign is kicked (as an activation or a resume does)
    report = dispatcher.handle_message(kick_message(h.tenant, campaign_id, "resumed"), remaining=lambda: 2.5)

    # THEN the run it starts claims that lead at its first tick
    assert report.claimed == 1
    [lead] = [i for i in h.leads(campaign_id) if i["lead_id"] == lead_id]
    assert lead["status"] == "dialing"


def test_a_waiting_lead_is_claimed_at_its_due_time_not_the_staleness(make_harness: Any) -> None:
    # GIVEN a campaign whose one lead falls due 2 s from now (less than the 5 s staleness), read
    h: Harness = make_harness()
    _waiting_campaign(h, 1, later=timedelta(seconds=2))
    dispatcher = h.dispatcher(tick_seconds=1.0)
    assert dispatcher.tick().claimed == 0

    # WHEN the engine's clock reaches its due time
    h.clock.offset += timedelta(seconds=2)

    # THEN the next tick claims it (the partition was remembered until its head's due time)
    assert dispatcher.tick().claimed == 1


def test_work_added_without_a_kick_is_claimed_within_the_staleness(make_harness: Any) -> None:
    # GIVEN an idle campaign read by a dispatcher with a 0.5 s staleness (real seconds here)
    h: Harness = make_harness()
    campaign_id = _waiting_campaign(h, 4)
    staleness = 0.5
    dispatcher = h.dispatcher(tick_seconds=1.0, due_staleness_seconds=staleness)
    assert dispatcher.tick().claimed == 0

    # WHEN a lead is booked for a call back now, with no kick
    _book_callback_now(h, str(h.leads(campaign_id)[0]["lead_id"]))
    booked = time.monotonic()

    # THEN a tick claims it once the staleness has passed (ticks 0.1 s apart, a second's grace)
    claimed = 0
    while not claimed and time.monotonic() - booked < staleness + 1.0:
        claimed = dispatcher.tick().claimed
        time.sleep(0.1)
    assert claimed == 1


def test_a_callback_goes_before_the_due_leads_of_every_shard(make_harness: Any) -> None:
    # GIVEN a tenant with one channel (a share of one lead a tick) and 8 leads due now
    h: Harness = make_harness(limits={"channel_limit": 1})
    campaign_id = h.campaign(8)
    # AND, of them, the one whose regular entry would be read last, booked for a call back now
    leads = sorted(h.leads(campaign_id), key=lambda i: (str(i["due_pk"]), str(i["due_sk"])))
    lead_id = str(leads[-1]["lead_id"])
    _book_callback_now(h, lead_id)

    # WHEN the dispatcher ticks
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1

    # THEN the lead it claimed is the callback
    dialing = [i["lead_id"] for i in h.leads(campaign_id) if i["status"] == "dialing"]
    assert dialing == [lead_id]


def test_the_dispatch_lease_is_renewed_at_half_its_term_and_held_throughout(make_harness: Any) -> None:
    from dialer import keys

    # GIVEN two dispatchers of one tenant on one (fake) epoch clock
    h: Harness = make_harness()
    _waiting_campaign(h, 1)
    now = [1_000_000.0]
    a = h.dispatcher(tick_seconds=1.0, owner="run-a")
    b = h.dispatcher(tick_seconds=1.0, owner="run-b")
    a.epoch = b.epoch = lambda: now[0]
    puts: list[str] = []
    h.dialing.client.meta.events.register(
        "provide-client-params.dynamodb.PutItem",
        lambda params, **_: (
            puts.append(params["Item"]["sk"]["S"]) if "LEASE" in params["Item"]["sk"]["S"] else None
        ),
    )

    def holder() -> str:
        item = h.dialing.items.get(keys.dialing_state_key(h.tenant, "LEASE#DISPATCH"))
        assert item is not None
        return str(item["owner"])

    # WHEN the first ticks at 0 s, 2.9 s and 3.5 s of its 6 s lease, the other trying in between
    a.tick()
    now[0] += 2.9
    a.tick()
    b.tick()
    now[0] += 0.6
    a.tick()
    now[0] += 4.0
    b.tick()

    # THEN it wrote the lease twice (taken, then renewed with less than half its term left)
    assert len(puts) == 2 + 2  # and the other's two refused takes
    # AND the other never held it, not even after the first lease's term would have run out
    assert holder() == "run-a"


def test_a_lead_whose_claim_was_lost_is_read_again_at_the_next_tick(make_harness: Any) -> None:
    from dialer.adapters.dialing_table import DialingTable

    # GIVEN a tenant with two channels, and a campaign whose one lead due now is a callback (the
    # other three fall due tomorrow: a share of two reads every partition to its end)
    h: Harness = make_harness(limits={"channel_limit": 2})
    campaign_id = _waiting_campaign(h, 4)
    lead_id = str(h.leads(campaign_id)[0]["lead_id"])
    _book_callback_now(h, lead_id)

    # AND two inbound calls that take the channels between the dispatcher's budget and its claim
    class InboundMeanwhile(DialingTable):
        rang = False

        def claim(self, tenant_id: str, claims: Any, **kwargs: Any) -> Any:
            if not self.rang:
                self.rang = True
                for call in ("inbound:call-1", "inbound:call-2"):
                    assert self.acquire_slot(tenant_id, call, 2, time.time() + 60)
            return super().claim(tenant_id, claims, **kwargs)

    dispatcher = h.dispatcher(tick_seconds=1.0)
    dispatcher.dialing = InboundMeanwhile(h.table_name)

    # WHEN a tick loses the claim, and the inbound calls end
    lost = dispatcher.tick()
    assert (lost.due, lost.claimed, lost.lost) == (1, 0, 1)
    assert h.dialing.release_slot(h.tenant, "inbound:call-1")
    assert h.dialing.release_slot(h.tenant, "inbound:call-2")

    # THEN the next tick reads the lead again and claims it (no staleness for a lead known due)
    assert dispatcher.tick().claimed == 1


def test_a_campaign_paused_and_resumed_is_read_afresh(make_harness: Any) -> None:
    from dialer.domain.campaigns import CampaignStatus

    # GIVEN an idle campaign the dispatcher has just read, one of its leads then booked for now
    h: Harness = make_harness()
    campaign_id = _waiting_campaign(h, 4)
    dispatcher = h.dispatcher(tick_seconds=1.0)
    assert dispatcher.tick().claimed == 0
    _book_callback_now(h, str(h.leads(campaign_id)[0]["lead_id"]))

    # WHEN the campaign is paused (a tick sees it gone) and resumed, its kick handled elsewhere
    h.move(campaign_id, CampaignStatus.PAUSED)
    assert dispatcher.tick().active_tenants == 0
    h.move(campaign_id, CampaignStatus.ACTIVE)

    # THEN this dispatcher's next tick reads it afresh and claims the callback
    assert dispatcher.tick().claimed == 1
