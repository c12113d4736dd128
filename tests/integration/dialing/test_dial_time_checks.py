"""The law at the last moment: the dialer re-checks every claimed attempt right before its POST
(DNC and consent can change after the claim), and the lead-local window is DST-exact."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.dialing.conftest import Harness


def test_a_number_put_on_dnc_or_revoking_consent_after_its_claim_is_not_dialled(make_harness: Any) -> None:
    from dialer.adapters.people_table import DncAudit, DncEntry
    from dialer.domain.leads import consent_record

    # GIVEN six claimed leads
    h: Harness = make_harness()
    campaign_id = h.campaign(6)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 6
    leads = sorted(h.leads(campaign_id), key=lambda i: i["lead_id"])
    now = h.clock().isoformat()
    # WHEN, before the dialer runs, one number goes on the DNC list and another revokes consent
    dnc_lead, revoked_lead = leads[0], leads[1]
    h.dnc.add(
        DncEntry(h.tenant, dnc_lead["phone"], "asked", "api", now, "test"),
        DncAudit("a1", dnc_lead["phone"], "added", "asked", "api", "test", now),
    )
    granted = h.clock() - timedelta(days=3)
    revoked = consent_record("express_written", "web", granted.isoformat(), h.clock().isoformat())
    assert revoked is not None
    h.campaigns.set_consent(h.tenant, revoked_lead["lead_id"], revoked, h.clock().isoformat())
    results = h.pump_dials([h.dialer()], max_idle_rounds=1, webhooks=False)

    # THEN neither was dialled: both ended blocked with the reason, nothing counted for them
    assert results == Counter({"dialed": 4, "dropped": 2})
    dialled = {a.split("#")[0] for a in h.sim_attempts()}
    assert dnc_lead["lead_id"] not in dialled
    assert revoked_lead["lead_id"] not in dialled
    after = {i["lead_id"]: i for i in h.leads(campaign_id)}
    assert after[dnc_lead["lead_id"]]["status"] == "blocked"
    assert "dnc" in after[dnc_lead["lead_id"]]["last_reasons"]
    assert after[revoked_lead["lead_id"]]["status"] == "blocked"
    assert "consent_revoked" in after[revoked_lead["lead_id"]]["last_reasons"]
    assert int(after[dnc_lead["lead_id"]]["attempts"]) == 0
    assert h.dialing.slots_in_use(h.tenant) == 4  # the four calls in flight; the two slots came back


def test_the_window_is_lead_local_on_a_dst_transition_day(make_harness: Any) -> None:
    # GIVEN New York leads and a clock at 07:30 EDT on the morning clocks sprang forward
    # (2027-03-14 11:30 UTC; it would be 06:30 on standard time), a campaign window of 08:00-21:00
    h: Harness = make_harness()
    spring = datetime(2027, 3, 14, 11, 30, tzinfo=UTC)
    h.clock.offset = spring - datetime.now(UTC)
    campaign_id = h.campaign(4, start=0, window={"start": "08:00", "end": "21:00"})
    ny = [i for i in h.leads(campaign_id) if i["phone"].startswith("+1212")]
    assert ny

    # WHEN the dispatcher runs
    dispatcher = h.dispatcher(tick_seconds=1.0)
    dispatcher.tick()

    # THEN New York leads wait for 08:00 EDT = 12:00 UTC exactly, with the federal reason
    for item in h.leads(campaign_id):
        if item["phone"].startswith("+1212"):
            assert item["status"] == "pending"
            assert item["next_attempt_at"] == "2027-03-14T12:00:00.000000Z"
            assert "outside_window:federal" in item["last_reasons"]
    # AND one second before it nothing is dialled, one second after it they are
    h.clock.offset = datetime(2027, 3, 14, 11, 59, 59, tzinfo=UTC) - datetime.now(UTC)
    dispatcher.tick()
    h.pump_dials([h.dialer()], max_idle_rounds=1, webhooks=False)
    ny_ids = {i["lead_id"] for i in ny}
    assert not ny_ids & {a.split("#")[0] for a in h.sim_attempts()}
    h.clock.offset = datetime(2027, 3, 14, 12, 0, 1, tzinfo=UTC) - datetime.now(UTC)
    report = dispatcher.tick()
    results = h.pump_dials([h.dialer()], max_idle_rounds=1, webhooks=False)
    state = [(i["status"], i.get("next_attempt_at"), i.get("last_reasons")) for i in h.leads(campaign_id)]
    assert ny_ids <= {a.split("#")[0] for a in h.sim_attempts()}, (report, results, state)
    assert ny_ids <= {a.split("#")[0] for a in h.sim_attempts()}
