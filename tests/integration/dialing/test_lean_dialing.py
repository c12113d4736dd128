"""The dial path does the DynamoDB work its guarantees need and no more: the dialer's re-check is
one consistent BatchGetItem (lead, attempt, the number's DNC entry), the caller IDs with their
usage another, the contact history is read only when a frequency cap can refuse the lead, a job
that does not carry the lead's number still checks that number's DNC entry, and a settlement
reads its attempt, lead and campaign in one round trip."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.integration.dialing.conftest import Harness


class RequestLog:
    """DynamoDB requests made through the given clients: (operation, item kinds) per request."""

    def __init__(self, *clients: Any) -> None:
        self.requests: list[tuple[str, tuple[str, ...]]] = []
        for client in {id(c): c for c in clients}.values():
            client.meta.events.register("provide-client-params.dynamodb.*", self._seen)

    def _seen(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        kinds: list[str] = []
        if "Key" in params:
            kinds.append(_kind(params["Key"]))
        for request in params.get("RequestItems", {}).values():
            kinds.extend(_kind(k) for k in request.get("Keys", []))
        if "KeyConditionExpression" in params:
            values = params.get("ExpressionAttributeValues", {})
            kinds.append(_kind({"pk": values.get(":pk", {"S": "?"}), "sk": {"S": "query"}}))
        self.requests.append((model.name, tuple(kinds)))

    def count(self, operation: str, kind: str | None = None) -> int:
        return sum(1 for op, kinds in self.requests if op == operation and (kind is None or kind in kinds))


def _kind(key: dict[str, Any]) -> str:
    """``T#t#LEAD#ld_1`` / ``ATTEMPT#0001`` → ``LEAD/ATTEMPT``."""
    pk = str(key["pk"]["S"]).split("#")
    return f"{pk[2] if len(pk) > 2 else pk[-1]}/{str(key['sk']['S']).split('#')[0]}"


def _log(h: Harness) -> RequestLog:
    return RequestLog(h.dialing.client, h.dnc.items.client, h.campaigns.items.client, h.history.items.client)


def test_the_dial_re_check_is_one_round_trip(make_harness: Any) -> None:
    # GIVEN one claimed lead (no frequency cap applies to its state)
    h: Harness = make_harness()
    campaign_id = h.campaign(1)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    log = _log(h)

    # WHEN the dialer handles its job
    assert h.pump_dials([h.dialer()], max_idle_rounds=1, webhooks=False) == Counter({"dialed": 1})

    # THEN the lead, its attempt, its number's DNC entry and the campaign came in one BatchGetItem
    [batch] = [kinds for op, kinds in log.requests if op == "BatchGetItem" and "LEAD/LEAD" in kinds]
    assert {"LEAD/LEAD", "LEAD/ATTEMPT", "DNC/DNC", "CAMPAIGN/CAMPAIGN"} <= set(batch)
    # AND none of them was read on its own, nor the contact history (no cap to count against)
    assert log.count("GetItem", "LEAD/LEAD") == log.count("GetItem", "LEAD/ATTEMPT") == 0
    assert log.count("GetItem", "DNC/DNC") == log.count("GetItem", "CAMPAIGN/CAMPAIGN") == 0
    assert log.count("Query", "LEAD/query") == log.count("Query", "CONTACT/query") == 0
    # AND the campaign's caller IDs and their usage today came in one BatchGetItem, none on its own
    [callers] = [kinds for op, kinds in log.requests if op == "BatchGetItem" and "CALLERID/CALLERID" in kinds]
    assert callers.count("CALLERID/CALLERID") == callers.count("CALLERID/USAGE") == 3
    assert log.count("GetItem", "CALLERID/CALLERID") == 0
    assert h.sim_attempts(), "the lead was dialled"
    assert campaign_id


def test_a_capped_lead_called_after_its_claim_is_not_dialled_again(make_harness: Any) -> None:
    # GIVEN a claimed lead of a campaign with its own daily cap of one call per person
    h: Harness = make_harness()
    campaign_id = h.campaign(1, consent={"daily_cap": 1})
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    [lead] = h.leads(campaign_id)
    # AND, after the claim, another campaign called the same person
    h.history.append(
        h.tenant, lead["phone"], h.clock(), call_id="other-call", campaign_id="cmp_other", lead_id="ld_other"
    )
    log = _log(h)

    # WHEN the dialer handles its job
    results = h.pump_dials([h.dialer()], max_idle_rounds=1, webhooks=False)

    # THEN it read the person's contact history and did not call again today: deferred, not dialled
    assert log.count("Query", "CONTACT/query") == 1
    assert results == Counter({"dropped": 1})
    assert not h.sim_attempts()
    [after] = h.leads(campaign_id)
    assert after["status"] == "pending"
    assert after.get("deferred_reason")


def test_a_job_without_the_leads_number_still_checks_that_numbers_dnc_entry(make_harness: Any) -> None:
    from dialer.adapters.people_table import DncAudit, DncEntry
    from dialer.services.dialer import DialJob

    # GIVEN a claimed lead whose number went on the DNC list after the claim
    h: Harness = make_harness()
    campaign_id = h.campaign(1)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    [lead] = h.leads(campaign_id)
    now = h.clock().isoformat()
    h.dnc.add(
        DncEntry(h.tenant, lead["phone"], "asked", "api", now, "test"),
        DncAudit("a1", lead["phone"], "added", "asked", "api", "test", now),
    )

    # WHEN its job arrives naming another (unlisted) number, as a job queued before the phone was
    # carried, or a wrong one, would
    job = DialJob(h.tenant, campaign_id, str(lead["lead_id"]), 1, phone="+12025550999")
    result = h.dialer().handle(job)

    # THEN the lead's own number was checked: not dialled, blocked for DNC
    assert result == "dropped"
    assert not h.sim_attempts()
    [after] = h.leads(campaign_id)
    assert after["status"] == "blocked"
    assert "dnc" in after["last_reasons"]


def test_a_dial_job_round_trips_with_and_without_its_number() -> None:
    from dialer.services.dialer import DialJob

    job = DialJob("t", "c", "l", 2, phone="+12025550100")
    assert DialJob.from_json(job.to_json()) == job
    old = '{"tenant_id":"t","campaign_id":"c","lead_id":"l","n":2}'
    assert DialJob.from_json(old) == DialJob("t", "c", "l", 2)


def test_a_settlement_reads_its_attempt_lead_and_campaign_in_one_round_trip(make_harness: Any) -> None:
    from dialer.domain.campaigns import CampaignStatus

    # GIVEN a lead dialled once, its call played out busy, its webhooks not applied yet
    h: Harness = make_harness(scenario_mix={"busy": 1.0}, tool_calls=False)
    campaign_id = h.campaign(1, retry={"max_attempts": 3})
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    assert h.pump_dials([h.dialer()], max_idle_rounds=1, webhooks=False) == Counter({"dialed": 1})
    h.sim.wait_idle(20.0)
    # AND its campaign canceled meanwhile (the settlement must see it: a retry would be owed)
    h.move(campaign_id, CampaignStatus.CANCELED)
    log = RequestLog(h.dialing.client, h.campaigns.items.client, h.calls.items.client)

    # WHEN its webhooks are applied
    assert h.deliver_webhooks() >= 2

    # THEN the lead is settled with its call counted, and canceled with its campaign
    [lead] = h.leads(campaign_id)
    assert (lead["status"], lead["last_outcome"], int(lead["attempts"])) == ("canceled", "busy", 1)
    # AND the settlement read the attempt, the lead and the campaign in one BatchGetItem, none of
    # them on its own
    [batch] = [kinds for op, kinds in log.requests if op == "BatchGetItem"]
    assert set(batch) == {"LEAD/ATTEMPT", "LEAD/LEAD", "CAMPAIGN/CAMPAIGN"}
    for kind in ("LEAD/ATTEMPT", "LEAD/LEAD", "CAMPAIGN/CAMPAIGN"):
        assert log.count("GetItem", kind) == 0, (kind, log.requests)
