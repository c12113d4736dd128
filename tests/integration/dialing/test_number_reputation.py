"""Telnyx Number Reputation in caller-ID health, on moto with the simulator as Telnyx: the real
reaper's pass rests an enabled tenant's spam-risky caller ID with its reason (an operator's rest
stands), reads Telnyx at most every ``check_every_minutes``; a tenant without reputation makes no
request; a Telnyx 5xx rests nothing, does not stop the pass, and is retried at the next pass."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.integration.dialing.conftest import CALLER_IDS, Harness

NUMBERS = dict(CALLER_IDS)
NY, FL, CA = NUMBERS["cid_ny"], NUMBERS["cid_fl"], NUMBERS["cid_ca"]
ENTERPRISE = "4a6192a4-573d-446d-b3ce-aff9117272a6"
#: Telnyx's view: New York and Florida are labelled high risk, California medium; one number
#: monitored there is not a caller ID of this tenant.
RISKS = {NY: "high", FL: "high", CA: "medium", "+16175550100": "high"}


def _reputation(h: Harness, **settings: Any) -> None:
    """The tenant's caller-ID health settings with ``reputation`` set, and Telnyx's risks."""
    from dialer.adapters.caller_id_health import CallerIdHealthTable
    from dialer.domain.caller_id_health import CallerIdHealthSettings

    CallerIdHealthTable.named(h.table_name).put_settings(
        h.tenant, CallerIdHealthSettings.model_validate({"rest_hours": 6, "reputation": settings}), h.clock()
    )
    account = replace(h.sim.config.accounts[0], spam_risk=RISKS, reputation_enterprise_id=ENTERPRISE)
    h.sim.configure(accounts=(account,))


def _reads(h: Harness) -> int:
    """Reputation list requests the simulator answered (or failed) for the tenant's account."""
    return h.sim.account().stats.requests["list_reputation_numbers"]


def _rest(h: Harness, caller_id: str) -> tuple[str | None, str | None, str | None]:
    record = h.management.get_caller_id(h.tenant, caller_id)
    assert record is not None
    return record.rested_by, record.rest_reason, record.rested_until


def test_an_enabled_tenants_high_risk_number_is_rested_with_its_reason_and_an_operators_rest_stands(
    make_harness: Any,
) -> None:
    from dialer.adapters.caller_id_health import CallerIdHealthTable
    from dialer.domain.dialing import parse_utc

    # GIVEN reputation on at "high", Florida already rested by an operator
    h: Harness = make_harness()
    _reputation(h, enabled=True, enterprise_id=ENTERPRISE, rest_at_spam_risk="high", check_every_minutes=30)
    now = h.clock()
    assert CallerIdHealthTable.named(h.table_name).rest(
        h.tenant,
        "cid_fl",
        until=now + timedelta(hours=1),
        reason="carrier complaint",
        by="operator",
        now=now,
        only_if_not_rested=False,
    )
    # WHEN the reaper passes
    done = h.reaper().run([h.tenant])
    # THEN New York is rested for rest_hours by reputation with the spam_risk named; Florida keeps
    # the operator's rest; California (medium) is not rested
    assert done["reputation_checked"] == 1
    assert done["reputation_rested"] == 1
    by, reason, until = _rest(h, "cid_ny")
    assert by == "reputation"
    assert reason == "Telnyx Number Reputation: spam_risk high (rests at high or above), category robocall"
    assert until is not None
    assert abs(parse_utc(until) - (h.clock() + timedelta(hours=6))) < timedelta(minutes=1)
    assert _rest(h, "cid_fl")[:2] == ("operator", "carrier complaint")
    assert _rest(h, "cid_ca") == (None, None, None)
    # AND a pass within check_every_minutes does not read Telnyx again; one after it does
    assert _reads(h) == 1
    h.reaper().run([h.tenant])
    assert _reads(h) == 1
    h.clock.offset += timedelta(minutes=30)
    h.reaper().run([h.tenant])
    assert _reads(h) == 2


def test_a_tenant_without_reputation_makes_no_request(make_harness: Any) -> None:
    # GIVEN an enterprise configured but reputation off (the default), every number high risk
    h: Harness = make_harness()
    _reputation(h, enabled=False, enterprise_id=ENTERPRISE)
    # WHEN the reaper passes
    done = h.reaper().run([h.tenant])
    # THEN Telnyx was not asked and nothing was rested
    assert _reads(h) == 0
    assert not {k for k in done if k.startswith("reputation")}
    assert all(_rest(h, cid) == (None, None, None) for cid in NUMBERS)


def test_a_telnyx_5xx_rests_nothing_and_the_next_pass_tries_again(make_harness: Any) -> None:
    # GIVEN reputation on, and Telnyx failing every request with a 5xx
    h: Harness = make_harness()
    _reputation(h, enabled=True, enterprise_id=ENTERPRISE, rest_at_spam_risk="medium")
    h.sim.configure(error_5xx_rate=1.0)
    # WHEN the reaper passes
    done = h.reaper().run([h.tenant])
    # THEN the pass completed, the failure is counted, and no caller ID changed
    assert done["reputation_failed"] == 1
    assert _reads(h) == 1
    assert all(_rest(h, cid) == (None, None, None) for cid in NUMBERS)
    # WHEN Telnyx recovers, the very next pass reads again (the failed read was given back)
    h.sim.configure(error_5xx_rate=0.0)
    done = h.reaper().run([h.tenant])
    assert done["reputation_checked"] == 1
    assert {cid for cid in NUMBERS if _rest(h, cid)[0] == "reputation"} == {"cid_ny", "cid_fl", "cid_ca"}
