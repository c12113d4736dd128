"""Do-not-call wins over every later conclusion, whichever channel said it first (the in-call tool
or an insight), through the real event processor and assistant_tools handlers on moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dialer.adapters.people_table import DncTable
from tests.integration.conftest import TENANT, load_handler
from tests.integration.test_assistant_tools import call_tool
from tests.integration.test_event_processor import message_for, run
from tests.support.seed import Seeder
from tests.support.signing import load_fixture


def insight(call_control_id: str, event_id: str, disposition: str, *, stringified: bool) -> dict[str, Any]:
    doc = json.loads(json.dumps(load_fixture("call.conversation_insights.generated")))
    doc["data"]["id"] = event_id
    doc["data"]["payload"]["call_control_id"] = call_control_id
    result: Any = {"disposition": disposition, "summary": f"said {disposition}"}
    doc["data"]["payload"]["results"] = [
        {"insight_id": "i-1", "result": json.dumps(result) if stringified else result}
    ]
    return doc


@pytest.fixture
def seed(moto_stack) -> Seeder:  # type: ignore[no-untyped-def]
    from dialer.adapters.campaigns_table import CampaignsTable

    return Seeder(CampaignsTable(moto_stack.table_name))


@pytest.fixture
def tools(aws: dict[str, Any], moto_stack) -> Any:  # type: ignore[no-untyped-def]
    import boto3

    from dialer.adapters.secrets import TOOL_SECRET, TenantSecrets
    from tests.integration.test_assistant_tools import SECRET_A
    from tests.support.aws import PARAM_PREFIX

    TenantSecrets(PARAM_PREFIX, client=boto3.client("ssm")).put(TENANT, TOOL_SECRET, SECRET_A)
    module = load_handler("assistant_tools")
    module.tools.cache_clear()
    return module


@pytest.mark.parametrize("stringified", [False, True])
def test_a_later_insight_never_undoes_a_do_not_call(processor_handler, aws, moto_stack, seed, stringified):
    phone = "+13125550161" if stringified else "+13125550162"
    call_id = f"v3:dnc-first-{stringified}"
    seed.campaign(TENANT, f"cmp_dnc_first_{stringified}")
    lead = seed.lead(TENANT, f"cmp_dnc_first_{stringified}", phone)
    seed.linked_call(lead, 1, call_id)
    # GIVEN an insight that concluded do_not_call
    assert run(
        processor_handler,
        [message_for(insight(call_id, f"ev-a-{stringified}", "do_not_call", stringified=stringified))],
    ) == {"batchItemFailures": []}
    dnc = DncTable(moto_stack.table_name)
    assert dnc.get(TENANT, phone) is not None
    # WHEN a later insight says "interested"
    run(
        processor_handler,
        [message_for(insight(call_id, f"ev-b-{stringified}", "interested", stringified=stringified))],
    )
    # THEN the call, the lead and the DNC list still say do-not-call, and the lead has no result
    call = seed.table.items.get({"pk": f"T#{TENANT}#CALL#{call_id}", "sk": "CALL"})
    assert call["disposition"] == "do_not_call"
    stored = seed.table.items.get({"pk": f"T#{TENANT}#LEAD#{lead.lead_id}", "sk": "LEAD"})
    assert stored["last_disposition"] == "do_not_call"
    assert "result" not in stored
    assert stored["status"] == "blocked"
    assert dnc.get(TENANT, phone) is not None


def test_an_insight_after_the_tools_opt_out_changes_nothing(
    processor_handler, tools, aws, moto_stack, seed, signer
):
    phone = "+13125550163"
    seed.campaign(TENANT, "cmp_tool_first")
    lead = seed.lead(TENANT, "cmp_tool_first", phone)
    seed.linked_call(lead, 1, "v3:tool-first")
    # GIVEN the assistant recorded do_not_call during the call
    response = call_tool(
        tools,
        "set_disposition",
        {"call_control_id": "v3:tool-first", "disposition": "do_not_call"},
        signer=signer,
    )
    assert response["json"]["ok"] is True
    # WHEN the insight afterwards concludes "not_interested"
    run(
        processor_handler,
        [message_for(insight("v3:tool-first", "ev-tool-first", "not_interested", stringified=False))],
    )
    # THEN do-not-call stands
    call = seed.table.items.get({"pk": f"T#{TENANT}#CALL#v3:tool-first", "sk": "CALL"})
    assert call["disposition"] == "do_not_call"
    stored = seed.table.items.get({"pk": f"T#{TENANT}#LEAD#{lead.lead_id}", "sk": "LEAD"})
    assert "result" not in stored
    assert DncTable(moto_stack.table_name).get(TENANT, phone) is not None
