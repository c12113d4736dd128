"""``make demo`` at 100 leads, as CI's proof of the product's main job: it runs to completion with
the CLI's own commands and every record equals the simulator's ground truth (the demo's own
checks, written to ``.local/demo/summary.json``), and it leaves the report and the results CSV."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys

import pytest

from local.process import REPO

pytestmark = pytest.mark.e2e
LEADS = int(os.environ.get("E2E_DEMO_LEADS") or "100")


def test_the_demo_runs_a_whole_campaign_and_matches_the_ground_truth() -> None:
    out = REPO / ".local" / "demo"
    for name in ("summary.json", "report.html", "results.csv"):
        (out / name).unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(REPO / p) for p in ("layers/telnyx_client", "layers/core", ".")),
    }
    done = subprocess.run(
        [sys.executable, "-m", "local.demo", "--leads", str(LEADS)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    failed = [name for name, held, _ in summary["checks"] if not held]
    assert not failed, summary
    assert len(summary["checks"]) >= 8
    print(f"\ndemo: {LEADS} leads in {summary['seconds']} s, report {summary['report_bytes']} bytes")
    # THEN, on Linux, it says how busy the cores were while it dialled: a slow run explains itself
    if sys.platform == "linux":
        cores = summary["pace"]["first_attempt_cores"]
        assert cores["busy"] > 0
        assert cores["cpu_s_per_dial"] > 0
    # THEN the report and the export cover every lead the import kept (duplicate rows merged)
    with (out / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    phones = [row.get("phone") for row in rows]
    assert len(phones) == len(set(phones)) > 0.9 * LEADS
    html = (out / "report.html").read_text()
    assert "<svg" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:|url\(\s*["']?https?:""", html)  # nothing fetched
