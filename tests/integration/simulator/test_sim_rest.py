"""REST surface: state, shapes and Telnyx's error bodies."""

from __future__ import annotations

import pytest

from local.simulator.testing import dial_body


def test_assistant_lifecycle_with_versions_and_clone(api):
    # GIVEN a created assistant with its auto-created TeXML app
    created = api.post("/ai/assistants", json={"name": "A", "instructions": "Be brief.", "tool_ids": ["t1"]})
    assert created.status_code == 200
    assistant = created.json()
    assert assistant["id"].startswith("assistant-")
    assert assistant["telephony_settings"]["default_texml_app_id"].isdigit()
    assert "tool_ids" not in assistant
    assert assistant["tools"][-1]["shared"] is True
    aid = assistant["id"]
    # WHEN we update without promoting, THEN main is unchanged but a version exists
    draft = api.post(
        f"/ai/assistants/{aid}",
        json={"instructions": "Draft", "promote_to_main": False, "version_name": "draft"},
    ).json()
    assert api.get(f"/ai/assistants/{aid}").json()["instructions"] == "Be brief."
    versions = api.get(f"/ai/assistants/{aid}/versions").json()["data"]
    assert [v["version_id"] for v in versions] == [draft["version_id"], assistant["version_id"]]
    # WHEN we promote it, THEN it is main
    api.post(f"/ai/assistants/{aid}/versions/{draft['version_id']}/promote")
    assert api.get(f"/ai/assistants/{aid}").json()["instructions"] == "Draft"
    assert api.delete(f"/ai/assistants/{aid}/versions/{draft['version_id']}").status_code == 422
    assert api.delete(f"/ai/assistants/{aid}/versions/{assistant['version_id']}").status_code == 204
    edited = api.post(f"/ai/assistants/{aid}/versions/{draft['version_id']}", json={"greeting": "Hey"}).json()
    assert edited["greeting"] == "Hey"
    assert api.get(f"/ai/assistants/{aid}").json()["greeting"] == "Hey"
    # Clone: a new id and a new TeXML app
    clone = api.post(f"/ai/assistants/{aid}/clone").json()
    assert clone["id"] != aid
    assert (
        clone["telephony_settings"]["default_texml_app_id"]
        != assistant["telephony_settings"]["default_texml_app_id"]
    )
    assert len(api.get("/ai/assistants").json()["data"]) == 2
    assert api.delete(f"/ai/assistants/{aid}").json() == {"id": aid, "object": "assistant", "deleted": True}
    assert api.get(f"/ai/assistants/{aid}").status_code == 404


def test_assistant_validation_uses_fastapi_detail(api):
    response = api.post(
        "/ai/assistants",
        json={"name": "x", "dynamic_variables_webhook_timeout_ms": 20000, "enabled_features": ["fax"]},
    )
    assert response.status_code == 422
    locs = [d["loc"] for d in response.json()["detail"]]
    assert ["body", "instructions"] in locs
    assert ["body", "dynamic_variables_webhook_timeout_ms"] in locs
    assert ["body", "enabled_features", 0] in locs
    assert api.patch("/ai/assistants/assistant-x", json={}).status_code == 405
    assert api.post("/ai/assistants", content=b"{nope").json()["detail"][0]["type"] == "json_invalid"


def test_scheduled_events_crud_and_validation(api):
    aid = api.post("/ai/assistants", json={"name": "A", "instructions": "i"}).json()["id"]
    bad = api.post(
        f"/ai/assistants/{aid}/scheduled_events",
        json={
            "telnyx_conversation_channel": "voice",
            "telnyx_agent_target": "+15550000100",
            "telnyx_end_user_target": "+15550000200",
            "scheduled_at_fixed_datetime": "2099-01-01T00:00:00Z",
            "retry_interval_secs": 10,
        },
    )
    assert bad.status_code == 422
    assert {tuple(d["loc"]) for d in bad.json()["detail"]} == {
        ("body", "telnyx_conversation_channel"),
        ("body", "retry_interval_secs"),
    }
    ids = []
    for day in range(1, 4):
        created = api.post(
            f"/ai/assistants/{aid}/scheduled_events",
            json={
                "telnyx_conversation_channel": "phone_call",
                "telnyx_agent_target": "+15550000100",
                "telnyx_end_user_target": "+15550000200",
                "scheduled_at_fixed_datetime": f"2099-01-0{day}T00:00:00Z",
                "dynamic_variables": {"first_name": "T"},
                "conversation_metadata": {"attempt": 1},
            },
        )
        assert created.status_code == 201
        assert created.json()["status"] == "pending"
        ids.append(created.json()["scheduled_event_id"])
    page = api.get(
        f"/ai/assistants/{aid}/scheduled_events", params={"page[size]": 2, "page[number]": 2}
    ).json()
    assert page["meta"] == {"page_number": 2, "page_size": 2, "total_pages": 2, "total_results": 3}
    assert len(page["data"]) == 1
    assert api.get(f"/ai/assistants/{aid}/scheduled_events/{ids[0]}").json()["scheduled_event_id"] == ids[0]
    assert api.delete(f"/ai/assistants/{aid}/scheduled_events/{ids[0]}").status_code == 200
    assert api.get(f"/ai/assistants/{aid}/scheduled_events/{ids[0]}").status_code == 404


@pytest.mark.parametrize(
    ("change", "code", "pointer"),
    [
        ({"connection_id": None}, "10004", "/connection_id"),
        ({"to": None}, "10004", "/to"),
        ({"from": None}, "10004", "/from"),
        ({"to": "5550001234"}, "10016", "/to"),
        ({"from": "+1 555 000"}, "10016", "/from"),
        ({"client_state": "not base64!"}, "10015", "/client_state"),
        ({"answering_machine_detection": "maybe"}, "10032", "/answering_machine_detection"),
        ({"assistant": {"instructions": "no id"}}, "10004", "/assistant/id"),
        ({"time_limit_secs": 5}, "10033", "/time_limit_secs"),
    ],
)
def test_dial_validation_errors(api, sim, change, code, pointer):
    body = {k: v for k, v in {**dial_body("+15550005001"), **change}.items() if v is not None}
    response = api.post("/calls", json=body)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["code"], error["source"]["pointer"]) == (code, pointer)
    assert sim.stats()["dials_accepted"] == 0


def test_dial_on_an_unknown_connection_when_the_account_lists_its_connections(make_sim, receiver):
    import httpx

    from local.simulator import AccountConfig

    sim = make_sim(accounts=(AccountConfig(api_key="KEY_C", connection_ids=("111",)),))
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": "Bearer KEY_C"}) as client:
        response = client.post("/calls", json=dial_body("+15550005002"))
        assert response.json()["errors"][0]["code"] == "10015"
        assert client.post("/calls", json=dial_body("+15550005002", connection_id="111")).status_code == 200


def test_texml_validation(api):
    aid = api.post("/ai/assistants", json={"name": "A", "instructions": "i"}).json()["id"]
    response = api.post(
        "/texml/ai_calls/123",
        json={
            "from": "+15550000100",
            "MachineDetection": "enable",
            "AIAssistantDynamicVariables": {"n": 5},
            "Url": "x",
        },
    )
    assert response.status_code == 422
    codes = {(e["code"], e["source"]["pointer"]) for e in response.json()["errors"]}
    assert {
        ("10004", "/From"),
        ("10004", "/To"),
        ("10004", "/AIAssistantId"),
        ("10015", "/Url"),
        ("10015", "/AIAssistantDynamicVariables"),
        ("10032", "/MachineDetection"),
    } <= codes
    form = api.post(
        "/texml/ai_calls/123",
        data={
            "From": "+15550000100",
            "To": "+15550005003",
            "AIAssistantId": aid,
            "AIAssistantDynamicVariables[first_name]": "Ann",
        },
    )
    assert form.status_code == 200
    assert form.json()["call_sid"].startswith("v3:")


def test_call_status_and_unknown_call(api, sim):
    ccid = api.post("/calls", json=dial_body("+15550005004")).json()["data"]["call_control_id"]
    status = api.get(f"/calls/{ccid}").json()["data"]
    assert status["call_control_id"] == ccid
    assert status["record_type"] == "call"
    assert api.post("/calls/v3:nope/actions/hangup", json={}).json()["errors"][0]["code"] == "90015"
    assert api.get("/calls/v3:nope").status_code == 404
    assert api.post(f"/calls/{ccid}/actions/hangup", json={"client_state": "???"}).status_code == 422


def test_conversations_messages_and_insights_after_a_call(make_sim, receiver):
    import httpx

    sim = make_sim(number_scenarios={"+15550005005": "human"})
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}) as api:
        # GIVEN an insight group with a structured insight, linked to the assistant
        template = api.post(
            "/ai/conversations/insights",
            json={
                "name": "Outcome",
                "instructions": "Classify.",
                "json_schema": {
                    "type": "object",
                    "properties": {"qualified": {"type": "boolean"}, "disposition": {"type": "string"}},
                },
            },
        ).json()["data"]
        group = api.post("/ai/conversations/insight-groups", json={"name": "Sales"}).json()["data"]
        assert (
            api.post(
                f"/ai/conversations/insight-groups/{group['id']}/insights/{template['id']}/assign"
            ).status_code
            == 200
        )
        assert (
            api.get(f"/ai/conversations/insight-groups/{group['id']}").json()["data"]["insights"][0]["id"]
            == (template["id"])
        )
        aid = api.post(
            "/ai/assistants",
            json={"name": "A", "instructions": "i", "insight_settings": {"insight_group_id": group["id"]}},
        ).json()["id"]
        # WHEN a human call plays out
        ccid = api.post("/calls", json=dial_body("+15550005005", assistant={"id": aid})).json()["data"][
            "call_control_id"
        ]
        assert sim.wait_idle(10)
        # THEN the conversation is findable by call_control_id, with messages and insights
        found = api.get("/ai/conversations", params={"metadata->call_control_id": f"eq.{ccid}"}).json()[
            "data"
        ]
        assert len(found) == 1
        cid = found[0]["id"]
        assert (
            api.get("/ai/conversations", params={"metadata->call_control_id": "eq.v3:other"}).json()["data"]
            == []
        )
        assert api.get(f"/ai/conversations/{cid}").json()["data"]["metadata"]["assistant_id"] == aid
        messages = api.get(f"/ai/conversations/{cid}/messages").json()
        assert messages["meta"]["total_results"] == len(messages["data"]) >= 2
        insights = api.get(f"/ai/conversations/{cid}/conversations-insights").json()["data"]
        result = insights[0]["conversation_insights"][0]
        assert result["insight_id"] == template["id"]
        assert isinstance(result["result"], str)  # stringified JSON on this endpoint
    webhook = next(
        e for e in receiver.events() if e["data"]["event_type"] == "call.conversation_insights.generated"
    )
    assert webhook["data"]["payload"]["insight_group_id"] == group["id"]
    assert set(webhook["data"]["payload"]["results"][0]["result"]) == {"qualified", "disposition"}


def test_phone_numbers_list_and_update(api):
    listed = api.get("/phone_numbers").json()
    assert listed["meta"]["total_results"] == 3
    number = api.get("/phone_numbers", params={"filter[phone_number]": "0000101"}).json()["data"][0]
    assert number["phone_number"] == "+15550000101"
    updated = api.patch(f"/phone_numbers/{number['id']}", json={"connection_id": "222"}).json()["data"]
    assert updated["connection_id"] == "222"
    assert [
        n["id"] for n in api.get("/phone_numbers", params={"filter[connection_id]": "222"}).json()["data"]
    ] == [number["id"]]
    assert api.patch("/phone_numbers/999", json={}).status_code == 404


def test_public_key_endpoint(api, sim):
    assert api.get("/public_key").json() == {"data": {"public": sim.public_key_b64}}
