"""Each scenario plays out as the documented sequence of signed webhooks."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl

import httpx
import pytest

from local.simulator import Simulator, WebhookReceiver
from local.simulator.testing import CLIENT_STATE, dial_body, events_for, types_of

HUMAN, VOICEMAIL, NO_ANSWER, BUSY = "+15550001001", "+15550001002", "+15550001003", "+15550001004"
INVALID, FAILED, START_FAILED = "+15550001005", "+15550001006", "+15550001007"
FORCED = {
    HUMAN: "human",
    VOICEMAIL: "voicemail",
    NO_ANSWER: "no_answer",
    BUSY: "busy",
    INVALID: "invalid_number",
    FAILED: "failed",
    START_FAILED: "start_failed",
}


@pytest.fixture
def forced(make_sim) -> Simulator:
    return make_sim(number_scenarios=FORCED)


@pytest.fixture
def client(forced: Simulator):
    with httpx.Client(base_url=forced.base_url, headers={"Authorization": f"Bearer {forced.api_key}"}) as c:
        yield c


def _assistant(client: httpx.Client, **extra) -> str:
    body = {
        "name": "Lead qualifier",
        "instructions": "You are Ava.",
        "greeting": "Hi {{first_name}}!",
        **extra,
    }
    return client.post("/ai/assistants", json=body).json()["id"]


def _play(client: httpx.Client, sim: Simulator, receiver: WebhookReceiver, to: str, **extra) -> list[dict]:
    response = client.post("/calls", json=dial_body(to, **extra))
    assert response.status_code == 200, response.text
    assert sim.wait_idle(10)
    return events_for(receiver, response.json()["data"]["call_control_id"])


def test_human_with_assistant_and_premium_amd_plays_the_full_conversation(client, forced, receiver):
    # GIVEN an assistant and a number forced to answer as a person
    assistant_id = _assistant(client)
    # WHEN we dial it with the assistant and premium AMD
    events = _play(
        client,
        forced,
        receiver,
        HUMAN,
        answering_machine_detection="premium",
        assistant={"id": assistant_id, "dynamic_variables": {"first_name": "Ann"}},
    )
    # THEN the documented sequence arrives, signed, with our client_state echoed
    assert types_of(events) == [
        "call.initiated",
        "call.answered",
        "call.machine.premium.detection.ended",
        "call.conversation.created",
        "call.hangup",
        "call.conversation.ended",
        "call.cost",
        "call.conversation_insights.generated",
    ]
    assert all(r.verified for r in receiver.items())
    assert {e["data"]["payload"]["client_state"] for e in events} == {CLIENT_STATE}
    by_type = {e["data"]["event_type"]: e for e in events}
    assert by_type["call.machine.premium.detection.ended"]["data"]["payload"]["result"].startswith("human_")
    assert by_type["call.hangup"]["data"]["payload"]["hangup_cause"] == "normal_clearing"
    ended = by_type["call.conversation.ended"]["data"]
    assert ended["payload"]["messages"][0]["content"] == "Hi Ann!"
    assert (
        ended["payload"]["conversation_id"]
        == by_type["call.conversation.created"]["data"]["payload"]["conversation_id"]
    )
    assert "created_at" in ended
    assert all(e["meta"] == {"attempt": 1, "delivered_to": receiver.url + "/a"} for e in events)
    occurred = [e["data"]["occurred_at"] for e in events]
    assert occurred == sorted(occurred)


def test_voicemail_with_premium_amd(client, forced, receiver):
    events = _play(
        client,
        forced,
        receiver,
        VOICEMAIL,
        answering_machine_detection="premium",
        assistant={"id": _assistant(client)},
    )
    assert types_of(events) == [
        "call.initiated",
        "call.answered",
        "call.machine.premium.detection.ended",
        "call.machine.premium.greeting.ended",
        "call.hangup",
        "call.cost",
    ]
    assert events[2]["data"]["payload"]["result"] == "machine"


def test_steps_a_hangup_made_moot_do_not_keep_the_simulator_busy(make_sim, receiver):
    # GIVEN a mailbox that would wait a long time for speech after its greeting (as the demo's do)
    sim = make_sim(number_scenarios=FORCED, mailbox_silence_secs=(20000.0, 20000.0))  # 20 s real
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}) as client:
        body = dial_body(
            VOICEMAIL, answering_machine_detection="premium", assistant={"id": _assistant(client)}
        )
        ccid = client.post("/calls", json=body).json()["data"]["call_control_id"]
        deadline = time.monotonic() + 10
        while "call.machine.premium.greeting.ended" not in types_of(events_for(receiver, ccid)):
            assert time.monotonic() < deadline, types_of(events_for(receiver, ccid))
            time.sleep(0.02)
        # WHEN we hang up after the greeting, as the product does (the mailbox's wait becomes moot)
        assert client.post(f"/calls/{ccid}/actions/hangup", json={}).status_code == 200
        # THEN the simulator is idle once the hangup's webhooks are out, not after the mailbox's wait
        started = time.monotonic()
        assert sim.wait_idle(5)
        assert time.monotonic() - started < 5
        assert types_of(events_for(receiver, ccid))[-2:] == ["call.hangup", "call.cost"]


@pytest.mark.parametrize(
    ("to", "causes", "sip"),
    [
        (NO_ANSWER, {"timeout", "no_answer"}, {"487", "480"}),
        (BUSY, {"user_busy"}, {"486"}),
        (INVALID, {"not_found"}, {"404"}),
        (FAILED, {"call_rejected", "unspecified"}, {"603", "503"}),
    ],
)
def test_unanswered_outcomes_end_with_the_right_hangup(client, forced, receiver, to, causes, sip):
    events = _play(client, forced, receiver, to)
    assert types_of(events) == ["call.initiated", "call.hangup"]
    payload = events[1]["data"]["payload"]
    assert payload["hangup_cause"] in causes
    assert payload["sip_hangup_cause"] in sip
    assert payload["call_quality_stats"] is None


def test_conversation_start_failure(client, forced, receiver):
    events = _play(client, forced, receiver, START_FAILED, assistant={"id": _assistant(client)})
    assert types_of(events) == [
        "call.initiated",
        "call.answered",
        "call.conversation.start_failed",
        "call.hangup",
        "call.cost",
    ]
    assert events[2]["data"]["payload"]["reason"] == "service_error"


def test_unknown_assistant_id_fails_the_conversation_start(client, forced, receiver):
    events = _play(
        client, forced, receiver, HUMAN, assistant={"id": "assistant-00000000-0000-4000-8000-0000000000ff"}
    )
    assert "call.conversation.start_failed" in types_of(events)
    failed = next(e for e in events if e["data"]["event_type"] == "call.conversation.start_failed")
    assert failed["data"]["payload"]["reason"] == "invalid_request"
    assert "call.conversation.created" not in types_of(events)


def test_client_state_null_when_not_sent(client, forced, receiver):
    body = dial_body(BUSY)
    del body["client_state"]
    response = client.post("/calls", json=body)
    assert forced.wait_idle(10)
    events = events_for(receiver, response.json()["data"]["call_control_id"])
    assert [e["data"]["payload"]["client_state"] for e in events] == [None, None]


def test_actions_on_a_live_call(client, forced, receiver):
    # GIVEN a human answers a dial without an assistant, at human speed so we can act on it
    forced.configure(time_scale=0.02, conversation_secs=(10.0, 20.0))
    call = client.post("/calls", json=dial_body(HUMAN)).json()["data"]
    ccid = call["call_control_id"]
    # WHEN we act before the answer, THEN Telnyx's errors come back
    early = client.post(f"/calls/{ccid}/actions/ai_assistant_start", json={"assistant": {"id": "x"}})
    assert early.status_code == 422
    assert early.json()["errors"][0]["code"] == "90034"
    # WHEN it is answered we start the assistant, once
    for _ in range(200):
        if client.get(f"/calls/{ccid}").json()["data"].get("call_duration") is not None:
            break
        forced.wait_idle(0.02)
    assistant_id = _assistant(client)
    started = client.post(
        f"/calls/{ccid}/actions/ai_assistant_start",
        json={"assistant": {"id": assistant_id}, "command_id": "start-1"},
    )
    assert started.status_code == 200
    assert started.json()["data"]["result"] == "ok"
    again = client.post(
        f"/calls/{ccid}/actions/ai_assistant_start",
        json={"assistant": {"id": assistant_id}, "command_id": "start-1"},
    )
    assert again.json() == started.json()  # same command_id: same answer, nothing new
    forced.wait_idle(0.1)
    twice = client.post(f"/calls/{ccid}/actions/ai_assistant_start", json={"assistant": {"id": assistant_id}})
    assert twice.json()["errors"][0]["code"] == "90061"
    # WHEN we hang up, THEN the call ends from our side and later commands get 90018
    assert client.post(f"/calls/{ccid}/actions/hangup", json={}).json() == {"data": {"result": "ok"}}
    assert forced.wait_idle(10)
    late = client.post(f"/calls/{ccid}/actions/hangup", json={})
    assert late.json()["errors"][0]["code"] == "90018"
    events = events_for(receiver, ccid)
    hangup = next(e for e in events if e["data"]["event_type"] == "call.hangup")["data"]["payload"]
    assert (hangup["hangup_cause"], hangup["hangup_source"]) == ("normal_clearing", "caller")
    created = next(e for e in events if e["data"]["event_type"] == "call.conversation.created")
    assert created["data"]["payload"]["conversation_id"] == started.json()["data"]["conversation_id"]
    assert "call.conversation.ended" in types_of(events)
    assert client.get(f"/calls/{ccid}").json()["data"]["is_alive"] is False


def test_hangup_while_ringing_is_originator_cancel(client, forced, receiver):
    forced.configure(time_scale=0.05)
    ccid = client.post("/calls", json=dial_body(HUMAN)).json()["data"]["call_control_id"]
    client.post(f"/calls/{ccid}/actions/hangup", json={})
    assert forced.wait_idle(10)
    events = events_for(receiver, ccid)
    assert types_of(events) == ["call.initiated", "call.hangup"]
    assert events[1]["data"]["payload"]["hangup_cause"] == "originator_cancel"


def test_dynamic_variables_webhook_is_called_and_answer_used(client, forced, receiver):
    # GIVEN an assistant whose init webhook answers with variables and conversation metadata
    answer = {
        "dynamic_variables": {"first_name": "Hook", "lead_id": "L1"},
        "conversation": {"metadata": {"lead_id": "L1", "campaign_id": "C1"}},
    }
    init_server = WebhookReceiver([forced.public_key_b64], respond=lambda item: (200, answer)).start()
    try:
        assistant_id = _assistant(
            client,
            dynamic_variables_webhook_url=init_server.url + "/init",
            dynamic_variables={"first_name": "there"},
        )
        # WHEN we dial with the assistant and no API variables
        ccid = client.post("/calls", json=dial_body(HUMAN, assistant={"id": assistant_id})).json()["data"][
            "call_control_id"
        ]
        assert forced.wait_idle(10)
        init = init_server.items()
    finally:
        init_server.stop()
    # THEN the signed assistant.initialization went out once and its answer shaped the conversation
    assert len(init) == 1
    assert init[0].verified
    payload = json.loads(init[0].body)["data"]["payload"]
    assert payload["call_control_id"] == ccid
    assert payload["telnyx_end_user_target"] == HUMAN
    assert payload["assistant_id"] == assistant_id
    ended = next(
        e for e in events_for(receiver, ccid) if e["data"]["event_type"] == "call.conversation.ended"
    )
    assert ended["data"]["payload"]["messages"][0]["content"] == "Hi Hook!"
    found = client.get("/ai/conversations", params={"metadata->lead_id": "eq.L1"}).json()["data"]
    assert [c["metadata"]["call_control_id"] for c in found] == [ccid]
    assert found[0]["metadata"]["campaign_id"] == "C1"


def test_api_variables_win_over_the_init_webhook(client, forced, receiver):
    answer = {"dynamic_variables": {"first_name": "Hook"}}
    init_server = WebhookReceiver([forced.public_key_b64], respond=lambda item: (200, answer)).start()
    try:
        assistant_id = _assistant(client, dynamic_variables_webhook_url=init_server.url + "/init")
        ccid = client.post(
            "/calls",
            json=dial_body(HUMAN, assistant={"id": assistant_id, "dynamic_variables": {"first_name": "Api"}}),
        ).json()["data"]["call_control_id"]
        assert forced.wait_idle(10)
    finally:
        init_server.stop()
    ended = next(
        e for e in events_for(receiver, ccid) if e["data"]["event_type"] == "call.conversation.ended"
    )
    assert ended["data"]["payload"]["messages"][0]["content"] == "Hi Api!"


def test_texml_ai_call_sends_form_callbacks(client, forced, receiver):
    # GIVEN an assistant and its auto-created TeXML app
    assistant = client.post("/ai/assistants", json={"name": "n", "instructions": "i"}).json()
    app_id = assistant["telephony_settings"]["default_texml_app_id"]
    # WHEN we start a TeXML AI call with every status event and async premium AMD
    response = client.post(
        f"/texml/ai_calls/{app_id}",
        json={
            "From": "+15550000100",
            "To": HUMAN,
            "AIAssistantId": assistant["id"],
            "AIAssistantDynamicVariables": {"first_name": "Ann"},
            "MachineDetection": "Enable",
            "AsyncAmd": True,
            "DetectionMode": "Premium",
            "StatusCallback": receiver.url + "/status",
            "AsyncAmdStatusCallback": receiver.url + "/amd",
            "ConversationCallback": receiver.url + "/conv",
            "StatusCallbackEvent": "initiated ringing answered completed",
        },
    )
    # THEN the answer is not wrapped, and form callbacks arrive in order, signed over the raw body
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"call_sid", "from", "status", "to"}
    assert body["status"] == "queued"
    assert forced.wait_idle(10)
    items = [r for r in receiver.items() if r.path in ("/status", "/amd")]
    assert all(r.verified and r.is_form for r in items)
    forms = [dict(parse_qsl(r.body.decode())) for r in items]
    assert [f.get("CallStatus", "amd:" + f.get("AnsweredBy", "")) for f in forms] == [
        "initiated",
        "ringing",
        "in-progress",
        "amd:human",
        "completed",
    ]
    assert {f["CallSid"] for f in forms} == {body["call_sid"]}
    assert [int(f["SequenceNumber"]) for f in forms] == sorted(int(f["SequenceNumber"]) for f in forms)
    completed = forms[-1]
    assert completed["CallbackSource"] == "call-progress-events"
    assert int(completed["CallDuration"]) > 0
    conversation = [r.json()["data"]["event_type"] for r in receiver.items() if r.path == "/conv"]
    assert conversation == [
        "call.conversation.created",
        "call.conversation.ended",
        "call.conversation_insights.generated",
    ]


def test_texml_default_status_events_is_completed_only(client, forced, receiver):
    assistant = client.post("/ai/assistants", json={"name": "n", "instructions": "i"}).json()
    app_id = assistant["telephony_settings"]["default_texml_app_id"]
    client.post(
        f"/texml/ai_calls/{app_id}",
        json={
            "From": "+15550000100",
            "To": BUSY,
            "AIAssistantId": assistant["id"],
            "StatusCallback": receiver.url + "/status",
        },
    )
    assert forced.wait_idle(10)
    forms = [dict(parse_qsl(r.body.decode())) for r in receiver.items() if r.path == "/status"]
    assert [f["CallStatus"] for f in forms] == ["busy"]


def test_scheduled_event_places_the_call_and_records_the_outcome(client, forced, receiver):
    assistant_id = _assistant(client)
    created = client.post(
        f"/ai/assistants/{assistant_id}/scheduled_events",
        json={
            "telnyx_conversation_channel": "phone_call",
            "telnyx_agent_target": "+15550000100",
            "telnyx_end_user_target": BUSY,
            "scheduled_at_fixed_datetime": "2020-01-01T00:00:00Z",
            "max_retries_client_errors": 1,
            "retry_interval_secs": 60,
        },
    )
    assert created.status_code == 201
    event_id = created.json()["scheduled_event_id"]
    assert forced.wait_idle(10)
    event = client.get(f"/ai/assistants/{assistant_id}/scheduled_events/{event_id}").json()
    assert event["status"] == "failed"
    assert event["call_status"] == "busy"
    assert [a["attempt_number"] for a in event["call_attempts"]] == [1, 2]
    assert forced.stats()["scheduled_events_dispatched"] == 2


def _tools_assistant(client: httpx.Client, base_url: str) -> str:
    from dialer.domain.assistants import DEPLOYMENT_TOOLS, DeploymentDefaults, deployment_tool

    defaults = DeploymentDefaults(base_url, "acme", 1500, "tool-secret")
    tools = [deployment_tool(name, defaults) for name in DEPLOYMENT_TOOLS]
    tools.append(
        {
            "type": "webhook",
            "webhook": {
                "name": "schedule_callback",
                "description": "callback",
                "url": f"{base_url}/tools/acme/schedule_callback",
                "body_parameters": {"type": "object", "properties": {}},
                "preset_body_fields": {"call_control_id": "{{call_control_id}}"},
            },
        }
    )
    return _assistant(
        client,
        tools=tools,
        dynamic_variables_webhook_url=f"{base_url}/webhooks/telnyx/acme/init",
    )


@pytest.mark.parametrize("disposition", ["dnc", "callback_requested"])
def test_callees_use_the_assistant_tools_and_init_latency_is_measured(make_sim, receiver, disposition):
    # GIVEN callees who all conclude the same, and an assistant with this deployment's tools
    answer = {"dynamic_variables": {"lead_id": "ld_1"}}
    server = WebhookReceiver(
        [], respond=lambda item: (200, answer if item.path.endswith("/init") else {"ok": True})
    ).start()
    sim = make_sim(number_scenarios={HUMAN: "human"}, disposition_mix={disposition: 1.0})
    server.public_keys.append(sim.public_key_b64)
    try:
        with httpx.Client(
            base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}
        ) as client:
            assistant_id = _tools_assistant(client, server.url)
            # WHEN a person answers and the conversation plays out
            ccid = client.post("/calls", json=dial_body(HUMAN, assistant={"id": assistant_id})).json()[
                "data"
            ]["call_control_id"]
            assert sim.wait_idle(10)
        account = sim.stats()
        posts = server.items()
    finally:
        server.stop()
    # THEN the init webhook was answered and timed, and the tools were called, signed, with identity
    assert len(account["init_answer_ms"]) == 1
    assert account["init_failures"] == 0
    tool_posts = {p.path.rsplit("/", 1)[-1]: p for p in posts if "/tools/" in p.path}
    expected = (
        {"opt_out", "set_disposition"} if disposition == "dnc" else {"schedule_callback", "set_disposition"}
    )
    assert set(tool_posts) == expected
    for name, post in tool_posts.items():
        assert post.verified
        if name != "schedule_callback":  # the test's stand-in definition has no headers
            assert post.headers.get("x-tool-secret") == "tool-secret"
        body = json.loads(post.body)
        assert body["call_control_id"] == ccid
    assert (
        json.loads(tool_posts["set_disposition"].body)["lead_id"] == "ld_1"
    )  # rendered from the init answer
    assert json.loads(tool_posts["set_disposition"].body)["end_user"] == HUMAN
    canonical = "do_not_call" if disposition == "dnc" else "callback_requested"
    assert json.loads(tool_posts["set_disposition"].body)["disposition"] == canonical
    assert account["tool_calls"][f"{sorted(expected)[0]}:200"] == 1
    if disposition == "dnc":
        assert account["opt_outs_requested"] == [HUMAN]
    else:
        (when,) = account["callbacks_requested"][HUMAN]
        assert json.loads(tool_posts["schedule_callback"].body)["when"] + "Z" == when
