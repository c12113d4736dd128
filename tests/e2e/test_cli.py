"""The ``dialer`` CLI against the local stack: every command once on the happy path and once with
bad input, run as a user runs it (the installed console script, in a subprocess, configured by
the environment), on a stack that dials by itself against the Telnyx simulator.

One stack for the whole module; the tests run in order and build on each other (assistants →
campaign → import → DNC → run → stats/report/export/calls), as the README's walkthrough does.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dialer_cli.errors import ExitCode
from local.simulator import AccountConfig, Simulator, SimulatorConfig
from tests.support import dialing

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DIALER = REPO / ".venv" / "bin" / "dialer"
EXAMPLES = REPO / "examples"
TENANT = "e2e-cli"
SIM_KEY = "KEYSIM_e2e_cli"
OFFSET = dialing.clock_offset()
API_PORT = dialing.free_port()
DNC_LEAD = "+18082081000"  # a lead of examples/leads.csv, put on the DNC list before the run
INVALID_ROW_LINE = 11  # examples/leads.csv: the row with a number too short (line 1 is the header)
RUN_TIMEOUT = 300


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    config = SimulatorConfig(
        accounts=(
            AccountConfig(
                api_key=SIM_KEY,
                webhook_url=f"http://127.0.0.1:{API_PORT}/webhooks/telnyx/{TENANT}",
                channel_limit=20,
                phone_numbers=dialing.CALLER_IDS,
            ),
        ),
        seed=12,
        time_scale=0.02,
        conversation_secs=(5.0, 15.0),
        scenario_mix={"human": 0.5, "voicemail": 0.2, "no_answer": 0.15, "busy": 0.15},
        # What people conclude ends their lead: a callback two days out (the simulator's default
        # draws every disposition) would keep the campaign from completing inside the test
        disposition_mix={"interested": 0.5, "not_interested": 0.3, "appointment_set": 0.2},
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
    running = local_stack_process(BUILT_TEMPLATE, tmp_path_factory.mktemp("cli-stack"), args).start()
    yield running
    assert not running.stop()


@pytest.fixture(scope="module")
def api_key(stack: Any) -> Iterator[str]:
    with dialing.tenant_client(stack, TENANT, SIM_KEY) as client:
        dialing.set_dialing(stack, TENANT, channel_limit=20)
        yield str(client.headers["Authorization"]).removeprefix("Bearer ")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-home")  # no config file of the machine's user leaks in


class Run:
    """``dialer`` as a subprocess, configured by DIALER_API_URL / DIALER_API_KEY."""

    def __init__(self, url: str, key: str, home: Path):
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DIALER_")},
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "DIALER_API_URL": url,
            "DIALER_API_KEY": key,
            "COLUMNS": "200",
        }
        self.state: dict[str, str] = {}

    def __call__(
        self, *args: str, expect: ExitCode = ExitCode.OK, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(DIALER), *args],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT + 60,
            env={**self.env, **(env or {})},
            cwd=REPO,
            check=False,
        )
        assert done.returncode == expect, (
            f"dialer {' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
        return done

    def json(self, *args: str, expect: ExitCode = ExitCode.OK) -> Any:
        return json.loads(self("--json", *args, expect=expect).stdout)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The API itself, with the same key (for what the CLI does not show)."""
        headers = {"Authorization": f"Bearer {self.env['DIALER_API_KEY']}"}
        return httpx.request(method, self.env["DIALER_API_URL"] + path, headers=headers, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def dialer(stack: Any, api_key: str, home: Path) -> Run:
    assert DIALER.is_file(), f"{DIALER} is missing: `make setup` installs the project's console script"
    return Run(stack.api_url, api_key, home)


def scrubbed_today(tmp_path: Path) -> Path:
    """examples/leads.csv as an operator imports it: scrubbed against the national DNC registry on
    the campaign's day (the example's own scrub dates age out of the 31 days the campaign allows)."""
    with (EXAMPLES / "leads.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    today = (datetime.now(UTC) + timedelta(seconds=OFFSET)).strftime("%Y-%m-%dT00:00:00Z")
    for row in rows:
        if row.get("DNC Scrubbed At"):
            row["DNC Scrubbed At"] = today
    path = tmp_path / "leads.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_yaml(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def test_doctor(dialer: Run) -> None:
    checks = {c["check"]: c["ok"] for c in dialer.json("doctor", expect=ExitCode.INCOMPLETE)}
    assert checks == {
        "config": True,
        "API reachable": True,
        "API key": True,
        "Telnyx API key": True,
        "caller IDs": False,
        "assistants": True,
    }
    # no caller ID yet: doctor says so and exits 6 in table mode
    assert "caller IDs" in dialer("doctor", expect=ExitCode.INCOMPLETE).stdout
    bad_key = dialer("doctor", expect=ExitCode.AUTH, env={"DIALER_API_KEY": "dk_not-a-key"})
    assert "refused" in bad_key.stdout
    assert "dk_not-a-key" not in bad_key.stdout + bad_key.stderr  # never printed
    dialer(
        "doctor",
        expect=ExitCode.UNREACHABLE,
        env={"DIALER_API_URL": f"http://127.0.0.1:{dialing.free_port()}"},
    )
    dialer("doctor", expect=ExitCode.USAGE, env={"DIALER_API_URL": "ftp://nowhere"})


def test_assistants_apply_list_show_sync(dialer: Run, tmp_path: Path) -> None:
    created = dialer("assistants", "apply", "-f", str(EXAMPLES / "assistant.yaml"))
    assert "created assistant 'Policy renewal reminder'" in created.stdout
    assert "+ instructions" in created.stdout
    dialer("assistants", "apply", "-f", str(EXAMPLES / "assistant-b.yaml"))
    # applying the same file again changes nothing
    assert "is up to date" in dialer("assistants", "apply", "-f", str(EXAMPLES / "assistant.yaml")).stdout
    # a change shows as a diff, and --dry-run leaves it unapplied
    spec = yaml.safe_load((EXAMPLES / "assistant.yaml").read_text())
    changed = write_yaml(tmp_path / "a.yaml", {**spec, "greeting": "Hello {{first_name}}!"})
    dry = dialer("assistants", "apply", "-f", str(changed), "--dry-run")
    assert "~ greeting:" in dry.stdout
    assert "would update" in dry.stdout
    assert "~ greeting:" in dialer("assistants", "apply", "-f", str(changed), "--dry-run").stdout
    assert "updated assistant" in dialer("assistants", "apply", "-f", str(changed)).stdout
    assert (
        dialer.json("assistants", "show", "Policy renewal reminder")["settings"]["greeting"]
        == "Hello {{first_name}}!"
    )
    names = {a["name"] for a in dialer.json("assistants", "list")}
    assert {"Policy renewal reminder", "Policy renewal reminder (direct)"} <= names
    assert dialer.json("assistants", "sync")["total_upstream"] >= 2
    # bad input: not YAML, no instructions, unknown assistant
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    assert (
        "not valid YAML"
        in dialer("assistants", "apply", "-f", str(tmp_path / "bad.yaml"), expect=ExitCode.USAGE).stderr
    )
    nameless = write_yaml(tmp_path / "n.yaml", {"name": "x"})
    assert (
        "missing instructions"
        in dialer("assistants", "apply", "-f", str(nameless), expect=ExitCode.USAGE).stderr
    )
    dialer("assistants", "show", "no such assistant", expect=ExitCode.NOT_FOUND)


def campaign_spec(**changes: Any) -> dict[str, Any]:
    """examples/campaign.yaml, retrying at once (the example waits an hour between attempts)."""
    spec = yaml.safe_load((EXAMPLES / "campaign.yaml").read_text())
    # at most two attempts: enough to see a retry, half the run time of three
    spec["retry"] = {
        "max_attempts": 2,
        "outcomes": {k: {"delay_minutes": 0, "max_attempts": 2} for k in dialing.RETRIED},
    }
    return {**spec, **changes}


def test_campaigns_create(dialer: Run, tmp_path: Path) -> None:
    campaign_id = dialer(
        "campaigns", "create", "-f", str(write_yaml(tmp_path / "c.yaml", campaign_spec())), "-q"
    ).stdout.strip()
    shown = dialer.json("campaigns", "show", campaign_id)
    assert shown["status"] == "draft"
    assert len(shown["assistant_variants"]) == 2
    assert len(shown["caller_ids"]) == 3
    assert campaign_id in {c["id"] for c in dialer.json("campaigns", "list")}
    dialer.state["campaign"] = campaign_id
    # bad input: a value the API rejects (exit 2, with the field named), an unknown assistant
    bad = write_yaml(tmp_path / "bad.yaml", campaign_spec(pacing={"max_dials_per_minute": -5}))
    refused = dialer("campaigns", "create", "-f", str(bad), expect=ExitCode.USAGE)
    assert "max_dials_per_minute" in refused.stderr
    unknown = write_yaml(
        tmp_path / "u.yaml", campaign_spec(assistant_variants=[{"assistant": "Nobody", "weight": 1}])
    )
    dialer("campaigns", "create", "-f", str(unknown), expect=ExitCode.NOT_FOUND)
    assert len(dialer.json("campaigns", "list")) == 1  # nothing was created by the bad ones


def test_campaigns_import(dialer: Run, tmp_path: Path) -> None:
    campaign_id = dialer.state["campaign"]
    done = dialer("campaigns", "import", campaign_id, str(scrubbed_today(tmp_path)))
    assert "9 imported" in done.stdout
    assert "1 rejected" in done.stdout
    assert str(INVALID_ROW_LINE) in done.stdout  # the rejected row, by line
    # bad input: a file without a phone column is refused before any upload
    (tmp_path / "x.csv").write_text("name,email\nAda,ada@example.com\n")
    refused = dialer("campaigns", "import", campaign_id, str(tmp_path / "x.csv"), expect=ExitCode.USAGE)
    assert "no 'phone' column" in refused.stderr
    dialer("campaigns", "import", campaign_id, str(tmp_path / "missing.csv"), expect=ExitCode.USAGE)
    dialer("campaigns", "import", "no-such-campaign", str(EXAMPLES / "leads.csv"), expect=ExitCode.NOT_FOUND)
    assert dialer.json("campaigns", "show", campaign_id)["lead_count"] == 9


def test_dnc(dialer: Run, tmp_path: Path) -> None:
    assert dialer.json("dnc", "check", DNC_LEAD)["dnc"] is False
    dialer("dnc", "add", DNC_LEAD, "--reason", "asked on a previous call")
    assert dialer.json("dnc", "check", DNC_LEAD)["dnc"] is True
    numbers = tmp_path / "dnc.txt"
    numbers.write_text("+13105550123\nnot-a-number\n")
    imported = dialer("dnc", "import", str(numbers), expect=ExitCode.USAGE)  # one rejected: exit 2
    assert "1 added" in imported.stdout
    assert "not-a-number" in imported.stdout
    assert dialer.json("dnc", "check", "+13105550123")["dnc"] is True
    dialer("dnc", "remove", "+13105550123", expect=ExitCode.USAGE)  # --reason is required
    dialer("dnc", "remove", "+13105550123", "--reason", "added by mistake")
    assert dialer.json("dnc", "check", "+13105550123")["dnc"] is False
    assert {e["phone"] for e in dialer.json("dnc", "list")} == {DNC_LEAD}
    dialer("dnc", "add", "12", expect=ExitCode.USAGE)
    dialer("dnc", "import", str(tmp_path / "none.txt"), expect=ExitCode.USAGE)


def test_run_pause_resume_watch(dialer: Run, tmp_path: Path) -> None:
    campaign_id = dialer.state["campaign"]
    assert "active" in dialer("campaigns", "start", campaign_id).stdout
    assert "paused" in dialer("campaigns", "pause", campaign_id).stdout
    assert "active" in dialer("campaigns", "resume", campaign_id).stdout
    watched = dialer(
        "--json", "campaigns", "watch", campaign_id, "--interval", "1", "--timeout", str(RUN_TIMEOUT)
    )
    final = json.loads(watched.stdout)
    assert final["status"] == "completed"
    assert sum(final["leads_by_state"].values()) == 9
    # bad input: unknown campaign; a status move the campaign's state refuses
    dialer("campaigns", "watch", "no-such-campaign", expect=ExitCode.NOT_FOUND)
    dialer("campaigns", "resume", campaign_id, expect=ExitCode.API_ERROR)
    # cancel: another draft
    other = dialer(
        "campaigns", "create", "-f", str(write_yaml(tmp_path / "c.yaml", campaign_spec(name="Other"))), "-q"
    ).stdout.strip()
    assert "canceled" in dialer("campaigns", "cancel", other).stdout
    dialer("campaigns", "start", other, expect=ExitCode.API_ERROR)


def test_stats_report_export_calls(dialer: Run, tmp_path: Path) -> None:
    campaign_id = dialer.state["campaign"]
    stats = dialer.json("campaigns", "stats", campaign_id)
    assert stats["progress"]["leads_by_state"]["blocked"] == 2  # the DNC lead and the lead without consent
    assert "leads by state" in dialer("campaigns", "stats", campaign_id).stdout
    dialer("campaigns", "stats", "no-such-campaign", expect=ExitCode.NOT_FOUND)

    report = tmp_path / "report.html"
    dialer("campaigns", "report", campaign_id, "-o", str(report), "--save-data", str(tmp_path / "data.json"))
    html = report.read_text()
    assert "Every lead accounted for: 9 of 9." in html
    assert 'data-expect-chart="dials-per-second"' in html
    assert "blocked: dnc" in html
    data = json.loads((tmp_path / "data.json").read_text())
    dialled = [lead for lead in data["leads"] if lead["history"]]
    assert dialled
    dialer(
        "campaigns",
        "report",
        campaign_id,
        "-o",
        str(tmp_path / "no" / "dir" / "r.html"),
        expect=ExitCode.USAGE,
    )

    exported = dialer("campaigns", "export", campaign_id).stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == 9
    assert {r["status"] for r in rows} <= {"reached", "exhausted", "invalid", "blocked"}
    assert next(r for r in rows if r["phone"] == DNC_LEAD)["status"] == "blocked"
    dialer("campaigns", "export", "no-such-campaign", expect=ExitCode.NOT_FOUND)
    # A big export is a presigned link to the same CSV in S3 (asked for here with link=true)
    inline = dialer.api("GET", f"/campaigns/{campaign_id}/results")
    linked = dialer.api("GET", f"/campaigns/{campaign_id}/results", params={"link": "true"})
    assert linked.status_code == 303, linked.text
    assert linked.json()["rows"] == 9
    fetched = httpx.get(linked.headers["location"], timeout=30)  # no API key: the link is the credential
    assert fetched.status_code == 200
    # (the same leads, in the same columns: a late cost or insight may change a row in between)
    linked_rows = list(csv.DictReader(io.StringIO(fetched.text)))
    inline_rows = list(csv.DictReader(io.StringIO(inline.text)))
    assert fetched.text.splitlines()[0] == inline.text.splitlines()[0]
    assert sorted(r["lead_id"] for r in linked_rows) == sorted(r["lead_id"] for r in inline_rows)
    assert len(linked_rows) == 9

    # (a lead's first attempt may have placed no call: one refused at dial time has no call id)
    lead, attempt = next((lead, a) for lead in dialled for a in lead["history"] if a.get("call_control_id"))
    shown = dialer("calls", "show", lead["id"])
    assert lead["phone"] in shown.stdout
    assert attempt["call_control_id"] in shown.stdout
    dialer("calls", "show", "no-such-call", expect=ExitCode.NOT_FOUND)


def test_bad_key_is_exit_3_everywhere(dialer: Run) -> None:
    env = {"DIALER_API_KEY": "dk_wrong"}
    for args in (("campaigns", "list"), ("assistants", "list"), ("dnc", "check", DNC_LEAD)):
        failed = dialer(*args, expect=ExitCode.AUTH, env=env)
        assert "API key was refused" in failed.stderr
    failed = dialer("campaigns", "list", expect=ExitCode.AUTH, env={"DIALER_API_KEY": ""})
    assert "API key is missing" in failed.stderr
    assert httpx  # the module's client library, imported for the stack fixtures
