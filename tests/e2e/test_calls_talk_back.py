"""Calls that talk back, on the local stack (issue 11 "done when"): the engine dials, the
simulator's callees answer, the assistant's init webhook and tools reach the stack, and what was
said changes the DNC list and the schedule. Nothing here invokes a function: the stack's
schedules and queues do. The simulator's ground truth (dials, tool calls) is checked against ours.

Small on purpose (4 leads, about two minutes on a quiet machine): ``test_dialing.py`` covers
volume.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from local.simulator import AccountConfig, Simulator, SimulatorConfig
from tests.support import dialing

pytestmark = pytest.mark.e2e
TENANT = "e2e-talk-back"
SIM_KEY = "KEYSIM_e2e_talk_back"
OFFSET = dialing.clock_offset()
API_PORT = dialing.free_port()
OPT_OUT_PHONES = ("+12125550161", "+13125550162", "+14155550163")
CALLBACK_PHONE = "+12125550164"
SCRUBBED = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    config = SimulatorConfig(
        accounts=(
            AccountConfig(
                api_key=SIM_KEY,
                webhook_url=f"http://127.0.0.1:{API_PORT}/webhooks/telnyx/{TENANT}",
                channel_limit=10,
                phone_numbers=dialing.CALLER_IDS,
            ),
        ),
        seed=11,
        time_scale=0.05,
        conversation_secs=(20.0, 30.0),
        scenario_mix={"human": 1.0},
        disposition_mix={"dnc": 1.0},
        callback_after_s=60.0,
        clock_offset_s=OFFSET,
    )
    with Simulator(config) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def stack(
    local_stack_process: Any, tmp_path_factory: pytest.TempPathFactory, sim: Simulator
) -> Iterator[Any]:
    from tests.e2e.conftest import BUILT_TEMPLATE

    args = dialing.stack_args(API_PORT, sim.base_url, TENANT, sim.public_key_b64, OFFSET)
    running = local_stack_process(BUILT_TEMPLATE, tmp_path_factory.mktemp("talk-back"), args).start()
    yield running
    assert not running.stop()


@pytest.fixture(scope="module")
def http(stack: Any) -> Iterator[httpx.Client]:
    with dialing.tenant_client(stack, TENANT, SIM_KEY) as client:
        dialing.set_dialing(stack, TENANT, channel_limit=10)
        # Warm the tools function (unsigned: a 401) so a cold start on a busy machine does not eat
        # the tools' few-second budget (the init webhook is provisioned: dialing.stack_args).
        assert client.post(f"/tools/{TENANT}/opt_out", content=b"{}").status_code == 401
        yield client


def add(http: httpx.Client, campaign_id: str, phones: tuple[str, ...]) -> list[str]:
    leads = [
        {
            "phone": p,
            "first_name": "Ada",
            "state": "NY",
            "consent": dialing.CONSENT,
            "dnc_scrubbed_at": SCRUBBED,
        }
        for p in phones
    ]
    added = http.post(f"/campaigns/{campaign_id}/leads", json={"leads": leads})
    assert added.status_code in (200, 201), added.text
    return list(added.json()["lead_ids"])


def test_the_init_webhook_runs_provisioned_so_no_call_waits_on_its_cold_start(stack: Any) -> None:
    # GIVEN the stack as make dev runs it (InitProvisionedConcurrency on the template's alias)
    deadline = time.monotonic() + 30
    while True:
        init = httpx.get(f"{stack.api_url}/_local/health", timeout=10).json()["functions"][
            "DynamicVariablesFunction"
        ]
        if init["environments"] >= init["provisioned"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # THEN that many environments run (initialised at start, as Lambda keeps them) before any call
    assert init["provisioned"] == 4
    assert init["environments"] == 4, init
    assert len(init["pids"]) >= 4, init


def wait_transcript(http: httpx.Client, call_id: str, timeout: float = 60) -> dict[str, Any]:
    """The call's transcript, once the transcripts function has stored it."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(f"/calls/{call_id}/transcript")
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return dict(response.json())
        time.sleep(1)


def dials_to(sim: Simulator) -> Counter[str]:
    return Counter(d["to"] for d in sim.dials(SIM_KEY)["dials"])


def test_an_opt_out_said_on_a_call_stops_every_campaign_from_dialling_the_number(
    http: httpx.Client, sim: Simulator
) -> None:
    # GIVEN the same three people in two campaigns; the second is not started yet
    first = dialing.create_campaign(http, max_attempts=2, name="First")
    second = dialing.create_campaign(http, max_attempts=2, name="Second")
    first_leads = add(http, first, OPT_OUT_PHONES)
    second_leads = add(http, second, OPT_OUT_PHONES)
    # WHEN the first runs and every callee says "stop calling me" (the assistant calls opt_out)
    assert http.post(f"/campaigns/{first}/status", json={"status": "active"}).status_code == 200
    assert dialing.wait_status(http, first, "completed", timeout=150) == "completed"
    assert sim.wait_idle(30)
    # THEN the simulator heard the opt-outs and our tool answered each of them
    stats = sim.stats(SIM_KEY)
    assert sorted(stats["opt_outs_requested"]) == sorted(OPT_OUT_PHONES)
    assert stats["tool_calls"].get("opt_out:200") == len(OPT_OUT_PHONES), stats["tool_calls"]
    assert stats["init_failures"] == 0
    # AND every number is on the DNC list, audited as an opt-out on a call
    for phone in OPT_OUT_PHONES:
        check = http.get("/dnc/check", params={"phone": phone}).json()
        assert check["dnc"] is True, check
        assert check["entry"]["source"] == "call"
    # AND the other campaign's leads of those numbers ended blocked (dnc) before it ever ran
    for lead_id in second_leads:
        lead = http.get(f"/leads/{lead_id}").json()
        assert lead["status"] == "blocked", lead
    assert http.post(f"/campaigns/{second}/status", json={"status": "active"}).status_code == 200
    assert dialing.wait_status(http, second, "completed", timeout=60) == "completed"
    # AND, simulator ground truth: each number was dialled exactly once, by the first campaign
    dialled = dials_to(sim)
    assert {p: dialled[p] for p in OPT_OUT_PHONES} == dict.fromkeys(OPT_OUT_PHONES, 1)
    # AND each call's conversation was fetched into a transcript (the stack's transcripts queue
    # and function), the messages the simulator holds for it, oldest first
    for lead_id in first_leads:
        call_id = http.get(f"/leads/{lead_id}").json()["history"][0]["call_control_id"]
        transcript = wait_transcript(http, call_id)
        with sim.account(SIM_KEY).lock:
            upstream = list(sim.account(SIM_KEY).messages[transcript["conversation_id"]])
        assert [m["text"] for m in transcript["messages"]] == [m["text"] for m in reversed(upstream)]
        assert http.get(f"/calls/{call_id}").json()["transcript_status"] == "stored"


def test_a_callback_asked_for_on_a_call_is_dialled_at_the_confirmed_time(
    http: httpx.Client, sim: Simulator
) -> None:
    sim.configure(disposition_mix={"callback_requested": 1.0})
    campaign = dialing.create_campaign(http, max_attempts=1, name="Callbacks")
    (lead_id,) = add(http, campaign, (CALLBACK_PHONE,))
    assert http.post(f"/campaigns/{campaign}/status", json={"status": "active"}).status_code == 200
    # WHEN the callee asks to be called back (a minute later, by the simulator's clock)
    deadline = time.monotonic() + 200
    while dials_to(sim)[CALLBACK_PHONE] < 2 and time.monotonic() < deadline:
        time.sleep(2)
    http.post(f"/campaigns/{campaign}/status", json={"status": "paused"})  # every call asks again
    # THEN the tool booked it, and the engine dialled the number again at that time
    stats = sim.stats(SIM_KEY)
    asked = stats["callbacks_requested"][CALLBACK_PHONE]
    assert stats["tool_calls"].get("schedule_callback:200", 0) >= 1
    dials = [d for d in sim.dials(SIM_KEY)["dials"] if d["to"] == CALLBACK_PHONE]
    assert len(dials) >= 2, (dials, stats["tool_calls"])
    confirmed = dialing.parse_time(asked[0])
    second = dialing.parse_time(dials[1]["at"])
    assert confirmed <= second <= confirmed + timedelta(seconds=30), (asked, dials)
    detail = http.get(f"/leads/{lead_id}").json()
    assert any(a["callback"] for a in detail["history"]), detail
