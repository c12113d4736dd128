"""The assistant lifecycle through the management API, with the Telnyx simulator as Telnyx."""

from __future__ import annotations

from typing import Any

from dialer.domain.assistants import DEPLOYMENT_TOOLS
from local.simulator import Simulator
from tests.integration.management.conftest import MINIMAL_ASSISTANT, Tenant
from tests.support.management import InProcessApi


def _upstream(sim: Simulator, tenant: Tenant, assistant_id: str) -> dict[str, Any]:
    account = sim.account(tenant.telnyx_key)
    with account.lock:
        return dict(account.assistants[assistant_id])


def test_create_fills_in_this_deployments_defaults(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    # WHEN an assistant is created with only a name and instructions
    created = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT)

    # THEN Telnyx got our webhook URL, an explicit timeout, data retention and our tools
    assert created.status == 201, created.body
    upstream = _upstream(telnyx_sim, alpha, created.body["id"])
    base = "https://abc123.execute-api.us-east-1.amazonaws.com/test"
    assert upstream["dynamic_variables_webhook_url"] == f"{base}/webhooks/telnyx/alpha/init"
    assert upstream["dynamic_variables_webhook_timeout_ms"] == 3000
    assert upstream["privacy_settings"]["data_retention"] is True
    tools = {t["webhook"]["name"]: t["webhook"] for t in upstream["tools"] if t["type"] == "webhook"}
    assert set(tools) == set(DEPLOYMENT_TOOLS)
    assert tools["opt_out"]["url"] == f"{base}/tools/alpha/opt_out"
    assert tools["opt_out"]["headers"][0]["name"] == "X-Tool-Secret"
    assert created.body["texml_app_id"]


def test_defaults_are_overridable(api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator) -> None:
    body = {
        **MINIMAL_ASSISTANT,
        "dynamic_variables_webhook_url": "https://crm.example/init",
        "dynamic_variables_webhook_timeout_ms": 800,
        "privacy_settings": {"data_retention": False},
        "deployment_tools": False,
    }
    created = api.post("/assistants", alpha.api_key, body)
    upstream = _upstream(telnyx_sim, alpha, created.body["id"])
    assert upstream["dynamic_variables_webhook_url"] == "https://crm.example/init"
    assert upstream["dynamic_variables_webhook_timeout_ms"] == 800
    assert upstream["privacy_settings"] == {"data_retention": False}
    assert not upstream.get("tools")


def test_bad_input_is_a_422_naming_the_field(api: InProcessApi, alpha: Tenant) -> None:
    cases = [
        ({"name": "x"}, ["body", "instructions"]),
        (
            {**MINIMAL_ASSISTANT, "dynamic_variables_webhook_timeout_ms": 20000},
            ["body", "dynamic_variables_webhook_timeout_ms"],
        ),
        (
            {**MINIMAL_ASSISTANT, "tools": [{"type": "transfer", "transfer": {"targets": []}}]},
            ["body", "tools", 0, "transfer", "transfer", "from"],
        ),
        (
            {
                **MINIMAL_ASSISTANT,
                "telephony_settings": {"voicemail_detection": {"on_voicemail_detected": {"action": "shout"}}},
            },
            ["body", "telephony_settings", "voicemail_detection", "on_voicemail_detected", "action"],
        ),
        ({**MINIMAL_ASSISTANT, "transcription": {"model": "nope"}}, ["body", "transcription", "model"]),
        ({**MINIMAL_ASSISTANT, "voice_settings": {"voice_speed": 1}}, ["body", "voice_settings", "voice"]),
    ]
    for body, loc in cases:
        response = api.post("/assistants", alpha.api_key, body)
        assert response.status == 422, (body, response.body)
        locs = [e["loc"] for e in response.body["detail"]]
        assert any(loc_ == loc or loc_[: len(loc)] == loc for loc_ in locs), (loc, locs)
        assert all({"loc", "msg", "type"} <= e.keys() for e in response.body["detail"])


def test_every_tool_type_validates(api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator) -> None:
    tools = [
        {"type": "webhook", "webhook": {"name": "crm", "description": "d", "url": "https://x.example/t"}},
        {"type": "hangup", "hangup": {}},
        {"type": "transfer", "transfer": {"from": "+15550001001", "targets": [{"to": "+15550009999"}]}},
        {"type": "handoff", "handoff": {"ai_assistants": [{"id": "assistant-1", "name": "Other"}]}},
        {"type": "retrieval", "retrieval": {"bucket_ids": ["b1"]}},
        {"type": "send_dtmf", "send_dtmf": {}},
        {"type": "send_message", "send_message": {"message_template": "hi"}},
        {"type": "skip_turn", "skip_turn": {}},
        {"type": "refer", "refer": {"targets": [{"name": "desk", "sip_address": "sip:desk@example.com"}]}},
        {"type": "invite", "invite": {"from": "+15550001001"}},
        {
            "type": "client_side_tool",
            "client_side_tool": {"name": "c", "description": "d", "parameters": {"type": "object"}},
        },
        {"type": "pay", "pay": {"connector_name": "stripe"}},
    ]
    created = api.post(
        "/assistants", alpha.api_key, {**MINIMAL_ASSISTANT, "tools": tools, "deployment_tools": False}
    )
    assert created.status == 201, created.body
    assert [t["type"] for t in _upstream(telnyx_sim, alpha, created.body["id"])["tools"]] == [
        t["type"] for t in tools
    ]
    unknown = api.post(
        "/assistants", alpha.api_key, {**MINIMAL_ASSISTANT, "tools": [{"type": "vision", "vision": {}}]}
    )
    assert unknown.status == 422


def test_patch_changes_one_field_upstream_and_clobbers_nothing(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    # GIVEN an assistant with telephony settings including voicemail detection
    body = {
        **MINIMAL_ASSISTANT,
        "voice_settings": {"voice": "Telnyx.NaturalHD.astra", "voice_speed": 1.0},
        "telephony_settings": {
            "time_limit_secs": 600,
            "voicemail_detection": {
                "on_voicemail_detected": {
                    "action": "leave_message_and_stop_assistant",
                    "voicemail_message": {"type": "message", "message": "Hi"},
                }
            },
        },
    }
    assistant_id = api.post("/assistants", alpha.api_key, body).body["id"]
    before = _upstream(telnyx_sim, alpha, assistant_id)

    # WHEN one nested field and one top-level field are patched
    patched = api.patch(
        f"/assistants/{assistant_id}",
        alpha.api_key,
        {"telephony_settings": {"time_limit_secs": 900}, "greeting": "Hello!"},
    )

    # THEN exactly those change upstream; everything else (siblings included) is as it was
    assert patched.status == 200, patched.body
    after = _upstream(telnyx_sim, alpha, assistant_id)
    assert after["telephony_settings"]["time_limit_secs"] == 900
    assert (
        after["telephony_settings"]["voicemail_detection"]
        == before["telephony_settings"]["voicemail_detection"]
    )
    assert after["greeting"] == "Hello!"
    ignore = {"telephony_settings", "greeting", "version_id", "version_created_at", "version_name"}
    assert {k: v for k, v in after.items() if k not in ignore} == {
        k: v for k, v in before.items() if k not in ignore
    }
    assert patched.body["settings"]["greeting"] == "Hello!"

    # AND a partial voice block keeps the voice
    api.patch(f"/assistants/{assistant_id}", alpha.api_key, {"voice_settings": {"voice_speed": 1.2}})
    assert _upstream(telnyx_sim, alpha, assistant_id)["voice_settings"] == {
        "voice": "Telnyx.NaturalHD.astra",
        "voice_speed": 1.2,
    }


def test_patch_that_changes_nothing_sends_nothing(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    assistant_id = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT).body["id"]
    version = _upstream(telnyx_sim, alpha, assistant_id)["version_id"]
    response = api.patch(f"/assistants/{assistant_id}", alpha.api_key, {"name": MINIMAL_ASSISTANT["name"]})
    assert response.status == 200
    assert _upstream(telnyx_sim, alpha, assistant_id)["version_id"] == version


def test_patch_validation_names_the_merged_field(api: InProcessApi, alpha: Tenant) -> None:
    assistant_id = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT).body["id"]
    response = api.patch(
        f"/assistants/{assistant_id}", alpha.api_key, {"telephony_settings": {"time_limit_secs": 5}}
    )
    assert response.status == 422
    assert response.body["detail"][0]["loc"] == ["body", "telephony_settings", "time_limit_secs"]


def test_list_clone_versions_promote_sync_delete(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    assistant_id = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT).body["id"]

    listed = api.every("/assistants", alpha.api_key)
    assert assistant_id in {a["id"] for a in listed}
    assert all(a["source"] == "mirror" for a in listed)

    clone = api.post(f"/assistants/{assistant_id}/clone", alpha.api_key)
    assert clone.status == 201
    assert clone.body["id"] != assistant_id

    staged = api.patch(
        f"/assistants/{assistant_id}",
        alpha.api_key,
        {"greeting": "staged", "promote_to_main": False, "version_name": "v2"},
    )
    assert staged.status == 200
    assert staged.body["settings"].get("greeting") != "staged"
    versions = api.get(f"/assistants/{assistant_id}/versions", alpha.api_key).body["data"]
    assert len(versions) == 2
    v2 = next(v for v in versions if v["version_name"] == "v2")
    promoted = api.post(f"/assistants/{assistant_id}/versions/{v2['version_id']}/promote", alpha.api_key)
    assert promoted.status == 200
    assert promoted.body["settings"]["greeting"] == "staged"
    assert _upstream(telnyx_sim, alpha, assistant_id)["greeting"] == "staged"

    # An assistant made in the Telnyx portal appears on sync; one deleted there is marked.
    account = telnyx_sim.account(alpha.telnyx_key)
    import httpx

    portal = httpx.post(
        f"{telnyx_sim.base_url}/ai/assistants",
        headers={"Authorization": "Bearer KEY_ALPHA"},
        json={"name": "from portal", "instructions": "x"},
    ).json()
    with account.lock:
        del account.assistants[clone.body["id"]]
    synced = api.post("/assistants/sync", alpha.api_key)
    assert synced.status == 200
    assert synced.body["created"] >= 1
    assert synced.body["marked_deleted"] >= 1
    assert api.get(f"/assistants/{portal['id']}", alpha.api_key).status == 200
    assert api.get(f"/assistants/{clone.body['id']}", alpha.api_key).status == 404
    listed = api.every("/assistants", alpha.api_key, query={"include_deleted": "true"})
    assert next(a for a in listed if a["id"] == clone.body["id"])["deleted_upstream"] is True

    deleted = api.delete(f"/assistants/{assistant_id}", alpha.api_key)
    assert deleted.status == 204
    assert api.get(f"/assistants/{assistant_id}", alpha.api_key).status == 404
    with account.lock:
        assert assistant_id not in account.assistants


def test_list_pages_with_a_cursor(api: InProcessApi, alpha: Tenant) -> None:
    for i in range(3):
        api.post("/assistants", alpha.api_key, {**MINIMAL_ASSISTANT, "name": f"paged {i}"})
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get("/assistants", alpha.api_key, query=query).body
        seen.extend(a["id"] for a in page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 3
    assert api.get("/assistants", alpha.api_key, query={"cursor": "garbage!"}).status == 422


def test_numbers_assign_and_unassign(api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator) -> None:
    first = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT).body
    second = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT).body
    numbers = api.get("/numbers", alpha.api_key).body["data"]
    number = next(n for n in numbers if n["phone_number"] == "+15550001002")

    assigned = api.put(f"/numbers/{number['id']}/assignment", alpha.api_key, {"assistant_id": first["id"]})
    assert assigned.status == 200, assigned.body
    assert assigned.body["connection_id"] == first["texml_app_id"]
    listed = {n["id"]: n for n in api.get("/numbers", alpha.api_key).body["data"]}
    assert listed[number["id"]]["assistant_id"] == first["id"]

    refused = api.put(f"/numbers/{number['id']}/assignment", alpha.api_key, {"assistant_id": second["id"]})
    assert refused.status == 409
    forced = api.put(
        f"/numbers/{number['id']}/assignment", alpha.api_key, {"assistant_id": second["id"], "force": True}
    )
    assert forced.status == 200
    assert forced.body["connection_id"] == second["texml_app_id"]

    assert api.delete(f"/numbers/{number['id']}/assignment", alpha.api_key).status == 204
    account = telnyx_sim.account(alpha.telnyx_key)
    with account.lock:
        assert account.phone_numbers[number["id"]]["connection_id"] is None
    assert api.delete(f"/numbers/{number['id']}/assignment", alpha.api_key).status == 404


def test_caller_id_pool(api: InProcessApi, alpha: Tenant) -> None:
    created = api.post("/caller-ids", alpha.api_key, {"phone_number": "+15550001001", "daily_cap": 50})
    assert created.status == 201
    assert created.body["enabled"] is True
    cid = created.body["id"]
    patched = api.patch(f"/caller-ids/{cid}", alpha.api_key, {"enabled": False})
    assert patched.body["enabled"] is False
    assert patched.body["daily_cap"] == 50
    assert cid in {c["id"] for c in api.every("/caller-ids", alpha.api_key)}
    assert api.post("/caller-ids", alpha.api_key, {"phone_number": "555"}).status == 422
    assert api.delete(f"/caller-ids/{cid}", alpha.api_key).status == 204
    assert api.get(f"/caller-ids/{cid}", alpha.api_key).status == 404


def test_patch_keeps_settings_only_telnyx_knows(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    # GIVEN an assistant whose transcription block carries a key newer than the published spec
    # (set in the Telnyx portal), which our strict models do not know
    created = api.post(
        "/assistants", alpha.api_key, {**MINIMAL_ASSISTANT, "transcription": {"model": "deepgram/flux"}}
    )
    assert created.status == 201, created.body
    assistant_id = created.body["id"]
    account = telnyx_sim.account(alpha.telnyx_key)
    with account.lock:
        account.assistants[assistant_id]["transcription"] = {
            "model": "deepgram/flux",
            "language": "en",
            "fallback_models": ["deepgram/nova-3"],
        }
    # WHEN the caller changes one field of that block
    patched = api.patch(f"/assistants/{assistant_id}", alpha.api_key, {"transcription": {"language": "es"}})
    # THEN that field changes upstream and the unknown one is sent back unchanged, not dropped
    assert patched.status == 200, patched.body
    assert _upstream(telnyx_sim, alpha, assistant_id)["transcription"] == {
        "model": "deepgram/flux",
        "language": "es",
        "fallback_models": ["deepgram/nova-3"],
    }
