"""The dialing engine on the local stack: "done when" for issue 9.

A campaign of leads spread over every US zone, with DNC, no-consent and invalid numbers mixed in,
is activated through the API and runs to completion by itself: nothing in this test invokes the
dispatcher, the dialer or the reaper; the stack's schedules and queues do (as ``make dev`` does),
and the Telnyx simulator plays the calls and sends the webhooks back to the stack's intake.

The clock of the functions and of the simulator is shifted (``--clock-offset``, local stage only)
to a weekday at 21:00 UTC, inside every lead's calling window whatever the CI wall clock is.
The simulator's ground truth of what was dialled is then checked against our records.

The campaign's event webhooks (issue 24) go to ``examples/webhook_receiver.py``, registered
through the API before the campaign starts and started only once the deliverer (on its schedule)
has failed to reach it for a few calls: it must end with one verified ``call.completed`` per call
the simulator placed, the refused deliveries retried under their webhook-id, and a replay
arriving again under the same id.
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.crm_receiver import CrmReceiver
from local.simulator import AccountConfig, Simulator, SimulatorConfig
from tests.support import dialing
from tests.support.dialing import Kind

# CI runs 40 leads (every kind of lead, every zone, callbacks and opt-outs: about 3 minutes);
# ``E2E_DIALING_LEADS=1000`` is the "done when" run (about 0.3-0.5 leads/s on a 2-core
# machine: the whole stack, moto included, shares the two cores; docs/scale.md).
pytestmark = pytest.mark.e2e
TENANT = "e2e-dialing"
SIM_KEY = "KEYSIM_e2e_dialing"
LEADS = int(os.environ.get("E2E_DIALING_LEADS") or "40")
MAX_ATTEMPTS = 3
OFFSET = dialing.clock_offset()
API_PORT = dialing.free_port()
TERMINAL = {"reached", "exhausted", "invalid", "blocked"}
CALLBACK_AFTER_S = 30.0
CALLBACK_SLACK = timedelta(seconds=120)  # a due callback waits for at most a dispatcher tick and a queue
RUN_TIMEOUT = float(os.environ.get("E2E_DIALING_TIMEOUT") or 120 + LEADS * 6.0)  # seconds
REFUSED_FIRST = 3  # deliveries of call.completed the receiver misses before it starts


def simulator_config(plan: list[dialing.PlannedLead], api_port: int, offset: float) -> SimulatorConfig:
    """The tenant's Telnyx account: short calls, a fixed outcome mix, the invalid numbers, shifted clock."""
    return SimulatorConfig(
        accounts=(
            AccountConfig(
                api_key=SIM_KEY,
                webhook_url=f"http://127.0.0.1:{api_port}/webhooks/telnyx/{TENANT}",
                channel_limit=20,
                phone_numbers=dialing.CALLER_IDS,
            ),
        ),
        seed=9,
        time_scale=0.02,  # a 15 s simulated conversation takes 0.3 s
        conversation_secs=(5.0, 15.0),
        scenario_mix={"human": 0.5, "voicemail": 0.2, "no_answer": 0.15, "busy": 0.15},
        # Answered people opt out or ask to be called back (in a minute) through the in-call tools.
        disposition_mix={
            "interested": 0.3,
            "not_interested": 0.15,
            "appointment_set": 0.15,
            "callback_requested": 0.25,
            "dnc": 0.15,
        },
        # Telnyx delivers out of order and retries: a lead's fate must not depend on it
        reorder_rate=0.3,
        duplicate_rate=0.2,
        callback_after_s=CALLBACK_AFTER_S,
        number_scenarios={p.phone: "invalid_number" for p in plan if p.kind is Kind.INVALID},
        clock_offset_s=offset,
    )


@pytest.fixture(scope="module")
def plan() -> list[dialing.PlannedLead]:
    return dialing.population(LEADS)


@pytest.fixture(scope="module")
def sim(plan: list[dialing.PlannedLead]) -> Iterator[Simulator]:
    with Simulator(simulator_config(plan, API_PORT, OFFSET)) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def stack(
    local_stack_process: Any, tmp_path_factory: pytest.TempPathFactory, sim: Simulator
) -> Iterator[Any]:
    from tests.e2e.conftest import BUILT_TEMPLATE

    # The webhook deliverer back to back (each run loops for most of a minute), as on AWS
    args = dialing.stack_args(
        API_PORT,
        sim.base_url,
        TENANT,
        sim.public_key_b64,
        OFFSET,
        "--schedule-period",
        "WebhookDeliveryFunction=1",
    )
    running = local_stack_process(BUILT_TEMPLATE, tmp_path_factory.mktemp("dialing-stack"), args).start()
    yield running
    assert not running.stop()


@pytest.fixture(scope="module")
def http(stack: Any) -> Iterator[httpx.Client]:
    with dialing.tenant_client(stack, TENANT, SIM_KEY) as client:
        dialing.set_dialing(stack, TENANT, channel_limit=20)  # the simulator account's
        yield client


class Receiver(CrmReceiver):
    """The example receiver, registered as the tenant's endpoint through the API; not listening
    until :meth:`start`."""

    def __init__(self, http: httpx.Client, folder: Path) -> None:
        super().__init__(folder)
        created = http.post(
            "/webhook-endpoints",
            json={
                "url": self.url,
                "event_types": ["call.completed", "campaign.status_changed"],
                "description": "e2e CRM",
            },
        )
        assert created.status_code == 201, created.text
        self.id, self.secret = created.json()["id"], created.json()["secret"]

    def deliveries(self, http: httpx.Client) -> list[dict[str, Any]]:
        return dialing.pages(http, f"/webhook-endpoints/{self.id}/deliveries")


@pytest.fixture(scope="module")
def receiver(http: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    hook = Receiver(http, tmp_path_factory.mktemp("receiver"))
    yield hook
    hook.stop()


def wait_for(check: Callable[[], bool], timeout: float, poll: float = 1.0) -> bool:
    """Poll ``check`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def refused(delivery: dict[str, Any]) -> bool:
    """A delivery with an attempt that got no answer (the receiver was not listening)."""
    return any(a["status_code"] is None for a in delivery["attempts"])


def our_records(stack: Any, lead_ids: list[str]) -> dict[str, tuple[dict[str, Any], list[Any]]]:
    """Each lead's item and its attempt records, read from the stack's table."""
    from dialer.adapters.dialing_table import DialingTable

    table = DialingTable(stack.resources["StateTable"], client=stack.boto3_client("dynamodb"))
    records = {}
    for lead_id in lead_ids:
        lead, attempts = table.lead_with_attempts(TENANT, lead_id)
        assert lead is not None
        records[lead_id] = (lead, attempts)
    return records


def test_a_campaign_dials_itself_to_completion(
    http: httpx.Client, sim: Simulator, stack: Any, plan: list[dialing.PlannedLead], receiver: Receiver
) -> None:
    # GIVEN a campaign and its leads over every US zone, some on DNC, some without consent
    cid = dialing.create_campaign(http, max_attempts=MAX_ATTEMPTS)
    lead_ids = dialing.add_leads(http, cid, plan)
    # WHEN it is activated through the API, and six schedule firings of the dispatcher arrive at
    # once (as EventBridge may deliver a tick late and the next on time, and Lambda runs them side
    # by side): overlapping dispatcher runs and dialer instances race for the same leads
    started = time.monotonic()
    moved = http.post(f"/campaigns/{cid}/status", json={"status": "active"})
    assert moved.status_code == 200, moved.text
    pool = ThreadPoolExecutor(6)  # each firing answers when its run ends (up to a minute)
    firings = [pool.submit(stack.fire_schedule, "DispatcherFunctionEveryMinute") for _ in range(6)]

    # (the CRM's receiver is down until the deliverer failed to reach it for a few calls)
    def missed() -> list[dict[str, Any]]:
        return [d for d in receiver.deliveries(http) if d["event_type"] == "call.completed" and refused(d)]

    assert wait_for(lambda: len(missed()) >= REFUSED_FIRST, timeout=90), receiver.deliveries(http)
    receiver.start(receiver.secret)
    # THEN it runs to completion by itself (or to where only the law holds leads back: a person
    # who asked for a callback can reach a state's cap of calls per day, e.g. Florida's 3 in 24 h,
    # and is then due again tomorrow)
    status = dialing.wait_settled(
        http, cid, timeout=RUN_TIMEOUT, now=lambda: datetime.now(UTC) + timedelta(seconds=OFFSET)
    )
    elapsed = time.monotonic() - started
    assert status in ("completed", "deferred"), (
        f"{status} after {elapsed:.0f} s: {sim.stats(SIM_KEY)['scenarios']}"
    )
    print(f"\n{len(plan)} leads {status} in {elapsed:.1f} s, {sim.dials(SIM_KEY)['count']} dials")
    assert sim.wait_idle(60)
    # (the runs did overlap: several dispatcher and dialer environments ran at the same time)
    fired = [firing.result(timeout=120) for firing in firings]
    pool.shutdown()
    assert all(target["error"] is None for targets in fired for target in targets), fired
    functions = httpx.get(f"{stack.api_url}/_local/health", timeout=10).json()["functions"]
    assert functions["DispatcherFunction"]["peak_concurrency"] >= 2, functions["DispatcherFunction"]
    assert functions["DialerFunction"]["peak_concurrency"] >= 2, functions["DialerFunction"]

    # AND every lead ends reached, exhausted, invalid or blocked, with its reason
    leads = {lead["id"]: lead for lead in dialing.pages(http, f"/campaigns/{cid}/leads")}
    assert set(leads) == set(lead_ids)
    by_kind: dict[Kind, Counter[str]] = defaultdict(Counter)
    for lead_id, lead in leads.items():
        by_kind[lead_ids[lead_id].kind][lead["status"]] += 1
    assert set(by_kind[Kind.DNC]) == {"blocked"}, by_kind
    assert set(by_kind[Kind.NO_CONSENT]) == {"blocked"}, by_kind
    assert set(by_kind[Kind.INVALID]) == {"invalid"}, by_kind
    assert set(by_kind[Kind.CALLABLE]) <= {"reached", "exhausted", "pending"}, by_kind
    records = our_records(stack, list(leads))
    for lead_id, (lead, _) in records.items():
        if lead["status"] == "blocked":
            expected = "dnc" if lead_ids[lead_id].kind is Kind.DNC else "no_consent"
            assert expected in lead.get("last_reasons", []), lead

    # AND the simulator's ground truth: no attempt dialled twice, no dial outside the law, no
    # dial of a blocked lead, every dial one of our attempts
    truth = sim.dials(SIM_KEY)
    assert truth["command_ids_dialled_twice"] == []
    by_phone = {p.phone: p for p in plan}
    dials_by_lead: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for dial in truth["dials"]:
        planned = by_phone[dial["to"]]
        assert planned.kind in (Kind.CALLABLE, Kind.INVALID), dial
        at = dialing.parse_time(dial["at"])
        assert dialing.legal(at, planned.zone), (dial, dialing.local_hour(at, planned.zone))
        lead_id = str(dial["command_id"]).partition("#attempt-")[0]
        assert lead_ids[lead_id] == planned, dial
        dials_by_lead[lead_id].append(dial)
    # AND our records agree with it, lead by lead: the same calls, and the outcome it played
    # (a callback the callee asked for is a dial of its own that does not use the retry budget)
    for lead_id, lead in leads.items():
        dials = dials_by_lead.get(lead_id, [])
        scenarios = [d["scenario"] for d in dials]
        attempts = [a for a in records[lead_id][1] if a.call_control_id]
        assert sorted(a.call_control_id for a in attempts) == sorted(d["call_control_id"] for d in dials)
        callbacks = {a.call_control_id for a in attempts if a.callback}
        callback_ns = {a.n for a in attempts if a.callback}
        retried = [d["scenario"] for d in dials if d["call_control_id"] not in callbacks]
        seen = [(a.n, a.callback, a.state, a.outcome) for a in records[lead_id][1]]
        why = (lead["status"], scenarios, seen)
        assert len(retried) <= MAX_ATTEMPTS, why
        if lead["status"] == "reached":
            assert scenarios[-1:] == ["human"], why
        elif lead["status"] == "exhausted":
            assert len(retried) == MAX_ATTEMPTS, why
            # a person who answered asked to be called back (and missed the callback)
            answered = [a.n for a in records[lead_id][1] if a.outcome == "answered_human"]
            assert all(n + 1 in callback_ns for n in answered), why
        elif lead["status"] == "invalid":
            assert scenarios == ["invalid_number"], why
        elif lead["status"] == "pending":  # held back by a per-person cap until tomorrow
            later = datetime.now(UTC) + timedelta(seconds=OFFSET) + timedelta(minutes=15)
            assert dialing.parse_time(str(records[lead_id][0]["next_attempt_at"])) > later, why
        else:
            assert not dials, why

    # AND what callees said on their calls (the in-call tools) was done: an opt-out put the number
    # on the DNC list and nothing dialled it again; a callback was dialled at the time confirmed
    # to the callee (the time asked for, legal in every zone here), not before
    account = sim.stats(SIM_KEY)
    opted_out = account["opt_outs_requested"]
    for phone in opted_out:
        assert http.get("/dnc/check", params={"phone": phone}).json()["dnc"] is True, phone
        to_phone = [d for d in truth["dials"] if d["to"] == phone]
        assert to_phone[-1]["scenario"] == "human", to_phone  # the call it was said on was the last
    dialled_at = defaultdict(list)
    for dial in truth["dials"]:
        dialled_at[dial["to"]].append(dialing.parse_time(dial["at"]))
    held = {lead["phone"] for lead in leads.values() if lead["status"] == "pending"}  # capped till tomorrow
    for phone, asked in account["callbacks_requested"].items():
        for when in asked if phone not in held else ():
            due = dialing.parse_time(when)
            assert any(
                due - timedelta(seconds=1) <= at <= due + CALLBACK_SLACK for at in dialled_at[phone]
            ), (
                phone,
                when,
                dialled_at[phone],
            )
    print(f"{len(opted_out)} opt-outs, {sum(map(len, account['callbacks_requested'].values()))} callbacks")

    # AND with 30 % of webhooks reordered and 20 % duplicated, every attempt's outcome is its
    # call's own final outcome, and a person who booked an appointment is never dialled again
    assert account["reordered"] > 0, account
    assert account["duplicates_sent"] > 0, account
    for lead_id, (_, attempts) in records.items():
        for attempt in attempts:
            if not attempt.call_control_id:
                continue
            call = http.get(f"/calls/{attempt.call_control_id}").json()
            assert attempt.outcome == call["outcome"], (lead_id, attempt, call)
    dial_of = {d["call_control_id"]: d for d in truth["dials"]}
    booked = [
        dial_of[c["call_control_id"]]
        for c in sim.calls(SIM_KEY)
        if (c.get("truth") or {}).get("disposition") == "appointment_set" and c["call_control_id"] in dial_of
    ]
    assert booked, "the mix books appointments"
    for dial in booked:
        after = [d for d in truth["dials"] if d["to"] == dial["to"] and d["monotonic"] > dial["monotonic"]]
        assert not after, (dial, after)

    # AND the CRM's receiver got one verified call.completed per call Telnyx placed, every one
    # refused while it was down among them (retried under its webhook-id), none twice
    placed = Counter(d["call_control_id"] for d in truth["dials"])

    def reported() -> Counter[str]:
        return Counter(r["call_id"] for r in receiver.rows() if r["type"] == "call.completed")

    waited = time.monotonic()
    assert wait_for(lambda: set(reported()) >= set(placed), timeout=90), (
        placed - reported(),
        receiver.lines(),
    )
    print(f"receiver caught up {time.monotonic() - waited:.1f} s after the campaign")
    assert reported() == placed
    lines = receiver.lines()  # before the rows: a row is written before its delivery's line
    rows = receiver.rows()
    assert {r["campaign_id"] for r in rows} == {cid}, rows
    ids = [r["webhook_id"] for r in rows]
    assert len(ids) == len(set(ids)), ids
    deliveries = {d["event_id"]: d for d in receiver.deliveries(http)}
    retried = [d for d in deliveries.values() if refused(d)]
    assert len(retried) >= REFUSED_FIRST, retried
    for delivery in retried:
        assert delivery["event_id"] in ids, delivery
        assert delivery["status"] == "delivered", delivery
        assert [a["status_code"] for a in delivery["attempts"]].count(204) == 1, delivery
    assert set(ids) <= set(deliveries)  # each row's webhook-id is its event's id
    assert not [line for line in lines if line[0] == "refused"], lines  # every signature verified
    kept = Counter(ident for what, ident in lines if what == "kept")
    assert set(kept) <= set(ids), lines
    assert set(kept.values()) == {1}, kept  # no id kept twice
    # AND a replay of one event arrives again under the same webhook-id (and is not kept twice)
    event_id = next(r["webhook_id"] for r in rows if r["type"] == "call.completed")
    replayed = http.post(f"/webhook-endpoints/{receiver.id}/replay", json={"event_id": event_id})
    assert replayed.status_code in (200, 202), replayed.text
    assert replayed.json()["replayed"] == 1, replayed.text
    assert wait_for(lambda: ("duplicate", event_id) in receiver.lines(), timeout=30), receiver.lines()
    assert [r["webhook_id"] for r in receiver.rows()].count(event_id) == 1
