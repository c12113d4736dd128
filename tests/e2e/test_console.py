"""The operator console in real headless Chromium (Playwright driving the system package) against
the local stack, served by the stack's gateway from template.yaml's routes as API Gateway serves it.

One stack with the Telnyx simulator for the module (the session ``local_stack`` places no call);
the tests run in order and build on each other as an operator's session does: sign in, start a
small campaign and watch it complete (pausing and resuming on the way), open a DNC-blocked lead
and read why, open a call and read its transcript. Every page must load with no console error
and no failed request; screenshots are kept under test-artifacts/console/.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright import sync_api as playwright_api

from local.simulator import AccountConfig, Simulator, SimulatorConfig
from tests.support import dialing
from tests.support.browser import chromium
from tests.support.lead_csv import HEADER

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or REPO / "test-artifacts") / "console"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
TENANT = "e2e-console"
SIM_KEY = "KEYSIM_e2e_console"
OFFSET = dialing.clock_offset()
LEADS = 8  # dialing.population: index 3 is on the DNC list, 7 has no consent
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
RUN_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def api_port() -> int:
    """Chosen when the module starts, not when it is collected: the other xdist worker's stacks
    take ports in between (a port picked at collection was once taken by the time it was used)."""
    return dialing.free_port()


@pytest.fixture(scope="module")
def sim(api_port: int) -> Iterator[Simulator]:
    config = SimulatorConfig(
        accounts=(
            AccountConfig(
                api_key=SIM_KEY,
                webhook_url=f"http://127.0.0.1:{api_port}/webhooks/telnyx/{TENANT}",
                channel_limit=20,
                phone_numbers=dialing.CALLER_IDS,
            ),
        ),
        seed=25,
        time_scale=0.02,
        conversation_secs=(5.0, 15.0),
        # Mostly people, so calls with transcripts; conclusions that end the lead, so the campaign
        # completes inside the test (a callback days out would keep it open).
        scenario_mix={"human": 0.7, "voicemail": 0.1, "no_answer": 0.1, "busy": 0.1},
        disposition_mix={"interested": 0.5, "not_interested": 0.3, "appointment_set": 0.2},
        clock_offset_s=OFFSET,
    )
    with Simulator(config) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def stack(
    local_stack_process: Any, tmp_path_factory: pytest.TempPathFactory, sim: Simulator, api_port: int
) -> Iterator[Any]:
    from tests.e2e.conftest import BUILT_TEMPLATE

    args = dialing.stack_args(api_port, sim.base_url, TENANT, sim.public_key_b64, OFFSET)
    # the dispatcher every second (5 s in the dialing tests): retries and completion come sooner
    args[args.index("DispatcherFunction=5")] = "DispatcherFunction=1"
    running = local_stack_process(BUILT_TEMPLATE, tmp_path_factory.mktemp("console-stack"), args).start()
    yield running
    assert not running.stop()


@pytest.fixture(scope="module")
def world(stack: Any) -> Iterator[dict[str, Any]]:
    """A tenant with a draft campaign of planned leads (the DNC one on the tenant's list) and one
    lead whose name is markup; its API key and the ids the tests open. Leads go in as one JSON
    batch (the CSV import path has tests of its own and would cost this module seconds)."""
    with dialing.tenant_client(stack, TENANT, SIM_KEY) as http:
        dialing.set_dialing(stack, TENANT, channel_limit=20)
        # one attempt per lead: the run ends after one round of calls (retries have tests of their own)
        campaign_id = dialing.create_campaign(http, max_attempts=1, name="Console run")
        plan = dialing.population(LEADS)
        scrubbed = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        leads = [
            {
                "phone": p.phone,
                "first_name": f"First{p.index}",
                "last_name": f"Last{p.index}",
                "state": p.state,
                "time_zone": p.zone,
                "dnc_scrubbed_at": scrubbed,
                **({} if p.kind is dialing.Kind.NO_CONSENT else {"consent": dialing.CONSENT}),
            }
            for p in plan
        ]
        leads.append({"phone": "+12125559876", "first_name": HOSTILE_NAME, "state": "NY"})
        added = http.post(f"/campaigns/{campaign_id}/leads", json={"leads": leads})
        assert added.status_code in (200, 201), added.text
        ids = added.json()["lead_ids"]
        assert None not in ids, added.json()["errors"]
        dnc = next(p for p in plan if p.kind is dialing.Kind.DNC)
        assert http.post("/dnc", json={"phone": dnc.phone, "reason": "asked"}).status_code == 201
        # A CSV whose rows are all rejected (so the campaign gains no lead), imported in the
        # background while the campaign runs: the imports page shows its rows' errors.
        created = http.post(f"/campaigns/{campaign_id}/imports", json={"filename": "bad.csv"}).json()
        bad = ",".join(HEADER) + "\r\n" + "123,Too,Short\r\n" + ",No,Phone\r\n"
        httpx.put(created["upload_url"], content=bad.encode(), timeout=60).raise_for_status()
        yield {
            "http": http,
            "key": str(http.headers["Authorization"]).removeprefix("Bearer "),
            "campaign": campaign_id,
            "dnc_lead": (ids[dnc.index], dnc.index),
            "hostile_lead": ids[-1],
            "leads": len(leads),
            "import": created["import_id"],
            "dnc_phone": dnc.phone,
        }


class Watched:
    """A browser page and everything that went wrong on it: console errors and warnings, uncaught
    exceptions, requests that failed or answered >= 400, and any alert a script opened."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.method} {r.url} {r.failure}"))
        page.on(
            "response",
            lambda r: (
                self.problems.append(f"{r.status}: {r.request.method} {r.url}") if r.status >= 400 else None
            ),
        )
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's violations on the page as it is now (the script is put in through the
        DevTools protocol, so the page's CSP, which allows no injected script, stays as deployed)."""
        self.page.evaluate(AXE.read_text() + "\n;0")
        result = self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]
        ]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def console(browser: Any, stack: Any, world: dict[str, Any]) -> Iterator[Watched]:
    """One tab for the module's operator session (a new context: its own sessionStorage)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=stack.api_url)
    context.set_default_timeout(30_000)
    watched = Watched(context.new_page())
    yield watched
    context.close()


def figure(page: Any, gauge: str) -> tuple[int, int]:
    """A gauge's "value / limit" as numbers."""
    shown = page.locator(f'[data-gauge="{gauge}"] .gauge-value').inner_text()
    found = re.match(r"([\d.]+) / ([\d.]+)", shown)
    assert found, shown
    return int(float(found.group(1))), int(float(found.group(2)))


def confirm(page: Any, label: str) -> None:
    """Click a campaign control and confirm it in the dialog."""
    page.get_by_role("group", name="Campaign controls").get_by_role("button", name=label).click()
    page.get_by_role("dialog").get_by_role("button", name=label).click()


def test_served_like_api_gateway_serves_it(stack: Any) -> None:
    page = httpx.get(f"{stack.api_url}/console", timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    script = httpx.get(f"{stack.api_url}/console/js/app.js", timeout=30)
    assert script.headers["content-type"].startswith("text/javascript")
    assert httpx.get(f"{stack.api_url}/console/../template.yaml", timeout=30).status_code in (403, 404)
    assert httpx.get(f"{stack.api_url}/console/app.py", timeout=30).status_code == 404
    # CORS is closed: the API names no other origin allowed to read its answers
    api = httpx.get(f"{stack.api_url}/campaigns", headers={"Origin": "https://elsewhere.example"}, timeout=30)
    assert "access-control-allow-origin" not in api.headers


def test_sign_in_refuses_a_wrong_key_then_signs_in(console: Watched, world: dict[str, Any]) -> None:
    page = console.page
    page.goto("/console")
    # keyboard only: the key field is labelled and reachable, Enter submits
    page.get_by_label("Management API key").focus()
    page.keyboard.type("tdk_wrong")
    page.keyboard.press("Enter")
    page.get_by_role("alert").filter(has_text="refused").wait_for()
    # the refused key's 401 (and the browser's console line about it) is the one expected failure
    refused = "console error: Failed to load resource: the server responded with a status of 401"
    assert [p for p in console.problems if not p.startswith(("401:", refused))] == []
    console.problems.clear()
    assert console.axe() == []
    page.get_by_label("Management API key").fill(world["key"])
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Campaigns").wait_for()
    page.get_by_role("link", name="Console run").wait_for()
    # the key lives in this tab's sessionStorage only, never in the address or localStorage
    assert page.evaluate("sessionStorage.getItem('dialer.apiKey')") == world["key"]
    assert page.evaluate("localStorage.length") == 0
    assert world["key"] not in page.url
    console.shot("campaigns")
    assert console.problems == []


def test_start_pause_resume_and_watch_to_completion(console: Watched, world: dict[str, Any]) -> None:
    page = console.page
    page.get_by_role("link", name="Console run").click()
    page.get_by_role("heading", name="Console run").wait_for()
    page.locator('[data-gauge="settled"]').wait_for()
    assert figure(page, "settled") == (0, world["leads"])
    confirm(page, "Start")
    page.locator('[data-field="status"]', has_text="active").wait_for()
    # the controls are keyboard reachable: Tab lands on Pause, Enter opens the confirmation,
    # Escape closes it without pausing
    page.get_by_role("button", name="Pause").focus()
    page.keyboard.press("Enter")
    page.get_by_role("dialog").wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="hidden")
    confirm(page, "Pause")
    page.locator('[data-field="status"]', has_text="paused").wait_for()
    assert world["http"].get(f"/campaigns/{world['campaign']}").json()["status"] == "paused"
    confirm(page, "Resume")
    page.locator('[data-field="status"]', has_text="active").wait_for()
    # the numbers move on their own (the page polls every 2 s; it is never reloaded) from the 0
    # shown before the start to every lead settled. Most calls may end before the pause: the local
    # stack places and plays this campaign's 9 calls in a second or two.
    seen: dict[int, float] = {}  # settled count on screen → seconds after resuming it first showed
    started = time.monotonic()
    deadline = started + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        seen.setdefault(figure(page, "settled")[0], round(time.monotonic() - started, 1))
        if page.locator('[data-field="status"]').inner_text() == "completed":
            break
        page.wait_for_timeout(500)
    assert page.locator('[data-field="status"]').inner_text() == "completed", seen
    page.wait_for_function(
        f"document.querySelector('[data-gauge=\"settled\"] .gauge-value').textContent.startsWith('{world['leads']} /')"
    )
    assert figure(page, "channels")[1] == 20
    outcomes = page.locator('[data-counts="outcomes"]').inner_text()
    assert "answered_human" in outcomes
    by_state = page.locator('[data-counts="leads-by-state"]').inner_text()
    blocked = re.search(r"blocked\s+(\d+)", by_state)
    assert blocked, by_state
    assert int(blocked.group(1)) >= 2, by_state  # the DNC lead and the one without consent
    console.shot("campaign")
    assert console.axe() == []
    assert console.problems == []


def test_a_dnc_lead_says_why_it_is_not_called(console: Watched, world: dict[str, Any]) -> None:
    page = console.page
    lead_id, index = world["dnc_lead"]
    dnc = world["http"].get(f"/leads/{lead_id}").json()
    page.get_by_role("link", name="Leads", exact=True).click()
    page.get_by_role("table", name="Leads").wait_for()
    # filters: the last four digits (several planned leads share them) and the name
    page.get_by_label("Phone ends with").fill(dnc["phone"][-4:])
    page.get_by_label("Name", exact=True).fill(f"First{index}")
    page.get_by_role("status").filter(has_text=re.compile(r"^1 of \d+ loaded")).wait_for()
    page.locator(f'[data-lead="{lead_id}"]').click()
    reason = page.locator('[data-section="eligibility"] [data-reason="dnc"]')
    reason.wait_for()
    assert page.locator('[data-field="eligible"]').inner_text() == "Not eligible now."
    assert "dnc" in reason.inner_text()
    console.shot("lead-dnc")
    assert console.axe() == []
    assert console.problems == []


def test_a_call_shows_its_transcript(console: Watched, world: dict[str, Any]) -> None:
    page = console.page
    http = world["http"]
    reached = next(
        lead
        for lead in dialing.pages(http, f"/campaigns/{world['campaign']}/leads")
        if lead["status"] == "reached" and lead["last_outcome"] == "answered_human"
    )
    call_id = http.get(f"/leads/{reached['id']}/calls").json()["data"][0]["call_control_id"]
    page.goto(f"/console#/leads/{reached['id']}")
    page.locator(f'[data-call="{call_id}"]').click()
    page.get_by_role("heading", name="Call", exact=True).wait_for()
    lines = page.locator('[data-section="transcript"] li')
    lines.first.wait_for(timeout=60_000)  # the transcripts function fetches it after the hangup
    stored = http.get(f"/calls/{call_id}/transcript").json()["messages"]
    said = [m["text"] for m in stored if m.get("text")]
    assert said
    assert said[0] in page.locator('[data-section="transcript"]').inner_text()
    assert lines.count() == len(stored)
    console.shot("call")
    assert console.problems == []


def test_dnc_imports_and_assistants_pages(console: Watched, world: dict[str, Any]) -> None:
    page = console.page
    page.get_by_role("link", name="Do not call").click()
    page.get_by_label("Phone number").first.wait_for()
    # check a listed number, add one, remove it again through the confirmation
    page.locator("#check-phone").fill(world["dnc_phone"])
    page.get_by_role("button", name="Check").click()
    page.get_by_role("status").filter(has_text="is on the list (asked)").wait_for()
    page.locator("#add-phone").fill("+12125550199")
    page.locator("#add-reason").fill("asked on the phone")
    page.get_by_role("button", name="Add to the list").click()
    page.get_by_role("status").filter(has_text="+12125550199 added").wait_for()
    page.get_by_role("table", name="Do-not-call list").get_by_text("+12125550199").wait_for()
    page.locator("#remove-phone").fill("+12125550199")
    page.locator("#remove-reason").fill("entered by mistake")
    page.get_by_role("button", name="Remove…").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    page.get_by_role("status").filter(has_text="+12125550199 removed").wait_for()
    assert not world["http"].get("/dnc/check", params={"phone": "+12125550199"}).json()["dnc"]
    assert console.axe() == []
    # an import's rejected rows, each with its line and reason
    page.goto(f"/console#/campaigns/{world['campaign']}/imports/{world['import']}")
    rows = page.get_by_role("table", name="Rejected rows").locator("tbody tr")
    rows.nth(1).wait_for(timeout=60_000)
    assert [r.split("\t")[0] for r in rows.all_inner_texts()] == ["2", "3"]
    # the assistants and their versions
    page.get_by_role("link", name="Assistants").click()
    page.get_by_role("button", name="Show versions").first.click()
    page.locator(".versions li").first.wait_for()
    console.shot("assistants")
    assert console.problems == []


def test_markup_in_a_lead_field_renders_as_text(console: Watched, world: dict[str, Any]) -> None:
    page = console.page
    page.goto(f"/console#/leads/{world['hostile_lead']}")
    heading = page.locator('[data-field="lead-name"]')
    heading.wait_for()
    assert heading.inner_text() == HOSTILE_NAME
    assert page.locator("main img").count() == 0
    page.goto(f"/console#/campaigns/{world['campaign']}/leads")
    page.get_by_role("link", name=HOSTILE_NAME).wait_for()
    assert page.locator("main img").count() == 0
    assert console.dialogs == []
    assert console.problems == []


def test_sign_out_forgets_the_key(console: Watched) -> None:
    page = console.page
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Management API key").wait_for()
    assert page.evaluate("sessionStorage.length") == 0
    assert json.loads(page.evaluate("JSON.stringify(Object.keys(localStorage))")) == []
    assert console.problems == []
