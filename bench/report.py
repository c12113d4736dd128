"""The campaign report's cost: rendering time and page size for campaigns of 1,000 and 10,000
leads (the fixed-seed fixture of tests/support/report_data.py: A/B, retries, blocks, stats).

Prints ``name value unit`` lines. Run: ``.venv/bin/python bench/report.py`` (the project installed
in .venv, as ``make setup`` does). Collection over HTTP (one GET per lead, 8 at a time) is not
measured here: it depends on the stack, not on this code.
"""

from __future__ import annotations

import time

from dialer_cli.report.render import render
from tests.support.report_data import report_data

for leads in (1_000, 10_000):
    data = report_data(leads=leads)
    started = time.perf_counter()
    page = render(data)
    elapsed = time.perf_counter() - started
    print(f"report_render_{leads}_leads {elapsed * 1000:.1f} ms")
    print(f"report_size_{leads}_leads {len(page.encode()) / 1024:.1f} KiB")
