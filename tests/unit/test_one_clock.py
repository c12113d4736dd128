"""One clock: every service tells the time with ``dialer.clock.now`` (shifted on the local stage),
except where an outside party times by the wall clock. A service that reads the wall clock for
"now" would answer days apart from the engine on a shifted local stack (issue 20)."""

from __future__ import annotations

import re
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "layers" / "core" / "dialer"
# Wall-clock readings that are right as they are: a presigned link's expiry (S3 checks it by the
# wall clock); the intake's signature age (Telnyx signs by the wall clock) and its coarse "years
# ahead" bound on occurred_at; the time-sortable prefix of new ids (an id, not a "now").
# DynamoDB deletes by the wall clock, so a TTL is computed from it (insights_table). clock.py is
# the one clock itself.
WALL_CLOCK_ALLOWED = {
    "services/analytics.py": 1,
    "services/campaigns.py": 1,
    "services/intake.py": 2,
    "adapters/insights_table.py": 1,
    "clock.py": 2,
}


def test_the_core_reads_the_engine_clock() -> None:
    found = {}
    for path in sorted(CORE.rglob("*.py")):
        count = len(re.findall(r"datetime\.now\(|datetime\.utcnow\(|time\.time\(\)", path.read_text()))
        if count:
            found[path.relative_to(CORE).as_posix()] = count
    assert found == WALL_CLOCK_ALLOWED
