"""One clock: every service tells the time with ``dialer.clock.now`` (shifted on the local stage),
except where an outside party times by the wall clock. A service that reads the wall clock for
"now" would answer days apart from the engine on a shifted local stack (issue 20)."""

from __future__ import annotations

import re
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "layers" / "core" / "dialer" / "services"
# Wall-clock readings that are right as they are: a presigned link's expiry (S3 checks it by the
# wall clock); the intake's signature age (Telnyx signs by the wall clock) and its coarse "years
# ahead" bound on occurred_at; the time-sortable prefix of new ids (an id, not a "now").
WALL_CLOCK_ALLOWED = {"analytics.py": 1, "campaigns.py": 1, "intake.py": 2}


def test_services_read_the_engine_clock() -> None:
    found = {}
    for path in sorted(SERVICES.glob("*.py")):
        count = len(re.findall(r"datetime\.now\(|datetime\.utcnow\(|time\.time\(\)", path.read_text()))
        if count:
            found[path.name] = count
    assert found == WALL_CLOCK_ALLOWED
