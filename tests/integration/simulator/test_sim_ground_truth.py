"""Ground truth of dials (what the product is checked against) and the shifted wall clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from local.simulator import AccountConfig
from local.simulator.testing import dial_body
from local.simulator.wire import now as wall_now


def _client(sim) -> httpx.Client:
    return httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"})


def test_every_placed_call_is_a_dial_and_replays_are_not(make_sim):
    sim = make_sim(scenario_mix={"busy": 1.0}, command_id_window_s=0.3)
    with _client(sim) as client:
        # WHEN one attempt is POSTed three times inside the de-duplication window
        first = client.post("/calls", json=dial_body("+15550007001", command_id="lead_1#attempt-1"))
        again = client.post("/calls", json=dial_body("+15550007001", command_id="lead_1#attempt-1"))
        client.post("/calls", json=dial_body("+15550007001", command_id="lead_1#attempt-1"))
        client.post("/calls", json=dial_body("+15550007002", command_id="lead_2#attempt-1"))
        # THEN it is one dial (the replay answers with the same call)
        assert again.json() == first.json()
        truth = sim.dials()
        assert truth["count"] == 2
        assert truth["command_ids_dialled_twice"] == []
        dial = truth["dials"][0]
        assert (dial["command_id"], dial["to"], dial["kind"]) == (
            "lead_1#attempt-1",
            "+15550007001",
            "call_control",
        )
        assert dial["call_control_id"] == first.json()["data"]["call_control_id"]
        # WHEN the same attempt is dialled again after the window, THEN the ground truth shows it twice
        time.sleep(0.35)
        client.post("/calls", json=dial_body("+15550007001", command_id="lead_1#attempt-1"))
    over_http = httpx.get(f"{sim.root_url}/_sim/dials").json()
    assert over_http["command_ids_dialled_twice"] == ["lead_1#attempt-1"]
    assert over_http["count"] == 3


def test_refused_dials_are_not_dials(make_sim):
    sim = make_sim()
    with _client(sim) as client:
        assert client.post("/calls", json=dial_body("12345")).status_code == 422
    assert sim.dials()["count"] == 0


def test_clock_offset_shifts_event_and_dial_timestamps(make_sim, receiver):
    offset = -5 * 3600.0
    sim = make_sim(scenario_mix={"busy": 1.0}, clock_offset_s=offset)
    with _client(sim) as client:
        client.post("/calls", json=dial_body("+15550007101", command_id="x#attempt-1"))
    assert sim.wait_idle(10)
    shifted = datetime.now(UTC) + timedelta(seconds=offset)
    at = datetime.fromisoformat(sim.dials()["dials"][0]["at"])
    assert abs((at - shifted).total_seconds()) < 5
    occurred = [datetime.fromisoformat(e["data"]["occurred_at"]) for e in receiver.events()]
    assert occurred
    assert all(abs((o - shifted).total_seconds()) < 5 for o in occurred)
    # AND stopping the simulator puts the (process-wide) clock back
    sim.stop()
    assert abs((wall_now() - datetime.now(UTC)).total_seconds()) < 1


def test_channel_occupancy_and_request_counts(make_sim):
    # GIVEN four busy calls (each hangs up 2-5 s after it is placed, at real speed: at 5x one had
    # hung up before the fourth was placed under CI's load)
    sim = make_sim(scenario_mix={"busy": 1.0}, time_scale=1.0)
    start = time.monotonic()
    with _client(sim) as client:
        for i in range(4):
            client.post("/calls", json=dial_body(f"+1555000720{i}", command_id=f"o{i}#attempt-1"))
        client.get("/ai/assistants")
    assert sim.wait_idle(10)
    end = time.monotonic()
    # THEN between the last placement and the first hangup (read from the simulator's own records,
    # so no wall-clock race with the playout: an earlier form of this test measured "now" and
    # flaked whenever a loaded machine let a call hang up first) four channels were in use
    calls = list(sim.account().calls.values())
    placed = [c.placed_monotonic for c in calls]
    ended = [c.ended_monotonic for c in calls if c.ended_monotonic is not None]
    assert len(placed) == len(ended) == 4
    all_placed, first_hangup = max(placed), min(ended)
    assert all_placed < first_hangup
    assert sim.channel_occupancy(all_placed, first_hangup) == pytest.approx(4.0)
    # AND once all have hung up, none; over the whole run, between none and four
    assert sim.channel_occupancy(max(ended), end + 0.05) == 0.0
    assert 0 < sim.channel_occupancy(start, end) < 4
    assert sim.stats()["requests"] == {"dial": 4, "list_assistants": 1}


def test_an_account_may_play_calls_without_sending_webhooks(make_sim, receiver):
    sim = make_sim(
        accounts=(AccountConfig(api_key="KEY_A", webhook_url=receiver.url, deliver_webhooks=False),),
        scenario_mix={"busy": 1.0},
    )
    with _client(sim) as client:
        client.post("/calls", json=dial_body("+15550007301", command_id="q#attempt-1"))
    assert sim.wait_idle(10)
    assert receiver.events() == []
    assert sim.stats()["events_emitted"]["call.hangup"] == 1
    assert sim.dials()["count"] == 1
