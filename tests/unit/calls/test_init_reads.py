"""The init webhook's lean readers agree with the writers of the items they read."""

from __future__ import annotations

import json

from dialer.adapters.campaigns_table import (
    LeadRecord,
    lead_item,
)
from dialer.adapters.init_context import CampaignView, LeadView
from dialer.domain.campaigns import CampaignConfig
from dialer.domain.leads import LeadFields, normalize_lead
from dialer.services.init_webhook import decode_client_state, parse_init_request
from tests.support.seed import NOW, client_state


def test_lead_view_reads_what_lead_item_writes():
    lead = normalize_lead(
        LeadFields(
            phone="+12125550123",
            first_name="Ada",
            last_name="L",
            company="AE",
            state="NY",
            custom_fields={"plan": "gold"},
            time_zone="America/Chicago",
        )
    )
    record = LeadRecord("t", "ld_1", "cmp_1", lead, "pending", 2, NOW, NOW)
    view = LeadView.from_item(lead_item(record))
    assert view.lead_id == "ld_1"
    assert view.campaign_id == "cmp_1"
    assert view.attempts == 2
    assert view.fields["first_name"] == "Ada"
    assert view.fields["company"] == "AE"
    assert view.fields["state"] == "NY"
    assert view.fields["phone"] == "+12125550123"
    assert view.custom_fields == {"plan": "gold"}
    assert view.zone == lead.zone == "America/Chicago"


def test_campaign_view_reads_the_validated_config():
    config = CampaignConfig.model_validate(
        {
            "name": "c",
            "assistant_id": "a",
            "variables": {"who": "first_name"},
            "window": {"fallback_zone": "UTC"},
        }
    )
    view = CampaignView.from_item(
        {"campaign_id": "cmp_1", "status": "active", "config_json": config.model_dump_json()}
    )
    assert view.variables == {"who": "first_name"}
    assert view.fallback_zone == "UTC"


def test_both_payload_variants_and_junk_parse_without_raising():
    documented = {"data": {"event_type": "assistant.initialization", "payload": {"call_control_id": "v3:x"}}}
    edge = {
        "data": {"event_type": "dynamic_variables", "payload": {"telnyx_end_user_target": "+15550000200"}}
    }
    assert parse_init_request(json.dumps(documented).encode()).call_control_id == "v3:x"
    assert parse_init_request(json.dumps(edge).encode()).end_user == "+15550000200"
    for junk in (
        b"",
        b"\xff",
        b"[]",
        b"null",
        b'{"data": 5}',
        b'{"data": {"payload": {"call_control_id": 7}}}',
    ):
        assert parse_init_request(junk).call_control_id is None


def test_client_state_round_trip_and_rejects():
    assert decode_client_state(client_state("t", "c", "ld_1", 3)) == {"t": "t", "c": "c", "l": "ld_1", "n": 3}
    for bad in (None, "", "not base64!", "eyJ4IjogMX0=", "W10="):
        assert decode_client_state(bad) is None
