"""Webhook delivery like Telnyx: retries with meta.attempt, duplicates, reordering, seeded runs."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict

import httpx

from local.simulator import AccountConfig, Simulator, WebhookReceiver
from local.simulator.testing import dial_body

NUMBERS = [f"+1555000{2000 + i}" for i in range(40)]


def _roomy(receiver: WebhookReceiver) -> tuple[AccountConfig, ...]:
    """An account whose dial and channel limits stay out of the way of 40 quick dials."""
    return (
        AccountConfig(
            api_key="KEY_A",
            webhook_url=receiver.url + "/a",
            dials_per_second=1000,
            dials_per_5s=1000,
            channel_limit=1000,
        ),
    )


def _dial_all(sim: Simulator, numbers: list[str], **extra) -> list[str]:
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}) as client:
        ids = []
        for to in numbers:
            response = client.post("/calls", json=dial_body(to, **extra))
            assert response.status_code == 200, response.text
            ids.append(response.json()["data"]["call_control_id"])
    assert sim.wait_idle(20)
    return ids


def test_failed_delivery_is_retried_with_increasing_attempt(make_sim, receiver):
    # GIVEN a receiver that fails the first attempt of every event
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def respond(item):
        with lock:
            event_id = json.loads(item.body)["data"]["id"]
            seen[event_id] += 1
            return 500 if seen[event_id] == 1 else 200

    receiver.respond = respond
    sim = make_sim(number_scenarios={"+15550003001": "busy"})
    # WHEN a call plays out
    _dial_all(sim, ["+15550003001"])
    # THEN each event arrives twice, attempt 1 then attempt 2, same id and occurred_at
    bodies = [json.loads(r.body) for r in receiver.items()]
    by_id = defaultdict(list)
    for body in bodies:
        by_id[body["data"]["id"]].append(body)
    assert len(by_id) == 2
    for attempts in by_id.values():
        assert [b["meta"]["attempt"] for b in attempts] == [1, 2]
        assert attempts[0]["data"] == attempts[1]["data"]
    stats = sim.stats()
    assert (stats["webhook_attempts"], stats["webhook_retries"], stats["webhook_delivered"]) == (4, 2, 2)


def test_timeout_counts_as_failure_and_is_retried(make_sim, receiver):
    first = threading.Event()

    def respond(item):
        if not first.is_set():
            first.set()
            time.sleep(0.4)  # longer than the webhook timeout below
        return 200

    receiver.respond = respond
    sim = make_sim(number_scenarios={"+15550003002": "busy"}, webhook_timeout_s=0.1)
    _dial_all(sim, ["+15550003002"])
    stats = sim.stats()
    assert stats["webhook_failures"] == 1
    assert stats["webhook_retries"] == 1
    first_request_done = time.monotonic() + 2
    while len(receiver.items()) < 3 and time.monotonic() < first_request_done:
        time.sleep(0.02)  # the timed-out request is recorded when its handler wakes up
    attempts = sorted(json.loads(r.body)["meta"]["attempt"] for r in receiver.items())
    assert attempts == [1, 1, 2]


def test_delivery_gives_up_after_the_last_retry(make_sim, receiver):
    receiver.respond = lambda item: 503
    sim = make_sim(number_scenarios={"+15550003003": "busy"}, retry_delays_s=(1.0, 1.0))
    _dial_all(sim, ["+15550003003"])
    stats = sim.stats()
    assert stats["webhook_attempts"] == 6  # 2 events x (1 + 2 retries)
    assert stats["webhook_dropped"] == 2
    assert stats["webhook_delivered"] == 0


def test_duplicates_are_byte_identical_and_counted(make_sim, receiver):
    sim = make_sim(
        accounts=_roomy(receiver), duplicate_rate=0.3, scenario_mix={"human": 1.0}, strict_assistant_ids=False
    )
    _dial_all(sim, NUMBERS, assistant={"id": "assistant-any"})
    bodies = Counter(r.body for r in receiver.items())
    duplicated = sum(n - 1 for n in bodies.values())
    stats = sim.stats()
    assert duplicated == stats["duplicates_sent"]
    emitted = sum(stats["events_emitted"].values())
    assert 0.15 < duplicated / emitted < 0.45
    assert all(r.verified for r in receiver.items())


def test_reordered_events_arrive_after_a_later_event_of_their_call(make_sim, receiver):
    # GIVEN a 30% reorder rate and full human conversations (8 events per call)
    sim = make_sim(
        accounts=_roomy(receiver), reorder_rate=0.3, scenario_mix={"human": 1.0}, strict_assistant_ids=False
    )
    _dial_all(sim, NUMBERS, assistant={"id": "assistant-any"})
    # WHEN we count, per call, events that arrive after one that occurred later
    latest: dict[str, str] = {}
    inversions = 0
    total = 0
    for event in receiver.events():
        data = event["data"]
        call = data["payload"]["call_control_id"]
        total += 1
        if data["occurred_at"] < latest.get(call, ""):
            inversions += 1
        latest[call] = max(latest.get(call, ""), data["occurred_at"])
    # THEN it matches the ground truth exactly, and the rate is near the configured one
    assert inversions == sim.stats()["reordered"]
    assert 0.15 < inversions / total < 0.4
    assert total == sum(sim.stats()["events_emitted"].values())  # nothing lost


def test_same_seed_same_dials_same_outcomes(make_sim, receiver):
    def run() -> list[tuple[str, list[str]]]:
        sim = make_sim(accounts=_roomy(receiver), seed=42)
        _dial_all(sim, NUMBERS)
        return sorted((c["to"], c["events"]) for c in sim.calls())

    assert run() == run()


def test_other_seed_other_outcomes(make_sim, receiver):
    def scenarios(seed: int) -> list[str]:
        sim = make_sim(accounts=_roomy(receiver), seed=seed)
        _dial_all(sim, NUMBERS)
        return [c["scenario"] for c in sorted(sim.calls(), key=lambda c: c["to"])]

    assert scenarios(1) != scenarios(2)


def test_no_webhook_url_means_undeliverable_not_lost_silently(make_sim, receiver):
    sim = make_sim(accounts=(AccountConfig(api_key="KEY_NOURL"),), number_scenarios={"+15550003004": "busy"})
    _dial_all(sim, ["+15550003004"])
    assert sim.stats()["webhook_undeliverable"] == 2
    assert receiver.items() == []


def test_received_webhooks_verify_against_the_account_key_only(make_sim, receiver):
    sim = make_sim(number_scenarios={"+15550003005": "busy"})
    other = WebhookReceiver(public_keys=[]).start()
    try:
        _dial_all(sim, ["+15550003005"], webhook_url=other.url + "/x")
        assert len(other.items()) == 2
        assert not any(r.verified for r in other.items())  # no key configured there
    finally:
        other.stop()
