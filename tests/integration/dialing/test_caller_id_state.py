"""A caller ID's area-code state is stored with it when it is added, and the dialer ranks its pool
by the stored state: no dialer loads the phonenumbers geocoder (~0.3 s of data) to place the
numbers of its pool. Items written before the state was stored still read a derived one."""

from __future__ import annotations

from typing import Any

import boto3

from dialer import keys
from dialer.adapters.management_table import CallerIdRecord
from dialer.domain.dialing import CallerIdOption, choose_caller_id
from tests.integration.dialing.conftest import CALLER_IDS, Harness
from tests.integration.dialing.test_after_call import sim_calls


def _item(h: Harness, caller_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(h.table_name)
    return table.get_item(Key=keys.caller_id_key(h.tenant, caller_id), ConsistentRead=True)["Item"]


def test_a_caller_id_is_stored_with_the_state_its_area_code_presumes(make_harness: Any) -> None:
    # GIVEN the harness's pool (a NY, a FL and a CA number) and a toll-free number added to it
    h: Harness = make_harness()
    now = h.clock().isoformat()
    assert h.management.put_caller_id(
        CallerIdRecord(h.tenant, "cid_tollfree", "+18005550100", 10, True, now, now), new=True
    )
    # THEN each item carries its state ("" where the area code presumes none)
    assert [_item(h, c)["area_code_state"] for c, _ in CALLER_IDS] == ["NY", "FL", "CA"]
    assert _item(h, "cid_tollfree")["area_code_state"] == ""
    record = h.management.get_caller_id(h.tenant, "cid_tollfree")
    assert record is not None
    assert record.area_code_state is None


def test_an_item_written_before_the_state_was_stored_reads_a_derived_one(make_harness: Any) -> None:
    # GIVEN a caller-ID item without the attribute (written by an earlier version)
    h: Harness = make_harness()
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(h.table_name)
    table.update_item(Key=keys.caller_id_key(h.tenant, "cid_fl"), UpdateExpression="REMOVE area_code_state")
    # THEN its record still says where the number is
    record = h.management.get_caller_id(h.tenant, "cid_fl")
    assert record is not None
    assert record.area_code_state == "FL"


def test_the_dialer_ranks_its_pool_by_the_stored_state(make_harness: Any) -> None:
    # GIVEN a lead in Texas (area code 512, a state no number of the pool is in) and the number
    # the per-lead tie-break would rank last, stored as a Texas number
    h: Harness = make_harness()
    campaign_id = h.campaign(1, start=3)
    [lead] = h.leads(campaign_id)
    assert str(lead["phone"]).startswith("+1512")
    unplaced = [CallerIdOption(c, n, 100, None) for c, n in CALLER_IDS]
    last = choose_caller_id(
        unplaced, str(lead["phone"]), ("TX",), now=h.clock(), tie_key=str(lead["lead_id"])
    )[-1]
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(h.table_name)
    table.update_item(
        Key=keys.caller_id_key(h.tenant, last.caller_id_id),
        UpdateExpression="SET area_code_state = :tx",
        ExpressionAttributeValues={":tx": "TX"},
    )
    # WHEN it is dialled
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    assert h.pump_dials([h.dialer()], webhooks=False)["dialed"] == 1
    # THEN it is dialled from that number: the stored state placed it, not the geocoder
    [call] = sim_calls(h)
    assert call.from_ == last.phone_number
