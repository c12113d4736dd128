"""Account limits, command_id de-duplication, tenants, fault injection and the control API."""

from __future__ import annotations

import time

import httpx
import pytest

from local.simulator import AccountConfig
from local.simulator.testing import dial_body, events_for, types_of


def _client(sim, key=None) -> httpx.Client:
    return httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {key or sim.api_key}"})


def test_auth_is_required(sim):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic xyz"}):
        response = httpx.get(f"{sim.base_url}/ai/assistants", headers=headers)
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "10009"


def test_dials_per_second_and_rolling_five_seconds(make_sim, receiver):
    # GIVEN an account limited to 5 dials/s and 8 per 5 s
    sim = make_sim(
        accounts=(
            AccountConfig(api_key="KEY_A", webhook_url=receiver.url, dials_per_second=5, dials_per_5s=8),
        ),
        scenario_mix={"busy": 1.0},
    )
    with _client(sim) as client:
        # WHEN 6 dials go out at once, THEN the 6th is refused with 429 / 90103
        statuses = [client.post("/calls", json=dial_body(f"+1555000400{i}")).status_code for i in range(6)]
        assert statuses == [200] * 5 + [429]
        refused = client.post("/calls", json=dial_body("+15550004009"))
        assert refused.json()["errors"][0] == {
            **refused.json()["errors"][0],
            "code": "90103",
            "title": "Dials per second limit reached",
        }
        # WHEN a second has passed, THEN only 3 more fit in the rolling 5-second window
        time.sleep(1.05)
        later = [client.post("/calls", json=dial_body(f"+1555000410{i}")).status_code for i in range(4)]
        assert later == [200, 200, 200, 429]
    stats = sim.stats()
    assert (stats["dials_accepted"], stats["rate_limited_429"]) == (8, 3)


def test_texml_ai_calls_count_towards_the_dial_limit(make_sim, receiver):
    sim = make_sim(accounts=(AccountConfig(api_key="KEY_A", dials_per_second=2),), scenario_mix={"busy": 1.0})
    with _client(sim) as client:
        assistant = client.post("/ai/assistants", json={"name": "n", "instructions": "i"}).json()
        app_id = assistant["telephony_settings"]["default_texml_app_id"]
        client.post("/calls", json=dial_body("+15550004201"))
        texml = {"From": "+15550000100", "To": "+15550004202", "AIAssistantId": assistant["id"]}
        assert client.post(f"/texml/ai_calls/{app_id}", json=texml).status_code == 200
        third = client.post(f"/texml/ai_calls/{app_id}", json=texml)
        assert third.status_code == 429
        assert third.json()["errors"][0]["code"] == "90103"


def test_calls_above_the_channel_limit_fail_with_sip_403(make_sim, receiver):
    # GIVEN a channel limit of 2 and people who talk for a while
    sim = make_sim(
        accounts=(AccountConfig(api_key="KEY_A", webhook_url=receiver.url, channel_limit=2),),
        scenario_mix={"human": 1.0},
        time_scale=0.005,
        conversation_secs=(20.0, 30.0),
    )
    with _client(sim) as client:
        ids = [
            client.post("/calls", json=dial_body(f"+1555000430{i}")).json()["data"]["call_control_id"]
            for i in range(3)
        ]
    assert sim.wait_idle(10)
    # THEN the third call is accepted, initiated, then rejected like SIP 403 "User channel limit exceeded"
    third = events_for(receiver, ids[2])
    assert types_of(third) == ["call.initiated", "call.hangup"]
    assert third[1]["data"]["payload"]["hangup_cause"] == "call_rejected"
    assert third[1]["data"]["payload"]["sip_hangup_cause"] == "403"
    assert "call.answered" in types_of(events_for(receiver, ids[0]))
    assert sim.stats()["channel_limit_rejections"] == 1


def test_repeated_command_id_returns_the_first_response_and_places_no_call(sim):
    with _client(sim) as client:
        first = client.post("/calls", json=dial_body("+15550004401", command_id="attempt-1"))
        again = client.post("/calls", json=dial_body("+15550004402", command_id="attempt-1"))
        other = client.post("/calls", json=dial_body("+15550004401", command_id="attempt-2"))
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert other.json()["data"]["call_control_id"] != first.json()["data"]["call_control_id"]
    stats = sim.stats()
    assert stats["dials_accepted"] == 2
    assert stats["command_id_replays"] == 1
    assert stats["calls_by_number"] == {"+15550004401": 2}


def test_rate_limited_dial_is_not_cached_under_its_command_id(make_sim, receiver):
    sim = make_sim(accounts=(AccountConfig(api_key="KEY_A", dials_per_second=1),))
    with _client(sim) as client:
        client.post("/calls", json=dial_body("+15550004501"))
        limited = client.post("/calls", json=dial_body("+15550004502", command_id="c-2"))
        assert limited.status_code == 429
        time.sleep(1.05)
        retried = client.post("/calls", json=dial_body("+15550004502", command_id="c-2"))
        assert retried.status_code == 200


def test_accounts_are_separate_tenants(make_sim, receiver):
    sim = make_sim(
        accounts=(
            AccountConfig(api_key="KEY_A", webhook_url=receiver.url + "/a"),
            AccountConfig(api_key="KEY_B", webhook_url=receiver.url + "/b"),
        ),
        number_scenarios={"+15550004601": "busy"},
    )
    assert sim.public_key_for("KEY_A") != sim.public_key_for("KEY_B")
    with _client(sim, "KEY_A") as a, _client(sim, "KEY_B") as b:
        assistant_id = a.post("/ai/assistants", json={"name": "n", "instructions": "i"}).json()["id"]
        assert b.get(f"/ai/assistants/{assistant_id}").status_code == 404
        assert b.get("/public_key").json()["data"]["public"] == sim.public_key_for("KEY_B")
        a.post("/calls", json=dial_body("+15550004601", command_id="same"))
        b.post("/calls", json=dial_body("+15550004601", command_id="same"))  # same command_id, other account
    assert sim.wait_idle(10)
    assert sim.stats("KEY_A")["dials_accepted"] == sim.stats("KEY_B")["dials_accepted"] == 1
    from telnyx_client.signature import SignatureError, verify

    for item in receiver.items():
        key = sim.public_key_for("KEY_B" if item.path == "/b" else "KEY_A")
        verify(item.body, item.headers, key)
        wrong = sim.public_key_for("KEY_A" if item.path == "/b" else "KEY_B")
        with pytest.raises(SignatureError):
            verify(item.body, item.headers, wrong)


@pytest.mark.parametrize(("commit", "placed"), [(1.0, 1), (0.0, 0)])
def test_injected_5xx_on_dial_may_or_may_not_have_placed_the_call(make_sim, receiver, commit, placed):
    sim = make_sim(error_5xx_rate=1.0, error_5xx_commit_fraction=commit)
    with _client(sim) as client:
        response = client.post("/calls", json=dial_body("+15550004701"))
    assert response.status_code in (500, 503)
    assert response.json()["errors"][0]["code"] == "10007"
    stats = sim.stats()
    assert stats["injected_5xx"] == 1
    assert stats["injected_5xx_committed"] == placed
    assert sum(stats["calls_by_number"].values()) == placed


def test_slow_responses(make_sim, receiver):
    sim = make_sim(slow_response_rate=1.0, slow_response_s=0.2)
    with _client(sim) as client:
        started = time.monotonic()
        client.get("/ai/assistants")
        assert time.monotonic() - started >= 0.2
    assert sim.stats()["slow_responses"] == 1


def test_control_api_state_and_runtime_config(sim, receiver):
    # GIVEN a running simulator, WHEN we force a number's scenario at runtime over HTTP
    changed = httpx.post(
        f"{sim.root_url}/_sim/config", json={"number_scenarios": {"+15550004801": "invalid_number"}}
    )
    assert changed.status_code == 200
    assert httpx.post(f"{sim.root_url}/_sim/config", json={"nope": 1}).status_code == 400
    with _client(sim) as client:
        ccid = client.post("/calls", json=dial_body("+15550004801")).json()["data"]["call_control_id"]
    assert sim.wait_idle(10)
    # THEN the call obeys and the state endpoint shows the ground truth
    state = httpx.get(f"{sim.root_url}/_sim/state", params={"calls": "1"}).json()
    account = state["accounts"][0]
    assert account["api_key"] == "…EY_A"
    assert account["stats"]["scenarios_by_number"] == {"+15550004801": ["invalid_number"]}
    assert account["stats"]["webhook_delivered"] == 2
    assert [c["call_control_id"] for c in account["calls"]] == [ccid]
    assert state["config"]["number_scenarios"] == {"+15550004801": "invalid_number"}


def test_a_caller_id_whose_calls_nobody_answers(make_sim, receiver):
    # GIVEN people who answer, a number that does not exist, and our caller ID +15550004901 made
    # unanswered at runtime (a number carriers label spam)
    sim = make_sim(scenario_mix={"human": 1.0}, number_scenarios={"+15550004903": "invalid_number"})
    spam = "+15550004901"
    changed = httpx.post(f"{sim.root_url}/_sim/config", json={"caller_scenarios": {spam: "no_answer"}})
    assert changed.status_code == 200
    bad = httpx.post(f"{sim.root_url}/_sim/config", json={"caller_scenarios": {spam: "ignored"}})
    assert bad.status_code == 400
    with _client(sim) as client:
        # WHEN it calls a person and the missing number, and another caller ID calls a person
        client.post("/calls", json=dial_body("+15550004902", **{"from": spam}))
        client.post("/calls", json=dial_body("+15550004903", **{"from": spam}))
        client.post("/calls", json=dial_body("+15550004904"))
    assert sim.wait_idle(10)
    # THEN its calls go unanswered, the callee's own scenario still wins, other numbers are as usual
    assert sim.account().stats.scenarios_by_number == {
        "+15550004902": ["no_answer"],
        "+15550004903": ["invalid_number"],
        "+15550004904": ["human"],
    }
