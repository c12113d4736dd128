"""``make demo``: a whole compliant campaign on this machine, with no AWS account and no Docker.

1. Takes the first ``DEMO_LEADS`` rows (default 100) of ``examples/demo/leads.csv`` (every US time
   zone, 30 states, leads without consent, numbers that do not exist, duplicate rows) and stamps
   today's date as their national-DNC scrub (what you would do against the registry).
2. Starts the Telnyx simulator (the calls: humans, voicemail, no answer, busy; callees who opt out
   or ask to be called back through the assistant's tools) and the local stack (moto and every
   function of the ``sam build`` output), both with the clock moved to a weekday afternoon in the
   US so every lead is inside its calling window whatever the time here.
3. Bootstraps tenant ``demo`` (``scripts/tenant.py``), then does everything else with the
   ``dialer`` CLI, as an operator would: applies two assistants, adds the DNC list, creates the
   A/B campaign with a budget (``examples/demo/campaign.yaml``), imports the CSV through the
   presigned upload, registers ``examples/webhook_receiver.py`` as the tenant's CRM endpoint
   (``dialer webhooks create``; the receiver runs beside the stack), starts the campaign and
   watches it run (the real dispatcher, dialer, reaper and webhook deliverer, on their
   schedules), then writes the HTML report and the results CSV.
4. Checks every lead against the simulator's ground truth (what was really dialled), and the
   CRM's CSV against the calls placed, and prints the summary and the CSV's path and rows. Exit 0
   when every check held.

Run: ``make demo`` (``DEMO_LEADS=1000 make demo`` for the whole list). Output in ``.local/demo/``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from local.cpu_use import CpuSampler
from local.crm_receiver import CrmReceiver
from local.legal_time import clock_offset
from local.parameters import LOCAL_PARAMETERS
from local.process import BUILT_TEMPLATE, REPO, LocalStackProcess
from local.sandbox import free_port
from local.simulator import AccountConfig, Simulator, SimulatorConfig
from local.tenants import bootstrap_tenant

EXAMPLES = REPO / "examples"
OUT = REPO / ".local" / "demo"
TENANT = "demo"
SIM_KEY = "KEYSIM_demo"  # the simulated Telnyx account's API key (local only)
CONNECTION_ID = "local-call-control"  # the simulator accepts any Call Control connection
CHANNELS = 20
INBOUND_RESERVE = 2  # channels outbound never takes: people calling back get through
INBOUND_CALLERS = 4  # leads who call the tenant's number back while the campaign runs
CALLER_IDS = ("+12125550100", "+13055550100", "+14155550100")
#: Area codes of the caller IDs a longer list adds: a number places at most 100 calls a day (the
#: caller-ID default an operator keeps), and a lead may take three attempts.
MORE_AREA_CODES = (
    "312",
    "512",
    "602",
    "617",
    "702",
    "713",
    "206",
    "303",
    "404",
    "503",
    "615",
    "720",
    "801",
    "919",
)
CALLS_PER_LEAD = 1.5  # attempts a lead of this list takes on average (measured: 1.26 at 100 leads)
DAILY_CAP = 100


def caller_ids(leads: int) -> tuple[str, ...]:
    """The account's numbers: three, and one more per ``DAILY_CAP`` calls the list may need, so
    ``DEMO_LEADS=1000`` dials its whole list today instead of waiting for tomorrow's caps."""
    wanted = max(len(CALLER_IDS), -(-int(leads * CALLS_PER_LEAD) // DAILY_CAP))
    more = tuple(f"+1{code}5550100" for code in MORE_AREA_CODES)
    return (CALLER_IDS + more)[:wanted]


TERMINAL = {"reached", "exhausted", "invalid", "blocked"}
EXPRESS_ONLY_EVERY = 30  # one lead in 30 (from the fifth) has express, not written, consent
# What examples/demo/campaign.yaml's voicemail setting says (the demo checks the mailboxes for it).
DEMO_CALLER_NAME = "Ava from Acme Insurance"
DEMO_CALLBACK_SPOKEN = "212 555 0199"
HORIZON = 600  # seconds: the watch ends once nothing falls due sooner (retries here are 1 minute)
# Lead-local hours a dial may happen in: the campaign's window, inside every state's own.
EARLIEST, LATEST = 9, 20


def prepare_leads(count: int, scrubbed_at: datetime) -> dict[str, Any]:
    """The first ``count`` rows of the demo list, scrubbed "today"; what each number is."""
    with (EXAMPLES / "demo" / "leads.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = [row for _, row in zip(range(count), reader, strict=False)]
    for row in rows:
        row["DNC Scrubbed At"] = scrubbed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    phones = {row["Phone"] for row in rows}
    dnc = [p for p in (EXAMPLES / "demo" / "dnc.txt").read_text().split() if p in phones]
    invalid = [p for p in (EXAMPLES / "demo" / "invalid.txt").read_text().split() if p in phones]
    # A few leads consented only by phone (express, not written): the campaign may call them, but
    # a telemarketing voicemail needs written consent, so their machines get no message.
    candidates = [
        r for r in rows if r["Consent Type"] == "express_written" and r["Phone"] not in {*dnc, *invalid}
    ]
    for row in candidates[4::EXPRESS_ONLY_EVERY]:
        row["Consent Type"] = "express"
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "leads.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    (OUT / "dnc.txt").write_text("\n".join(dnc) + "\n")
    # A phone's consent as the import leaves it: a duplicate row merges into the first, and its
    # consent, when it has one, replaces the lead's (a row without one keeps it).
    consent: dict[str, str] = {}
    for row in rows:
        if row["Consent Type"] or row["Phone"] not in consent:
            consent[row["Phone"]] = row["Consent Type"]
    return {
        "rows": len(rows),
        "dnc": set(dnc),
        "invalid": set(invalid),
        "no_consent": {phone for phone, kind in consent.items() if not kind},
        "express_only": {phone for phone, kind in consent.items() if kind == "express"},
        "zone": {row["Phone"]: row["Timezone"] for row in rows},
    }


def campaign_file(numbers: tuple[str, ...]) -> str:
    """``examples/demo/campaign.yaml``, or a copy in the output folder with the longer list's
    caller IDs."""
    example = Path("examples/demo/campaign.yaml")
    if numbers == CALLER_IDS:
        return str(example)
    line = f"caller_ids: {json.dumps(list(CALLER_IDS))}\n"
    text = example.read_text()
    if line not in text:
        raise SystemExit(f"{example} no longer lists the demo's caller IDs as {line.strip()!r}")
    copy = OUT / "campaign.yaml"
    copy.write_text(text.replace(line, f"caller_ids: {json.dumps(list(numbers))}\n"))
    return str(copy)


def simulator_config(
    api_port: int,
    offset: float,
    invalid: set[str],
    time_scale: float,
    machines: set[str] = frozenset(),
    numbers: tuple[str, ...] = CALLER_IDS,
) -> SimulatorConfig:
    """The tenant's simulated Telnyx account: the outcome and disposition mix of a real list."""
    return SimulatorConfig(
        accounts=(
            AccountConfig(
                api_key=SIM_KEY,
                webhook_url=f"http://127.0.0.1:{api_port}/webhooks/telnyx/{TENANT}",
                channel_limit=CHANNELS,
                phone_numbers=numbers,
            ),
        ),
        seed=2026,
        time_scale=time_scale,
        conversation_secs=(20.0, 150.0),
        scenario_mix={"human": 0.45, "voicemail": 0.25, "no_answer": 0.2, "busy": 0.1},
        disposition_mix={
            "interested": 0.3,
            "not_interested": 0.25,
            "callback_requested": 0.2,
            "appointment_set": 0.1,
            "dnc": 0.1,
            "wrong_number": 0.05,
        },
        # A person names a whole minute at least this far ahead. The first burst starts ~15 s
        # into the campaign clock's first minute and lasts ~9 s: at 45 s its callbacks fell on
        # both sides of a minute (calls before :16 asked for 21:01, later ones for 21:02), and a
        # 21:02 callback that met a busy line was retried at 21:03, past the 150 s the campaign
        # phase has (one run in three took 170 s). At 20 s every callback of the burst is 21:01.
        callback_after_s=20.0,
        number_scenarios={**dict.fromkeys(machines, "voicemail"), **dict.fromkeys(invalid, "invalid_number")},
        # How long a mailbox waits for speech after its greeting: long here (2 real minutes),
        # because on moto the event processor lags 12 s and more behind the calls on a loaded
        # machine (decisions, issue 22), and at 50x speed 14 s of mailbox patience is 0.3 s.
        # The product acts on every greeting (speaks or hangs up), so no call waits it out.
        mailbox_silence_secs=(6000.0, 7000.0),
        clock_offset_s=offset,
    )


#: The functions that run during the first burst of calls, warm before it: the ones every call
#: goes through, the dispatcher (its schedule's next firing overlaps the run that claims the
#: burst, in a second environment) and the analytics API (the watch's first stats). Cold, the
#: last two initialised on the burst's cores (~1 CPU-second, measured).
WARM = (
    "WebhookIntakeFunction",
    "EventProcessorFunction",
    "DialerFunction",
    "AssistantToolsFunction",
    "TranscriptsFunction",
    "DispatcherFunction",
    "AnalyticsApiFunction",
)


def stack_args(
    api_port: int,
    telnyx_url: str,
    public_key: str,
    offset: float,
    time_scale: float = 1.0,
    concurrency: int | None = None,
) -> list[str]:
    """The stack as ``make dev`` runs it, with the dispatcher and reaper on fast schedules and the
    queues' batching windows sped up as the simulator speeds up calls (``time_scale`` real seconds
    per call second): a 1 s window would otherwise hold each hangup longer than a whole call."""
    return [
        *(["--concurrency", str(concurrency)] if concurrency else []),
        "--batching-window",
        f"{time_scale:g}",
        "--port",
        str(api_port),
        "--parameter-overrides",
        *LOCAL_PARAMETERS,
        f"TelnyxBaseUrl={telnyx_url}",
        f"PublicApiUrl=http://127.0.0.1:{api_port}",
        "--tenant",
        f"{TENANT}={public_key}",
        "--schedule-period",
        "0",
        "--schedule-period",
        "DispatcherFunction=5",
        "--schedule-period",
        "ReaperFunction=30",
        "--schedule-period",  # the event-webhook deliverer back to back (a run loops ~50 s)
        "WebhookDeliveryFunction=1",
        "--clock-offset",
        repr(offset),
        # The functions a campaign's first burst of calls runs at once (see local/run.py --warm).
        *(arg for function in WARM for arg in ("--warm", function)),
    ]


class Cli:
    """The ``dialer`` CLI, run as a user runs it (its own process, configured by environment)."""

    def __init__(self, api_url: str, api_key: str) -> None:
        self.env = {**os.environ, "DIALER_API_URL": api_url, "DIALER_API_KEY": api_key}
        self.env.pop("DIALER_CONFIG", None)
        self.env.pop("DIALER_PROFILE", None)

    def __call__(self, *args: str, capture: bool = False) -> str:
        print(f"\n$ dialer {' '.join(args)}", flush=True)
        done = subprocess.run(
            [str(Path(sys.executable).with_name("dialer")), *args],  # the console script
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE if capture else None,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"`dialer {' '.join(args)}` exited with {done.returncode}")
        return done.stdout or ""


def http_client(api_url: str, api_key: str) -> httpx.Client:
    """The management API with the demo tenant's key."""
    return httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60)


def assign_inbound_number(api_url: str, api_key: str) -> str:
    """Point the first caller ID at the demo's assistant (``PUT /numbers/{id}/assignment``), so a
    lead who calls it back reaches the assistant; returns the number."""
    with http_client(api_url, api_key) as http:
        assistant = next(a for a in http.get("/assistants").json()["data"] if "direct" not in a["name"])
        number = next(n for n in http.get("/numbers").json()["data"] if n["phone_number"] == CALLER_IDS[0])
        assigned = http.put(f"/numbers/{number['id']}/assignment", json={"assistant_id": assistant["id"]})
        assigned.raise_for_status()
    print(f"  inbound  {CALLER_IDS[0]} answered by '{assistant['name']}' ({INBOUND_RESERVE} channels kept)")
    return CALLER_IDS[0]


def call_back_during_campaign(sim: Simulator, plan: dict[str, Any], number: str) -> list[str]:
    """A few leads call the tenant's number back while the campaign dials (one every 5 s from its
    start): their calls hold channels the campaign must leave them (``inbound_reserve``)."""
    callers = [p for p in sorted(plan["zone"]) if p not in plan["dnc"] | plan["invalid"]][:INBOUND_CALLERS]
    placed: list[str] = []
    account = sim.account(SIM_KEY)

    def call_in() -> None:
        for caller in callers:
            time.sleep(5)
            placed.append(sim.place_inbound_call(account, from_=caller, to=number).call_control_id)

    threading.Thread(target=call_in, name="inbound-callers", daemon=True).start()
    return placed


def inbound_check(http: httpx.Client, sim: Simulator, placed: list[str]) -> tuple[str, bool, str]:
    """The reserve against the simulator's ground truth: outbound never held more than the channel
    limit less the reserve, and every inbound call was answered and recorded like any call."""
    with http:
        recorded = [c for c in placed if http.get(f"/calls/{c}").json().get("state") == "ended"]
    stats = sim.stats(SIM_KEY)
    limit = CHANNELS - INBOUND_RESERVE
    held = (
        len(placed) == INBOUND_CALLERS
        and len(recorded) == len(placed)
        and stats["peak_outbound"] <= limit
        and stats["peak_outbound_with_inbound"] <= limit
    )
    return (
        f"channels kept for inbound: outbound never above {limit} of {CHANNELS}, every inbound call recorded",
        held,
        f"outbound peak {stats['peak_outbound']} (with inbound live: {stats['peak_outbound_with_inbound']}),"
        f" {len(recorded)} of {len(placed)} inbound recorded",
    )


def start_crm(dialer: Cli, crm: CrmReceiver) -> None:
    """Register the example receiver as the tenant's CRM endpoint (the secret is captured, not
    printed) and start it: every event of the campaign lands in its CSV."""
    made = dialer(
        "--json",
        "webhooks",
        "create",
        crm.url,
        "--description",
        "demo CRM (examples/webhook_receiver.py)",
        capture=True,
    )
    endpoint = json.loads(made)
    print(f"  endpoint {endpoint['id']} -> {crm.url} (every event type), secret kept by the receiver")
    crm.start(endpoint["secret"])


def crm_check(crm: CrmReceiver, sim: Simulator, settle: float = 6.0) -> tuple[str, bool, str]:
    """The demo's check of its CRM: one verified ``call.completed`` per call the simulator
    placed, once the CSV stopped growing (a few seconds at most: the deliverer polls every 2 s)."""
    placed = Counter(d["call_control_id"] for d in sim.dials(SIM_KEY)["dials"])

    def reported() -> Counter[str]:
        return Counter(r["call_id"] for r in crm.rows() if r["type"] == "call.completed")

    deadline = time.monotonic() + settle
    while reported() != placed and time.monotonic() < deadline:
        time.sleep(0.5)
    got = reported()
    refused = sum(1 for what, _ in crm.lines() if what == "refused")
    detail = f"{sum(got.values())} of {len(placed)} calls in the CSV, {refused} deliveries refused"
    return "event webhooks: one signed call.completed per call placed", got == placed and not refused, detail


def crm_summary(crm: CrmReceiver) -> str:
    """Where the CRM's CSV is and what it holds."""
    by_type = Counter(r["type"] for r in crm.rows())
    kinds = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items()))
    return f"event webhooks: {sum(by_type.values())} rows in {crm.csv} ({kinds}); each delivery in {crm.log}"


def pages(http: httpx.Client, path: str) -> list[dict[str, Any]]:
    """Every item of a paginated listing."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = http.get(path, params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        page.raise_for_status()
        items += page.json()["data"]
        cursor = page.json().get("next_cursor")
        if not cursor:
            return items


def check(
    http: httpx.Client,
    campaign_id: str,
    sim: Simulator,
    plan: dict[str, Any],
    parked: dict[str, int] | None = None,
) -> list[tuple[str, bool, str]]:
    """Our records against the simulator's ground truth: (check, held, detail) rows."""
    leads = pages(http, f"/campaigns/{campaign_id}/leads")
    details = {lead["id"]: http.get(f"/leads/{lead['id']}").json() for lead in leads}
    truth = sim.dials(SIM_KEY)
    account = sim.stats(SIM_KEY)
    dials_by_lead: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for dial in truth["dials"]:
        dials_by_lead[str(dial["command_id"]).partition("#attempt-")[0]].append(dial)
    ours = {
        a["call_control_id"] for lead in details.values() for a in lead["history"] if a.get("call_control_id")
    }
    blocked_phones = plan["dnc"] | plan["no_consent"]
    outside = []
    for dial in truth["dials"]:
        at = datetime.fromisoformat(str(dial["at"]).replace("Z", "+00:00"))
        local = at.astimezone(ZoneInfo(plan["zone"].get(dial["to"], "America/New_York")))
        if not EARLIEST <= local.hour + local.minute / 60 < LATEST:
            outside.append(dial["to"][:-4] + "****")
    statuses = Counter(lead["status"] for lead in leads)
    nonexistent = [lead for lead in leads if lead["phone"] in plan["invalid"]]
    # Pending now means due later than the next few minutes: a retry or a callback the law moved
    # to another day (a state's daily cap), never one the engine forgot.
    later = datetime.now(UTC) + timedelta(seconds=plan["offset"] + HORIZON // 2)
    held_by_law = all(
        lead.get("next_attempt_at")
        and datetime.fromisoformat(str(lead["next_attempt_at"]).replace("Z", "+00:00")) > later
        for lead in details.values()
        if lead["status"] == "pending"
    )
    opted_out = account["opt_outs_requested"]
    dialled_after_opt_out = [
        p for p in opted_out if [d for d in truth["dials"] if d["to"] == p][-1]["scenario"] != "human"
    ]
    # What each call concluded and cost, as Telnyx sent it, against our call records and totals.
    sent = [c for c in sim.calls(SIM_KEY) if c.get("truth")]
    records = {c["call_control_id"]: http.get(f"/calls/{c['call_control_id']}").json() for c in sent}
    concluded_otherwise = [
        c["call_control_id"]
        for c in sent
        if "disposition" in c["truth"]
        and records[c["call_control_id"]].get("disposition") != c["truth"]["disposition"]
    ]
    billed_otherwise = [
        c["call_control_id"]
        for c in sent
        if "cost" in c["truth"]
        and Decimal(str(records[c["call_control_id"]].get("cost") or "0")) != Decimal(c["truth"]["cost"])
    ]
    billed = sum((Decimal(c["truth"]["cost"]) for c in sent if "cost" in c["truth"]), Decimal(0))
    spent = Decimal(str(http.get(f"/campaigns/{campaign_id}/stats").json()["calls"]["cost_total"]))
    # Every conversation that ended has its transcript: the messages Telnyx holds, oldest first.
    account_messages = sim.account(SIM_KEY).messages
    talked = [
        c for c in sim.calls(SIM_KEY) if "call.conversation.ended" in c["events"] and c["conversation_id"]
    ]
    transcripts_differ = []
    for c in talked:
        found = http.get(f"/calls/{c['call_control_id']}/transcript")
        held = sorted(
            (str(m.get("created_at")), str(m.get("text")))
            for m in account_messages.get(c["conversation_id"], [])
        )
        stored = [(str(m.get("created_at")), str(m.get("text"))) for m in found.json().get("messages", [])]
        if (
            found.status_code != 200
            or sorted(stored) != held
            or [t for t, _ in stored] != sorted(t for t, _ in stored)
        ):
            transcripts_differ.append(c["call_control_id"])
    exported = list(csv.DictReader(io.StringIO(http.get(f"/campaigns/{campaign_id}/results").text)))
    mismatched = [
        lead_id
        for lead_id, lead in details.items()
        if sorted(a["call_control_id"] for a in lead["history"] if a.get("call_control_id"))
        != sorted(d["call_control_id"] for d in dials_by_lead.get(lead_id, []))
    ]
    return [
        (
            "every lead ended (reached, exhausted, invalid, blocked) or waits for later (a callback, a state's cap)",
            set(statuses) <= TERMINAL | {"pending"} and held_by_law,
            dict(statuses),
        ),
        (
            "each call's disposition is what its insights said",
            not concluded_otherwise,
            f"{sum('disposition' in c['truth'] for c in sent)} concluded, {len(concluded_otherwise)} differ",
        ),
        (
            "each call's cost and the campaign's spend are what Telnyx billed",
            not billed_otherwise and spent == billed,
            f"{spent:.4f} of {billed:.4f} USD, {len(billed_otherwise)} calls differ",
        ),
        (
            "every conversation's transcript is stored, as Telnyx holds it",
            not transcripts_differ,
            f"{len(talked)} transcripts, {len(transcripts_differ)} differ",
        ),
        (
            "the results export has every lead once",
            sorted(r["lead_id"] for r in exported) == sorted(lead["id"] for lead in leads),
            f"{len(exported)} rows",
        ),
        (
            "nothing parked in a dead-letter queue",
            not any((parked or {}).values()),
            ", ".join(f"{name}: {n}" for name, n in sorted((parked or {}).items()) if n) or "all empty",
        ),
        ("no attempt dialled twice", not truth["command_ids_dialled_twice"], f"{truth['count']} dials"),
        ("every dial is one of our attempts", {d["call_control_id"] for d in truth["dials"]} == ours, ""),
        ("each lead's calls equal what Telnyx placed", not mismatched, f"{len(mismatched)} differ"),
        (
            "no DNC or no-consent number dialled",
            not any(d["to"] in blocked_phones for d in truth["dials"]),
            "",
        ),
        ("no dial outside the lead's calling hours", not outside, f"{len(outside)} outside"),
        (
            "opt-outs on the DNC list, never dialled again",
            not dialled_after_opt_out
            and all(http.get("/dnc/check", params={"phone": p}).json()["dnc"] for p in opted_out),
            f"{len(opted_out)} opt-outs",
        ),
        voicemail_check(http, sim, plan),
        (
            "numbers that do not exist: invalid after one dial",
            all(
                (lead["status"] == "invalid" and len(dials_by_lead.get(lead["id"], [])) == 1)
                # not dialled yet: waiting past the horizon (e.g. every caller ID at its daily cap)
                or (lead["status"] == "pending" and not dials_by_lead.get(lead["id"]))
                for lead in nonexistent
            ),
            f"{sum(lead['status'] == 'invalid' for lead in nonexistent)} invalid,"
            f" {sum(lead['status'] == 'pending' for lead in nonexistent)} not dialled yet",
        ),
    ]


def voicemail_check(http: httpx.Client, sim: Simulator, plan: dict[str, Any]) -> tuple[str, bool, str]:
    """Machine answers against the mailboxes' ground truth: a lead with written consent heard the
    message (who calls first, the callback number in it) and its call is voicemail_left; an
    express-only lead's mailbox heard nothing and its call names the reason."""
    boxes = sim.mailboxes(SIM_KEY)["mailboxes"]
    wrong: list[str] = []
    left = skipped = 0
    for box in boxes:
        call = http.get(f"/calls/{box['call_control_id']}").json()
        masked = box["to"][:-4] + "****"
        if box["to"] in plan["express_only"]:
            skipped += 1
            if box["heard"] or (call.get("voicemail") or {}).get("reason") != "no_voicemail_consent":
                wrong.append(masked)
        elif box["greeting_ended"]:
            left += 1
            heard = " ".join(box["heard"])
            if not (
                box["complete"]
                and heard.startswith(f"Hello, this is {DEMO_CALLER_NAME}.")
                and DEMO_CALLBACK_SPOKEN in heard
                and call.get("outcome") == "voicemail_left"
            ):
                record = call.get("voicemail") or {}
                wrong.append(f"{masked} {record.get('status')}/{record.get('reason')}/{call.get('outcome')}")
    return (
        "voicemail: consented machines got the message (caller, callback number), express-only ones none and a reason",
        left > 0 and skipped > 0 and not wrong,
        f"{left} left, {skipped} refused, {len(wrong)} wrong {wrong[:5]}",
    )


def dead_letters(stack: LocalStackProcess) -> dict[str, int]:
    """Messages waiting in each dead-letter queue of the stack (a fault parked, not lost)."""
    sqs = stack.boto3_client("sqs")
    found = {}
    for name, url in stack.resources.items():
        if name.endswith("DeadLetterQueue") or name == "FailedInvocationsQueue":
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )
            found[name] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return found


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 0 when every check held."""
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=int(os.environ.get("DEMO_LEADS") or 100))
    parser.add_argument(
        "--time-scale", type=float, default=0.02, help="real seconds per simulated call second"
    )
    parser.add_argument(
        "--timeout", type=float, default=0, help="give up after this many seconds (0: by size)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="execution environments per function (the stack's default)",
    )
    parser.add_argument(
        "--explore",
        action="store_true",
        help="after the checks, keep the stack running for the console until Enter or Ctrl-C",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.leads <= 1000:
        parser.error("--leads / DEMO_LEADS must be between 1 and 1000 (the rows of examples/demo/leads.csv)")
    if not BUILT_TEMPLATE.is_file():
        print(f"{BUILT_TEMPLATE} is missing: run `make build` first", file=sys.stderr)
        return 2
    started = time.monotonic()
    offset = clock_offset()
    now = datetime.now(UTC) + timedelta(seconds=offset)
    plan = {**prepare_leads(args.leads, now), "offset": offset}
    shutil.rmtree(OUT / "logs", ignore_errors=True)  # this run's logs only (the lag is read from them)
    api_port = free_port()
    numbers = caller_ids(args.leads)
    sim = Simulator(
        simulator_config(api_port, offset, plan["invalid"], args.time_scale, plan["express_only"], numbers)
    ).start()
    stack = LocalStackProcess(
        BUILT_TEMPLATE,
        OUT,
        stack_args(api_port, sim.base_url, sim.public_key_b64, offset, args.time_scale, args.concurrency),
    )
    crm = CrmReceiver(OUT)
    cpu = CpuSampler()  # this process (the simulator) and every child: the stack, moto, the CLI
    phases: dict[str, float] = {}
    mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        phases[name] = time.monotonic() - mark
        mark = time.monotonic()

    try:
        print(f"starting the local stack and the Telnyx simulator ({args.leads} leads)...", flush=True)
        stack.start(timeout=180)
        phase("stack")
        credentials = bootstrap_tenant(
            stack.info,
            TENANT,
            telnyx_api_key=SIM_KEY,
            connection_id=CONNECTION_ID,
            name="Demo",
            channel_limit=CHANNELS,
            inbound_reserve=INBOUND_RESERVE,
            # The tenant's default insight group on the simulator: structured results, delivered
            # both as the call event and as the group webhook (joined through the conversation).
            telnyx_base_url=sim.base_url,
        )
        dialer = Cli(stack.api_url, credentials["api_key"])
        print(
            f"\n  console  {stack.api_url}/console   (sign in with the API key {credentials['api_key']};"
            " watch the campaign run there)",
            flush=True,
        )
        dialer("assistants", "apply", "-f", "examples/assistant.yaml")
        dialer("assistants", "apply", "-f", "examples/assistant-b.yaml")
        inbound_number = assign_inbound_number(stack.api_url, credentials["api_key"])
        dialer("dnc", "import", str(OUT / "dnc.txt"), "--reason", "demo: the tenant's list")
        created = dialer("campaigns", "create", "-f", campaign_file(numbers), "--quiet", capture=True)
        campaign_id = created.strip().splitlines()[-1]
        dialer("campaigns", "import", campaign_id, str(OUT / "leads.csv"))
        start_crm(dialer, crm)
        phase("setup")
        cpu.start()
        dialer("campaigns", "start", campaign_id)
        callers = call_back_during_campaign(sim, plan, inbound_number)
        budget = args.timeout or 240 + 6 * args.leads
        # Until completed, or until nothing is in flight and no lead falls due within the horizon
        # (longer than any retry delay here): a lead that reached a state's daily cap (Florida,
        # Oklahoma: 3 calls in 24 h) is due again tomorrow, a callback may be days out, and the
        # demo does not wait for them.
        dialer(
            "campaigns", "watch", campaign_id, "--timeout", str(int(budget)), "--until-settled", str(HORIZON)
        )
        phase("campaign")
        cpu.stop()
        dialer("campaigns", "stats", campaign_id)
        dialer("caller-ids")
        dialer("campaigns", "report", campaign_id, "-o", str(OUT / "report.html"))
        dialer("campaigns", "export", campaign_id, "-o", str(OUT / "results.csv"))
        phase("report")
        sim.wait_idle(60)
        with httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {credentials['api_key']}"}, timeout=60
        ) as http:
            rows = check(http, campaign_id, sim, plan, dead_letters(stack))
            progress = http.get(f"/campaigns/{campaign_id}/progress").json()
        rows.append(crm_check(crm, sim))
        rows.append(inbound_check(http_client(stack.api_url, credentials["api_key"]), sim, callers))
        phase("checks")
        pace = measure(sim, OUT / "logs", progress, phases, cpu)
        code = summarize(rows, time.monotonic() - started, plan, pace)
        print(crm_summary(crm), flush=True)
        if args.explore:
            explore(stack.api_url, credentials["api_key"])
        return code
    except RuntimeError as exc:
        print(f"demo failed: {exc} (logs in {OUT / 'logs'})", file=sys.stderr)
        return 1
    finally:
        cpu.stop()
        crm.stop()
        stack.stop()
        sim.stop()


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def hangup_lags(log_dir: Path) -> list[float]:
    """Seconds from each hangup's ``occurred_at`` (the simulator sending it) to its application by
    the event processor (which frees the call's slot there): the ``WebhookLagSeconds`` metric lines."""
    lags: list[float] = []
    for log in log_dir.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if '"WebhookLagSeconds"' not in line or "call.hangup" not in line:
                continue
            try:
                value = json.loads(line[line.index("{") :]).get("WebhookLagSeconds")
            except ValueError:
                continue
            lags += [float(v) for v in (value if isinstance(value, list) else [value]) if v is not None]
    return lags


def measure(
    sim: Simulator,
    log_dir: Path,
    progress: dict[str, Any],
    phases: dict[str, float],
    cpu: CpuSampler | None = None,
) -> dict[str, Any]:
    """The demo's pace: phase times, the dial rate while leads were due, the hangup lag, what waits
    past the horizon, and how busy the cores were meanwhile."""
    dials = sim.dials(SIM_KEY)["dials"]
    first = [d for d in dials if str(d["command_id"]).endswith("#attempt-1")]
    firsts = sorted(datetime.fromisoformat(str(d["at"]).replace("Z", "+00:00")).timestamp() for d in first)
    span = firsts[-1] - firsts[0] if len(firsts) > 1 else 0.0
    # How many calls were on the line meanwhile (the simulator's channels, inbound included): with
    # the channels the campaign may use all busy, calls of this length allow no faster rate.
    placed = sorted(d["monotonic"] for d in first)
    occupied = sim.channel_occupancy(placed[0], placed[-1], SIM_KEY) if span else 0.0
    lags = hangup_lags(log_dir)
    # The rate follows the machine's speed: the cores the demo's processes kept busy meanwhile, and
    # the CPU seconds each dial cost them, tell a slow or busy machine from a slower pipeline.
    used = cpu.between(placed[0], placed[-1]) if cpu is not None and span else None
    cores = None
    if used is not None:
        since, until, seconds = used
        dialled = sum(1 for d in dials if since <= d["monotonic"] <= until)
        cores = {
            "busy": round(seconds / (until - since), 2),
            "of": os.cpu_count(),
            "cpu_s_per_dial": round(seconds / dialled, 3) if dialled else None,
        }
    return {
        "phases_s": {name: round(seconds, 1) for name, seconds in phases.items()},
        "dials": len(dials),
        "first_attempt_dials_per_s": round((len(firsts) - 1) / span, 2) if span else None,
        "first_attempt_calls_on_line": round(occupied, 1),
        "first_attempt_cores": cores,
        "hangup_lag_s": {"p50": percentile(lags, 0.5), "p99": percentile(lags, 0.99), "count": len(lags)},
        "waiting_leads": (progress.get("leads_by_state") or {}).get("pending", 0),
        "next_due_at": progress.get("next_due_at"),
    }


def explore(api_url: str, api_key: str) -> None:
    """Keep the stack up for the console until the user is done (no terminal: at once)."""
    print(
        f"\nthe demo's campaign is there to explore:\n  console  {api_url}/console\n  API key  {api_key}\n"
        "Enter or Ctrl-C stops the stack.",
        flush=True,
    )
    with contextlib.suppress(EOFError, KeyboardInterrupt):
        input()


def summarize(
    rows: list[tuple[str, bool, str]],
    elapsed: float,
    plan: dict[str, Any],
    pace: dict[str, Any] | None = None,
) -> int:
    """Print the ground-truth table; 0 when every row held."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Every lead against the simulator's ground truth ({plan['rows']} rows)")
    table.add_column("check")
    table.add_column("held")
    table.add_column("detail")
    for name, held, detail in rows:
        table.add_row(name, "[green]yes[/]" if held else "[red]NO[/]", str(detail))
    console = Console()
    console.print(table)
    report = OUT / "report.html"
    size = report.stat().st_size if report.exists() else 0
    if pace:
        lag = pace["hangup_lag_s"]
        console.print(
            "phases: "
            + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in pace["phases_s"].items())
            + f" · {pace['dials']} dials, first attempts at {pace['first_attempt_dials_per_s']} dials/s"
            + f" with {pace['first_attempt_calls_on_line']} calls on the line on average"
            + (
                f", {cores['busy']} of {cores['of']} cores busy ({cores['cpu_s_per_dial']} CPU-s a dial)"
                if (cores := pace.get("first_attempt_cores"))
                else ""
            )
            + (f" · hangup lag p50 {lag['p50']:.2f} s, p99 {lag['p99']:.2f} s" if lag["count"] else "")
        )
        if pace["waiting_leads"]:
            console.print(
                f"{pace['waiting_leads']} leads wait past the demo's {HORIZON // 60}-minute horizon "
                f"(the next falls due at {pace['next_due_at']}, campaign clock)"
            )
    console.print(
        f"demo finished in {elapsed:.0f} s · report {report} ({size / 1024:.0f} KiB) · results {OUT / 'results.csv'}"
    )
    (OUT / "summary.json").write_text(
        json.dumps(
            {"seconds": round(elapsed, 1), "report_bytes": size, "checks": rows, "pace": pace}, indent=2
        )
    )
    return 0 if all(held for _, held, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
