"""A dialing population for the engine's end-to-end test and benchmark: leads spread over every US
zone (each with its state's area code and explicit zone), with DNC, no-consent and invalid numbers
mixed in at fixed intervals, the clock offset that puts "now" inside every lead's calling window,
and an independent check of a dial's legality (lead-local time, computed here, not by the engine).
"""

from __future__ import annotations

import csv
import io
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from local.legal_time import clock_offset
from local.parameters import LOCAL_PARAMETERS
from tests.support.lead_csv import EXCHANGES, HEADER

__all__ = ["clock_offset"]  # re-exported: the tests' clock shift is the demo's

# (state, area code, zone): every US zone, and states with rules of their own (windows, caps).
ZONES: tuple[tuple[str, str, str], ...] = (
    ("NY", "212", "America/New_York"),
    ("FL", "305", "America/New_York"),
    ("KY", "502", "America/New_York"),
    ("RI", "401", "America/New_York"),
    ("IL", "312", "America/Chicago"),
    ("TX", "214", "America/Chicago"),
    ("AL", "205", "America/Chicago"),
    ("CO", "303", "America/Denver"),
    ("UT", "801", "America/Denver"),
    ("AZ", "602", "America/Phoenix"),
    ("CA", "415", "America/Los_Angeles"),
    ("WA", "206", "America/Los_Angeles"),
    ("NV", "702", "America/Los_Angeles"),
    ("AK", "907", "America/Anchorage"),
    ("HI", "808", "Pacific/Honolulu"),
)
# Lead-local hours every dial must fall in: the federal window (08:00-21:00) intersected with the
# campaign's default window (09:00-20:00) and the strictest state above (RI ends at 18:00).
EARLIEST, LATEST = 9, 18
CONSENT = {"type": "express_written", "source": "web form", "granted_at": "2026-01-05T10:00:00Z"}


class Kind(StrEnum):
    """What the lead is in the population, hence how it must end."""

    CALLABLE = "callable"  # reached or exhausted, by what the simulator plays
    DNC = "dnc"  # on the tenant's DNC list before activation: blocked, never dialled
    NO_CONSENT = "no_consent"  # no consent record: blocked, never dialled
    INVALID = "invalid"  # the simulator says the number does not exist: invalid after one dial


@dataclass(frozen=True)
class PlannedLead:
    """One lead of the population."""

    index: int
    phone: str
    state: str
    zone: str
    kind: Kind


def phone(area_code: str, j: int) -> str:
    """A distinct valid number of ``area_code`` for every j below ``len(EXCHANGES) * 9000``."""
    return f"+1{area_code}{EXCHANGES[j % len(EXCHANGES)]}{1000 + j // len(EXCHANGES):04d}"


def population(count: int) -> list[PlannedLead]:
    """``count`` leads round-robin over :data:`ZONES`; 1 in 20 each is DNC, no-consent, invalid."""
    leads = []
    for i in range(count):
        state, area, zone = ZONES[i % len(ZONES)]
        kind = {3: Kind.DNC, 7: Kind.NO_CONSENT, 11: Kind.INVALID}.get(i % 20, Kind.CALLABLE)
        leads.append(PlannedLead(i, phone(area, i // len(ZONES)), state, zone, kind))
    return leads


def local_hour(at: datetime, zone: str) -> float:
    """Lead-local hour of day (with fraction) of an instant."""
    local = at.astimezone(ZoneInfo(zone))
    return local.hour + local.minute / 60 + local.second / 3600


def legal(at: datetime, zone: str) -> bool:
    """True if a dial at ``at`` falls inside :data:`EARLIEST`..:data:`LATEST` lead-local, on a weekday."""
    local = at.astimezone(ZoneInfo(zone))
    return local.weekday() < 5 and EARLIEST <= local_hour(at, zone) < LATEST


def parse_time(text: str) -> datetime:
    """A Telnyx/ISO timestamp (``...Z``) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the local stack, dialing -------------------------------------------------------------------
STAGE = "local"
CALLER_IDS = ("+12125550100", "+13055550100", "+14155550100")
RETRIED = ("no_answer", "busy", "voicemail", "failed", "unknown")
CONNECTION_ID = "local-call-control"  # the simulator accepts any Call Control connection id


def free_port() -> int:
    """A free loopback port (for the API, whose URL the simulator must know before the stack starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stack_args(
    api_port: int, telnyx_base_url: str, tenant: str, public_key_b64: str, offset: float, *extra: str
) -> list[str]:
    """``local.run`` options of a stack that dials by itself against a simulator, as ``make dev``
    does (dispatcher and reaper on their schedules, here faster), with the clock shifted and the
    queues' batching windows sped up like the simulator's calls (``time_scale`` 0.02)."""
    return [
        "--port",
        str(api_port),
        "--batching-window",
        "0.02",
        "--parameter-overrides",
        *LOCAL_PARAMETERS,
        f"TelnyxBaseUrl={telnyx_base_url}",
        f"PublicApiUrl=http://127.0.0.1:{api_port}",
        *extra,
        "--tenant",
        f"{tenant}={public_key_b64}",
        "--schedule-period",
        "0",
        "--schedule-period",
        "DispatcherFunction=5",
        "--schedule-period",
        "ReaperFunction=15",
        "--clock-offset",
        repr(offset),
    ]


@contextmanager
def tenant_client(stack: Any, tenant: str, telnyx_api_key: str) -> Iterator[httpx.Client]:
    """A tenant bootstrapped as the CLI does (its Telnyx key: the simulator account's), and an
    HTTP client with its first API key."""
    from dialer.adapters.secrets import TenantSecrets
    from dialer.adapters.tenants_table import TenantsTable
    from dialer.services.tenants import TenantAdmin

    admin = TenantAdmin(
        TenantsTable(stack.resources["StateTable"], client=stack.boto3_client("dynamodb")),
        TenantSecrets(f"/telnyx-ai-dialer/{STAGE}", client=stack.boto3_client("ssm")),
    )
    admin.create_tenant(tenant)
    admin.set_secrets(tenant, telnyx_api_key=telnyx_api_key)
    set_dialing(stack, tenant, call_control_connection_id=CONNECTION_ID)
    key = admin.issue_api_key(tenant, "dialing").plaintext
    with httpx.Client(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as client:
        # Cold Lambda-like processes on a busy machine can time out their first invocation (the
        # authorizer has 5 s): warm the path before the caller relies on it.
        deadline = time.monotonic() + 120
        while client.get("/tenants/me").status_code != 200 and time.monotonic() < deadline:
            time.sleep(1)
        yield client


def set_dialing(stack: Any, tenant: str, **values: Any) -> None:
    """A tenant's dialing settings (connection, limits), as ``scripts/tenant.py set-dialing`` stores them."""
    from dialer.adapters.dialing_table import DialingTable

    table = DialingTable(stack.resources["StateTable"], client=stack.boto3_client("dynamodb"))
    assert table.set_tenant_limits(tenant, **values)


def create_campaign(http: httpx.Client, *, max_attempts: int, name: str = "Dialing", **extra: Any) -> str:
    """An assistant (created on the simulator through our API), caller IDs of three area codes,
    and a campaign that retries at once (delay 0) up to ``max_attempts``; returns its id."""
    assistant = http.post("/assistants", json={"name": name, "instructions": "Hello {{first_name}}."})
    assert assistant.status_code in (200, 201), assistant.text
    caller_ids = []
    for number in CALLER_IDS:
        created = http.post("/caller-ids", json={"phone_number": number, "daily_cap": 100_000})
        assert created.status_code == 201, created.text
        caller_ids.append(created.json()["id"])
    no_wait = {"delay_minutes": 0, "max_attempts": max_attempts}
    campaign = http.post(
        "/campaigns",
        json={
            "name": name,
            "assistant_id": assistant.json()["id"],
            "caller_ids": caller_ids,
            "retry": {"max_attempts": max_attempts, "outcomes": dict.fromkeys(RETRIED, no_wait)},
            **extra,
        },
    )
    assert campaign.status_code == 201, campaign.text
    return str(campaign.json()["id"])


def lead_csv(plan: list[PlannedLead], scrubbed_at: datetime) -> bytes:
    """The population as a lead CSV in the import's format (the columns of ``lead_csv.HEADER``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for p in plan:
        consent = ("", "", "") if p.kind is Kind.NO_CONSENT else tuple(CONSENT.values())
        writer.writerow(
            [
                p.phone,
                f"First{p.index}",
                f"Last{p.index}",
                f"lead{p.index}@example.com",
                "ACME",
                f"{p.index} Main St",
                "Springfield",
                p.state,
                "",
                p.zone,
                "dialing",
                *consent,
                scrubbed_at.isoformat(),
                f"P-{p.index:07d}",
            ]
        )
    return out.getvalue().encode()


def add_leads(
    http: httpx.Client, campaign_id: str, plan: list[PlannedLead], timeout: float = 600
) -> dict[str, PlannedLead]:
    """Import the population as a CSV (presigned PUT → import function, in the background) and put
    its DNC leads on the tenant's list; returns lead id → planned lead."""
    created = http.post(f"/campaigns/{campaign_id}/imports", json={"filename": "dialing.csv"})
    assert created.status_code in (200, 201), created.text
    data = lead_csv(plan, datetime.now(UTC) - timedelta(days=1))
    httpx.put(created.json()["upload_url"], content=data, timeout=120).raise_for_status()
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = http.get(f"/campaigns/{campaign_id}/imports/{created.json()['import_id']}").json()
        if body["status"] in ("completed", "failed"):
            break
        time.sleep(1)
    assert body.get("status") == "completed", body
    assert body["progress"]["imported"] == len(plan), body
    by_phone = {p.phone: p for p in plan}
    lead_ids = {
        lead["id"]: by_phone[lead["phone"]] for lead in pages(http, f"/campaigns/{campaign_id}/leads")
    }
    assert len(lead_ids) == len(plan)
    dnc = [p.phone for p in plan if p.kind is Kind.DNC]
    for start in range(0, len(dnc), 1000):
        listed = http.post("/dnc/bulk", json={"phones": dnc[start : start + 1000], "reason": "asked"})
        assert listed.status_code in (200, 201), listed.text
    return lead_ids


def wait_status(http: httpx.Client, campaign_id: str, status: str, timeout: float, poll: float = 2.0) -> str:
    """Poll the campaign until it has ``status`` or ``timeout`` passes; returns the last status."""
    deadline = time.monotonic() + timeout
    current = ""
    while time.monotonic() < deadline:
        current = http.get(f"/campaigns/{campaign_id}").json()["status"]
        if current == status:
            break
        time.sleep(poll)
    return current


def wait_settled(
    http: httpx.Client, campaign_id: str, timeout: float, now: Callable[[], datetime], poll: float = 3.0
) -> str:
    """Poll until the campaign completes ("completed") or nothing is left to dial today: no call
    in flight, nothing due, and every open lead held back by the law until later than ``now()``
    + 15 minutes ("deferred"): a per-person call cap (e.g. Florida's 3 calls in 24 hours, which
    retries and callbacks can reach) deferred its next attempt, or moved the callback the person
    asked for. Returns the last state seen otherwise."""
    deadline = time.monotonic() + timeout
    current = ""
    while time.monotonic() < deadline:
        current = http.get(f"/campaigns/{campaign_id}").json()["status"]
        if current == "completed":
            return current
        progress = http.get(f"/campaigns/{campaign_id}/progress").json()
        open_states = {k for k, v in progress["leads_by_state"].items() if v} - TERMINAL_STATES
        if not progress["in_flight"] and not progress["due_now"] and open_states == {"pending"}:
            later = now() + timedelta(minutes=15)
            pending = [
                lead for lead in pages(http, f"/campaigns/{campaign_id}/leads") if lead["status"] == "pending"
            ]
            if pending and all(
                held_by_law(http.get(f"/leads/{lead['id']}").json(), later) for lead in pending
            ):
                return "deferred"
        time.sleep(poll)
    return current


def held_by_law(lead: dict[str, Any], later: datetime) -> bool:
    """A pending lead (``GET /leads/{id}``) whose next attempt the law put after ``later``."""
    next_at = lead.get("next_attempt_at")
    return bool(next_at) and parse_time(str(next_at)) > later


TERMINAL_STATES = frozenset({"reached", "exhausted", "invalid", "blocked"})


def pages(http: httpx.Client, path: str) -> list[dict[str, Any]]:
    """Every item of a paginated listing."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = http.get(path, params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += page.json()["data"]
        cursor = page.json().get("next_cursor")
        if not cursor:
            return items
